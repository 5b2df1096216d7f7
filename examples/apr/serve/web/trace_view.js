// The layer-trace view of one answer: what the server returned for
// `X-Trace-Level: layer` (a `trace` value in the stream's last event) and the
// `X-Trace-*` response headers. The view shows exactly what came back:
// per-layer rows as a table with a bar per row, other figures as a list, a
// text table as preformatted text. When the server sent nothing (an
// `apr serve` without trace support), it says so; it never makes data up.

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
  }
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// A one-line value for the facts list (a text table of several lines is shown as text).
const isScalar = (v) => v === null || ['number', 'boolean'].includes(typeof v) || (typeof v === 'string' && !v.includes('\n'));
// An array of objects whose fields are mostly numbers: a table (layers, ops, passes).
const isRowArray = (v) => Array.isArray(v) && v.length > 0 && v.every((r) => r && typeof r === 'object' && !Array.isArray(r)) &&
  v.some((r) => Object.values(r).some((x) => typeof x === 'number'));

// The column whose values the bars show: a total time if there is one, else the last numeric column.
function barColumn(columns, rows) {
  const numeric = columns.filter((c) => rows.some((r) => typeof r[c] === 'number'));
  return numeric.find((c) => /^total/i.test(c)) ?? numeric.find((c) => /ms$/i.test(c)) ?? numeric[numeric.length - 1];
}

function rowTable(title, rows) {
  const box = el('div', 'trace-table');
  if (title) box.append(el('h4', null, title));
  const columns = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const bar = barColumn(columns, rows);
  const max = Math.max(0, ...rows.map((r) => (typeof r[bar] === 'number' ? r[bar] : 0)));
  const table = el('table');
  const head = el('tr');
  for (const c of columns) head.append(el('th', null, c));
  if (bar) head.append(el('th', null, bar + ' (bar)'));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const c of columns) {
      const td = el('td', typeof r[c] === 'number' ? 'num' : null, fmt(r[c]));
      tr.append(td);
    }
    if (bar) {
      const td = el('td', 'bar-cell');
      const b = el('span', 'bar');
      const v = typeof r[bar] === 'number' ? r[bar] : 0;
      b.style.width = max > 0 ? `${(100 * v) / max}%` : '0';
      td.append(b);
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  box.append(table);
  return box;
}

function facts(entries) {
  const dl = el('dl', 'trace-facts');
  for (const [k, v] of entries) dl.append(el('dt', null, k), el('dd', null, fmt(v)));
  return dl;
}

function renderValue(value, title, out, depth) {
  if (typeof value === 'string') {
    // A text table (e.g. `apr run --trace-level layer`'s) beside the figures: folded away.
    const box = depth > 0 ? el('details', 'trace-text-box') : out;
    if (depth > 0) box.append(el('summary', null, title || 'text'));
    else if (title) out.append(el('h4', null, title));
    box.append(el('pre', 'trace-text', value));
    if (box !== out) out.append(box);
    return;
  }
  if (isRowArray(value)) { out.append(rowTable(title, value)); return; }
  if (Array.isArray(value)) {
    if (title) out.append(el('h4', null, title));
    out.append(el('pre', 'trace-text', JSON.stringify(value, null, 1)));
    return;
  }
  if (!value || typeof value !== 'object') {
    out.append(facts([[title || 'value', value]]));
    return;
  }
  const scalars = Object.entries(value).filter(([, v]) => isScalar(v));
  if (title && scalars.length) out.append(el('h4', null, title));
  if (scalars.length) out.append(facts(scalars));
  for (const [k, v] of Object.entries(value)) {
    if (isScalar(v)) continue;
    const name = title ? `${title} › ${k}` : k;
    if (depth >= 4) { out.append(el('h4', null, name), el('pre', 'trace-text', JSON.stringify(v, null, 1))); continue; }
    renderValue(v, name, out, depth + 1);
  }
}

// `trace`: what the stream carried (any JSON value, or null); `headers`: the X-Trace-* headers that came back.
export function renderTrace(trace, headers = {}) {
  const out = el('div', 'trace-view');
  const headerEntries = Object.entries(headers ?? {});
  if ((trace === null || trace === undefined) && headerEntries.length === 0) {
    out.append(el('p', 'trace-missing',
      'Layer trace not available: the server returned no trace for X-Trace-Level: layer ' +
      '(this apr serve does not support tracing, or the answer was stopped before it ended).'));
    return out;
  }
  if (headerEntries.length) out.append(facts(headerEntries));
  if (trace !== null && trace !== undefined) renderValue(trace, '', out, 0);
  else out.append(el('p', 'trace-missing', 'The server sent timing headers but no per-layer trace.'));
  return out;
}
