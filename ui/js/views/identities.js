// Identities: list, detail (audited on the server), erasure with confirmation.

import { gql, isAdmin, scoped } from '../api.js';
import { badge, confirmDialog, empty, errorState, fields, fmtDate, fmtNumber, h, loading, mount, statusLabel, table, toast, verdictBadge, pager } from '../dom.js';
import { gallery } from './sessions.js';

const PAGE = 25;

const LIST = `query Identities($first: Int, $after: String, $last: Int, $before: String, $filter: IdentityFilter) {
  identities(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id firstName lastName externalId verified ofacStatus score createdAt }
  }
}`;

export async function identitiesView(main, { query }) {
  const q = new URLSearchParams(query);
  const results = h('div', { 'aria-live': 'polite' });
  const search = h('input', { id: 'identity-search', type: 'search', name: 'search', value: q.get('search') || '' });
  const form = h(
    'form',
    { class: 'filters card', role: 'search', 'aria-label': 'Search identities' },
    h('div', { class: 'field' }, h('label', { for: 'identity-search' }, 'Search'), search),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search')),
  );
  async function load() {
    mount(results, loading('Loading identities'));
    const vars = { filter: scoped(q.get('search') ? { searchTerm: q.get('search') } : {}) };
    if (q.get('before')) Object.assign(vars, { last: PAGE, before: q.get('before') });
    else Object.assign(vars, { first: PAGE, after: q.get('after') || null });
    let conn;
    try {
      conn = (await gql(LIST, vars)).identities;
    } catch (err) {
      mount(results, errorState(err, load));
      return;
    }
    mount(
      results,
      conn.nodes.length
        ? table(
            [
              { label: 'Identity', cell: (r) => h('a', { href: `#/identities/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id) },
              { label: 'Name', cell: (r) => [r.firstName, r.lastName].filter(Boolean).join(' ') || '—' },
              { label: 'External id', cell: (r) => r.externalId || '—' },
              { label: 'Verified', cell: (r) => verdictBadge(r.verified) },
              { label: 'Sanctions', cell: (r) => r.ofacStatus },
              { label: 'Score', cell: (r) => fmtNumber(r.score), class: 'num' },
              { label: 'Created', cell: (r) => fmtDate(r.createdAt) },
            ],
            conn.nodes,
            { caption: 'Identities' },
          )
        : empty(q.get('search') ? 'No identity matches this search.' : 'No identities yet. A verified session creates one.'),
      pager(conn, `${conn.totalCount} identit${conn.totalCount === 1 ? 'y' : 'ies'}`, update),
    );
  }
  function update(changes) {
    for (const [k, v] of Object.entries(changes)) v ? q.set(k, v) : q.delete(k);
    const qs = q.toString();
    history.replaceState(null, '', '#/identities' + (qs ? '?' + qs : ''));
    load();
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    update({ search: search.value.trim(), after: '', before: '' });
  });
  mount(main, h('h1', {}, 'Identities'), form, results);
  await load();
}

const DETAIL = `query Identity($id: String!) {
  identity(id: $id) {
    id externalId userId firstName middleName lastName suffixName birthDate gender street city state postalCode email phone
    ofacStatus dmvStatus verified verifiedAt lastVerified score metadata createdAt updatedAt
    idvSessions { id status verified reviewRequired score createdAt completedAt }
    idaSessions { id status authenticated createdAt completedAt }
    images { id sessionId fileType width height createdAt url }
  }
}`;

/// The identity's images grouped by the session that captured them, newest
/// session first, each headed by the session's kind, outcome and date.
function imagesBySession(i) {
  if (!i.images.length) return empty('No images were uploaded.');
  const groups = new Map();
  for (const img of i.images) {
    if (!groups.has(img.sessionId)) groups.set(img.sessionId, []);
    groups.get(img.sessionId).push(img);
  }
  const sessions = [
    ...i.idvSessions.map((s) => ({
      id: s.id, at: s.completedAt || s.createdAt, kind: 'Verification', href: `#/sessions/${encodeURIComponent(s.id)}`,
      outcome: s.reviewRequired ? badge('needs review', 'pending') : verdictBadge(s.verified),
    })),
    ...i.idaSessions.map((s) => ({
      id: s.id, at: s.completedAt || s.createdAt, kind: 'Re-authentication', href: `#/authentications/${encodeURIComponent(s.id)}`,
      outcome: s.authenticated == null ? badge('pending', 'pending') : s.authenticated ? badge('authenticated', 'pass') : badge('not authenticated', 'fail'),
    })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  const known = new Set(sessions.map((s) => s.id));
  const sections = sessions
    .filter((s) => groups.has(s.id))
    .map((s) =>
      h('section', { class: 'capture-group', dataset: { sessionId: s.id } },
        h('h3', {}, `${s.kind} `, h('a', { href: s.href, class: 'mono' }, s.id), ' ', s.outcome, ' ', h('time', { datetime: s.at, class: 'muted' }, fmtDate(s.at))),
        gallery(groups.get(s.id))));
  const other = i.images.filter((img) => !known.has(img.sessionId));
  if (other.length) sections.push(h('section', { class: 'capture-group', dataset: { sessionId: '' } }, h('h3', {}, 'Other images'), gallery(other)));
  return sections;
}

export async function identityView(main, { params }) {
  const data = await gql(DETAIL, { id: params[0] });
  const i = data.identity;
  if (!i) {
    mount(main, h('h1', {}, 'Identity not found'), empty('No live identity of your client has this id (erased identities are gone).'), h('a', { href: '#/identities' }, '← Identities'));
    return;
  }
  const erase = isAdmin()
    ? h('button', { type: 'button', class: 'btn btn-danger', id: 'erase-identity' }, 'Erase identity…')
    : null;
  erase?.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Erase this identity?',
      body: h('p', {}, 'Its personal data, documents and images are deleted for good. Sessions keep their verdicts without personal data. This cannot be undone.'),
      confirmLabel: 'Erase',
      danger: true,
      requireText: 'ERASE',
    });
    if (!ok) {
      erase.focus();
      return;
    }
    try {
      await gql('mutation($id: String!) { eraseIdentity(id: $id) }', { id: i.id });
      toast('Identity erased.', 'success');
      location.hash = '#/identities';
    } catch (err) {
      eraseError.textContent = `Could not erase: ${err.message}${err.code ? ` (${err.code})` : ''}`;
      erase.focus();
    }
  });
  const eraseError = h('p', { class: 'form-error', role: 'alert', id: 'erase-error' });
  mount(
    main,
    h('p', {}, h('a', { href: '#/identities' }, '← Identities')),
    h('h1', {}, [i.firstName, i.lastName].filter(Boolean).join(' ') || 'Identity', ' ', h('span', { class: 'mono muted' }, i.id)),
    h('p', { class: 'headline' }, verdictBadge(i.verified), ' ', badge(`sanctions: ${i.ofacStatus}`, i.ofacStatus === 'hit' ? 'fail' : 'neutral'), ' ', erase),
    eraseError,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'id-heading' },
      h('h2', { id: 'id-heading' }, 'Personal data'),
      fields([
        ['Name', [i.firstName, i.middleName, i.lastName, i.suffixName].filter(Boolean).join(' ') || null],
        ['Birth date', i.birthDate],
        ['Gender', i.gender],
        ['Address', [i.street, i.city, i.state, i.postalCode].filter(Boolean).join(', ') || null],
        ['Email', i.email],
        ['Phone', i.phone],
        ['External id', i.externalId],
        ['DMV', i.dmvStatus],
        ['Score', fmtNumber(i.score)],
        ['Verified', fmtDate(i.verifiedAt)],
        ['Last verified', fmtDate(i.lastVerified)],
        ['Created', fmtDate(i.createdAt)],
      ]),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'img-heading' }, h('h2', { id: 'img-heading' }, 'Images by session'), imagesBySession(i)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'sess-heading' },
      h('h2', { id: 'sess-heading' }, 'Sessions'),
      i.idvSessions.length
        ? table(
            [
              { label: 'IDV session', cell: (r) => h('a', { href: `#/sessions/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id) },
              { label: 'Status', cell: (r) => statusLabel(r.status) },
              { label: 'Verdict', cell: (r) => verdictBadge(r.verified) },
              { label: 'Created', cell: (r) => fmtDate(r.createdAt) },
            ],
            i.idvSessions,
            { caption: 'IDV sessions' },
          )
        : empty('No IDV session.'),
      i.idaSessions.length
        ? table(
            [
              { label: 'Re-authentication', cell: (r) => h('span', { class: 'mono' }, r.id) },
              { label: 'Status', cell: (r) => statusLabel(r.status) },
              { label: 'Authenticated', cell: (r) => (r.authenticated == null ? badge('pending', 'pending') : r.authenticated ? badge('yes', 'pass') : badge('no', 'fail')) },
              { label: 'Created', cell: (r) => fmtDate(r.createdAt) },
            ],
            i.idaSessions,
            { caption: 'Re-authentication sessions' },
          )
        : null,
    ),
  );
}
