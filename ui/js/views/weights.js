// Weights: the version in force with units and meanings, an edit form with
// validation, the verdict policy (knock-out / review / score per family of
// checks) stored with each version, a what-if re-score of recent sessions
// with the proposed weights and policy, and the version history with a diff
// between consecutive versions.

import { gql, isAdmin } from '../api.js';
import { empty, errorState, fmtDate, fmtNumber, h, humanize, loading, mount, table, toast } from '../dom.js';
import { checkLabel } from '../labels.js';

const WEIGHT_UNIT = 'relative weight';
const WEIGHT_HELP = 'A check counts in the score (the weighted mean of the checks that ran) in proportion to its weight: 2 counts twice as much as 1; 0 keeps it out of the score.';

/// The weights grouped by what they judge: [group id, title, what the group
/// is about, [[field, unit, meaning], ...]]. Camel case as GraphQL names them.
export const GROUPS = [
  ['document', 'Document', 'How the document images and their printed fields are judged.', [
    ['suspiciousWordsWeight', WEIGHT_UNIT, 'Weight of the “suspicious words on the document” check (SPECIMEN, VOID, ...).'],
    ['imageManipulationWeight', WEIGHT_UNIT, 'Weight of the image-manipulation (forgery) check.'],
    ['onlineDuplicationWeight', WEIGHT_UNIT, 'Weight of the “image or document already seen elsewhere” check.'],
    ['isIdentityDocumentWeight', WEIGHT_UNIT, 'Weight of the “this is an identity document” check.'],
    ['driverLicenseFuzzyMatchTolerance', 'similarity', 'Driver licence: least similarity of a printed field to the barcode that still matches.'],
    ['driverLicenseFuzzyMatchWeight', WEIGHT_UNIT, 'Weight of each driver licence cross-check (name, address, number, expiry).'],
    ['stateIdFuzzyMatchTolerance', 'similarity', 'State ID card: least printed-to-barcode similarity that still matches.'],
    ['stateIdFuzzyMatchWeight', WEIGHT_UNIT, 'Weight of each state ID card cross-check.'],
    ['passportFuzzyMatchTolerance', 'similarity', 'Passport: least similarity of the printed fields to the MRZ that still matches.'],
    ['passportFuzzyMatchWeight', WEIGHT_UNIT, 'Weight of each passport cross-check.'],
    ['passportCardFuzzyMatchTolerance', 'similarity', 'Passport card: least printed-to-MRZ similarity that still matches.'],
    ['passportCardFuzzyMatchWeight', WEIGHT_UNIT, 'Weight of each passport card cross-check.'],
  ]],
  ['face', 'Face', 'The selfie against the document portrait and the stored face.', [
    ['onboardingFaceEncodingTolerance', 'face distance', 'Largest distance between selfie and document portrait that still matches at onboarding (lower is stricter).'],
    ['verifiedAccountFaceEncodingTolerance', 'face distance', 'The same limit when re-authenticating against the stored face.'],
    ['ageTolerance', 'years', 'Largest difference between the age estimated from the selfie and the document’s birth date.'],
    ['ageWeight', WEIGHT_UNIT, 'Weight of the age check.'],
    ['genderProbabilityTolerance', 'probability', 'Least probability that the sex estimated from the selfie agrees with the document.'],
    ['genderWeight', WEIGHT_UNIT, 'Weight of the sex check.'],
  ]],
  ['liveness', 'Liveness', 'Whether the capture is of a live person.', [
    ['minimumLivenessTolerance', 'liveness score', 'Least liveness score that passes.'],
    ['passiveActiveSkipTolerance', 'liveness score', 'Passive-then-active mode: a passive score at or above this skips the active steps.'],
    ['expressionTolerance', 'expression score', 'Least expression score on an expression step of active liveness.'],
    ['directionTolerance', 'degrees', 'Head yaw / pitch error accepted on each active liveness step.'],
  ]],
  ['dmv', 'DMV', 'The DMV (AAMVA) record check of a driver licence or state ID.', [
    ['aamvaMatchTolerance', 'fraction of fields', 'Least fraction of the DMV-checked fields that must match.'],
    ['aamvaMatchWeight', WEIGHT_UNIT, 'Weight of the DMV check.'],
  ]],
  ['screening', 'Screening', 'Sanctions and PEP list screening of the name.', [
    ['ofacFuzzyMatchTolerance', 'similarity', 'Least name similarity to a list entry that counts as a hit (higher means fewer hits).'],
    ['ofacFuzzyMatchWeight', WEIGHT_UNIT, 'Weight of the screening check.'],
  ]],
  ['thresholds', 'Thresholds', 'What the score must reach.', [
    ['idvSessionTolerance', 'score', 'Least overall score (0–1, the weighted mean of the checks that ran) a session needs to be verified.'],
  ]],
];

// [field, unit, meaning] of every weight.
export const WEIGHTS = GROUPS.flatMap(([, , , fields]) => fields);

/// The server's accepted range (service::weights::allowed_range).
export function range(field) {
  if (field === 'ageTolerance') return [0, 120];
  if (field === 'directionTolerance') return [0, 90];
  if (field.endsWith('Weight')) return [0, 100];
  return [0, 1];
}

const FIELDS = WEIGHTS.map(([f]) => f).join(' ');
const QUERY = `query Weights { weightsInForce { id clientId userId createdAt createdBy createdByName changeNote ${FIELDS} policy }
  weightsVersions(first: 20) { id clientId userId createdAt createdBy createdByName changeNote ${FIELDS} policy }
  policyRules { key defaultAction checks description } }`;

export const ACTIONS = [
  ['knock_out', 'Knock-out: a fail rejects'],
  ['review', 'Review: a fail sends to review'],
  ['score', 'Score: a fail only lowers the score'],
];
/// Rules without a weight: a fail must reject or send to review.
const GATES = ['face_match', 'liveness'];
const VALIDITY_WEIGHT = 'document_validity_weight';

/// Policy entries whose value differs between two policies.
export function policyDiff(older, newer) {
  const keys = new Set([...Object.keys(older || {}), ...Object.keys(newer || {})]);
  return [...keys].filter((k) => (older || {})[k] !== (newer || {})[k]).map((k) => ({ field: k, from: (older || {})[k], to: (newer || {})[k] }));
}

function readPolicy(form, rules) {
  const policy = {};
  for (const r of rules) policy[r.key] = form.elements[`policy-${r.key}`].value;
  const el = form.elements[`policy-${VALIDITY_WEIGHT}`];
  const num = Number(el.value.trim());
  const bad = el.value.trim() === '' || !Number.isFinite(num) || num < 0 || num > 100;
  document.getElementById(`policy-${VALIDITY_WEIGHT}-error`).textContent = bad ? 'Must be between 0 and 100.' : '';
  el.setAttribute('aria-invalid', bad ? 'true' : 'false');
  policy[VALIDITY_WEIGHT] = num;
  return { policy, bad };
}

function policySection(current, rules, admin) {
  const rows = rules.map((r) => {
    const id = `policy-${r.key}`;
    const inForce = current.policy?.[r.key] ?? r.defaultAction;
    const options = ACTIONS.filter(([a]) => a !== 'score' || !GATES.includes(r.key)).map(([a, text]) =>
      h('option', { value: a, selected: a === inForce }, text));
    return h(
      'tr',
      { dataset: { rule: r.key } },
      h('th', { scope: 'row' }, h('label', { for: id }, humanize(r.key)), h('p', { class: 'muted meaning', id: `${id}-meaning` }, r.description)),
      h('td', {}, h('span', { class: `badge policy-${inForce}` }, humanize(inForce))),
      h('td', {}, h('select', { id, name: id, disabled: !admin, 'aria-describedby': `${id}-meaning` }, options)),
      h('td', { class: 'muted' }, `default: ${humanize(r.defaultAction)}`),
    );
  });
  const wid = `policy-${VALIDITY_WEIGHT}`;
  const weight = current.policy?.[VALIDITY_WEIGHT] ?? 1;
  rows.push(h(
    'tr',
    {},
    h('th', { scope: 'row' }, h('label', { for: wid }, 'Document validity weight'), h('p', { class: 'muted meaning', id: `${wid}-meaning` }, 'Weight in the score of each document-date check (expiry, issue date, date order, birth date).')),
    h('td', { class: 'num' }, fmtNumber(weight, 3)),
    h('td', {}, h('input', { id: wid, name: wid, type: 'number', step: 'any', min: 0, max: 100, value: String(weight), disabled: !admin, 'aria-describedby': `${wid}-meaning ${wid}-error` }),
      h('span', { class: 'field-error', id: `${wid}-error` })),
    h('td', { class: 'muted' }, 'relative weight (0–100)'),
  ));
  return h(
    'div',
    { class: 'table-wrap', id: 'policy-editor' },
    h('h3', { id: 'policy-heading' }, 'Verdict policy'),
    h('p', { class: 'muted' }, 'What a failed check does, whatever the SDK sends: knock-out rejects, review holds the user for a person (verified: false, review required), score only lowers the score. The SDK’s finalize *_fail switches can only make this stricter.'),
    h(
      'table',
      { class: 'weights-table policy-table' },
      h('caption', { class: 'sr-only' }, 'Verdict policy in force and proposed actions'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rule'), h('th', { scope: 'col' }, 'In force'), h('th', { scope: 'col' }, 'New action'), h('th', { scope: 'col' }, 'Default'))),
      h('tbody', {}, rows),
    ),
  );
}

function label(field) {
  return humanize(field.replace(/([A-Z])/g, '_$1').toLowerCase());
}

/// Fields whose value differs between two versions.
export function diff(older, newer) {
  return WEIGHTS.map(([f]) => f).filter((f) => older[f] !== newer[f]).map((f) => ({ field: f, from: older[f], to: newer[f] }));
}

function readForm(form) {
  const values = {};
  const errors = [];
  for (const [field] of WEIGHTS) {
    const el = form.elements[field];
    const raw = el.value.trim();
    const num = Number(raw);
    const [min, max] = range(field);
    let message = '';
    if (raw === '' || !Number.isFinite(num)) message = 'Enter a number.';
    else if (num < min || num > max) message = `Must be between ${min} and ${max}.`;
    const err = document.getElementById(`${field}-error`);
    err.textContent = message;
    el.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (message) errors.push(field);
    values[field] = num;
  }
  return { values, errors };
}

/// The checks and weights that turned one session's verdict: per check,
/// what it did in force and what it would do.
function explainFlip(x) {
  const diffs = x.differences || [];
  const moved = (x.changes || []).map((c) => `${c.field.startsWith('policy.') ? 'policy: ' + humanize(c.field.slice(7)) : humanize(c.field)} ${c.before} → ${c.after}`);
  return h(
    'div',
    { class: 'flip-explanation' },
    diffs.length
      ? h(
          'ul',
          { class: 'flip-why' },
          diffs.map((d) =>
            h('li', { dataset: { check: d.check } }, h('strong', {}, checkLabel(d.check)), ` (${d.changed.join(', ')}): `, h('del', {}, d.before), ' → ', h('ins', {}, d.after))),
        )
      : h('span', { class: 'muted' }, 'the same checks, a different total'),
    moved.length ? h('p', { class: 'muted flip-weights' }, `Against this session’s version: ${moved.join('; ')}`) : null,
  );
}

/// Asks for confirmation with the diff against the version in force and a
/// required change note; resolves to the note, or null when cancelled.
function confirmSave(current, values, policy) {
  const changes = [
    ...diff(current, values).map((c) => ({ ...c, name: label(c.field) })),
    ...policyDiff(current.policy, policy).map((c) => ({ ...c, name: `policy: ${humanize(c.field)}` })),
  ];
  return new Promise((resolve) => {
    const note = h('textarea', { id: 'change-note', name: 'change-note', rows: 3, maxlength: 500, 'aria-required': 'true', 'aria-describedby': 'change-note-help change-note-error' });
    const noteError = h('p', { class: 'field-error', id: 'change-note-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'btn btn-primary', value: 'ok', id: 'confirm-save' }, 'Save new version');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'save-title' }, 'Save a new weights version?'),
      h('p', {}, 'Changes against the version in force ', h('span', { class: 'mono' }, current.id), ':'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'save-diff', class: 'weights-table' },
          h('caption', { class: 'sr-only' }, 'Values that change'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'In force'), h('th', { scope: 'col' }, 'New'))),
          h('tbody', {}, changes.map((c) => h('tr', { dataset: { field: c.field } }, h('th', { scope: 'row' }, c.name), h('td', {}, h('del', {}, String(c.from))), h('td', {}, h('ins', {}, String(c.to)))))),
        ),
      ),
      h('p', {}, h('label', { for: 'change-note' }, 'Why are you changing them? (required, kept with the version)'), h('br'), note),
      h('p', { class: 'muted', id: 'change-note-help' }, 'New sessions use the new version; existing sessions keep theirs.'),
      noteError,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn', value: 'cancel', formnovalidate: true }, 'Cancel'), ok),
    );
    const dialog = h('dialog', { 'aria-labelledby': 'save-title', id: 'save-dialog' }, form);
    form.addEventListener('submit', (ev) => {
      if (ev.submitter?.value === 'ok' && !note.value.trim()) {
        ev.preventDefault();
        noteError.textContent = 'Write why the weights change.';
        note.setAttribute('aria-invalid', 'true');
        note.focus();
      }
    });
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'ok';
      dialog.remove();
      resolve(confirmed ? note.value.trim() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    note.focus();
  });
}

export async function weightsView(main) {
  const data = await gql(QUERY);
  const current = data.weightsInForce;
  const versions = data.weightsVersions;
  const rules = data.policyRules;
  const admin = isAdmin();
  const whatIf = h('div', { id: 'what-if', 'aria-live': 'polite' });
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'weights-error' });
  const weightRow = ([field, unit, meaning]) => {
    const [min, max] = range(field);
    return h(
      'tr',
      { dataset: { field } },
      h('th', { scope: 'row' }, h('label', { for: field }, label(field)), h('p', { class: 'muted meaning', id: `${field}-meaning` }, meaning)),
      h('td', { class: 'num' }, fmtNumber(current[field], 3)),
      h(
        'td',
        {},
        h('input', {
          id: field, name: field, type: 'number', step: 'any', min, max, value: String(current[field]), inputmode: 'decimal',
          disabled: !admin, 'aria-describedby': `${field}-meaning ${field}-error`,
        }),
        h('span', { class: 'field-error', id: `${field}-error` }),
      ),
      h('td', { class: 'muted unit' }, `${unit} (${min}–${max})`),
    );
  };
  const groups = GROUPS.map(([id, title, about, fields]) =>
    h(
      'fieldset',
      { class: 'weights-group', id: `group-${id}` },
      h('legend', {}, title),
      h('p', { class: 'muted' }, about),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'weights-table' },
          h('caption', { class: 'sr-only' }, `${title}: weights in force and proposed values`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Weight'), h('th', { scope: 'col' }, 'In force'), h('th', { scope: 'col' }, 'New value'), h('th', { scope: 'col' }, 'Unit (range)'))),
          h('tbody', {}, fields.map(weightRow)),
        ),
      ),
    ));
  const form = h(
    'form',
    { id: 'weights-form', novalidate: true },
    h('p', { class: 'muted' }, WEIGHT_HELP),
    groups,
    policySection(current, rules, admin),
    formError,
    admin
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'btn', id: 'what-if-button' }, 'Re-score recent sessions (what-if)'),
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-weights' }, 'Save as a new version'),
        )
      : h('p', { class: 'muted' }, 'Viewers can read the weights; only admins change them.'),
  );

  form.querySelector('#what-if-button')?.addEventListener('click', async () => {
    const { values, errors } = readForm(form);
    const { policy, bad } = readPolicy(form, rules);
    if (bad) errors.push(`policy-${VALIDITY_WEIGHT}`);
    if (errors.length) {
      formError.textContent = `Fix ${errors.length} value(s) first.`;
      document.getElementById(errors[0]).focus();
      return;
    }
    formError.textContent = '';
    mount(whatIf, loading('Re-scoring recent sessions'));
    try {
      const r = (await gql(
        `query($w: WeightsValuesInput!, $p: JSON) { whatIfRescore(weights: $w, policy: $p, sessions: 100) {
          sessionsScored verifiedBefore verifiedAfter reviewBefore reviewAfter changed
          sessions { sessionId changed stored { decision score } proposed { decision score }
            changes { field before after } differences { check before after changed } } } }`,
        { w: values, p: policy },
      )).whatIfRescore;
      const changed = r.sessions.filter((x) => x.changed);
      mount(
        whatIf,
        h('h3', {}, 'What-if'),
        h('p', {}, `${r.sessionsScored} recent finalized session(s) re-scored: verified ${r.verifiedBefore} → ${r.verifiedAfter}, needs review ${r.reviewBefore} → ${r.reviewAfter}; ${r.changed} decision(s) would change. Nothing was saved.`),
        changed.length
          ? table(
              [
                { label: 'Session', cell: (x) => h('a', { href: `#/sessions/${encodeURIComponent(x.sessionId)}`, class: 'mono' }, x.sessionId) },
                { label: 'Stored', cell: (x) => `${humanize(x.stored.decision)} (${fmtNumber(x.stored.score)})` },
                { label: 'Proposed', cell: (x) => `${humanize(x.proposed.decision)} (${fmtNumber(x.proposed.score)})` },
                { label: 'What made the difference', cell: explainFlip },
              ],
              changed.slice(0, 50),
              { caption: 'Sessions whose verdict would change' },
            )
          : null,
      );
    } catch (err) {
      mount(whatIf, errorState(err));
    }
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { values, errors } = readForm(form);
    const { policy, bad } = readPolicy(form, rules);
    if (bad) errors.push(`policy-${VALIDITY_WEIGHT}`);
    if (errors.length) {
      formError.textContent = `Fix ${errors.length} value(s) first.`;
      document.getElementById(errors[0]).focus();
      return;
    }
    if (!diff(current, values).length && !policyDiff(current.policy, policy).length) {
      formError.textContent = 'No value changed.';
      return;
    }
    formError.textContent = '';
    const note = await confirmSave(current, values, policy);
    if (note === null) {
      form.querySelector('#save-weights').focus();
      return;
    }
    const save = form.querySelector('#save-weights');
    save.disabled = true;
    try {
      const v = (await gql(
        'mutation($w: WeightsValuesInput!, $p: JSON, $n: String) { updateWeights(weights: $w, policy: $p, changeNote: $n) { id } }',
        { w: values, p: policy, n: note },
      )).updateWeights;
      toast(`Saved weights version ${v.id}.`, 'success');
      await weightsView(main);
      document.getElementById('history-heading')?.focus();
    } catch (err) {
      save.disabled = false;
      formError.textContent = err.message;
      for (const fe of err.fields || []) {
        const field = fe.field.startsWith('policy.') ? `policy-${fe.field.slice(7)}` : fe.field.replace(/_([a-z])/g, (_, c) => c.toUpperCase()).replace(/^weights\./, '');
        const el = document.getElementById(`${field}-error`);
        if (el) el.textContent = fe.message;
      }
    }
  });

  const history = versions.length
    ? h(
        'ol',
        { class: 'versions' },
        versions.map((v, idx) => {
          const older = versions[idx + 1];
          const changes = older ? [...diff(older, v), ...policyDiff(older.policy, v.policy).map((c) => ({ ...c, field: `policy: ${c.field}` }))] : [];
          return h(
            'li',
            { class: 'version', dataset: { versionId: v.id } },
            h(
              'p',
              {},
              h('strong', { class: 'mono' }, v.id),
              ' ',
              v.id === current.id ? h('span', { class: 'badge badge-pass' }, 'in force') : null,
              v.clientId ? null : h('span', { class: 'badge' }, 'platform default'),
              h('span', { class: 'muted' }, ` ${fmtDate(v.createdAt)}`),
              v.createdBy ? h('span', { class: 'version-author' }, ` by ${v.createdByName || v.createdBy}`) : null,
            ),
            v.changeNote ? h('p', { class: 'change-note' }, h('span', { class: 'muted' }, 'Why: '), v.changeNote) : null,
            older
              ? changes.length
                ? h('ul', { class: 'diff' }, changes.map((c) => h('li', {}, `${c.field.startsWith('policy: ') ? humanize(c.field) : label(c.field)}: `, h('del', {}, String(c.from)), ' → ', h('ins', {}, String(c.to)))))
                : h('p', { class: 'muted' }, 'Same values as the version before.')
              : h('p', { class: 'muted' }, v.clientId ? 'First version.' : 'The values your client started from.'),
          );
        }),
      )
    : empty('No version was written for your client yet: the platform default is in force.');

  mount(
    main,
    h('h1', {}, 'Weights'),
    h(
      'p',
      { class: 'muted' },
      'In force: ',
      h('span', { class: 'mono', id: 'weights-in-force' }, current.id),
      current.clientId ? ` (your client, ${fmtDate(current.createdAt)})` : ' (platform default)',
      '. Saving writes a new immutable version; existing sessions keep the version pinned at their creation.',
    ),
    h('section', { class: 'card', 'aria-labelledby': 'edit-heading' }, h('h2', { id: 'edit-heading' }, admin ? 'Edit' : 'Values'), form, whatIf),
    h('section', { class: 'card', 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading', tabindex: '-1' }, 'Version history'), history),
  );
}
