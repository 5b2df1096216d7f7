// The chat page of `apr serve` (docs/serve.md, "The chat page").
// Conversations and settings live in this browser's localStorage; answers
// stream from /v1/chat/completions. Model text only ever reaches the page as
// text nodes (markdown.js), user text as textContent.
import { renderMarkdown } from './markdown.js';
import { renderTrace } from './trace_view.js';
import { AuthError, apiKey, serverInfo, setApiKey, streamChat } from './chat_api.js';

const STORE_KEY = 'apr.chat.v1';
const SETTINGS_KEY = 'apr.settings.v1';
const SAMPLING_FIELDS = { temperature: 'float', top_p: 'float', top_k: 'int', min_p: 'float', repeat_penalty: 'float',
  max_tokens: 'int', seed: 'int' };

const $ = (id) => document.getElementById(id);
const ui = {
  sidebar: $('sidebar'), scrim: $('scrim'), list: $('conversations'), newChat: $('new-chat'), menu: $('menu'),
  title: $('title'), model: $('model'), notice: $('notice'), messages: $('messages'), composer: $('composer'),
  input: $('input'), send: $('send'), stop: $('stop'), settings: $('settings'), settingsForm: $('settings-form'),
  settingsOpen: $('settings-open'), settingsError: $('settings-error'), forgetKey: $('forget-key'),
  keyDialog: $('key-dialog'), keyForm: $('key-form'), keyInput: $('key-input'), keyError: $('key-error'),
};

// ---- state and storage -------------------------------------------------------

let store = { conversations: [], currentId: null };
let settings = { system: '', trace: false };
let server = { model: null, computeMode: '' };
let busy = null;  // {conv, answer, controller} while an answer streams

function newId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

function load() {
  try {
    const s = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null');
    if (s && Array.isArray(s.conversations)) store = s;
  } catch { /* a damaged entry: start empty, keep the entry for inspection */ }
  try {
    const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null');
    if (s && typeof s === 'object') settings = { ...settings, ...s };
  } catch { /* defaults */ }
  // Well-formed messages only: a hand-edited or old entry must not break the page.
  store.conversations = store.conversations.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages));
  for (const c of store.conversations) {
    c.messages = c.messages.filter((m) => m && ['user', 'assistant'].includes(m.role) && typeof m.content === 'string');
    c.title = typeof c.title === 'string' ? c.title : '';
    for (const m of c.messages) {
      if (m.pending) { delete m.pending; m.stopped = true; }  // the page was closed mid-answer
    }
  }
  if (!current()) store.currentId = store.conversations[0]?.id ?? null;
}

let saveTimer = null;
function save() {
  clearTimeout(saveTimer);
  saveTimer = null;
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(store));
  } catch (e) {
    notice(`Could not save the conversations in this browser (${e.name}): delete old ones to make room.`);
  }
}
// While streaming: at most once a second, so a reload keeps most of the answer.
function saveSoon() {
  if (!saveTimer) saveTimer = setTimeout(save, 1000);
}

function current() {
  return store.conversations.find((c) => c.id === store.currentId) ?? null;
}

function createConversation() {
  const conv = { id: newId(), title: '', created: Date.now(), updated: Date.now(), messages: [] };
  store.conversations.unshift(conv);
  store.currentId = conv.id;
  return conv;
}

// ---- rendering ---------------------------------------------------------------

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(text, className, label, onClick) {
  const b = el('button', className, text);
  b.type = 'button';
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function notice(text) {
  ui.notice.textContent = text ?? '';
  ui.notice.hidden = !text;
}

function renderSidebar() {
  ui.list.replaceChildren();
  for (const c of store.conversations) {
    const li = el('li', c.id === store.currentId ? 'current' : '');
    const open = button(c.title || 'New chat', 'conv-open', null, () => { selectConversation(c.id); });
    if (c.id === store.currentId) open.setAttribute('aria-current', 'true');
    const del = button('×', 'conv-delete icon', `Delete conversation ${c.title || 'New chat'}`, () => deleteConversation(c.id));
    li.append(open, del);
    ui.list.append(li);
  }
}

function statsText(m) {
  const s = m.stats;
  if (!s) return '';
  const parts = [];
  if (s.model) parts.push(s.model);
  if (s.tokens) parts.push(`${s.tokens} token${s.tokens === 1 ? '' : 's'}`);
  if (typeof s.tokPerSec === 'number') parts.push(`${s.tokPerSec.toFixed(1)} tok/s`);
  if (typeof s.firstTokenMs === 'number') parts.push(`first token ${Math.round(s.firstTokenMs)} ms`);
  if (s.promptTokens) parts.push(`prompt ${s.promptTokens}${s.cachedTokens ? ` (${s.cachedTokens} cached)` : ''}`);
  if (s.finish === 'length') parts.push('cut at max tokens');
  return parts.join(' · ');
}

function renderContent(m, node) {
  if (m.role === 'user') node.textContent = m.content;
  else node.replaceChildren(renderMarkdown(m.content));
}

function messageNode(conv, m, index) {
  const art = el('article', `msg ${m.role}`);
  art.dataset.index = String(index);
  art.append(el('div', 'role', m.role === 'user' ? 'You' : server.model ?? 'assistant'));
  const body = el('div', 'content');
  renderContent(m, body);
  art.append(body);
  if (m.pending) art.classList.add('streaming');
  if (m.error) art.append(el('p', 'error', m.error));
  if (m.stopped) art.append(el('p', 'stopped', 'Stopped.'));
  const meta = el('div', 'meta');
  const stats = el('span', 'stats', statsText(m));
  meta.append(stats);
  const actions = el('span', 'actions');
  const last = index === conv.messages.length - 1;
  if (!m.pending) {
    if (m.role === 'user') actions.append(button('Edit', 'edit', 'Edit this message', () => startEdit(conv, index, art)));
    if (m.role === 'assistant') {
      actions.append(button('Copy', 'copy', 'Copy this answer', (e) => copyText(m.content, e.currentTarget)));
      if (last) actions.append(button('Regenerate', 'regenerate', 'Regenerate this answer', () => regenerate(conv)));
    } else if (last) {
      actions.append(button('Send again', 'regenerate', 'Answer this message again', () => regenerate(conv)));
    }
  }
  meta.append(actions);
  art.append(meta);
  if (m.role === 'assistant' && m.traceRequested && !m.pending) {
    const details = el('details', 'trace');
    details.append(el('summary', null, 'Layer trace'));
    details.addEventListener('toggle', () => {
      if (details.open && details.childNodes.length === 1) details.append(renderTrace(m.trace ?? null, m.traceHeaders ?? {}));
    }, { once: false });
    art.append(details);
  }
  return art;
}

function renderMessages() {
  const conv = current();
  ui.title.textContent = conv?.title || 'New chat';
  document.title = conv?.title ? `${conv.title} · apr chat` : 'apr chat';
  ui.messages.replaceChildren();
  if (!conv || conv.messages.length === 0) {
    const empty = el('div', 'empty');
    empty.append(el('p', null, server.model ? `Chat with ${server.model}.` : 'Chat with the served model.'));
    empty.append(el('p', 'hint', 'Enter sends, Shift+Enter is a new line, Escape stops an answer.'));
    ui.messages.append(empty);
    return;
  }
  conv.messages.forEach((m, i) => ui.messages.append(messageNode(conv, m, i)));
}

function render() {
  renderSidebar();
  renderMessages();
  scrollToEnd(true);
}

const nearEnd = () => ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
function scrollToEnd(force) {
  if (force || nearEnd()) ui.messages.scrollTop = ui.messages.scrollHeight;
}

// Streaming re-renders only the answer being written, once per frame.
let frame = 0;
function updateStreaming() {
  if (frame || !busy) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (!busy || busy.conv !== current()) return;
    const index = busy.conv.messages.indexOf(busy.answer);
    const node = ui.messages.querySelector(`article[data-index="${index}"] .content`);
    if (!node) return;
    const stick = nearEnd();
    renderContent(busy.answer, node);
    if (stick) scrollToEnd(true);
  });
}

function setBusy(on) {
  ui.send.hidden = on;
  ui.stop.hidden = !on;
  ui.messages.setAttribute('aria-busy', on ? 'true' : 'false');
  if (!on && document.activeElement === ui.stop) ui.input.focus();
}

// ---- actions -----------------------------------------------------------------

function selectConversation(id) {
  store.currentId = id;
  save();
  closeSidebar();
  render();
  ui.input.focus();
}

function deleteConversation(id) {
  const conv = store.conversations.find((c) => c.id === id);
  if (!conv) return;
  if (conv.messages.length && !confirm(`Delete "${conv.title || 'New chat'}"?`)) return;
  if (busy?.conv === conv) stop();
  store.conversations = store.conversations.filter((c) => c !== conv);
  if (store.currentId === id) store.currentId = store.conversations[0]?.id ?? null;
  save();
  render();
}

function samplingParams() {
  const out = {};
  for (const [name, kind] of Object.entries(SAMPLING_FIELDS)) {
    const raw = settings[name];
    if (raw === undefined || raw === null || String(raw).trim() === '') continue;
    out[name] = kind === 'int' ? parseInt(raw, 10) : parseFloat(raw);
  }
  return out;
}

function apiMessages(conv, upTo) {
  const msgs = [];
  if (settings.system?.trim()) msgs.push({ role: 'system', content: settings.system });
  for (const m of conv.messages.slice(0, upTo)) {
    if (m.role === 'assistant' && !m.content) continue;  // a failed or empty answer is not part of the chat
    msgs.push({ role: m.role, content: m.content });
  }
  return msgs;
}

async function generate(conv) {
  if (busy) return;
  const history = apiMessages(conv, conv.messages.length);
  const answer = { role: 'assistant', content: '', pending: true, traceRequested: !!settings.trace };
  conv.messages.push(answer);
  conv.updated = Date.now();
  const controller = new AbortController();
  busy = { conv, answer, controller };
  save();
  render();
  setBusy(true);
  let pieces = 0;
  try {
    const r = await streamChat({
      model: server.model ?? undefined, messages: history, sampling: samplingParams(), wantTrace: answer.traceRequested,
      signal: controller.signal,
      onText: (t) => { answer.content += t; ++pieces; updateStreaming(); saveSoon(); },
    });
    answer.stats = { model: server.model, tokens: r.tokens, tokPerSec: r.tokPerSec, firstTokenMs: r.firstTokenMs,
      promptTokens: r.promptTokens, cachedTokens: r.cachedTokens, finish: r.finish };
    if (answer.traceRequested) { answer.trace = r.trace; answer.traceHeaders = r.traceHeaders; }
  } catch (e) {
    if (e.name === 'AbortError') {
      answer.stopped = true;
      answer.stats = { model: server.model, tokens: pieces };
    } else if (e instanceof AuthError) {
      answer.error = `The server refused the API key (${e.message}).`;
      askKey(e.message);
    } else {
      answer.error = `Error: ${e.message}`;
    }
  } finally {
    delete answer.pending;
    busy = null;
    if (frame) { cancelAnimationFrame(frame); frame = 0; }
    save();
    if (current() === conv) render(); else renderSidebar();
    setBusy(false);
  }
}

function sendMessage(text) {
  if (busy || !text.trim()) return;
  const conv = current() ?? createConversation();
  if (!conv.title) conv.title = text.trim().split('\n')[0].slice(0, 60);
  conv.messages.push({ role: 'user', content: text });
  ui.input.value = '';
  autosize();
  generate(conv);
}

function stop() {
  busy?.controller.abort();
}

function regenerate(conv) {
  if (busy) return;
  const last = conv.messages[conv.messages.length - 1];
  if (last?.role === 'assistant') conv.messages.pop();
  generate(conv);
}

function startEdit(conv, index, art) {
  if (busy) return;
  const m = conv.messages[index];
  const box = el('div', 'edit-box');
  const area = el('textarea');
  area.value = m.content;
  area.rows = Math.min(12, m.content.split('\n').length + 1);
  area.setAttribute('aria-label', 'Edit message');
  const commit = () => {
    const text = area.value;
    if (!text.trim() || busy) return;
    // The edited message replaces the old one and everything after it.
    conv.messages = conv.messages.slice(0, index);
    conv.messages.push({ role: 'user', content: text });
    if (index === 0) conv.title = text.trim().split('\n')[0].slice(0, 60);
    generate(conv);
  };
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); commit(); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); render(); }
  });
  const row = el('div', 'row');
  row.append(button('Cancel', 'cancel', null, () => render()), button('Save & send', 'primary save-edit', null, commit));
  box.append(area, row);
  art.querySelector('.content').replaceWith(box);
  art.querySelector('.meta')?.remove();
  area.focus();
}

async function copyText(text, where) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // No clipboard API (plain http on another host): the old way.
    const area = el('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    area.remove();
  }
  if (where) {
    const old = where.textContent;
    where.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { where.textContent = old; }, 1500);
  }
}

// ---- settings, API key, server -------------------------------------------------

function openSettings() {
  const f = ui.settingsForm.elements;
  f.system.value = settings.system ?? '';
  for (const name of Object.keys(SAMPLING_FIELDS)) f[name].value = settings[name] ?? '';
  f.trace.checked = !!settings.trace;
  ui.settingsError.textContent = '';
  ui.forgetKey.hidden = !apiKey();
  ui.settings.showModal();
}

function saveSettings(e) {
  const f = ui.settingsForm.elements;
  const next = { system: f.system.value, trace: f.trace.checked };
  for (const [name, kind] of Object.entries(SAMPLING_FIELDS)) {
    const raw = f[name].value.trim();
    if (raw === '') continue;
    const ok = kind === 'int' ? /^-?\d+$/.test(raw) : /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(raw);
    if (!ok) {
      e.preventDefault();
      ui.settingsError.textContent = `${f[name].closest('label').firstChild.textContent.trim()}: "${raw}" is not a ${kind === 'int' ? 'whole number' : 'number'}`;
      f[name].focus();
      return;
    }
    next[name] = raw;
  }
  settings = next;
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch (err) {
    notice(`The settings apply to this page only: the browser refused to store them (${err.name}).`);
  }
}

let keyWaiters = [];
function askKey(why) {
  ui.keyError.textContent = apiKey() ? `The key was refused: ${why}` : '';
  ui.keyInput.value = '';
  if (!ui.keyDialog.open) ui.keyDialog.showModal();
  return new Promise((resolve) => keyWaiters.push(resolve));
}

async function connect() {
  for (let attempt = 0; ; ++attempt) {
    try {
      const info = await serverInfo();
      if (info.loading) throw new Error('the model is still loading');
      server = info;
      ui.model.textContent = info.computeMode ? `${info.model} · ${info.computeMode}` : info.model;
      ui.model.title = `model ${info.model}${info.slots ? `, ${info.slots} slots` : ''}`;
      notice('');
      renderMessages();
      return;
    } catch (e) {
      if (e instanceof AuthError) {
        ui.model.textContent = 'API key needed';
        await askKey(e.message);
        continue;
      }
      ui.model.textContent = 'offline';
      notice(`Cannot reach the server (${e.message}); retrying…`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
    }
  }
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, window.innerHeight * 0.4)}px`;
}

function openSidebar() {
  ui.sidebar.classList.add('open');
  ui.scrim.hidden = false;
  ui.menu.setAttribute('aria-expanded', 'true');
  ui.sidebar.querySelector('button')?.focus();
}
function closeSidebar() {
  ui.sidebar.classList.remove('open');
  ui.scrim.hidden = true;
  ui.menu.setAttribute('aria-expanded', 'false');
}

// ---- wiring --------------------------------------------------------------------

ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(ui.input.value); });
ui.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(ui.input.value); }
});
ui.input.addEventListener('input', autosize);
ui.stop.addEventListener('click', stop);
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  if (ui.settings.open || ui.keyDialog.open) return;  // the dialog closes itself
  if (busy) { e.preventDefault(); stop(); return; }
  if (ui.sidebar.classList.contains('open')) closeSidebar();
});
ui.newChat.addEventListener('click', () => {
  if (!current() || current().messages.length) createConversation();
  save();
  closeSidebar();
  render();
  ui.input.focus();
});
ui.menu.addEventListener('click', () => (ui.sidebar.classList.contains('open') ? closeSidebar() : openSidebar()));
ui.scrim.addEventListener('click', closeSidebar);
ui.settingsOpen.addEventListener('click', openSettings);
ui.settingsForm.addEventListener('submit', saveSettings);
ui.forgetKey.addEventListener('click', () => { setApiKey(''); ui.forgetKey.hidden = true; });
ui.keyForm.addEventListener('submit', () => {
  setApiKey(ui.keyInput.value.trim());
  const waiters = keyWaiters;
  keyWaiters = [];
  waiters.forEach((w) => w());
});
ui.keyDialog.addEventListener('cancel', (e) => e.preventDefault());  // the page cannot work without it
// Copy buttons of code blocks (made by markdown.js without handlers).
ui.messages.addEventListener('click', (e) => {
  const b = e.target.closest('.copy-code');
  if (b) copyText(b.closest('.code-block').querySelector('code').textContent, b);
});
// Another tab changed the conversations: show them (unless this tab is writing an answer).
window.addEventListener('storage', (e) => {
  if (e.key !== STORE_KEY || busy) return;
  load();
  render();
});

load();
render();
ui.input.focus();
connect();
