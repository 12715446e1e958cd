// Authentications (IDA sessions): a verified identity coming back with a
// selfie. A filterable, paginated table and the session detail.

import { gql, scoped } from '../api.js';
import { badge, empty, errorState, fields, fmtDate, fmtNumber, h, loading, mount, statusLabel, table, pager } from '../dom.js';
import { checksTable, deliveriesTable, gallery, historyList, locationsTable } from './sessions.js';

const PAGE = 25;
const STATUSES = ['IN_PROGRESS', 'COMPLETE', 'TEMPORARILY_BLOCKED', 'EXPIRED'];

const LIST = `query Authentications($first: Int, $after: String, $last: Int, $before: String, $filter: IdaSessionFilter) {
  idaSessions(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id status authenticated faceDistance firstName lastName identityId createdAt completedAt }
  }
}`;

function authBadge(authenticated) {
  if (authenticated === true) return badge('authenticated', 'pass');
  if (authenticated === false) return badge('not authenticated', 'fail');
  return badge('pending', 'pending');
}

function filterOf(q) {
  const f = {};
  if (q.get('status')) f.status = q.get('status');
  if (q.get('result') === 'yes') f.verified = true;
  if (q.get('result') === 'no') f.verified = false;
  if (q.get('search')) f.searchTerm = q.get('search');
  if (q.get('from')) f.startDate = q.get('from');
  if (q.get('to')) f.endDate = q.get('to');
  return f;
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export async function authenticationsView(main, { query }) {
  const q = new URLSearchParams(query);
  const results = h('div', { id: 'ida-results', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'filters card', role: 'search', 'aria-label': 'Filter authentications' },
    field('ida-search', 'Search', h('input', { id: 'ida-search', name: 'search', type: 'search', value: q.get('search') || '', placeholder: 'name, id, metadata value' })),
    field(
      'ida-status',
      'Status',
      h('select', { id: 'ida-status', name: 'status' }, h('option', { value: '' }, 'Any'), STATUSES.map((s) => h('option', { value: s, selected: s === q.get('status') }, statusLabel(s)))),
    ),
    field(
      'ida-result',
      'Result',
      h(
        'select',
        { id: 'ida-result', name: 'result' },
        h('option', { value: '' }, 'Any'),
        h('option', { value: 'yes', selected: q.get('result') === 'yes' }, 'authenticated'),
        h('option', { value: 'no', selected: q.get('result') === 'no' }, 'not authenticated'),
      ),
    ),
    field('ida-from', 'Created from', h('input', { id: 'ida-from', name: 'from', type: 'date', value: q.get('from') || '' })),
    field('ida-to', 'Created to', h('input', { id: 'ida-to', name: 'to', type: 'date', value: q.get('to') || '' })),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), h('button', { type: 'reset', class: 'btn' }, 'Clear')),
  );

  async function load() {
    mount(results, loading('Loading authentications'));
    const vars = { filter: scoped(filterOf(q)) };
    if (q.get('before')) Object.assign(vars, { last: PAGE, before: q.get('before') });
    else Object.assign(vars, { first: PAGE, after: q.get('after') || null });
    let conn;
    try {
      conn = (await gql(LIST, vars)).idaSessions;
    } catch (err) {
      mount(results, errorState(err, load));
      return;
    }
    const pages = pager(conn, `${conn.totalCount} authentication${conn.totalCount === 1 ? '' : 's'}`, update);
    mount(
      results,
      conn.nodes.length
        ? table(
            [
              { label: 'Session', cell: (r) => h('a', { href: `#/authentications/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id) },
              { label: 'Name', cell: (r) => [r.firstName, r.lastName].filter(Boolean).join(' ') || '—' },
              { label: 'Identity', cell: (r) => h('a', { href: `#/identities/${encodeURIComponent(r.identityId)}`, class: 'mono' }, r.identityId) },
              { label: 'Status', cell: (r) => statusLabel(r.status) },
              { label: 'Result', cell: (r) => authBadge(r.authenticated) },
              { label: 'Face distance', cell: (r) => fmtNumber(r.faceDistance, 3), class: 'num' },
              { label: 'Created', cell: (r) => fmtDate(r.createdAt) },
            ],
            conn.nodes,
            { caption: 'Authentication (IDA) sessions' },
          )
        : empty(Object.keys(filterOf(q)).length ? 'No authentication matches these filters.' : 'No authentications yet. They appear when an identity re-authenticates with a selfie.'),
      pages,
    );
  }

  function update(changes) {
    for (const [k, v] of Object.entries(changes)) {
      if (v) q.set(k, v);
      else q.delete(k);
    }
    const qs = q.toString();
    history.replaceState(null, '', '#/authentications' + (qs ? '?' + qs : ''));
    load();
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    update({ search: data.get('search').trim(), status: data.get('status'), result: data.get('result'), from: data.get('from'), to: data.get('to'), after: '', before: '' });
  });
  form.addEventListener('reset', () => {
    setTimeout(() => update({ search: '', status: '', result: '', from: '', to: '', after: '', before: '' }), 0);
  });
  mount(main, h('h1', {}, 'Authentications'), form, results);
  await load();
}

const DETAIL = `query Authentication($id: String!) {
  idaSession(id: $id) {
    id userId identityId status livenessMode metadata firstName lastName
    livenessDetected selfieGiven authenticated faceDistance reasons createdAt completedAt expiresAt
    weightsVersion { id }
    checks { checkName status score detail engineVersion }
    history { event endpoint at }
    images { id fileType contentType width height byteSize createdAt url }
    locations { captureType ipAddress deviceLatitude deviceLongitude createdAt }
    deliveries { id eventType targetUrl status attempts lastStatusCode lastError createdAt }
  }
}`;

function section(id, title, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export async function authenticationView(main, { params }) {
  const s = (await gql(DETAIL, { id: params[0] })).idaSession;
  if (!s) {
    mount(main, h('h1', {}, 'Authentication not found'), empty('No authentication session of your client has this id.'), h('a', { href: '#/authentications' }, '← Authentications'));
    return;
  }
  const reasons = Array.isArray(s.reasons) ? s.reasons : [];
  mount(
    main,
    h('p', {}, h('a', { href: '#/authentications' }, '← Authentications')),
    h('h1', {}, 'Authentication ', h('span', { class: 'mono' }, s.id)),
    h('p', { class: 'headline' }, authBadge(s.authenticated), ' ', badge(statusLabel(s.status), 'neutral'), ' face distance ', h('strong', {}, fmtNumber(s.faceDistance, 3))),
    section(
      'ida-summary-heading',
      'Summary',
      fields([
        ['Name', [s.firstName, s.lastName].filter(Boolean).join(' ') || null],
        ['Identity', h('a', { href: `#/identities/${encodeURIComponent(s.identityId)}`, class: 'mono' }, s.identityId)],
        ['User', s.userId],
        ['Liveness', `${s.livenessMode}${s.livenessDetected ? ' (detected)' : ''}`],
        ['Weights version', s.weightsVersion ? h('span', { class: 'mono' }, s.weightsVersion.id) : null],
        ['Created', fmtDate(s.createdAt)],
        ['Completed', fmtDate(s.completedAt)],
        ['Expires', fmtDate(s.expiresAt)],
        ['Metadata', Object.keys(s.metadata || {}).length ? h('code', {}, JSON.stringify(s.metadata)) : null],
      ]),
      reasons.length ? [h('h3', {}, 'Reasons'), h('ul', { class: 'reasons' }, reasons.map((r) => h('li', {}, typeof r === 'string' ? r : JSON.stringify(r))))] : null,
    ),
    section('ida-images-heading', 'Images', gallery(s.images)),
    section(
      'ida-checks-heading',
      'Checks',
      checksTable(s.checks),
    ),
    h(
      'div',
      { class: 'grid-2' },
      section(
        'ida-history-heading',
        'History',
        historyList(s.history),
      ),
      section(
        'ida-locations-heading',
        'Capture locations',
        locationsTable(s.locations),
      ),
    ),
    section(
      'ida-deliveries-heading',
      'Webhook deliveries',
      deliveriesTable(s.deliveries),
    ),
  );
}
