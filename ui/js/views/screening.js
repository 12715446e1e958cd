// The explained candidates of a sanctions (`ofac`) or PEP (`pep`) check:
// for each, the list and entry, the score, the name that matched, every
// feature's score and what the list says (programmes, listing date, source).

import { badge, empty, fmtNumber, h, table } from '../dom.js';

function feature(f) {
  if (!f) return '—';
  return h('span', { title: f.detail }, fmtNumber(f.score), f.effect ? ` (${f.effect > 0 ? '+' : ''}${fmtNumber(f.effect)})` : '');
}

function tokens(pairs) {
  return (pairs || [])
    .map((p) => `${p.query ?? '∅'}→${p.listed ?? '∅'} ${fmtNumber(p.score)}`)
    .join(', ');
}

export function screeningMatches(check) {
  const ev = check?.evidence;
  if (!ev || !Array.isArray(ev.matches)) return null;
  const threshold = ev.threshold ?? 1;
  const rows = ev.matches;
  return h(
    'div',
    { class: 'screening-matches' },
    rows.length
      ? table(
          [
            { label: 'Entry', cell: (m) => [h('strong', {}, m.name), h('br'), h('span', { class: 'muted' }, `${m.list} · ${m.entry_id}`)] },
            { label: 'Score', cell: (m) => badge(fmtNumber(m.score), m.score >= threshold ? 'fail' : 'neutral') },
            { label: 'Matched name', cell: (m) => [m.matched_name, h('br'), h('span', { class: 'muted' }, tokens(m.features?.name_tokens))] },
            { label: 'Birth date', cell: (m) => feature(m.features?.birth_date) },
            { label: 'Country', cell: (m) => feature(m.features?.country) },
            { label: 'Gender', cell: (m) => feature(m.features?.gender) },
            { label: 'Document no.', cell: (m) => feature(m.features?.identifier) },
            {
              label: 'Listed',
              cell: (m) => [
                (m.entry?.programs || []).join(', ') || '—',
                m.entry?.listed_on ? h('br') : null,
                m.entry?.listed_on ? `since ${m.entry.listed_on}` : null,
                m.entry?.source_url ? h('br') : null,
                m.entry?.source_url ? h('a', { href: m.entry.source_url, target: '_blank', rel: 'noopener noreferrer' }, 'source') : null,
              ],
            },
          ],
          rows,
          { caption: check.checkName === 'pep' ? 'Politically exposed person candidates' : 'Sanctions list candidates', rowLabel: (m) => m.name },
        )
      : empty('No listed name resembles this person.'),
    (ev.cleared || []).length ? h('p', { class: 'muted' }, `${ev.cleared.length} candidate(s) cleared by the client's allow-list.`) : null,
    h('p', { class: 'muted' }, `Lists: ${(ev.lists || ['all loaded']).join(', ')} · version ${ev.lists_version ?? '—'} · threshold ${fmtNumber(threshold)}`),
  );
}
