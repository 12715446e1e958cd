// Overview: sessions and pass rate over the last 30 days, the manual review
// figures (open cases, median time to decision, SLA breaches), recent
// sessions, the most frequent failing checks.

import { activeClient, currentUser, gql, scoped } from '../api.js';
import { empty, fmtDate, fmtNumber, fmtPercent, h, mount, sessionsChart, statusLabel, table, verdictBadge } from '../dom.js';
import { checkLabel } from '../labels.js';

const QUERY = `query Overview($start: String!, $clients: [String!], $filter: IdvSessionFilter) {
  dashboard(clientIds: $clients, startDate: $start, topFailingChecks: 8) {
    totalSessions passRate decidedSessions averageScore medianSecondsToComplete
    sessionsPerDay { day count }
    passRatePerDay { day decided verified passRate }
    failingChecks { checkName count }
  }
  idvSessions(first: 10, filter: $filter) {
    nodes { id status verified score firstName lastName createdAt }
  }
  reviewStats(clientIds: $clients) { openCases inReview medianDecisionSeconds overdueOpen decidedLate slaBreaches }
}`;

/// Seconds as a short duration (the review figures).
function fmtDuration(secs) {
  if (secs === null || secs === undefined) return '—';
  if (secs < 90) return `${Math.round(secs)} s`;
  if (secs < 5400) return `${Math.round(secs / 60)} min`;
  if (secs < 172800) return `${(secs / 3600).toFixed(1)} h`;
  return `${(secs / 86400).toFixed(1)} days`;
}

/// The manual review figures, linking to the queue.
function reviewFigures(r) {
  const link = (href, text) => h('a', { href }, text);
  return h(
    'section',
    { class: 'card', id: 'overview-review', 'aria-labelledby': 'review-figures-heading' },
    h('h2', { id: 'review-figures-heading' }, 'Manual review'),
    h(
      'div',
      { class: 'stats' },
      stat('Open cases', link('#/review', String(r.openCases)), `${r.inReview} in review`, 'overview-open-cases'),
      stat('Median time to decision', fmtDuration(r.medianDecisionSeconds), null, 'overview-median-decision'),
      stat('SLA breaches', String(r.slaBreaches), `${r.overdueOpen} overdue now, ${r.decidedLate} decided late`, 'overview-sla-breaches'),
    ),
    h('p', {}, link('#/review', 'Review queue →')),
  );
}

function lastDays(n) {
  const days = [];
  const today = new Date();
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    days.push(d.toISOString().slice(0, 10));
  }
  return days;
}

function stat(label, value, hint, id) {
  return h('div', { class: 'stat card', id: id || null }, h('p', { class: 'stat-label' }, label), h('p', { class: 'stat-value' }, value), hint ? h('p', { class: 'muted' }, hint) : null);
}

/// The platform operator's own client has no sessions: say where the data is.
function chooseClientHint() {
  return h(
    'section',
    { class: 'card choose-client', id: 'choose-client', role: 'status' },
    h('h2', {}, 'Choose a client'),
    h('p', {}, 'You are looking at the platform client, which has no sessions of its own. Pick a client in the ', h('strong', {}, 'Client'), ' selector at the top to see its sessions, pass rate and failing checks.'),
  );
}

/// A failing check: its label linking to the sessions that failed it, and a red bar.
function failingCheckRow(c, maxFail, since) {
  const label = checkLabel(c.checkName);
  const href = `#/sessions?check=${encodeURIComponent(c.checkName)}&from=${since}`;
  return h(
    'li',
    { dataset: { check: c.checkName } },
    h('a', { class: 'bar-label', href, title: `Sessions that failed: ${label}` }, label),
    h('span', { class: 'fail-bar', role: 'img', 'aria-label': `${label}: ${c.count} failures` }, h('span', { class: 'fail-bar-fill', style: `width: ${Math.max(2, (100 * c.count) / maxFail)}%` })),
    h('span', { class: 'bar-count' }, String(c.count)),
  );
}

export async function overviewView(main) {
  const days = lastDays(30);
  const client = activeClient();
  const operatorOnOwnClient = currentUser()?.is_platform && !client;
  const data = await gql(QUERY, { start: days[0], clients: client ? [client] : null, filter: scoped({}) });
  const d = data.dashboard;
  const counts = new Map(d.sessionsPerDay.map((r) => [r.day, r.count]));
  const rates = new Map(d.passRatePerDay.map((r) => [r.day, r.passRate]));
  const series = days.map((day) => ({ day, count: counts.get(day) || 0, passRate: rates.has(day) ? rates.get(day) : null }));
  const recent = data.idvSessions.nodes;
  const maxFail = Math.max(1, ...d.failingChecks.map((c) => c.count));
  mount(
    main,
    h('h1', {}, 'Overview'),
    h('p', { class: 'muted' }, 'IDV sessions created in the last 30 days.'),
    operatorOnOwnClient && !d.totalSessions ? chooseClientHint() : null,
    h(
      'section',
      { class: 'stats', 'aria-label': 'Key figures' },
      stat('Sessions', String(d.totalSessions)),
      stat('Pass rate', fmtPercent(d.passRate), `${d.decidedSessions} with a verdict`),
      stat('Average score', fmtNumber(d.averageScore)),
      stat('Median time to complete', d.medianSecondsToComplete == null ? '—' : `${Math.round(d.medianSecondsToComplete)} s`),
    ),
    reviewFigures(data.reviewStats),
    h('section', { class: 'card', 'aria-labelledby': 'chart-heading' }, h('h2', { id: 'chart-heading' }, 'Sessions and pass rate'), d.totalSessions ? sessionsChart(series) : empty('No sessions in the last 30 days.')),
    h(
      'div',
      { class: 'grid-2' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'recent-heading' },
        h('h2', { id: 'recent-heading' }, 'Recent sessions'),
        recent.length
          ? table(
              [
                { label: 'Session', cell: (r) => h('a', { href: `#/sessions/${encodeURIComponent(r.id)}` }, r.id.slice(0, 13) + '…') },
                { label: 'Name', cell: (r) => [r.firstName, r.lastName].filter(Boolean).join(' ') || '—' },
                { label: 'Status', cell: (r) => statusLabel(r.status) },
                { label: 'Verdict', cell: (r) => verdictBadge(r.verified) },
                { label: 'Created', cell: (r) => fmtDate(r.createdAt) },
              ],
              recent,
              { caption: 'Recent sessions' },
            )
          : empty('No sessions yet.'),
        h('p', {}, h('a', { href: '#/sessions' }, 'All sessions →')),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'failing-heading' },
        h('h2', { id: 'failing-heading' }, 'Most frequent failing checks'),
        d.failingChecks.length
          ? h(
              'ol',
              { class: 'bars' },
              d.failingChecks.map((c) => failingCheckRow(c, maxFail, days[0])),
            )
          : empty('No failing checks in this window.'),
      ),
    ),
  );
}
