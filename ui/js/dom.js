// Small DOM helpers: element builder, formatting, loading / empty / error
// states, a confirmation dialog and the hand-drawn SVG chart.

const SVG_NS = 'http://www.w3.org/2000/svg';

function applyAttrs(el, attrs, svg) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.setAttribute('class', value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (!svg && key in el && typeof value !== 'string') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/// h('button', {class: 'x', onClick: fn}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs, false);
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs, true);
  append(el, children);
  return el;
}

export function fmtDate(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtNumber(value, digits = 2) {
  if (value === null || value === undefined) return '—';
  return Number(value).toFixed(digits);
}

export function fmtPercent(value) {
  if (value === null || value === undefined) return '—';
  return `${(value * 100).toFixed(1)} %`;
}

export function humanize(snake) {
  return String(snake || '').replaceAll('_', ' ');
}

export function statusLabel(status) {
  return humanize(String(status || '').toLowerCase());
}

/// A coloured pill: pass / fail / unavailable / verified / rejected / pending...
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || String(text).toLowerCase().replaceAll(' ', '-')}` }, text);
}

export function verdictBadge(verified) {
  if (verified === true) return badge('verified', 'pass');
  if (verified === false) return badge('rejected', 'fail');
  return badge('pending', 'pending');
}

export function loading(what = 'Loading') {
  return h('p', { class: 'state state-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${what}…`);
}

export function empty(text) {
  return h('p', { class: 'state state-empty' }, text);
}

export function errorState(err, retry) {
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', {}, h('strong', {}, 'Something went wrong. '), err?.message || String(err)),
    err?.code ? h('p', { class: 'muted' }, `code: ${err.code}`) : null,
    retry ? h('button', { type: 'button', class: 'btn', onClick: retry }, 'Try again') : null,
  );
}

/// Replaces the content of `el`.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/// A definition list from [label, value] pairs.
export function fields(pairs) {
  return h(
    'dl',
    { class: 'fields' },
    pairs.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? '—' : value)]),
  );
}

/// A table: columns = [{label, cell(row) -> node|string, class?}].
export function table(columns, rows, { caption, rowLabel } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            { 'aria-label': rowLabel ? rowLabel(row) : null },
            columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(row))),
          ),
        ),
      ),
    ),
  );
}

/// A modal confirmation (native <dialog>: focus stays inside, Escape cancels).
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = false, requireText = null }) {
  return new Promise((resolve) => {
    const input = requireText
      ? h('input', { id: 'confirm-text', type: 'text', autocomplete: 'off', 'aria-describedby': 'confirm-help' })
      : null;
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok' }, confirmLabel);
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        h('div', {}, body),
        requireText
          ? h('p', {}, h('label', { for: 'confirm-text', id: 'confirm-help' }, `Type ${requireText} to confirm`), input)
          : null,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn', value: 'cancel' }, 'Cancel'), ok),
      ),
    );
    if (input) {
      ok.disabled = true;
      input.addEventListener('input', () => (ok.disabled = input.value.trim() !== requireText));
    }
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'ok';
      dialog.remove();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
    (input || ok).focus();
  });
}

/// Shows a transient message in the page's status region.
export function toast(text, kind = 'info') {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const item = h('p', { class: `toast toast-${kind}` }, text);
  region.append(item);
  setTimeout(() => item.remove(), 5000);
}

/// Round axis ticks from 0 to at least `max`: a step of 1, 2 or 5 times a
/// power of ten, at most 6 ticks (so a gridline labelled 2 sits at 2).
export function niceTicks(max) {
  const rough = Math.max(1, max) / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= rough));
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(Math.round(t));
  return ticks;
}

/// Sessions per day as bars and the pass rate as a line, drawn by hand in SVG.
/// days: [{day, count, passRate|null}]
export function sessionsChart(days, { width = 720, height = 240 } = {}) {
  const pad = { top: 16, right: 48, bottom: 36, left: 44 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const ticks = niceTicks(Math.max(1, ...days.map((d) => d.count)));
  const maxCount = ticks[ticks.length - 1];
  const step = w / Math.max(1, days.length);
  const barW = Math.max(2, step * 0.7);
  const y = (v) => pad.top + hgt - (v / maxCount) * hgt;
  const yRate = (r) => pad.top + hgt - r * hgt;
  const total = days.reduce((a, d) => a + d.count, 0);
  const svg = s(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      class: 'chart',
      role: 'img',
      'aria-labelledby': 'chart-title chart-desc',
    },
    s('title', { id: 'chart-title' }, 'Sessions and pass rate per day'),
    s('desc', { id: 'chart-desc' }, `${days.length} days, ${total} sessions. Bars: sessions per day; line: pass rate.`),
  );
  // Grid and axes: gridlines at round counts; the pass rate's scale on the right.
  for (const t of ticks) {
    const gy = y(t);
    svg.append(
      s('line', { x1: pad.left, x2: pad.left + w, y1: gy, y2: gy, class: 'grid' }),
      s('text', { x: pad.left - 6, y: gy + 4, class: 'axis axis-count', 'text-anchor': 'end', 'data-value': t }, String(t)),
    );
  }
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const gy = yRate(frac);
    svg.append(
      s('line', { x1: pad.left + w, x2: pad.left + w + 4, y1: gy, y2: gy, class: 'tick-rate' }),
      s('text', { x: pad.left + w + 6, y: gy + 4, class: 'axis axis-rate' }, `${Math.round(frac * 100)}%`),
    );
  }
  const points = [];
  days.forEach((d, i) => {
    const x = pad.left + i * step + (step - barW) / 2;
    const bar = s('rect', { x, y: y(d.count), width: barW, height: pad.top + hgt - y(d.count), class: 'bar' });
    bar.append(s('title', {}, `${d.day}: ${d.count} sessions, pass rate ${d.passRate == null ? '—' : Math.round(d.passRate * 100) + '%'}`));
    svg.append(bar);
    if (d.passRate != null) points.push([pad.left + i * step + step / 2, yRate(d.passRate)]);
    const every = Math.ceil(days.length / 8);
    if (i % every === 0) {
      svg.append(s('text', { x: pad.left + i * step + step / 2, y: height - pad.bottom + 16, class: 'axis', 'text-anchor': 'middle' }, d.day.slice(5)));
    }
  });
  if (points.length) {
    svg.append(s('polyline', { points: points.map((p) => p.join(',')).join(' '), class: 'rate-line' }));
    points.forEach(([cx, cy]) => svg.append(s('circle', { cx, cy, r: 3, class: 'rate-dot' })));
  }
  return h(
    'figure',
    { class: 'chart-figure' },
    svg,
    h(
      'figcaption',
      { class: 'legend' },
      h('span', { class: 'key key-bar' }),
      'sessions per day ',
      h('span', { class: 'key key-line' }),
      'pass rate (verified / decided)',
    ),
  );
}

/// The pager under a connection's table: "N things" and Previous / Next,
/// which call `update` with the cursor to move to.
export function pager(conn, count, update) {
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'muted' }, count),
    h('button', { type: 'button', class: 'btn', disabled: !conn.pageInfo.hasPreviousPage, onClick: () => update({ before: conn.pageInfo.startCursor, after: '' }) }, '← Previous'),
    h('button', { type: 'button', class: 'btn', disabled: !conn.pageInfo.hasNextPage, onClick: () => update({ after: conn.pageInfo.endCursor, before: '' }) }, 'Next →'),
  );
}
