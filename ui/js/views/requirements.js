// Requirements: per document type, a matrix of required fields (rows) by
// data source (columns); saving writes every changed column.

import { gql, isAdmin } from '../api.js';
import { confirmDialog, empty, errorState, h, humanize, loading, mount, table, toast } from '../dom.js';

const FLAGS = [
  'documentNumberRequired', 'refNumberRequired', 'issueAtRequired', 'expiresAtRequired', 'issuingCountryRequired',
  'issuingStateRequired', 'firstNameRequired', 'middleNameRequired', 'lastNameRequired', 'nameSuffixRequired',
  'streetRequired', 'cityRequired', 'stateRequired', 'postalCodeRequired', 'birthDateRequired', 'genderRequired',
  'heightRequired', 'weightRequired', 'eyeColorRequired', 'hairColorRequired', 'classRequired', 'mentionsRequired',
  'restrictionsRequired', 'rawBarcodeRequired', 'faceEncodingRequired',
];
const TYPES = ['driver_license', 'identification_card', 'passport', 'passport_card'];
const SOURCES = ['barcode', 'mrz', 'ocr', 'manual'];

const QUERY = `query Requirements { requirements { documentType dataSource ${FLAGS.join(' ')} } }`;

function flagLabel(flag) {
  return humanize(flag.replace(/Required$/, '').replace(/([A-Z])/g, '_$1').toLowerCase());
}

export async function requirementsView(main, { query }) {
  const all = (await gql(QUERY)).requirements;
  const admin = isAdmin();
  let docType = TYPES.includes(query.get('type')) ? query.get('type') : TYPES[0];
  const matrix = h('div', { id: 'requirements-matrix' });
  const status = h('p', { class: 'form-error', role: 'alert' });
  const preview = h('div', { id: 'requirements-preview', 'aria-live': 'polite' });
  let previewTimer = null;

  /// Re-judges recent sessions under the unsaved changes (one query per
  /// changed data source) and shows whose verdict would change.
  async function showPreview() {
    const changes = changedFlags();
    if (!changes.size) {
      mount(preview);
      return;
    }
    mount(preview, loading('Checking recent sessions'));
    const parts = [...changes.entries()].map(([source], i) =>
      `p${i}: requirementsPreview(input: $i${i}, sessions: 200) { sessionsChecked newlyMissing changed
        sessions { sessionId completedAt missingInForce missingProposed changed inForce { decision } proposed { decision } } }`);
    const vars = {};
    const decl = [...changes.entries()].map(([source, flags], i) => {
      vars[`i${i}`] = { documentType: docType, dataSource: source, ...flags };
      return `$i${i}: RequirementsInput!`;
    });
    let data;
    try {
      data = await gql(`query(${decl.join(', ')}) { ${parts.join(' ')} }`, vars);
    } catch (err) {
      mount(preview, errorState(err, showPreview));
      return;
    }
    const sources = [...changes.keys()];
    const blocks = sources.map((source, i) => {
      const r = data[`p${i}`];
      const affected = r.sessions.filter((x) => x.changed || x.missingProposed.some((f) => !x.missingInForce.includes(f)));
      return h(
        'div',
        { class: 'preview-source', dataset: { source } },
        h('p', { class: 'preview-summary' },
          `${humanize(docType)} read from ${source}: ${r.sessionsChecked} recent finalized session(s) looked at; `,
          h('strong', {}, `${r.changed} verdict(s) would change`), `, ${r.newlyMissing} would lack a newly required field.`),
        affected.length
          ? table(
              [
                { label: 'Session', cell: (x) => h('a', { href: `#/sessions/${encodeURIComponent(x.sessionId)}`, class: 'mono' }, x.sessionId) },
                { label: 'Would lack', cell: (x) => x.missingProposed.map(humanize).join(', ') || '—' },
                { label: "Verdict now", cell: (x) => humanize(x.inForce.decision) },
                { label: 'With the change', cell: (x) => (x.changed ? h('strong', {}, humanize(x.proposed.decision)) : humanize(x.proposed.decision)) },
              ],
              affected.slice(0, 50),
              { caption: `Sessions the ${source} change affects` },
            )
          : empty('No recent session would be affected.'),
      );
    });
    mount(preview, h('h3', {}, 'Effect on recent sessions (not saved yet)'), blocks);
  }

  const tabs = h(
    'div',
    { class: 'tabs', role: 'radiogroup', 'aria-label': 'Document type' },
    TYPES.map((t) =>
      h('label', { class: 'tab' }, h('input', { type: 'radio', name: 'doc-type', value: t, checked: t === docType }), humanize(t)),
    ),
  );
  tabs.addEventListener('change', async (ev) => {
    const next = ev.target.value;
    const unsaved = changedFlags();
    if (unsaved.size) {
      const count = [...unsaved.values()].reduce((n, flags) => n + Object.keys(flags).length, 0);
      const ok = await confirmDialog({
        title: 'Discard unsaved changes?',
        body: h('p', {}, `${count} change${count === 1 ? '' : 's'} to the ${humanize(docType)} requirements ${count === 1 ? 'is' : 'are'} not saved. Switching to ${humanize(next)} discards ${count === 1 ? 'it' : 'them'}.`),
        confirmLabel: 'Discard changes',
        danger: true,
      });
      if (!ok) {
        const current = tabs.querySelector(`input[value="${docType}"]`);
        current.checked = true;
        current.focus();
        return;
      }
    }
    docType = next;
    history.replaceState(null, '', `#/requirements?type=${docType}`);
    draw();
  });

  /// The checkboxes that differ from the stored requirements: source → {flag: value}.
  function changedFlags() {
    const changes = new Map();
    for (const box of matrix.querySelectorAll('input[type=checkbox]')) {
      const { source, flag } = box.dataset;
      if (!!setOf(docType, source)[flag] !== box.checked) {
        if (!changes.has(source)) changes.set(source, {});
        changes.get(source)[flag] = box.checked;
      }
    }
    return changes;
  }

  function setOf(type, source) {
    return all.find((r) => r.documentType === type && r.dataSource === source);
  }

  function draw() {
    mount(preview);
    clearTimeout(previewTimer);
    const sources = SOURCES.filter((src) => setOf(docType, src));
    const form = h(
      'form',
      { id: 'requirements-form' },
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'matrix' },
          h('caption', {}, `Fields required on a ${humanize(docType)}, by where they are read`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), sources.map((src) => h('th', { scope: 'col' }, src)))),
          h(
            'tbody',
            {},
            FLAGS.map((flag) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, flagLabel(flag)),
                sources.map((src) => {
                  const id = `req-${src}-${flag}`;
                  return h(
                    'td',
                    { class: 'check-cell' },
                    h('input', {
                      type: 'checkbox', id, name: id, checked: !!setOf(docType, src)[flag], disabled: !admin,
                      dataset: { source: src, flag }, 'aria-label': `${flagLabel(flag)} required (${src})`,
                    }),
                  );
                }),
              ),
            ),
          ),
        ),
      ),
      status,
      preview,
      admin
        ? h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', class: 'btn', id: 'preview-requirements', onClick: showPreview }, 'Preview effect on recent sessions'),
            h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-requirements' }, 'Save changes'),
          )
        : h('p', { class: 'muted' }, 'Only admins change requirements.'),
    );
    // Every change shows its effect before anything is saved.
    form.addEventListener('change', () => {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(showPreview, 300);
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const changes = changedFlags();
      if (!changes.size) {
        status.textContent = 'Nothing changed.';
        return;
      }
      status.textContent = '';
      const button = form.querySelector('#save-requirements');
      button.disabled = true;
      try {
        for (const [source, flags] of changes) {
          const saved = (await gql(
            `mutation($input: RequirementsInput!) { updateRequirements(input: $input) { documentType dataSource ${FLAGS.join(' ')} } }`,
            { input: { documentType: docType, dataSource: source, ...flags } },
          )).updateRequirements;
          const i = all.findIndex((r) => r.documentType === saved.documentType && r.dataSource === saved.dataSource);
          all[i] = saved;
        }
        toast(`Saved requirements of ${humanize(docType)} (${[...changes.keys()].join(', ')}).`, 'success');
        status.textContent = '';
        draw();
        document.getElementById('save-requirements')?.focus();
      } catch (err) {
        status.textContent = err.message;
        button.disabled = false;
      }
    });
    mount(matrix, form);
  }

  mount(
    main,
    h('h1', {}, 'Requirements'),
    h('p', { class: 'muted' }, 'A session fails the requirements check when its document lacks a required field.'),
    h('section', { class: 'card' }, tabs, matrix),
  );
  draw();
}
