// Manual review: the queue (filters, assign to me, next case, the figures)
// and the case view made for deciding (reasons first, the document with
// zoom and rotate, the faces side by side, printed vs barcode / MRZ fields
// with mismatches marked, the sanctions entry, duplicates, history) with
// keyboard shortcuts: a approve, r reject, n next case, m assign to me,
// e request a new capture, c confirm a pending decision.

import { currentUser, gql, scoped, activeClient } from '../api.js';
import { badge, empty, errorState, fields, fmtDate, fmtNumber, h, humanize, loading, mount, table, toast } from '../dom.js';
import { checkLabel } from '../labels.js';
import { checksTable } from './sessions.js';

const PAGE = 25;

/// Whether the logged-in user may work cases.
export function canReview() {
  const role = currentUser()?.role;
  return role === 'admin' || role === 'reviewer';
}

const AGES = [['', 'Any age'], ['1', 'Older than 1 hour'], ['4', 'Older than 4 hours'], ['24', 'Older than 1 day'], ['72', 'Older than 3 days']];
const STATES = [['', 'Waiting (open or in review)'], ['OPEN', 'Open'], ['IN_REVIEW', 'In review'], ['DECIDED', 'Decided']];
const REASONS = ['name_crosscheck', 'document_number_crosscheck', 'address_crosscheck', 'expiry_crosscheck', 'document_issue_date', 'duplicate_face', 'dmv', 'ofac', 'face_match', 'liveness', 'manual'];

const QUEUE = `query Queue($first: Int, $after: String, $filter: ReviewCaseFilter, $clients: [String!]) {
  reviewStats(clientIds: $clients) { openCases inReview decided medianDecisionSeconds overdueOpen decidedLate slaBreaches }
  reviewers { id email }
  reviewCases(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id state priority sessionId identityId openedBy slaDueAt slaBreached createdAt outcome
      reasons { check message } assignee { id email } }
  }
}`;

function fmtDuration(secs) {
  if (secs === null || secs === undefined) return '—';
  if (secs < 90) return `${Math.round(secs)} s`;
  if (secs < 5400) return `${Math.round(secs / 60)} min`;
  if (secs < 172800) return `${(secs / 3600).toFixed(1)} h`;
  return `${(secs / 86400).toFixed(1)} days`;
}

function age(since) {
  return fmtDuration((Date.now() - new Date(since).getTime()) / 1000);
}

function priorityBadge(p) {
  return badge(humanize(String(p).toLowerCase()), p === 'HIGH' ? 'fail' : p === 'LOW' ? 'neutral' : 'pending');
}

function stateBadge(c) {
  if (c.state === 'DECIDED') return badge(c.outcome || 'decided', c.outcome === 'approved' ? 'pass' : 'fail');
  return badge(humanize(c.state.toLowerCase()), c.state === 'OPEN' ? 'pending' : 'neutral');
}

function selectField(id, label, options, value) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name: id }, options.map(([v, text]) => h('option', { value: v, selected: v === (value || '') }, text))),
  );
}

async function assignToMe(id) {
  await gql('mutation($id: String!) { assignReviewCase(id: $id, toMe: true) { id state } }', { id });
}

/// Opens the next case for the logged-in user (other than `skip`).
export async function openNext(skip) {
  const c = activeClient();
  const data = await gql('query($s: String, $c: [String!]) { nextReviewCase(skip: $s, clientIds: $c) { id } }', { s: skip || null, c: c ? [c] : null });
  if (!data.nextReviewCase) {
    toast('The queue is empty: no other case waits for you.', 'info');
    location.hash = '#/review';
    return;
  }
  location.hash = `#/review/${encodeURIComponent(data.nextReviewCase.id)}`;
}

function filterOf(q) {
  const f = {};
  if (q.get('state')) f.states = [q.get('state')];
  if (q.get('reason')) f.reason = q.get('reason');
  if (q.get('age')) f.minAgeHours = Number(q.get('age'));
  if (q.get('assignee')) f.assignee = q.get('assignee');
  return f;
}

export async function reviewQueueView(main, { query, stale }) {
  const q = new URLSearchParams(query);
  const results = h('div', { id: 'review-results', 'aria-live': 'polite' });
  const figures = h('div', { id: 'review-stats' });
  const assigneeSelect = selectField('assignee', 'Assignee', [['', 'Anyone'], ['me', 'Me'], ['none', 'Unassigned']], q.get('assignee'));
  const form = h(
    'form',
    { class: 'filters card', role: 'search', 'aria-label': 'Filter the review queue' },
    selectField('reason', 'Reason', [['', 'Any reason'], ...REASONS.map((r) => [r, checkLabel(r)])], q.get('reason')),
    selectField('age', 'Age', AGES, q.get('age')),
    assigneeSelect,
    selectField('state', 'State', STATES, q.get('state')),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), h('button', { type: 'reset', class: 'btn' }, 'Clear')),
  );
  const nextBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'next-case', 'aria-keyshortcuts': 'n', onClick: () => openNext() }, 'Next case (n)');
  let rows = [];
  let selected = 0;

  async function load() {
    mount(results, loading('Loading the queue'));
    const c = activeClient();
    let data;
    try {
      data = await gql(QUEUE, { first: PAGE, after: q.get('after') || null, filter: scoped(filterOf(q)), clients: c ? [c] : null });
    } catch (err) {
      mount(results, errorState(err, load));
      return;
    }
    if (stale()) return;
    const s = data.reviewStats;
    mount(
      figures,
      h(
        'div',
        { class: 'stats' },
        stat('Open cases', String(s.openCases), 'stat-open'),
        stat('Median time to decision', fmtDuration(s.medianDecisionSeconds), 'stat-median'),
        stat('SLA breaches', String(s.slaBreaches), 'stat-sla', `${s.overdueOpen} overdue now, ${s.decidedLate} decided late`),
      ),
    );
    const sel = assigneeSelect.querySelector('select');
    for (const r of data.reviewers) {
      if (![...sel.options].some((o) => o.value === r.id)) sel.append(h('option', { value: r.id, selected: q.get('assignee') === r.id }, r.email));
    }
    rows = data.reviewCases.nodes;
    selected = 0;
    const conn = data.reviewCases;
    mount(
      results,
      rows.length
        ? table(
            [
              { label: 'Priority', cell: (r) => priorityBadge(r.priority) },
              { label: 'Reasons', cell: (r) => h('a', { href: `#/review/${encodeURIComponent(r.id)}`, class: 'case-link', dataset: { caseId: r.id } }, r.reasons.map((x) => checkLabel(x.check)).join(', ') || humanize(r.openedBy)) },
              { label: 'Subject', cell: (r) => (r.sessionId ? h('span', { class: 'mono' }, r.sessionId) : h('span', { class: 'mono' }, r.identityId)) },
              { label: 'Age', cell: (r) => age(r.createdAt) },
              { label: 'SLA due', cell: (r) => [fmtDate(r.slaDueAt), r.slaBreached ? [' ', badge('overdue', 'fail')] : null] },
              { label: 'Assignee', cell: (r) => r.assignee?.email || '—' },
              { label: 'State', cell: stateBadge },
              {
                label: 'Actions',
                cell: (r) =>
                  canReview() && r.state !== 'DECIDED' && r.assignee?.id !== currentUser().user_id
                    ? h('button', { type: 'button', class: 'btn btn-small', onClick: async () => { try { await assignToMe(r.id); toast('Assigned to you.', 'success'); load(); } catch (err) { toast(err.message, 'error'); } } }, 'Assign to me')
                    : null,
              },
            ],
            rows,
            { caption: 'Review cases', rowLabel: (r) => `case ${r.id}` },
          )
        : empty(Object.keys(filterOf(q)).length ? 'No case matches these filters.' : 'Nothing to review. Cases appear when the verdict policy holds a session for a person.'),
      h('p', { class: 'muted' }, `${conn.totalCount} case${conn.totalCount === 1 ? '' : 's'}`, conn.pageInfo.hasNextPage ? [' · ', h('a', { href: '#', onClick: (ev) => { ev.preventDefault(); update({ after: conn.pageInfo.endCursor }); } }, 'more')] : null),
    );
    highlight();
  }

  function highlight() {
    results.querySelectorAll('tbody tr').forEach((tr, i) => tr.classList.toggle('row-selected', i === selected));
  }

  function update(changes) {
    for (const [k, v] of Object.entries(changes)) {
      if (v) q.set(k, v);
      else q.delete(k);
    }
    const qs = q.toString();
    history.replaceState(null, '', '#/review' + (qs ? '?' + qs : ''));
    load();
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    update({ reason: d.get('reason'), age: d.get('age'), assignee: d.get('assignee'), state: d.get('state'), after: '' });
  });
  form.addEventListener('reset', () => setTimeout(() => update({ reason: '', age: '', assignee: '', state: '', after: '' }), 0));

  onKeys(main, {
    n: () => openNext(),
    j: () => { selected = Math.min(rows.length - 1, selected + 1); highlight(); },
    k: () => { selected = Math.max(0, selected - 1); highlight(); },
    Enter: () => { if (rows[selected]) location.hash = `#/review/${encodeURIComponent(rows[selected].id)}`; },
  });
  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Review queue'), nextBtn),
    h('p', { class: 'muted keys-help' }, 'Keys: n next case, j / k move, Enter open.'),
    figures,
    form,
    results,
  );
  await load();
}

function stat(label, value, id, hint) {
  return h('div', { class: 'card stat', id }, h('p', { class: 'stat-label' }, label), h('p', { class: 'stat-value' }, value), hint ? h('p', { class: 'muted' }, hint) : null);
}

let activeKeys = null;

/// Keyboard shortcuts of the page on screen (one set at a time, replaced on
/// every render, gone once the page is left); ignored while typing in a field.
function onKeys(root, handlers) {
  if (activeKeys) document.removeEventListener('keydown', activeKeys);
  const listener = (ev) => {
    if (!root.isConnected || !location.hash.startsWith('#/review')) {
      document.removeEventListener('keydown', listener);
      if (activeKeys === listener) activeKeys = null;
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    if (typing || document.querySelector('dialog[open]')) return;
    if (ev.key === 'Enter' && t && (t.tagName === 'BUTTON' || t.tagName === 'A')) return;
    const fn = handlers[ev.key];
    if (fn) {
      ev.preventDefault();
      fn(ev);
    }
  };
  activeKeys = listener;
  document.addEventListener('keydown', listener);
}

const CASE = `query Case($id: String!) {
  reviewCase(id: $id) {
    id state outcome openedBy priority slaDueAt slaBreached createdAt decidedAt resubmissionRequestedAt resubmissionSessionId subjectRemoved subjectKind sessionId identityId
    reasons { check code message }
    assignee { id email }
    decisions { id action reasonCode note status decidedBy decidedByKind decidedByEmail confirmedByEmail confirmedAt supersedesId createdAt }
    notes { id body authorEmail createdAt attachments { id fileName contentType byteSize downloadUrl } }
    readings { side source fields }
    sanctionsEntry { entNum name entityType programs remarks birthDates aliases addresses }
    duplicates { kind id check }
    session { id status firstName middleName lastName birthDate documentType score verified reviewRequired decision
      images { id fileType url width height }
      checks { checkName status score detail evidence engineVersion }
      history { event endpoint at } }
    identity { id firstName lastName ofacStatus verified }
  }
  reviewSettings { fourEyes approveCodes rejectCodes resubmitCodes }
}`;

/// The fields compared between the printed reading and the barcode / MRZ.
const COMPARED = ['document_number', 'first_name', 'middle_name', 'last_name', 'birth_date', 'street', 'city', 'state', 'postal_code', 'issued_at', 'expires_at'];

function norm(v) {
  return String(v ?? '').trim().toUpperCase().replace(/\s+/g, ' ');
}

/// Printed (OCR) vs machine (barcode / MRZ) fields, mismatches marked.
export function fieldComparison(readings) {
  const pick = (source, sides) => sides.map((side) => readings.find((r) => r.source === source && r.side === side)).find(Boolean)?.fields || null;
  const printed = pick('printed', ['front', 'back']);
  const machine = pick('machine', ['back', 'front']);
  if (!printed && !machine) return empty('No field was read from the document.');
  const rows = COMPARED.filter((k) => (printed && printed[k]) || (machine && machine[k])).map((k) => {
    const a = printed?.[k];
    const b = machine?.[k];
    const mismatch = a && b && norm(a) !== norm(b);
    return { k, a, b, mismatch };
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'field-comparison' },
      h('caption', { class: 'sr-only' }, 'Printed fields against the barcode or MRZ'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Printed (OCR)'), h('th', { scope: 'col' }, 'Barcode / MRZ'), h('th', { scope: 'col' }, ''))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { class: r.mismatch ? 'mismatch' : null, dataset: { field: r.k } },
            h('th', { scope: 'row' }, humanize(r.k)),
            h('td', {}, r.a ?? '—'),
            h('td', {}, r.b ?? '—'),
            h('td', {}, r.mismatch ? badge('mismatch', 'fail') : r.a && r.b ? badge('match', 'pass') : ''),
          ),
        ),
      ),
    ),
  );
}

/// An image with zoom and rotate buttons (CSS transforms only).
function viewer(img, label) {
  let zoom = 1;
  let turn = 0;
  const pic = h('img', { src: img.url, alt: label, class: 'review-image', dataset: { fileType: img.fileType } });
  const apply = () => {
    pic.style.transform = `rotate(${turn}deg) scale(${zoom})`;
  };
  const btn = (text, title, fn) => h('button', { type: 'button', class: 'btn btn-small', title, 'aria-label': `${title} ${label}`, onClick: () => { fn(); apply(); } }, text);
  return h(
    'figure',
    { class: 'review-figure' },
    h('div', { class: 'review-frame' }, pic),
    h(
      'figcaption',
      {},
      h('span', {}, label),
      h('span', { class: 'image-tools' }, btn('+', 'Zoom in', () => (zoom = Math.min(4, zoom * 1.25))), btn('−', 'Zoom out', () => (zoom = Math.max(0.5, zoom / 1.25))), btn('⟳', 'Rotate', () => (turn = (turn + 90) % 360)), btn('1:1', 'Reset', () => { zoom = 1; turn = 0; })),
    ),
  );
}

function section(id, title, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

function listValue(v) {
  if (!v) return null;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? Object.values(x).filter(Boolean).join(' ') : String(x))).join('; ') || null;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/// A screening hit as the check recorded it: the listed entry and how well it matched.
function listedEntry(check) {
  const best = check.evidence.best;
  const e = best.entry;
  return h(
    'div',
    { class: 'listed-entry', dataset: { check: check.checkName } },
    h('h3', {}, `${checkLabel(check.checkName)}: ${e.list || best.list || ''}`),
    fields([
      ['Listed name', h('strong', { class: 'listed-name' }, (e.names || [])[0] || best.name)],
      ['Matched as', best.matched_name],
      ['Similarity', fmtNumber(best.score)],
      ['Entry', e.entry_id || best.entry_id],
      ['Kind', e.kind],
      ['Programme', (e.programs || []).join(', ') || null],
      ['Listed on', e.listed_on],
      ['Birth dates', (e.birth_dates || []).join('; ') || null],
      ['Countries', (e.countries || []).join(', ') || null],
      ['Also known as', (e.names || []).slice(1).join('; ') || null],
      ['Remarks', e.remarks],
      ['Source', e.source_url ? h('a', { href: e.source_url, rel: 'noopener noreferrer', target: '_blank' }, e.source_url) : null],
    ]),
  );
}

/// The capture link of the resubmission just requested (shown once, on this case's next render).
let lastResubmission = null;

function resubmissionBox(c) {
  const r = lastResubmission && lastResubmission.caseId === c.id ? lastResubmission : null;
  lastResubmission = null;
  if (r) {
    return h(
      'div',
      { class: 'decision decision-review', id: 'resubmission-link', role: 'status' },
      h('strong', {}, 'New capture link: '),
      h('a', { href: r.captureUrl, rel: 'noopener noreferrer', target: '_blank', class: 'mono' }, r.captureUrl),
      h('span', { class: 'muted' }, ` — for the new session ${r.sessionId}, until ${fmtDate(r.expiresAt)}. Shown once; the integrator also received it in the webhook.`),
    );
  }
  return c.resubmissionSessionId
    ? h('p', { class: 'muted', id: 'resubmission-session' }, 'New capture requested: session ', h('a', { href: `#/sessions/${encodeURIComponent(c.resubmissionSessionId)}`, class: 'mono' }, c.resubmissionSessionId))
    : null;
}

/// A file as base64 (without the data URL prefix).
function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(new Error('The file could not be read.'));
    reader.readAsDataURL(file);
  });
}

function fmtBytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(0)} kB` : `${(n / 1048576).toFixed(1)} MB`;
}

/// A note's attachments as links (images open in a new tab, PDFs download).
function attachmentList(list) {
  if (!list || !list.length) return null;
  return h(
    'ul',
    { class: 'attachments' },
    list.map((a) => h('li', {}, h('a', { href: a.downloadUrl, target: '_blank', rel: 'noopener', class: 'attachment', dataset: { attachment: a.id } }, a.fileName), h('span', { class: 'muted' }, ` ${a.contentType}, ${fmtBytes(a.byteSize)}`))),
  );
}

export async function reviewCaseView(main, { params }) {
  const data = await gql(CASE, { id: params[0] });
  const c = data.reviewCase;
  const settings = data.reviewSettings;
  if (!c) {
    mount(main, h('h1', {}, 'Case not found'), empty('No review case of your client has this id.'), h('a', { href: '#/review' }, '← Review queue'));
    return;
  }
  const s = c.session;
  const me = currentUser();
  const reviewer = canReview();
  const waiting = c.state !== 'DECIDED';
  const pending = c.decisions.find((d) => d.status === 'pending');
  const images = s ? s.images : [];
  const front = images.filter((i) => /_front$/.test(i.fileType));
  const back = images.filter((i) => /_back$/.test(i.fileType));
  const faces = images.filter((i) => i.fileType === 'selfie' || i.fileType.startsWith('liveness'));
  const ofac = s?.checks.find((x) => x.checkName === 'ofac');
  // The screening checks' explained hits (the listed entry as matched), sanctions and PEP.
  const listed = (s?.checks || []).filter((x) => (x.checkName === 'ofac' || x.checkName === 'pep') && x.evidence?.best?.entry);

  // The decision form: opened by the Approve / Reject buttons or the a / r keys.
  const codeSelect = h('select', { id: 'reason-code', name: 'reason_code', required: true });
  const note = h('textarea', { id: 'decision-note', name: 'note', rows: 2, maxlength: 4000 });
  const actionInput = h('input', { type: 'hidden', name: 'action', value: '' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'decision-submit' }, 'Decide');
  const heading = h('h2', { id: 'decide-heading' }, 'Decide');
  const decideForm = h(
    'form',
    { class: 'card decide-form', id: 'decide-form', hidden: true, 'aria-labelledby': 'decide-heading' },
    heading,
    actionInput,
    h('div', { class: 'field' }, h('label', { for: 'reason-code' }, 'Reason'), codeSelect),
    h('div', { class: 'field' }, h('label', { for: 'decision-note' }, 'Note (optional)'), note),
    h('div', { class: 'field field-actions' }, submit, h('button', { type: 'button', class: 'btn', onClick: () => { decideForm.hidden = true; } }, 'Cancel')),
    h('p', { class: 'muted' }, 'Enter on the reason decides; Escape cancels.'),
  );
  function openDecision(action) {
    if (!reviewer) return;
    if (pending) {
      toast('A decision is waiting for a second person to confirm it.', 'info');
      return;
    }
    if (action === 'APPROVE' && c.subjectRemoved) {
      toast('Nothing is left to verify: this case can only be closed by a reject.', 'info');
      return;
    }
    const codes = action === 'APPROVE' ? settings.approveCodes : c.subjectRemoved ? ['subject_removed', ...settings.rejectCodes] : settings.rejectCodes;
    codeSelect.replaceChildren(...codes.map((x) => h('option', { value: x }, humanize(x))));
    actionInput.value = action;
    heading.textContent = action === 'APPROVE' ? 'Approve: the person is who the document says' : 'Reject: record why';
    submit.textContent = action === 'APPROVE' ? 'Approve' : 'Reject';
    submit.className = action === 'APPROVE' ? 'btn btn-primary' : 'btn btn-danger';
    decideForm.hidden = false;
    codeSelect.focus();
  }
  codeSelect.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      decideForm.requestSubmit();
    }
  });
  decideForm.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      decideForm.hidden = true;
      main.focus();
    }
  });
  decideForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const r = await gql(
        'mutation($id: String!, $a: ReviewAction!, $code: String!, $note: String) { decideReviewCase(id: $id, action: $a, reasonCode: $code, note: $note) { case { state outcome } decision { status } } }',
        { id: c.id, a: actionInput.value, code: codeSelect.value, note: note.value.trim() || null },
      );
      const d = r.decideReviewCase;
      toast(d.decision.status === 'pending' ? 'Decision recorded; a second person must confirm it.' : `Case ${d.case.outcome}. Press n for the next case.`, 'success');
      await reviewCaseView(main, { params });
      main.querySelector('#case-status')?.focus();
    } catch (err) {
      submit.disabled = false;
      toast(`Could not decide: ${err.message}`, 'error');
    }
  });

  async function confirmPending(yes) {
    try {
      await gql('mutation($c: String!, $d: String!, $y: Boolean!) { confirmReviewDecision(caseId: $c, decisionId: $d, confirm: $y) { case { state } } }', { c: c.id, d: pending.id, y: yes });
      toast(yes ? 'Decision confirmed.' : 'Decision declined.', 'success');
      await reviewCaseView(main, { params });
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function requestResubmission() {
    const code = window.prompt(`Ask for a new capture. Reason (${settings.resubmitCodes.join(', ')}):`, settings.resubmitCodes[0]);
    if (!code) return;
    try {
      const r = await gql('mutation($c: String!, $r: String!) { requestResubmission(caseId: $c, reasonCode: $r) { sessionId captureUrl expiresAt } }', { c: c.id, r: code.trim() });
      lastResubmission = { caseId: c.id, ...r.requestResubmission };
      toast('A new session and capture link were created; the integrator gets them in the webhook session.resubmission_requested.', 'success');
      await reviewCaseView(main, { params });
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  const mine = c.assignee?.id === me.user_id;
  const actions = reviewer
    ? h(
        'div',
        { class: 'case-actions', role: 'toolbar', 'aria-label': 'Decide this case' },
        h('button', { type: 'button', class: 'btn btn-primary', id: 'approve', 'aria-keyshortcuts': 'a', disabled: !!pending || !!c.subjectRemoved, onClick: () => openDecision('APPROVE') }, waiting ? 'Approve (a)' : 'Correct: approve (a)'),
        h('button', { type: 'button', class: 'btn btn-danger', id: 'reject', 'aria-keyshortcuts': 'r', disabled: !!pending, onClick: () => openDecision('REJECT') }, waiting ? 'Reject (r)' : 'Correct: reject (r)'),
        waiting && !mine ? h('button', { type: 'button', class: 'btn', id: 'assign-me', 'aria-keyshortcuts': 'm', onClick: async () => { await assignToMe(c.id); await reviewCaseView(main, { params }); } }, 'Assign to me (m)') : null,
        waiting && s && !c.subjectRemoved ? h('button', { type: 'button', class: 'btn', id: 'resubmit', 'aria-keyshortcuts': 'e', onClick: requestResubmission }, 'Ask for a new capture (e)') : null,
        h('button', { type: 'button', class: 'btn', id: 'next', 'aria-keyshortcuts': 'n', onClick: () => openNext(c.id) }, 'Next case (n)'),
      )
    : h('p', { class: 'muted' }, 'Your role reads cases; a reviewer or an admin decides them.');

  const pendingBox = pending
    ? h(
        'div',
        { class: 'decision decision-review', id: 'pending-decision', role: 'status' },
        h('strong', {}, `Waiting for a second person: ${pending.action} (${humanize(pending.reasonCode)})`),
        ` by ${pending.decidedByEmail || pending.decidedBy}`,
        reviewer && pending.decidedBy !== me.user_id
          ? h('span', { class: 'actions' }, ' ', h('button', { type: 'button', class: 'btn btn-small btn-primary', id: 'confirm', 'aria-keyshortcuts': 'c', onClick: () => confirmPending(true) }, 'Confirm (c)'), ' ', h('button', { type: 'button', class: 'btn btn-small', id: 'decline', onClick: () => confirmPending(false) }, 'Decline'))
          : h('span', { class: 'muted' }, ' — another reviewer confirms it.'),
      )
    : null;

  const noteInput = h('textarea', { id: 'new-note', rows: 2, maxlength: 4000, 'aria-label': 'New note' });
  const noteFile = h('input', { type: 'file', id: 'note-file', accept: 'image/png,image/jpeg,application/pdf', 'aria-label': 'Attach a file (PNG, JPEG or PDF, at most 5 MB)' });
  async function addNote(ev) {
    ev.preventDefault();
    if (!noteInput.value.trim()) {
      toast('Write a note to attach the file to.', 'info');
      return;
    }
    const file = noteFile.files[0];
    if (file && file.size > 5 * 1024 * 1024) {
      toast('Attachments are limited to 5 MB.', 'error');
      return;
    }
    try {
      const r = await gql('mutation($c: String!, $b: String!) { addReviewNote(caseId: $c, body: $b) { id } }', { c: c.id, b: noteInput.value });
      if (file) {
        const content = await fileBase64(file);
        await gql(
          'mutation($c: String!, $n: String!, $f: String!, $t: String, $b: String!) { addReviewAttachment(caseId: $c, noteId: $n, fileName: $f, contentType: $t, contentBase64: $b) { id } }',
          { c: c.id, n: r.addReviewNote.id, f: file.name, t: file.type || null, b: content },
        );
      }
      await reviewCaseView(main, { params });
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  const noteForm = reviewer && !c.subjectRemoved
    ? h(
        'form',
        { class: 'note-form', id: 'note-form', onSubmit: addNote },
        noteInput,
        h('label', { for: 'note-file', class: 'muted' }, 'Attach (PNG, JPEG, PDF; 5 MB)'),
        noteFile,
        h('button', { type: 'submit', class: 'btn btn-small' }, 'Add note'),
      )
    : null;

  const timeline = [
    ...(s ? s.history.map((e) => ({ at: e.at, text: [h('strong', {}, humanize(e.event)), h('span', { class: 'muted' }, ` via ${e.endpoint}`)] })) : []),
    ...c.decisions.map((d) => ({ at: d.createdAt, text: [h('strong', {}, `${d.action} (${humanize(d.reasonCode)})`), ` — ${d.status}`, h('span', { class: 'muted' }, ` by ${d.decidedByEmail || d.decidedBy}${d.confirmedByEmail ? `, confirmed by ${d.confirmedByEmail}` : ''}`), d.note ? h('div', { class: 'note' }, d.note) : null] })),
    ...c.notes.map((n) => ({ at: n.createdAt, text: [h('strong', {}, 'note'), h('span', { class: 'muted' }, ` by ${n.authorEmail || 'an API key'}`), h('div', { class: 'note' }, n.body), attachmentList(n.attachments)] })),
  ].sort((a, b) => a.at.localeCompare(b.at));

  const name = s ? [s.firstName, s.middleName, s.lastName].filter(Boolean).join(' ') : [c.identity?.firstName, c.identity?.lastName].filter(Boolean).join(' ');
  mount(
    main,
    h('p', {}, h('a', { href: '#/review' }, '← Review queue')),
    h('h1', {}, 'Case ', h('span', { class: 'mono' }, c.id)),
    h(
      'div',
      { class: 'decision decision-review case-reasons', id: 'case-reasons', role: 'region', 'aria-label': 'Why this case is open' },
      h('strong', {}, c.reasons.length ? 'Why a person must decide:' : 'Flagged for review'),
      h('ul', {}, c.reasons.map((r) => h('li', { dataset: { check: r.check } }, h('strong', {}, checkLabel(r.check)), `: ${r.message}`))),
    ),
    h(
      'p',
      { class: 'headline', id: 'case-status', tabindex: '-1' },
      stateBadge(c), ' ', priorityBadge(c.priority), ' ',
      c.slaBreached ? badge('SLA breached', 'fail') : h('span', { class: 'muted' }, `due ${fmtDate(c.slaDueAt)}`),
      ' ', h('span', { class: 'muted' }, `opened ${age(c.createdAt)} ago by ${humanize(c.openedBy)} · assignee ${c.assignee?.email || 'nobody'}`),
      c.resubmissionRequestedAt ? [' ', badge('new capture requested', 'pending')] : null,
    ),
    c.subjectRemoved
      ? h('div', { class: 'decision decision-rejected', id: 'subject-removed', role: 'status' }, h('strong', {}, c.subjectRemoved === 'session_deleted' ? 'The session was deleted.' : "The applicant's identity was erased."), ' The decisions stay as the record; nothing is left to verify, so this case can only be closed by a reject.')
      : null,
    resubmissionBox(c),
    pendingBox,
    actions,
    decideForm,
    h('p', { class: 'muted keys-help' }, 'Keys: a approve, r reject, n next case, m assign to me, e ask for a new capture, c confirm.'),
    section(
      'subject-heading',
      'Applicant',
      fields([
        ['Name', name || null],
        ['Birth date', s?.birthDate || null],
        ['Document type', s ? humanize(s.documentType) : null],
        ['Score', s ? fmtNumber(s.score) : null],
        ['Session', s ? h('a', { href: `#/sessions/${encodeURIComponent(s.id)}`, class: 'mono' }, s.id) : null],
        ['Identity', c.identityId ? h('a', { href: `#/identities/${encodeURIComponent(c.identityId)}`, class: 'mono' }, c.identityId) : null],
      ]),
    ),
    section(
      'document-heading',
      'Document',
      front.length || back.length
        ? h('div', { class: 'review-images' }, front.map((i) => viewer(i, 'Document front')), back.map((i) => viewer(i, 'Document back')))
        : empty('No document image was uploaded.'),
    ),
    section(
      'faces-heading',
      'Faces',
      h('p', { class: 'muted' }, 'The document front (with its portrait) beside the selfie and the liveness frames.'),
      front.length || faces.length
        ? h('div', { class: 'review-images review-faces' }, front.slice(0, 1).map((i) => viewer(i, 'Document portrait (front)')), faces.map((i) => viewer(i, humanize(i.fileType))))
        : empty('No selfie or liveness frame was captured.'),
    ),
    section('fields-heading', 'Printed fields against the barcode / MRZ', fieldComparison(c.readings)),
    h(
      'div',
      { class: 'grid-2' },
      section(
        'sanctions-heading',
        'Sanctions',
        listed.length
          ? listed.map((x) => listedEntry(x))
          : c.sanctionsEntry
          ? fields([
              ['Listed name', h('strong', {}, c.sanctionsEntry.name)],
              ['Entry', c.sanctionsEntry.entNum],
              ['Type', c.sanctionsEntry.entityType],
              ['Programme', c.sanctionsEntry.programs],
              ['Birth dates', listValue(c.sanctionsEntry.birthDates)],
              ['Also known as', listValue(c.sanctionsEntry.aliases)],
              ['Addresses', listValue(c.sanctionsEntry.addresses)],
              ['Remarks', c.sanctionsEntry.remarks],
              ['Screening', ofac?.detail],
            ])
          : ofac
            ? fields([['Result', badge(ofac.status, ofac.status)], ['Detail', ofac.detail]])
            : empty('No sanctions screening ran for this session.'),
      ),
      section(
        'duplicates-heading',
        'Duplicates',
        c.duplicates.length
          ? h('ul', { id: 'duplicates' }, c.duplicates.map((d) => h('li', {}, h('a', { href: d.kind === 'identity' ? `#/identities/${encodeURIComponent(d.id)}` : `#/sessions/${encodeURIComponent(d.id)}`, class: 'mono' }, d.id), ` — ${d.kind === 'identity' ? 'identity' : 'session'} found by ${checkLabel(d.check)}`)))
          : empty('No other session or identity shares this document or face.'),
      ),
    ),
    s ? section('checks-heading', 'Checks', checksTable(s.checks)) : null,
    section(
      'history-heading',
      'History, decisions and notes',
      timeline.length ? h('ol', { class: 'timeline', id: 'case-history' }, timeline.map((e) => h('li', {}, h('time', { datetime: e.at }, fmtDate(e.at)), ' ', e.text))) : empty('No events.'),
      noteForm,
    ),
  );

  onKeys(main, {
    a: () => openDecision('APPROVE'),
    r: () => openDecision('REJECT'),
    n: () => openNext(c.id),
    m: async () => { if (reviewer && waiting && !mine) { await assignToMe(c.id); await reviewCaseView(main, { params }); } },
    e: () => { if (reviewer && waiting && s && !c.subjectRemoved) requestResubmission(); },
    c: () => { if (pendingBox?.querySelector('#confirm')) confirmPending(true); },
  });
}
