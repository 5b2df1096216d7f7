// Markdown to DOM nodes, for model answers.
//
// Safety by construction: every piece of model text reaches the page through
// document.createTextNode / textContent, and the only elements made are the
// fixed set below (p, h1-h6, ul/ol/li, blockquote, pre/code, table, strong,
// em, del, a, hr, br). No HTML in the text is ever parsed: `<script>` or
// `<img onerror=...>` in an answer shows up as those characters. Links keep
// only http(s) and mailto URLs (no javascript:, data: or relative ones) and
// open in a new tab without an opener. Images are shown as links (the page
// loads nothing from elsewhere).
//
// The subset is what chat models write: ATX headings, paragraphs (a newline
// is a line break, as chat answers expect), fenced code (``` or ~~~, with a
// language; an unclosed fence while streaming runs to the end), indented
// code, bullet and numbered lists (nested by indentation; [ ] / [x] tasks), block quotes,
// GitHub tables, rules; inline code, **bold**, *italic*, _italic_, ~~strike~~,
// [links](url), <autolinks>, bare URLs, backslash escapes.
import { highlight } from './highlight.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;
const INDENTED = /^(?: {4}|\t)/;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// The copy button of a code block (the app wires the click: see app.js).
function codeBlock(code, lang) {
  const box = el('div', 'code-block');
  const head = el('div', 'code-head');
  head.append(el('span', 'code-lang', lang || 'text'));
  const copy = el('button', 'copy-code', 'Copy');
  copy.type = 'button';
  copy.setAttribute('aria-label', 'Copy code');
  head.append(copy);
  const pre = el('pre');
  const c = el('code');
  c.append(highlight(code, lang));
  pre.append(c);
  box.append(head, pre);
  return box;
}

function isBlockStart(line, next) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line) ||
    (line.includes('|') && next !== undefined && TABLE_SEP.test(next) && next.includes('-'));
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cur = '';
  for (let i = 0; i < s.length; ++i) {
    if (s[i] === '\\' && s[i + 1] === '|') { cur += '|'; ++i; }
    else if (s[i] === '|') { cells.push(cur.trim()); cur = ''; }
    else cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

function table(lines, start) {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((c) =>
    c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : '');
  const wrap = el('div', 'table-wrap');
  const t = el('table');
  const thead = el('thead');
  const hr = el('tr');
  header.forEach((cell, i) => {
    const th = el('th');
    if (aligns[i]) th.style.textAlign = aligns[i];
    inline(cell, th);
    hr.append(th);
  });
  thead.append(hr);
  const tbody = el('tbody');
  let i = start + 2;
  for (; i < lines.length && lines[i].includes('|') && lines[i].trim() !== ''; ++i) {
    const tr = el('tr');
    const cells = splitRow(lines[i]);
    for (let c = 0; c < header.length; ++c) {
      const td = el('td');
      if (aligns[c]) td.style.textAlign = aligns[c];
      inline(cells[c] ?? '', td);
      tr.append(td);
    }
    tbody.append(tr);
  }
  t.append(thead, tbody);
  wrap.append(t);
  return [wrap, i];
}

function list(lines, start) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const listEl = el(ordered ? 'ol' : 'ul');
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) listEl.start = n;
  }
  let i = start;
  let loose = false;
  const items = [];
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3] ?? ''];
    const contentIndent = indent + m[2].length + 1;
    ++i;
    while (i < lines.length) {
      const line = lines[i];
      if (line.trim() === '') {
        // A blank line continues the item only when indented text follows.
        const next = lines[i + 1];
        if (next !== undefined && next.trim() !== '' && leadingSpaces(next) >= contentIndent) {
          body.push('');
          loose = true;
          ++i;
          continue;
        }
        break;
      }
      const sub = LIST_ITEM.exec(line);
      if (leadingSpaces(line) >= contentIndent || (sub && sub[1].length > indent)) {
        body.push(line.slice(Math.min(leadingSpaces(line), contentIndent)));
        ++i;
        continue;
      }
      if (sub || isBlockStart(line, lines[i + 1])) break;
      body.push(line.trim());  // a lazy continuation line of the item's paragraph
      ++i;
    }
    items.push(body);
    // A blank line between items of the same list keeps the list going.
    if (lines[i] !== undefined && lines[i].trim() === '') {
      const next = lines[i + 1];
      const nm = next !== undefined && LIST_ITEM.exec(next);
      if (nm && nm[1].length === indent && /\d/.test(nm[2]) === ordered) { loose = true; ++i; }
    }
  }
  for (const body of items) {
    const li = el('li');
    // A task list item ("- [ ] todo", "- [x] done") gets a box as text.
    const task = /^\[([ xX])\]\s+/.exec(body[0]);
    if (task) {
      body[0] = body[0].slice(task[0].length);
      li.className = 'task';
      li.append(document.createTextNode(task[1] === ' ' ? '☐ ' : '☑ '));
    }
    blocks(body, li, !loose);
    listEl.append(li);
  }
  return [listEl, i];
}

function leadingSpaces(line) {
  return line.length - line.replace(/^ +/, '').length;
}

// Renders `lines` as blocks into `parent`. `tight`: a lone paragraph is
// written without <p> (list items of a tight list).
function blocks(lines, parent, tight = false) {
  const start = parent.childNodes.length;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') { ++i; continue; }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const code = [];
      ++i;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.startsWith(fence[0].repeat(fence.length)) && /^([`~])\1*$/.test(close)) { ++i; break; }
        code.push(lines[i]);
        ++i;
      }
      parent.append(codeBlock(code.join('\n'), m[2].toLowerCase()));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      const h = el('h' + m[1].length);
      inline(m[2] ?? '', h);
      parent.append(h);
      ++i;
      continue;
    }
    if (RULE.test(line)) { parent.append(el('hr')); ++i; continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && lines[i].trim() !== '') {
        const q = QUOTE.exec(lines[i]);
        inner.push(q ? q[1] : lines[i]);
        ++i;
      }
      const bq = el('blockquote');
      blocks(inner, bq);
      parent.append(bq);
      continue;
    }
    if (LIST_ITEM.test(line) && !RULE.test(line)) {
      const [node, next] = list(lines, i);
      parent.append(node);
      i = next;
      continue;
    }
    if (line.includes('|') && lines[i + 1] !== undefined && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const [node, next] = table(lines, i);
      parent.append(node);
      i = next;
      continue;
    }
    if (INDENTED.test(line)) {
      const code = [];
      while (i < lines.length && (INDENTED.test(lines[i]) || (lines[i].trim() === '' && INDENTED.test(lines[i + 1] ?? '')))) {
        code.push(lines[i].replace(INDENTED, ''));
        ++i;
      }
      parent.append(codeBlock(code.join('\n'), ''));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !isBlockStart(lines[i], lines[i + 1]))) {
      para.push(lines[i].trim());
      ++i;
    }
    const p = el('p');
    inline(para.join('\n'), p);
    parent.append(p);
  }
  // A tight list item: its paragraphs' text without the <p> around it.
  if (tight) {
    for (const node of Array.from(parent.childNodes).slice(start)) {
      if (node.nodeName !== 'P') continue;
      while (node.firstChild) parent.insertBefore(node.firstChild, node);
      node.remove();
    }
  }
}

// Only absolute http(s) and mailto links; anything else (javascript:, data:,
// vbscript:, relative paths) is left as text.
export function safeUrl(raw) {
  try {
    const u = new URL(raw);
    return ['http:', 'https:', 'mailto:'].includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function link(href, parent, label) {
  const url = safeUrl(href);
  if (!url) return false;
  const a = el('a');
  a.setAttribute('href', url);
  a.setAttribute('target', '_blank');
  a.setAttribute('rel', 'noopener noreferrer nofollow');
  if (typeof label === 'string') a.textContent = label;
  else inline(label.text, a, true);
  parent.append(a);
  return true;
}

const INLINE = new RegExp([
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.source,                       // 1,2 code span
  /\*\*(?=\S)([\s\S]*?\S)\*\*/.source,                               // 3 bold
  /(?<![\w])__(?=\S)([\s\S]*?\S)__(?![\w])/.source,                  // 4 bold
  /~~(?=\S)([\s\S]*?\S)~~/.source,                                   // 5 strike
  /\*(?=[^\s*])((?:\*\*[\s\S]*?\*\*|[^*])*?[^\s*])\*/.source,         // 6 italic
  /(?<![\w])_(?=[^\s_])([\s\S]*?[^\s_])_(?![\w])/.source,             // 7 italic
  /(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^\s<>()]*(?:\([^\s<>()]*\)[^\s<>()]*)*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/.source, // 8,9,10 link/image
  /<((?:https?:\/\/|mailto:)[^\s<>]+)>/.source,                      // 11 autolink
  /((?:https?:\/\/)[^\s<>"]*[^\s<>".,:;'!?)\]])/.source,             // 12 bare URL
  /\\([!-\/:-@\[-`{-~])/.source,                                      // 13 escape
  /( {2,}|\\)?\n/.source,                                            // 14 line break
].join('|'), 'g');

// Inline markdown of `text` into `parent`, as text nodes and a few elements.
function inline(text, parent, inLink = false) {
  let last = 0;
  const re = new RegExp(INLINE.source, 'g');
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    last = re.lastIndex;
    if (m[2] !== undefined) {
      let code = m[2];
      if (/^ .* $/.test(code) && code.trim() !== '') code = code.slice(1, -1);
      parent.append(el('code', 'inline', code));
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const s = el('strong');
      inline(m[3] ?? m[4], s, inLink);
      parent.append(s);
    } else if (m[5] !== undefined) {
      const s = el('del');
      inline(m[5], s, inLink);
      parent.append(s);
    } else if (m[6] !== undefined || m[7] !== undefined) {
      const s = el('em');
      inline(m[6] ?? m[7], s, inLink);
      parent.append(s);
    } else if (m[9] !== undefined) {
      const image = m[8] === '!';
      const label = image ? (m[9] ? `image: ${m[9]}` : 'image') : { text: m[9] };
      if (inLink || !link(m[10], parent, label)) {
        // Not a link we make: the whole thing stays visible as text.
        parent.append(document.createTextNode(m[0]));
      }
    } else if (m[11] !== undefined || m[12] !== undefined) {
      const href = m[11] ?? m[12];
      if (inLink || !link(href, parent, href)) parent.append(document.createTextNode(m[0]));
    } else if (m[13] !== undefined) {
      parent.append(document.createTextNode(m[13]));
    } else {
      parent.append(el('br'));
    }
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

// The whole answer as a fragment of safe nodes.
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  blocks(String(text).replace(/\r\n?/g, '\n').split('\n'), frag);
  return frag;
}
