// Webhooks: endpoints (create with the secret shown once, edit, enable /
// disable, rotate the secret, delete, send a test event) and each
// endpoint's delivery log with redelivery.

import { gql, isAdmin } from '../api.js';
import { badge, confirmDialog, empty, errorState, fields, fmtDate, h, loading, mount, table, toast } from '../dom.js';

const HOOK = 'id name url enabled disabledReason failingSince previousSecretExpiresAt createdAt updatedAt';
const LIST = `query Webhooks { webhooks(first: 100) { totalCount nodes { ${HOOK} } } }`;

/// A secret shown once: a read-only field, a copy button and a warning.
function secretBox(secret, what = 'signing secret') {
  const field = h('input', { id: 'new-secret', type: 'text', readonly: true, value: secret, class: 'mono', 'aria-describedby': 'secret-warning' });
  const copy = h('button', { type: 'button', class: 'btn' }, 'Copy');
  copy.addEventListener('click', async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(secret);
      toast('Copied.', 'success');
    } catch {
      toast('Select the text and copy it by hand.', 'info');
    }
  });
  return h(
    'div',
    { class: 'secret-box', role: 'region', 'aria-label': `New ${what}` },
    h('label', { for: 'new-secret' }, `New ${what}`),
    h('div', { class: 'inline' }, field, copy),
    h('p', { id: 'secret-warning', class: 'warning' }, `This is the only time the ${what} is shown. Store it now.`),
  );
}

function hookForm({ name = '', url = '' } = {}, submitLabel) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'hook-name' }, 'Name'), h('input', { id: 'hook-name', name: 'name', required: true, maxlength: 100, value: name })),
    h('div', { class: 'field' }, h('label', { for: 'hook-url' }, 'URL'), h('input', { id: 'hook-url', name: 'url', type: 'url', required: true, value: url, placeholder: 'https://example.com/webhooks/tessera' })),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel)),
  );
  return { form, error };
}

function readHookForm(form, error) {
  const name = form.elements.name.value.trim();
  const url = form.elements.url.value.trim();
  const missing = !name ? form.elements.name : !url ? form.elements.url : null;
  if (missing) {
    error.textContent = `Enter the ${missing.name}.`;
    missing.setAttribute('aria-invalid', 'true');
    missing.focus();
    return null;
  }
  form.elements.name.removeAttribute('aria-invalid');
  form.elements.url.removeAttribute('aria-invalid');
  error.textContent = '';
  return { name, url };
}

export async function webhooksView(main) {
  const data = await gql(LIST);
  const hooks = data.webhooks.nodes;
  const admin = isAdmin();
  const created = h('div', { id: 'created-webhook', 'aria-live': 'polite' });
  let createSection = null;
  if (admin) {
    const { form, error } = hookForm({}, 'Create webhook');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const values = readHookForm(form, error);
      if (!values) return;
      try {
        const r = (await gql(`mutation($name: String!, $url: String!) { createWebhook(name: $name, url: $url) { secret webhook { ${HOOK} } } }`, values)).createWebhook;
        hooks.unshift(r.webhook);
        form.reset();
        drawList();
        mount(created, h('p', {}, 'Webhook ', h('a', { href: `#/webhooks/${encodeURIComponent(r.webhook.id)}` }, r.webhook.name), ' created.'), secretBox(r.secret));
        document.getElementById('new-secret').focus();
      } catch (err) {
        error.textContent = err.fields?.length ? err.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : err.message;
      }
    });
    createSection = h('section', { class: 'card', 'aria-labelledby': 'create-heading' }, h('h2', { id: 'create-heading' }, 'New webhook'), form, created);
  }
  const list = h('div', { id: 'webhook-list' });
  function drawList() {
    mount(
      list,
      hooks.length
        ? table(
            [
              { label: 'Name', cell: (w) => h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.name) },
              { label: 'URL', cell: (w) => h('span', { class: 'mono' }, w.url) },
              { label: 'State', cell: (w) => (w.enabled ? badge('enabled', 'pass') : badge('disabled', 'fail')) },
              { label: 'Created', cell: (w) => fmtDate(w.createdAt) },
            ],
            hooks,
            { caption: 'Webhook endpoints' },
          )
        : empty('No webhook endpoint yet.' + (admin ? ' Create one above.' : '')),
    );
  }
  drawList();
  mount(
    main,
    h('h1', {}, 'Webhooks'),
    h('p', { class: 'muted' }, 'Tessera sends session and identity events to these URLs, signed with each endpoint’s secret (Standard Webhooks).'),
    createSection,
    h('section', { class: 'card', 'aria-labelledby': 'list-heading' }, h('h2', { id: 'list-heading' }, 'Endpoints'), list),
  );
}

// The delivery log of one endpoint (the newest 50).
const DELIVERIES = `query Deliveries($id: String!) {
  webhook(id: $id) {
    deliveries(first: 50) { id eventType sessionId sessionKind status attempts lastStatusCode lastError nextAttemptAt createdAt deliveredAt }
  }
}`;

/// Where a delivery's session opens: authentications (IDA) have their own page.
function sessionLink(d) {
  if (!d.sessionId) return '—';
  const route = d.sessionKind === 'ida' ? 'authentications' : 'sessions';
  return h('a', { href: `#/${route}/${encodeURIComponent(d.sessionId)}`, class: 'mono' }, d.sessionId.slice(0, 13) + '…');
}

const UNSETTLED = ['pending', 'sending'];

/// Draws the log; returns its rows (null when it could not be read).
async function deliveryLog(el, hookId, { quiet = false } = {}) {
  if (!quiet) mount(el, loading('Loading deliveries'));
  let rows;
  try {
    rows = (await gql(DELIVERIES, { id: hookId })).webhook?.deliveries || [];
  } catch (err) {
    mount(el, errorState(err, () => deliveryLog(el, hookId)));
    return null;
  }
  const admin = isAdmin();
  mount(
    el,
    rows.length
      ? table(
          [
            { label: 'Event', cell: (d) => d.eventType },
            { label: 'Session', cell: sessionLink },
            { label: 'Status', cell: (d) => badge(d.status, d.status) },
            { label: 'Attempts', cell: (d) => String(d.attempts), class: 'num' },
            { label: 'Last answer', cell: (d) => (d.lastStatusCode ? String(d.lastStatusCode) : d.lastError || '—') },
            { label: 'Created', cell: (d) => fmtDate(d.createdAt) },
            {
              label: 'Actions',
              cell: (d) =>
                admin
                  ? h('button', {
                      type: 'button', class: 'btn btn-small',
                      onClick: async () => {
                        try {
                          await gql('mutation($id: String!) { redeliverWebhookDelivery(id: $id) { id } }', { id: d.id });
                          toast('Delivery queued again.', 'success');
                          followDelivery(el, hookId, d.id);
                        } catch (err) {
                          toast(`Could not redeliver: ${err.message}`, 'error');
                        }
                      },
                    }, 'Redeliver')
                  : '—',
            },
          ],
          rows,
          { caption: 'Deliveries' },
        )
      : empty('No delivery yet. Send a test event to try the endpoint.'),
    rows.length === 50 ? h('p', { class: 'muted' }, 'The newest 50 deliveries.') : null,
  );
  return rows;
}

/// Refreshes the log until delivery `id` is delivered or failed (about a
/// minute at most), while the log is on screen.
async function followDelivery(el, hookId, id) {
  for (let i = 0; i < 40 && el.isConnected; i++) {
    const rows = await deliveryLog(el, hookId, { quiet: true });
    const row = rows?.find((d) => d.id === id);
    if (!rows || (row && !UNSETTLED.includes(row.status))) return;
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

export async function webhookView(main, { params }) {
  const data = await gql(`query Hook($id: String!) { webhook(id: $id) { ${HOOK} } }`, { id: params[0] });
  const w = data.webhook;
  if (!w) {
    mount(main, h('h1', {}, 'Webhook not found'), empty('No webhook of your client has this id.'), h('a', { href: '#/webhooks' }, '← Webhooks'));
    return;
  }
  const admin = isAdmin();
  const log = h('div', { id: 'delivery-log', 'aria-live': 'polite' });
  const secretArea = h('div', { 'aria-live': 'polite' });
  let editSection = null;
  if (admin) {
    const { form, error } = hookForm(w, 'Save changes');
    const enabled = h('input', { type: 'checkbox', id: 'hook-enabled', name: 'enabled', checked: w.enabled });
    form.insertBefore(h('div', { class: 'field field-check' }, enabled, h('label', { for: 'hook-enabled' }, 'Enabled')), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const values = readHookForm(form, error);
      if (!values) return;
      try {
        await gql('mutation($id: String!, $name: String, $url: String, $enabled: Boolean) { updateWebhook(id: $id, name: $name, url: $url, enabled: $enabled) { id } }', { id: w.id, ...values, enabled: enabled.checked });
        toast('Webhook saved.', 'success');
        await webhookView(main, { params });
      } catch (err) {
        error.textContent = err.message;
      }
    });
    const test = h('button', { type: 'button', class: 'btn', id: 'send-test' }, 'Send test event');
    test.addEventListener('click', async () => {
      try {
        const sent = (await gql('mutation($id: String!) { sendWebhookTest(id: $id) { id } }', { id: w.id })).sendWebhookTest;
        toast('Test event queued.', 'success');
        followDelivery(log, w.id, sent.id);
      } catch (err) {
        toast(`Could not send: ${err.message}`, 'error');
      }
    });
    const rotate = h('button', { type: 'button', class: 'btn' }, 'Rotate secret…');
    rotate.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Rotate the signing secret?', body: h('p', {}, 'A new secret is created; the old one stays valid for 24 hours so receivers can switch.'), confirmLabel: 'Rotate' });
      if (!ok) return rotate.focus();
      try {
        const r = (await gql('mutation($id: String!) { rotateWebhookSecret(id: $id) { secret } }', { id: w.id })).rotateWebhookSecret;
        mount(secretArea, secretBox(r.secret));
        document.getElementById('new-secret').focus();
      } catch (err) {
        toast(`Could not rotate: ${err.message}`, 'error');
      }
    });
    const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete…');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Delete this webhook?', body: h('p', {}, `Events stop going to ${w.url}.`), confirmLabel: 'Delete', danger: true });
      if (!ok) return del.focus();
      try {
        await gql('mutation($id: String!) { deleteWebhook(id: $id) }', { id: w.id });
        toast('Webhook deleted.', 'success');
        location.hash = '#/webhooks';
      } catch (err) {
        toast(`Could not delete: ${err.message}`, 'error');
      }
    });
    editSection = h('section', { class: 'card', 'aria-labelledby': 'edit-heading' }, h('h2', { id: 'edit-heading' }, 'Edit'), form, h('div', { class: 'actions' }, test, rotate, del), secretArea);
  }
  mount(
    main,
    h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('h1', {}, w.name),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hook-heading' },
      h('h2', { id: 'hook-heading' }, 'Endpoint'),
      fields([
        ['URL', h('span', { class: 'mono' }, w.url)],
        ['State', w.enabled ? badge('enabled', 'pass') : badge('disabled', 'fail')],
        ['Disabled because', w.disabledReason],
        ['Failing since', w.failingSince ? fmtDate(w.failingSince) : null],
        ['Previous secret valid until', w.previousSecretExpiresAt ? fmtDate(w.previousSecretExpiresAt) : null],
        ['Created', fmtDate(w.createdAt)],
        ['Id', h('span', { class: 'mono' }, w.id)],
      ]),
    ),
    editSection,
    h('section', { class: 'card', 'aria-labelledby': 'log-heading' }, h('h2', { id: 'log-heading' }, 'Delivery log'), log),
  );
  await deliveryLog(log, w.id);
}
