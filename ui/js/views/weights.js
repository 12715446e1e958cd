// Weights: the version in force with units and meanings, an edit form with
// validation, the verdict policy (knock-out / review / score per family of
// checks) stored with each version, a what-if re-score of recent sessions
// with the proposed weights and policy, and the version history with a diff
// between consecutive versions.

import { gql, isAdmin } from '../api.js';
import { empty, errorState, fmtDate, fmtNumber, h, humanize, loading, mount, table, toast } from '../dom.js';

// [field, unit, meaning] in the API's order (camelCase as GraphQL names them).
export const WEIGHTS = [
  ['onboardingFaceEncodingTolerance', 'distance', 'Largest face-embedding distance between selfie and document portrait that still matches at onboarding.'],
  ['verifiedAccountFaceEncodingTolerance', 'distance', 'The same distance limit for re-authentication against the stored face.'],
  ['driverLicenseFuzzyMatchTolerance', 'similarity', 'Driver licence: minimum similarity of a field read on the front to the barcode.'],
  ['driverLicenseFuzzyMatchWeight', 'share', 'Driver licence cross-checks’ share of the score.'],
  ['stateIdFuzzyMatchTolerance', 'similarity', 'State ID card: minimum front-to-barcode similarity.'],
  ['stateIdFuzzyMatchWeight', 'share', 'State ID card cross-checks’ share of the score.'],
  ['passportFuzzyMatchTolerance', 'similarity', 'Passport: minimum similarity of the printed fields to the MRZ.'],
  ['passportFuzzyMatchWeight', 'share', 'Passport cross-checks’ share of the score.'],
  ['passportCardFuzzyMatchTolerance', 'similarity', 'Passport card: minimum front-to-MRZ similarity.'],
  ['passportCardFuzzyMatchWeight', 'share', 'Passport card cross-checks’ share of the score.'],
  ['ofacFuzzyMatchTolerance', 'similarity', 'Minimum name similarity to a sanctions-list entry that counts as a hit.'],
  ['ofacFuzzyMatchWeight', 'share', 'Sanctions screening’s share of the score.'],
  ['suspiciousWordsWeight', 'share', 'Share of the “suspicious words on the document” check (e.g. SPECIMEN).'],
  ['imageManipulationWeight', 'share', 'Share of the image-manipulation (forgery) check.'],
  ['onlineDuplicationWeight', 'share', 'Share of the “image found online” check.'],
  ['isIdentityDocumentWeight', 'share', 'Share of the “this is an identity document” check.'],
  ['aamvaMatchTolerance', 'fraction', 'Fraction of DMV-checked fields that must match.'],
  ['aamvaMatchWeight', 'share', 'DMV check’s share of the score.'],
  ['idvSessionTolerance', 'score', 'Minimum total score (weighted mean of the checks that ran) for a verified session.'],
  ['minimumLivenessTolerance', 'score', 'Minimum liveness score.'],
  ['passiveActiveSkipTolerance', 'score', 'In passive-then-active mode, a passive score at or above this skips the active steps.'],
  ['genderProbabilityTolerance', 'probability', 'Minimum probability of the estimated sex of the selfie agreeing with the document.'],
  ['genderWeight', 'share', 'Sex estimate’s share of the score.'],
  ['expressionTolerance', 'score', 'Minimum expression score on an expression step of active liveness.'],
  ['ageTolerance', 'years', 'Largest difference between the estimated age of the selfie and the document’s birth date.'],
  ['ageWeight', 'share', 'Age estimate’s share of the score.'],
  ['directionTolerance', 'degrees', 'Head yaw / pitch error accepted per active liveness step.'],
];

/// The server's accepted range (service::weights::allowed_range).
export function range(field) {
  if (field === 'ageTolerance') return [0, 120];
  if (field === 'directionTolerance') return [0, 90];
  if (field.endsWith('Weight')) return [0, 100];
  return [0, 1];
}

const FIELDS = WEIGHTS.map(([f]) => f).join(' ');
const QUERY = `query Weights { weightsInForce { id clientId userId createdAt createdBy ${FIELDS} policy }
  weightsVersions(first: 20) { id clientId userId createdAt createdBy ${FIELDS} policy }
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
    h('th', { scope: 'row' }, h('label', { for: wid }, 'Document validity weight'), h('p', { class: 'muted meaning', id: `${wid}-meaning` }, 'Share in the score of each document-date check (expiry, issue date, date order, birth date).')),
    h('td', { class: 'num' }, fmtNumber(weight, 3)),
    h('td', {}, h('input', { id: wid, name: wid, type: 'number', step: 'any', min: 0, max: 100, value: String(weight), disabled: !admin, 'aria-describedby': `${wid}-meaning ${wid}-error` }),
      h('span', { class: 'field-error', id: `${wid}-error` })),
    h('td', { class: 'muted' }, 'share (0–100)'),
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

export async function weightsView(main) {
  const data = await gql(QUERY);
  const current = data.weightsInForce;
  const versions = data.weightsVersions;
  const rules = data.policyRules;
  const admin = isAdmin();
  const whatIf = h('div', { id: 'what-if', 'aria-live': 'polite' });
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'weights-error' });
  const rows = WEIGHTS.map(([field, unit, meaning]) => {
    const [min, max] = range(field);
    return h(
      'tr',
      {},
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
      h('td', { class: 'muted' }, `${unit} (${min}–${max})`),
    );
  });
  const form = h(
    'form',
    { id: 'weights-form', novalidate: true },
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'weights-table' },
        h('caption', { class: 'sr-only' }, 'Weights in force and proposed values'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Weight'), h('th', { scope: 'col' }, 'In force'), h('th', { scope: 'col' }, 'New value'), h('th', { scope: 'col' }, 'Unit (range)'))),
        h('tbody', {}, rows),
      ),
    ),
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
          sessions { sessionId changed stored { decision score } proposed { decision score } } } }`,
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
    const save = form.querySelector('#save-weights');
    save.disabled = true;
    try {
      const v = (await gql('mutation($w: WeightsValuesInput!, $p: JSON) { updateWeights(weights: $w, policy: $p) { id } }', { w: values, p: policy })).updateWeights;
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
              h('span', { class: 'muted' }, ` ${fmtDate(v.createdAt)}${v.createdBy ? ' by ' + v.createdBy : ''}`),
            ),
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
