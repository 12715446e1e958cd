// API keys: list, create (the key is shown once), revoke.

import { gql, isAdmin } from '../api.js';
import { badge, confirmDialog, empty, fmtDate, h, mount, table, toast } from '../dom.js';

const KEY = 'id name prefix userId createdAt lastUsedAt revokedAt';

export async function keysView(main) {
  const keys = (await gql(`query Keys { apiKeys { ${KEY} } }`)).apiKeys;
  const admin = isAdmin();
  const list = h('div', { id: 'key-list' });
  const created = h('div', { 'aria-live': 'polite' });

  function draw() {
    mount(
      list,
      keys.length
        ? table(
            [
              { label: 'Name', cell: (k) => k.name },
              { label: 'Key', cell: (k) => h('span', { class: 'mono' }, `${k.prefix}…`) },
              { label: 'State', cell: (k) => (k.revokedAt ? badge('revoked', 'fail') : badge('active', 'pass')) },
              { label: 'Created', cell: (k) => fmtDate(k.createdAt) },
              { label: 'Last used', cell: (k) => fmtDate(k.lastUsedAt) },
              {
                label: 'Actions',
                cell: (k) => {
                  if (!admin || k.revokedAt) return '—';
                  const b = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke key ${k.name}` }, 'Revoke…');
                  b.addEventListener('click', async () => {
                    const ok = await confirmDialog({ title: `Revoke “${k.name}”?`, body: h('p', {}, 'Integrations using this key stop working at once.'), confirmLabel: 'Revoke', danger: true });
                    if (!ok) return b.focus();
                    try {
                      const r = (await gql(`mutation($id: String!) { revokeApiKey(id: $id) { ${KEY} } }`, { id: k.id })).revokeApiKey;
                      keys[keys.findIndex((x) => x.id === k.id)] = r;
                      toast('Key revoked.', 'success');
                      draw();
                    } catch (err) {
                      toast(`Could not revoke: ${err.message}`, 'error');
                    }
                  });
                  return b;
                },
              },
            ],
            keys,
            { caption: 'API keys' },
          )
        : empty('No API key yet.'),
    );
  }

  let createSection = null;
  if (admin) {
    const name = h('input', { id: 'key-name', name: 'name', maxlength: 100, placeholder: 'e.g. production backend' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h(
      'form',
      { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name'), name),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key')),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = (await gql(`mutation($name: String) { createApiKey(name: $name) { plaintext apiKey { ${KEY} } } }`, { name: name.value.trim() || null })).createApiKey;
        keys.unshift(r.apiKey);
        draw();
        form.reset();
        const field = h('input', { id: 'new-key', type: 'text', readonly: true, value: r.plaintext, class: 'mono', 'aria-describedby': 'key-warning' });
        mount(
          created,
          h(
            'div',
            { class: 'secret-box', role: 'region', 'aria-label': 'New API key' },
            h('label', { for: 'new-key' }, 'New API key'),
            field,
            h('p', { class: 'warning', id: 'key-warning' }, 'This is the only time the key is shown. Store it now; Tessera keeps only a hash.'),
          ),
        );
        field.focus();
        field.select();
      } catch (err) {
        error.textContent = err.message;
      }
    });
    createSection = h('section', { class: 'card', 'aria-labelledby': 'new-key-heading' }, h('h2', { id: 'new-key-heading' }, 'New key'), form, created);
  }
  draw();
  mount(
    main,
    h('h1', {}, 'API keys'),
    h('p', { class: 'muted' }, 'Integrators call the REST API with Authorization: Bearer <key>. Keys are read-only on GraphQL.'),
    createSection,
    h('section', { class: 'card', 'aria-labelledby': 'keys-heading' }, h('h2', { id: 'keys-heading' }, 'Keys'), list),
  );
}
