// Sessions: a filterable, paginated table and the session detail.

import { gql, isAdmin, scoped } from '../api.js';
import {
  badge, empty, errorState, fields, fmtDate, fmtNumber, h, humanize, loading, mount, statusLabel, table, toast, verdictBadge, pager,
} from '../dom.js';
import { CHECK_LABELS, checkLabel } from '../labels.js';
import { screeningMatches } from './screening.js';

const PAGE = 25;
const STATUSES = ['IN_PROGRESS', 'COMPLETE', 'TEMPORARILY_COMPLETE', 'TEMPORARILY_BLOCKED', 'EXPIRED'];
const VERDICTS = ['VERIFIED', 'REJECTED', 'NEEDS_REVIEW', 'PENDING'];
const DOCUMENT_TYPES = ['driver_license', 'identification_card', 'passport', 'passport_card'];
const PROVIDERS = ['local', 'azure'];

const LIST = `query Sessions($first: Int, $after: String, $last: Int, $before: String, $filter: IdvSessionFilter, $sort: Sort) {
  idvSessions(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
    totalCount totalCountExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id status verified reviewRequired score documentType firstName lastName userId createdAt completedAt reasons
      checks { checkName status } }
  }
}`;

/// Columns the list sorts by: URL value -> GraphQL sort field.
const SORTS = { name: 'NAME', document: 'DOCUMENT_TYPE', status: 'STATUS', score: 'SCORE', created: 'CREATED_AT' };

function select(id, label, options, value, text = statusLabel) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name: id }, h('option', { value: '' }, 'Any'), options.map((o) => h('option', { value: o, selected: o === value }, text(o)))),
  );
}

function input(id, label, type, value, extra = {}) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, type, value: value || '', ...extra }));
}

/// Reads the filters of the URL into a GraphQL filter.
export function filterOf(q) {
  const f = {};
  if (q.get('status')) f.status = q.get('status');
  if (q.get('verdict')) f.verdict = q.get('verdict');
  if (q.get('search')) f.searchTerm = q.get('search');
  if (q.get('from')) f.startDate = q.get('from');
  if (q.get('to')) f.endDate = q.get('to');
  if (q.get('check')) f.failingCheck = q.get('check');
  if (q.get('sanctions')) f.sanctionsHit = q.get('sanctions') === 'hit';
  if (q.get('doctype')) f.documentType = q.get('doctype');
  if (q.get('provider')) f.livenessProvider = q.get('provider');
  return f;
}

function sortOf(q) {
  const field = SORTS[q.get('sort')] || 'CREATED_AT';
  return { field, direction: q.get('dir') === 'asc' ? 'ASC' : 'DESC' };
}

/// The URL of the CSV export of the list under these filters, in its order.
export function exportUrl(q) {
  return (
    '/graphql/export/idv-sessions.csv?filter=' +
    encodeURIComponent(JSON.stringify(scoped(filterOf(q)))) +
    '&sort=' +
    encodeURIComponent(JSON.stringify(sortOf(q)))
  );
}

/// Why a session ended as it did: its decisive reason, then its failed checks.
function reasonCell(r) {
  const reasons = Array.isArray(r.reasons) ? r.reasons : [];
  const top = reasons.find((x) => x.decisive) || (r.verified === false ? reasons[0] : null);
  const failed = (r.checks || []).filter((c) => c.status === 'fail').map((c) => checkLabel(c.checkName));
  if (!top && !failed.length) return '—';
  return h(
    'span',
    { class: 'reason-cell' },
    top ? h('span', { class: 'reason-top' }, `${checkLabel(top.check)}: ${top.message}`) : null,
    failed.length ? h('span', { class: 'reason-failed' }, `Failed: ${failed.join(', ')}`) : null,
  );
}

export async function sessionsView(main, { query }) {
  let q = new URLSearchParams(query);
  const results = h('div', { id: 'session-results', 'aria-live': 'polite' });
  const checkNames = Object.keys(CHECK_LABELS).filter((c) => c !== 'score');
  const form = h(
    'form',
    { class: 'filters card', role: 'search', 'aria-label': 'Filter sessions' },
    input('search', 'Search', 'search', q.get('search'), {
      placeholder: 'name, document number, user id, id, metadata',
      'aria-describedby': 'search-help',
    }),
    select('status', 'Status', STATUSES, q.get('status')),
    select('verdict', 'Verdict', VERDICTS, q.get('verdict')),
    select('check', 'Failing check', checkNames, q.get('check'), checkLabel),
    select('sanctions', 'Sanctions', ['hit', 'clear'], q.get('sanctions'), (v) => (v === 'hit' ? 'Hit' : 'Clear')),
    select('doctype', 'Document type', DOCUMENT_TYPES, q.get('doctype'), humanize),
    select('provider', 'Liveness provider', PROVIDERS, q.get('provider'), humanize),
    input('from', 'Created from', 'date', q.get('from')),
    input('to', 'Created to', 'date', q.get('to')),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), h('button', { type: 'reset', class: 'btn' }, 'Clear')),
    h('p', { id: 'search-help', class: 'muted field-help' }, 'Each word matches the start of a name, id, user id or metadata value; a document number matches whole.'),
  );
  const exportBox = h('p', { class: 'export' });

  function renderExport() {
    mount(
      exportBox,
      isAdmin()
        ? h('a', { id: 'export-csv', class: 'btn', href: exportUrl(q), download: 'idv-sessions.csv' }, 'Export CSV of these filters, in this order')
        : h('span', { class: 'muted' }, 'CSV export needs the admin role.'),
    );
  }

  /// A sortable column header: a button that toggles the direction.
  function sortHeader(th, key) {
    const active = (q.get('sort') || 'created') === key;
    const dir = q.get('dir') === 'asc' ? 'asc' : 'desc';
    th.setAttribute('aria-sort', active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none');
    const label = th.textContent;
    th.textContent = '';
    th.append(
      h(
        'button',
        {
          type: 'button',
          class: 'sort-button',
          dataset: { sort: key },
          onClick: () => update({ sort: key, dir: active && dir === 'asc' ? 'desc' : 'asc', after: '', before: '' }),
        },
        label,
        h('span', { 'aria-hidden': 'true', class: 'sort-mark' }, active ? (dir === 'asc' ? ' ▲' : ' ▼') : ' ↕'),
      ),
    );
  }

  async function load() {
    mount(results, loading('Loading sessions'));
    renderExport();
    const vars = { filter: scoped(filterOf(q)), sort: sortOf(q) };
    if (q.get('before')) Object.assign(vars, { last: PAGE, before: q.get('before') });
    else Object.assign(vars, { first: PAGE, after: q.get('after') || null });
    let conn;
    try {
      conn = (await gql(LIST, vars)).idvSessions;
    } catch (err) {
      mount(results, errorState(err, load));
      return;
    }
    const rows = conn.nodes;
    // Past 1,000 matches the list stops counting: the total is a lower bound.
    const count = conn.totalCountExact
      ? `${conn.totalCount} session${conn.totalCount === 1 ? '' : 's'}`
      : `${conn.totalCount.toLocaleString('en-US')}+ sessions`;
    const pages = pager(conn, count, update);
    const columns = [
      { label: 'Session', cell: (r) => h('a', { href: `#/sessions/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id) },
      { label: 'Name', sort: 'name', cell: (r) => [r.firstName, r.lastName].filter(Boolean).join(' ') || '—' },
      { label: 'Document', sort: 'document', cell: (r) => humanize(r.documentType) },
      { label: 'Status', sort: 'status', cell: (r) => statusLabel(r.status) },
      { label: 'Verdict', cell: (r) => (r.reviewRequired ? badge('needs review', 'pending') : verdictBadge(r.verified)) },
      { label: 'Score', sort: 'score', cell: (r) => fmtNumber(r.score), class: 'num' },
      { label: 'Reason', cell: reasonCell },
      { label: 'Created', sort: 'created', cell: (r) => fmtDate(r.createdAt) },
    ];
    let list = null;
    if (rows.length) {
      list = table(columns, rows, { caption: 'IDV sessions' });
      const ths = list.querySelectorAll('thead th');
      columns.forEach((c, i) => c.sort && sortHeader(ths[i], c.sort));
    }
    mount(
      results,
      list || empty(Object.keys(filterOf(q)).length ? 'No session matches these filters.' : 'No sessions yet. They appear here when an integrator creates them.'),
      pages,
    );
  }

  // Filters live in the URL (shareable) without re-rendering the form.
  function update(changes) {
    for (const [k, v] of Object.entries(changes)) {
      if (v) q.set(k, v);
      else q.delete(k);
    }
    const qs = q.toString();
    history.replaceState(null, '', '#/sessions' + (qs ? '?' + qs : ''));
    load();
  }

  const FILTERS = ['search', 'status', 'verdict', 'check', 'sanctions', 'doctype', 'provider', 'from', 'to'];
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const changes = { after: '', before: '' };
    for (const k of FILTERS) changes[k] = (data.get(k) || '').trim();
    update(changes);
  });
  form.addEventListener('reset', () => {
    const changes = { after: '', before: '' };
    for (const k of FILTERS) changes[k] = '';
    setTimeout(() => update(changes), 0);
  });
  mount(main, h('h1', {}, 'Sessions'), form, exportBox, results);
  await load();
}

const DETAIL = `query Session($id: String!) {
  idvSession(id: $id) {
    id clientId userId status documentType livenessMode livenessProvider webhookUrl metadata settings
    consented consentedAt documentFrontGivenAt documentBackGivenAt selfieGivenAt livenessDetectedAt
    firstName middleName lastName suffixName gender birthDate
    ofacStatus ofacDetectedAt dmvStatus dmvDetectedAt
    verified verifiedAt score reasons reviewRequired decision identityId failedAttempts createdAt updatedAt completedAt expiresAt
    weightsVersion { id createdAt }
    documents { id isCurrent documentType dataSource documentNumber issuedAt expiresAt issuingCountry issuingState
      firstName lastName birthDate gender street city state postalCode createdAt }
    checks { checkName status score detail evidence engineVersion updatedAt }
    history { event endpoint at }
    images { id fileType contentType width height byteSize createdAt url }
    locations { captureType ipAddress ipCountry ipCity deviceLatitude deviceLongitude deviceLocality createdAt }
    captureOpenings { origin device browser openedAt }
    deliveries { id eventType targetUrl status attempts lastStatusCode lastError createdAt deliveredAt }
  }
}`;

function checkBadge(status) {
  return badge(status, status);
}

function evidenceTable(evidence) {
  if (!evidence || typeof evidence !== 'object') return null;
  const entries = Object.entries(evidence);
  if (!entries.length) return null;
  return h(
    'dl',
    { class: 'fields fields-compact' },
    entries.map(([k, v]) => [
      h('dt', {}, humanize(k)),
      h('dd', {}, v === true ? badge('match', 'pass') : v === false ? badge('no match', 'fail') : v === null ? '—' : typeof v === 'object' ? h('code', {}, JSON.stringify(v)) : String(v)),
    ]),
  );
}

function imageLabel(fileType) {
  return humanize(fileType).replace(/\bfront\b/, '— front').replace(/\bback\b/, '— back');
}

export function gallery(images) {
  if (!images.length) return empty('No images were uploaded.');
  return h(
    'ul',
    { class: 'gallery' },
    images.map((img) =>
      h(
        'li',
        {},
        h(
          'figure',
          {},
          h('a', { href: img.url, target: '_blank', rel: 'noopener', class: 'thumb-link', 'aria-label': `Open ${imageLabel(img.fileType)} in a new tab` }, h('img', { src: img.url, alt: imageLabel(img.fileType), loading: 'lazy', class: 'thumb', dataset: { fileType: img.fileType } })),
          h('figcaption', {}, imageLabel(img.fileType), h('br'), h('span', { class: 'muted' }, `${img.width || '?'}×${img.height || '?'} · ${fmtDate(img.createdAt)}`)),
        ),
      ),
    ),
  );
}

/// The decision first, in words: "Rejected: the document is a specimen", with
/// the reason that decided it; a verified session whose checks did not all
/// pass carries a visible warning.
export function decisionBanner(s, reasons, checks) {
  const decisive = reasons.filter((r) => r.decisive);
  const failed = checks.filter((c) => c.status === 'fail' || c.status === 'FAIL');
  const why = (r) => `${checkLabel(r.check)}: ${r.message}${r.threshold !== null && r.threshold !== undefined ? ` (threshold ${r.threshold_name || ''} ${r.threshold})` : ''}`;
  if (s.decision === 'rejected' || (s.verified === false && !s.reviewRequired)) {
    const first = decisive[0] || reasons[0];
    return h('div', { class: 'decision decision-rejected', id: 'decision', role: 'status' },
      h('strong', {}, 'Rejected'), first ? `: ${why(first)}` : '',
      decisive.length > 1 ? h('span', { class: 'muted' }, ` (+${decisive.length - 1} more decisive reason(s) below)`) : null);
  }
  if (s.decision === 'needs_review' || s.reviewRequired) {
    const triggers = decisive.filter((r) => r.effect === 'review');
    return h('div', { class: 'decision decision-review', id: 'decision', role: 'status' },
      h('strong', {}, 'Needs review'), triggers.length ? `: ${triggers.map(why).join('; ')}` : '',
      h('p', { class: 'muted' }, 'The verdict policy holds this session for a person: verified is false until someone decides.'));
  }
  if (s.verified === true) {
    return h('div', { class: `decision decision-verified${failed.length ? ' decision-warning' : ''}`, id: 'decision', role: 'status' },
      h('strong', {}, 'Verified'),
      failed.length
        ? h('p', { class: 'warning', id: 'verified-warning' }, `Warning: verified although ${failed.length} check(s) failed — ${failed.map((c) => checkLabel(c.checkName)).join(', ')}. They only lowered the score under the verdict policy in force.`)
        : null);
  }
  return h('div', { class: 'decision decision-pending', id: 'decision' }, h('strong', {}, 'Not decided yet'));
}

function reasonItem(r) {
  const effect = r.effect ? badge(humanize(r.effect), r.effect === 'knock_out' ? 'fail' : r.effect === 'review' ? 'pending' : 'neutral') : null;
  const judged = r.threshold !== null && r.threshold !== undefined && r.code !== 'unavailable'
    ? h('span', { class: 'muted' }, ` — ${r.value !== null && r.value !== undefined ? `value ${fmtNumber(r.value, 3)} against ` : 'against '}${r.threshold_name || 'threshold'} ${r.threshold}`)
    : null;
  return h('li', { dataset: { effect: r.effect || '' } }, effect, ' ', h('strong', {}, checkLabel(r.check)), ` (${r.code}): ${r.message}`, judged);
}

function section(id, title, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export async function sessionView(main, { params }) {
  const data = await gql(DETAIL, { id: params[0] });
  const s = data.idvSession;
  if (!s) {
    mount(main, h('h1', {}, 'Session not found'), empty('No session of your client has this id.'), h('a', { href: '#/sessions' }, '← Sessions'));
    return;
  }
  const name = [s.firstName, s.middleName, s.lastName, s.suffixName].filter(Boolean).join(' ');
  const current = s.documents.find((d) => d.isCurrent) || s.documents[0];
  const dmv = s.checks.find((c) => c.checkName === 'dmv');
  const ofac = s.checks.find((c) => c.checkName === 'ofac');
  const pep = s.checks.find((c) => c.checkName === 'pep');
  const reasons = Array.isArray(s.reasons) ? s.reasons : [];
  mount(
    main,
    h('p', {}, h('a', { href: '#/sessions' }, '← Sessions')),
    h('h1', {}, 'Session ', h('span', { class: 'mono' }, s.id)),
    decisionBanner(s, reasons, s.checks),
    h('p', { class: 'headline' }, s.reviewRequired ? badge('needs review', 'pending') : verdictBadge(s.verified), ' ', badge(statusLabel(s.status), 'neutral'), ' score ', h('strong', {}, fmtNumber(s.score))),
    section(
      'summary-heading',
      'Summary',
      fields([
        ['Name', name || null],
        ['Birth date', s.birthDate],
        ['Gender', s.gender],
        ['Document type', humanize(s.documentType)],
        ['Liveness', `${s.livenessMode} (${s.livenessProvider})`],
        ['Captured through', s.captureOpenings.length ? s.captureOpenings.map((o) => `hosted page${o.origin === 'handoff' ? ' (phone handoff)' : ''}: ${o.device}, ${o.browser}`).join('; ') : 'integrator SDK'],
        ['Identity', s.identityId ? h('a', { href: `#/identities/${encodeURIComponent(s.identityId)}`, class: 'mono' }, s.identityId) : null],
        ['Weights version', s.weightsVersion ? h('span', { class: 'mono' }, s.weightsVersion.id) : null],
        ['Created', fmtDate(s.createdAt)],
        ['Completed', fmtDate(s.completedAt)],
        ['Expires', fmtDate(s.expiresAt)],
        ['Failed attempts', String(s.failedAttempts)],
        ['Metadata', Object.keys(s.metadata || {}).length ? h('code', {}, JSON.stringify(s.metadata)) : null],
      ]),
      reasons.length
        ? [h('h3', {}, 'Reasons, most decisive first'), h('ol', { class: 'reasons', id: 'reasons' }, reasons.map(reasonItem))]
        : null,
    ),
    section('images-heading', 'Images', gallery(s.images)),
    section(
      'document-heading',
      'Document',
      current
        ? fields([
            ['Source', current.dataSource],
            ['Type', humanize(current.documentType)],
            ['Number', current.documentNumber],
            ['Name', [current.firstName, current.lastName].filter(Boolean).join(' ') || null],
            ['Birth date', current.birthDate],
            ['Gender', current.gender],
            ['Address', [current.street, current.city, current.state, current.postalCode].filter(Boolean).join(', ') || null],
            ['Issued', current.issuedAt],
            ['Expires', current.expiresAt],
            ['Issuing country / state', [current.issuingCountry, current.issuingState].filter(Boolean).join(' / ') || null],
          ])
        : empty('No document was read in this session.'),
      s.documents.length > 1 ? h('p', { class: 'muted' }, `${s.documents.length - 1} earlier reading(s) superseded.`) : null,
    ),
    section(
      'checks-heading',
      'Checks',
      checksTable(s.checks),
    ),
    h(
      'div',
      { class: 'grid-2' },
      section(
        'dmv-heading',
        'DMV',
        fields([
          ['Status', s.dmvStatus],
          ['Checked', fmtDate(s.dmvDetectedAt)],
          ['Result', dmv ? checkBadge(dmv.status) : null],
          ['Reason', dmv?.detail],
        ]),
        dmv ? evidenceTable(dmv.evidence) : null,
      ),
      section(
        'sanctions-heading',
        'Sanctions',
        fields([
          ['Status', s.ofacStatus],
          ['Screened', fmtDate(s.ofacDetectedAt)],
          ['Result', ofac ? checkBadge(ofac.status) : null],
          ['Reason', ofac?.detail],
          ['Politically exposed', pep ? checkBadge(pep.status) : null],
        ]),
        ofac ? screeningMatches(ofac) || evidenceTable(ofac.evidence) : null,
        pep ? screeningMatches(pep) : null,
      ),
    ),
    h(
      'div',
      { class: 'grid-2' },
      section(
        'history-heading',
        'History',
        historyList(s.history),
      ),
      section(
        'locations-heading',
        'Capture locations',
        locationsTable(s.locations),
      ),
    ),
    section(
      'deliveries-heading',
      'Webhook deliveries',
      deliveriesTable(s.deliveries),
    ),
  );
}

/// A session's checks (score, reason, engine) or the empty state.
export function checksTable(checks) {
  return checks.length
    ? table(
        [
          { label: 'Check', cell: (c) => h('span', { dataset: { check: c.checkName } }, checkLabel(c.checkName)) },
          { label: 'Result', cell: (c) => checkBadge(c.status) },
          { label: 'Score', cell: (c) => fmtNumber(c.score), class: 'num' },
          { label: 'Reason', cell: (c) => c.detail || '—' },
          { label: 'Engine', cell: (c) => c.engineVersion || '—' },
        ],
        checks,
        { caption: 'Checks' },
      )
    : empty('No check has run yet.');
}

/// A session's history as a timeline.
export function historyList(history) {
  return history.length
    ? h('ol', { class: 'timeline' }, history.map((e) => h('li', {}, h('time', { datetime: e.at }, fmtDate(e.at)), ' ', h('strong', {}, humanize(e.event)), h('span', { class: 'muted' }, ` via ${e.endpoint}`))))
    : empty('No events.');
}

/// Where each capture was made.
export function locationsTable(locations) {
  return locations.length
    ? table(
        [
          { label: 'Capture', cell: (l) => humanize(l.captureType) },
          { label: 'IP address', cell: (l) => l.ipAddress || '—' },
          { label: 'Device position', cell: (l) => (l.deviceLatitude == null ? '—' : `${l.deviceLatitude.toFixed(4)}, ${l.deviceLongitude.toFixed(4)}`) },
          { label: 'At', cell: (l) => fmtDate(l.createdAt) },
        ],
        locations,
        { caption: 'Capture locations' },
      )
    : empty('No capture location was recorded.');
}

/// A session's webhook deliveries, with redelivery for admins.
export function deliveriesTable(deliveries) {
  return deliveries.length
    ? table(
        [
          { label: 'Event', cell: (d) => d.eventType },
          { label: 'Target', cell: (d) => h('span', { class: 'mono' }, d.targetUrl) },
          { label: 'Status', cell: (d) => badge(d.status, d.status) },
          { label: 'Attempts', cell: (d) => String(d.attempts), class: 'num' },
          { label: 'Last answer', cell: (d) => (d.lastStatusCode ? String(d.lastStatusCode) : d.lastError || '—') },
          { label: 'Created', cell: (d) => fmtDate(d.createdAt) },
          { label: 'Actions', cell: (d) => (isAdmin() ? h('button', { type: 'button', class: 'btn btn-small', onClick: () => redeliver(d.id) }, 'Redeliver') : null) },
        ],
        deliveries,
        { caption: 'Webhook deliveries' },
      )
    : empty('No webhook event was queued for this session.');
}

export async function redeliver(id) {
  try {
    await gql('mutation($id: String!) { redeliverWebhookDelivery(id: $id) { id status } }', { id });
    toast('Delivery queued again.', 'success');
  } catch (err) {
    toast(`Could not redeliver: ${err.message}`, 'error');
  }
}
