// The chat page of `apr serve` (examples/apr/serve/web/) driven in headless
// Chromium through playwright-core (pinned in clients/package-lock.json).
// Debian's `chromium` package is the browser (scripts/install-deps.sh
// installs it; APR_CHROMIUM names another). Without it the test skips loudly;
// under CI=true it fails. Prints TAP: one line per case.
// Usage: node web_page.mjs (APR_CLI = the apr binary; APR_WEB_SCREENSHOT=FILE
// also writes a screenshot of a real conversation, as docs/chat-page.png was made).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bail, npmCi, serverBase } from './serve_harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const clientsDir = join(here, 'clients');
if (process.env.APR_CHROMIUM && !existsSync(process.env.APR_CHROMIUM)) bail(`APR_CHROMIUM=${process.env.APR_CHROMIUM} does not exist`);
const browserPath = [process.env.APR_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  .find((p) => p && existsSync(p));
if (!browserPath) bail('no Chromium to drive (install Debian\'s chromium: scripts/install-deps.sh, or set APR_CHROMIUM)');
if (!existsSync(join(clientsDir, 'node_modules', 'playwright-core'))) {
  npmCi(clientsDir, 'playwright-core');
}
const { chromium } = await import(join(clientsDir, 'node_modules', 'playwright-core', 'index.mjs'));

const cli = process.env.APR_CLI;
if (!cli) bail('APR_CLI is not set (meson sets it)');
const model = join(here, '..', '..', 'models', 'nano', 'nano-q4_k_m.gguf');
const KEY = 'web-test-key';
const FOUR = 'What is 2+2? Answer with just the number.';

// ---- the server: greedy by default, so the page's requests without sampling fields are deterministic ----
const server = spawn(cli, ['serve', model, '--port', '0', '--threads', '2', '--parallel', '2', '--alias', 'nano',
  '--api-key', KEY, '--temperature', '0', '--max-tokens', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
const { base, serverLog } = await serverBase(server);
const busySlots = async () => (await fetch(`${base}/health`).then((r) => r.json())).busy_slots;

let browser;
try {
  // --no-sandbox: CI containers run as root; --disable-dev-shm-usage: their /dev/shm is small.
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
} catch (e) {
  server.kill('SIGTERM');
  bail(`cannot start ${browserPath}: ${e.message.split('\n')[0]}`);
}
const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
const foreign = [];
page.on('request', (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
const chatBodies = [];
page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) chatBodies.push({ body: JSON.parse(r.postData()), headers: r.headers() }); });

// ---- tiny TAP runner -------------------------------------------------------
const cases = [];
const test = (name, fn) => cases.push({ name, fn });
function check(cond, what) { if (!cond) throw new Error(what); }
function equal(a, b, what) { if (a !== b) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`); }
// Waits for fn() to be truthy (polling); on timeout the error shows what was last seen.
async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let seen;
  for (;;) {
    seen = await fn();
    if (seen) return seen;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last saw: ${JSON.stringify(await lastSeen())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function lastSeen() {
  return page.evaluate(() => ({
    model: document.getElementById('model')?.textContent,
    notice: document.getElementById('notice')?.textContent,
    messages: [...document.querySelectorAll('#messages article')].map((a) => `${a.className}: ${a.textContent.slice(0, 160)}`),
  })).catch((e) => String(e));
}
const articles = () => page.$$eval('#messages article', (as) => as.map((a) => ({
  role: a.classList.contains('user') ? 'user' : 'assistant', streaming: a.classList.contains('streaming'),
  content: a.querySelector('.content')?.textContent ?? '', stats: a.querySelector('.stats')?.textContent ?? '',
  stopped: !!a.querySelector('.stopped'), error: a.querySelector('.error')?.textContent ?? '' })));
const lastAnswer = async () => (await articles()).filter((a) => a.role === 'assistant').pop();
const stored = () => page.evaluate(() => JSON.parse(localStorage.getItem('apr.chat.v1')));

async function send(text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}
async function answerDone() {
  return until('the answer to end', async () => {
    const a = await lastAnswer();
    return a && !a.streaming && (await page.isHidden('#stop')) ? a : null;
  }, 30000);
}
async function setSettings(values) {
  await page.click('#settings-open');
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'boolean') await page.setChecked(`#settings-form [name=${name}]`, v);
    else await page.fill(`#settings-form [name=${name}]`, String(v));
  }
  await page.click('#settings-save');
  await until('the settings dialog to close', () => page.evaluate(() => !document.getElementById('settings').open));
}

test('the page comes from the binary, asks for the API key once (a wrong key is refused), names the model', async () => {
  const res = await page.goto(base + '/');
  equal(res.status(), 200, 'GET / status');
  check((res.headers()['content-security-policy'] ?? '').includes("script-src 'self'"), 'a Content-Security-Policy');
  await until('the API key dialog', () => page.isVisible('#key-dialog'));
  await page.fill('#key-input', 'wrong-key');
  await page.press('#key-input', 'Enter');
  await until('the refusal of a wrong key', async () =>
    (await page.isVisible('#key-dialog')) && /refused/.test(await page.textContent('#key-error')));
  await page.fill('#key-input', KEY);
  await page.press('#key-input', 'Enter');
  await until('the model name', async () => /^nano\b/.test(await page.textContent('#model')));
  check(!(await page.isVisible('#key-dialog')), 'the key dialog is closed');
  equal(await page.evaluate(() => localStorage.getItem('apr.apiKey')), KEY, 'the key kept in the browser');
  equal(foreign.length, 0, `requests to other origins: ${foreign.join(', ')}`);
});

test('Shift+Enter is a new line; Enter sends "What is 2+2?" and 4 streams in with tokens and tok/s', async () => {
  await page.click('#input');
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  equal(await page.inputValue('#input'), 'line one\nline two', 'textarea after Shift+Enter');
  equal((await articles()).length, 0, 'nothing sent by Shift+Enter');
  const sse = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
  await send(FOUR);
  const res = await sse;
  check((res.headers()['content-type'] ?? '').startsWith('text/event-stream'), `an SSE stream, got ${res.headers()['content-type']}`);
  const a = await answerDone();
  equal(a.content.trim(), '4', 'the answer');
  check(/\bnano\b/.test(a.stats) && /\b2 tokens\b/.test(a.stats) && /tok\/s/.test(a.stats), `stats line: ${a.stats}`);
  const req = chatBodies[chatBodies.length - 1];
  equal(req.body.stream, true, 'stream');
  equal(req.headers.authorization, `Bearer ${KEY}`, 'the key is sent');
  equal(await page.textContent('#title'), FOUR, 'the conversation is named after its first message');
});

test('edit an earlier message, then regenerate: the conversation is replaced, not appended', async () => {
  await page.click('#messages article.user button.edit');
  await page.fill('#messages .edit-box textarea', 'What is 3+3? Answer with just the number.');
  await page.press('#messages .edit-box textarea', 'Enter');
  let a = await answerDone();
  equal(a.content.trim(), '6', 'the answer to the edited question');
  equal((await articles()).length, 2, 'messages after the edit');
  const before = chatBodies.length;
  await page.click('#messages article.assistant button.regenerate');
  await until('a new request', () => chatBodies.length > before);
  a = await answerDone();
  equal(a.content.trim(), '6', 'the regenerated (greedy) answer');
  const msgs = chatBodies[chatBodies.length - 1].body.messages;
  equal(JSON.stringify(msgs), JSON.stringify([{ role: 'user', content: 'What is 3+3? Answer with just the number.' }]), 'regenerate sends the history without the old answer');
  equal((await stored()).conversations[0].messages.length, 2, 'stored messages');
});

test('Escape stops a long sampled answer mid-stream; the server frees the slot; the system prompt and sampling settings reach the request', async () => {
  await page.click('#new-chat');
  // A very hot sampler rarely ends on its own; its text is never asserted on.
  await setSettings({ system: 'You are a storyteller.', temperature: 2, top_k: 0, min_p: 0, top_p: 1, max_tokens: 2000 });
  let a;
  // A sampled answer can still end by itself before the stop lands (how soon
  // depends on the CPU's rounding): a few seeds are tried until one is stopped.
  for (let seed = 2; seed < 8; ++seed) {
    await setSettings({ seed });
    await send('Tell me a long story.');
    await until('the answer to stream 40 characters', async () => {
      const x = await lastAnswer();
      return x && (x.content.length >= 40 || !x.streaming);
    }, 30000);
    await page.keyboard.press('Escape');
    a = await answerDone();
    if (a.stopped) break;
  }
  check(a.stopped, `the answer was marked stopped: ${JSON.stringify(a)}`);
  check(a.content.length >= 40, 'the partial answer is kept');
  const body = chatBodies[chatBodies.length - 1].body;
  check(body.temperature === 2 && body.top_k === 0 && body.top_p === 1 && body.min_p === 0 && body.max_tokens === 2000 &&
        Number.isInteger(body.seed), `sampling fields in the request: ${JSON.stringify(body)}`);
  equal(JSON.stringify(body.messages[0]), JSON.stringify({ role: 'system', content: 'You are a storyteller.' }), 'the system prompt leads the messages');
  await until('the server to free the slot', async () => (await busySlots()) === 0, 5000);
  // Nothing arrives after the stop.
  const text = (await lastAnswer()).content;
  await new Promise((r) => setTimeout(r, 300));
  equal((await lastAnswer()).content, text, 'the answer after the stop');
  const conv = (await stored()).conversations[0];
  check(conv.messages[conv.messages.length - 1].stopped === true, 'stored as stopped');
  await setSettings({ system: '', temperature: '', top_k: '', min_p: '', top_p: '', max_tokens: '', seed: '' });
});

test('a reload shows the conversations again, without asking for the key', async () => {
  await page.reload();
  await until('the model name', async () => /^nano\b/.test(await page.textContent('#model')));
  check(!(await page.isVisible('#key-dialog')), 'no key dialog after the reload');
  const names = await page.$$eval('#conversations .conv-open', (bs) => bs.map((b) => b.textContent));
  check(names.length === 2 && names.includes('Tell me a long story.') && names.includes('What is 3+3? Answer with just the number.'),
    `conversation list: ${JSON.stringify(names)}`);
  check((await lastAnswer()).stopped, 'the current conversation is the stopped one');
  await page.click('#conversations .conv-open >> text=What is 3+3?');
  const as = await articles();
  equal(as.map((x) => x.content.trim()).join('|'), 'What is 3+3? Answer with just the number.|6', 'the earlier conversation');
  check(/tok\/s/.test(as[1].stats), 'its stats are kept');
});

test('code blocks are highlighted and copied with their button (a real answer of the model)', async () => {
  await page.click('#new-chat');
  await send(FOUR);
  await answerDone();
  await send('Write a Python function that adds two numbers.');
  await answerDone();
  const code = await page.$eval('#messages article.assistant .code-block code', (c) => ({
    text: c.textContent, kinds: [...c.querySelectorAll('span')].map((s) => s.className) }));
  // The model's greedy answer is a fenced Python block; only its being there and coloured is checked.
  check(code.text.trim().length > 0 && code.kinds.some((k) => k.startsWith('tok-')), `a highlighted code block: ${JSON.stringify(code)}`);
  await page.click('#messages article.assistant .copy-code');
  await until('the copied text', async () => (await page.evaluate(() => navigator.clipboard.readText())) === code.text);
  if (process.env.APR_WEB_SCREENSHOT) {
    await page.setViewportSize({ width: 900, height: 660 });
    await page.screenshot({ path: process.env.APR_WEB_SCREENSHOT });
    await page.setViewportSize({ width: 1100, height: 820 });
  }
});

test('markdown: headings, lists, tables, quotes, links, emphasis and code become the right elements', async () => {
  const md = ['## Plan', '', 'Some **bold**, *italic*, `x < y` and a [link](https://example.com/a?b=1).', '',
    '- one', '- two', '  1. nested', '', '3. three', '4. four', '', '> quoted', '', '| a | b |', '|:--|--:|', '| 1 | 2 |', '',
    '```cpp', '// add', 'int add(int a, int b) { return a + b; }', '```', '', 'snake_case_name stays plain; see https://example.org.'].join('\n');
  await page.evaluate((content) => {
    const s = JSON.parse(localStorage.getItem('apr.chat.v1'));
    s.conversations.unshift({ id: 'markdown', title: 'markdown', created: 0, updated: 0,
      messages: [{ role: 'user', content: 'show markdown' }, { role: 'assistant', content }] });
    s.currentId = 'markdown';
    localStorage.setItem('apr.chat.v1', JSON.stringify(s));
  }, md);
  await page.reload();
  await until('the stored conversation', async () => (await articles()).length === 2);
  const dom = await page.$eval('#messages article.assistant .content', (c) => ({
    h2: c.querySelector('h2')?.textContent, strong: c.querySelector('p strong')?.textContent, em: c.querySelector('p em')?.textContent,
    code: c.querySelector('p code.inline')?.textContent, href: c.querySelector('p a')?.getAttribute('href'),
    rel: c.querySelector('p a')?.getAttribute('rel'),
    ul: [...c.querySelectorAll(':scope > ul > li')].map((li) => li.firstChild.textContent),
    nested: c.querySelector('ul ol li')?.textContent, olStart: c.querySelector(':scope > ol')?.getAttribute('start'),
    quote: c.querySelector('blockquote')?.textContent.trim(), cells: [...c.querySelectorAll('td')].map((td) => td.textContent),
    align: c.querySelector('td:last-child')?.style.textAlign, lang: c.querySelector('.code-lang')?.textContent,
    comment: c.querySelector('.code-block .tok-comment')?.textContent, types: [...c.querySelectorAll('.code-block .tok-type')].map((t) => t.textContent),
    bare: [...c.querySelectorAll('a')].map((a) => a.getAttribute('href')).pop(), last: c.lastElementChild.textContent }));
  const want = { h2: 'Plan', strong: 'bold', em: 'italic', code: 'x < y', href: 'https://example.com/a?b=1', rel: 'noopener noreferrer nofollow',
    ul: ['one', 'two'], nested: 'nested', olStart: '3', quote: 'quoted', cells: ['1', '2'], align: 'right', lang: 'cpp', comment: '// add',
    types: ['int', 'int', 'int'], bare: 'https://example.org/', last: 'snake_case_name stays plain; see https://example.org.' };
  equal(JSON.stringify(dom), JSON.stringify(want), 'the rendered markdown');
});

// Model text that tries to run script. The page is loaded WITHOUT its
// Content-Security-Policy here, so only the renderer keeps this inert: a
// renderer that parsed HTML would run these handlers and set window.__pwned.
const PAYLOAD = [
  'Hello <script>window.__pwned = "script"</script> there',
  '<img src=x onerror="window.__pwned = \'img\'"> and <svg onload="window.__pwned=\'svg\'"></svg>',
  '[click me](javascript:window.__pwned=\'link\') ![pic](javascript:alert(1)) <a href="javascript:alert(1)">a</a>',
  '| cell | <iframe srcdoc="<script>parent.__pwned=1</script>"></iframe> |', '|---|---|', '| `<b onmouseover=x>` | **<u onclick=y>bold</u>** |',
  '', '```html', '<img src=x onerror="window.__pwned = \'code\'">', '```',
].join('\n');
async function assertInert(where) {
  const r = await page.evaluate(() => {
    const root = document.getElementById('messages');
    // The page itself makes none of these in its body, and no handler attributes at all.
    const bad = [...document.body.querySelectorAll('script, img, svg, iframe, object, embed, style, link, meta, u, b')].map((e) => e.outerHTML);
    bad.push(...[...root.querySelectorAll('form, input')].map((e) => e.outerHTML));
    const handlers = [...document.body.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`));
    const hrefs = [...root.querySelectorAll('a')].map((a) => a.getAttribute('href'));
    return { pwned: window.__pwned ?? null, bad, handlers, hrefs, text: root.textContent };
  });
  equal(r.pwned, null, `${where}: script ran`);
  equal(r.bad.length, 0, `${where}: elements made from model text: ${r.bad.join(' ')}`);
  equal(r.handlers.length, 0, `${where}: handler attributes: ${r.handlers.join(' ')}`);
  check(r.hrefs.every((h) => /^(https?|mailto):/.test(h)), `${where}: unsafe links: ${r.hrefs.join(' ')}`);
  for (const literal of ['<script>window.__pwned = "script"</script>', '<img src=x onerror="window.__pwned = \'code\'">', 'javascript:window.__pwned'])
    check(r.text.includes(literal), `${where}: the text shows ${literal} as text`);
}

test('script and onerror in model text stay inert: stored, streamed, and in the user\'s own message', async () => {
  // The page without its CSP header: only the renderer stands between model text and the DOM.
  await page.route(base + '/', async (route) => {
    const res = await route.fetch();
    const headers = { ...res.headers() };
    delete headers['content-security-policy'];
    await route.fulfill({ response: res, headers });
  });
  // (1) An answer kept in storage (as a reload would bring it back).
  await page.evaluate((payload) => {
    const s = JSON.parse(localStorage.getItem('apr.chat.v1'));
    s.conversations.unshift({ id: 'inject', title: '<img src=x onerror=alert(1)>', created: 0, updated: 0, messages: [
      { role: 'user', content: '<img src=x onerror="window.__pwned = \'user\'">' }, { role: 'assistant', content: payload }] });
    s.currentId = 'inject';
    localStorage.setItem('apr.chat.v1', JSON.stringify(s));
  }, PAYLOAD);
  await page.reload();
  await until('the stored conversation', async () => (await articles()).length === 2);
  await new Promise((r) => setTimeout(r, 200));  // an onerror would fire once the image fails to load
  await assertInert('stored answer');
  // (2) The same text streamed as an answer, split inside its tags: this one
  // request's reply is written here instead of by the model (which cannot be
  // made to say it); everything on the page is the real path.
  await page.route(base + '/v1/chat/completions', (route) => {
    const pieces = PAYLOAD.match(/[\s\S]{1,7}/g);
    const events = pieces.map((p) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: p } }] })}\n\n`);
    events.push(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`, 'data: [DONE]\n\n');
    route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body: events.join('') });
  });
  await page.click('#messages article.assistant button.regenerate');
  await until('the streamed answer', async () => {
    const a = await lastAnswer();
    return a && !a.streaming && a.content.includes('onerror');
  });
  await page.unroute(base + '/v1/chat/completions');
  await new Promise((r) => setTimeout(r, 200));
  await assertInert('streamed answer');
  // (3) Sent to the real model: the user's text and whatever the model makes of it.
  await setSettings({ max_tokens: 48 });
  await send('Repeat exactly: <img src=x onerror="window.__pwned=\'echo\'"><script>window.__pwned="s"</script>');
  await answerDone();
  await new Promise((r) => setTimeout(r, 200));
  const r = await page.evaluate(() => ({ pwned: window.__pwned ?? null,
    bad: document.querySelectorAll('#messages script, #messages img').length }));
  equal(JSON.stringify(r), JSON.stringify({ pwned: null, bad: 0 }), 'after a real answer to an injection prompt');
  check((await page.textContent('#conversations')).includes('<img src=x onerror=alert(1)>'), 'the title shows as text');
  await page.unroute(base + '/');
  await setSettings({ max_tokens: '' });
});

test('the layer trace view shows the server\'s X-Trace-Level: layer data, or says it is not available', async () => {
  // What this server returns for the header, asked directly.
  const probe = await fetch(`${base}/v1/chat/completions`, { method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', 'X-Trace-Level': 'layer' },
    body: JSON.stringify({ messages: [{ role: 'user', content: FOUR }], stream: true }) }).then((r) => r.text());
  const traced = probe.split('\n').some((l) => l.startsWith('data: {') && JSON.parse(l.slice(6)).trace !== undefined);
  await page.click('#new-chat');
  await setSettings({ trace: true });
  await send(FOUR);
  const a = await answerDone();
  equal(a.content.trim(), '4', 'the traced answer');
  equal(chatBodies[chatBodies.length - 1].headers['x-trace-level'], 'layer', 'the request header');
  await page.click('#messages article.assistant details.trace summary');
  // The view is built by the details' toggle event, which the browser fires
  // as a task after the click, not within it.
  await page.waitForSelector('#messages article.assistant .trace-view', { timeout: 5000 });
  const view = await page.$eval('#messages article.assistant .trace-view', (v) => ({
    missing: v.querySelector('.trace-missing')?.textContent ?? '', rows: v.querySelectorAll('tbody tr').length,
    pre: v.querySelector('pre')?.textContent ?? '' }));
  if (traced) check(!view.missing && (view.rows > 0 || view.pre.length > 0), `the trace is shown: ${JSON.stringify(view)}`);
  else check(/not available/.test(view.missing) && view.rows === 0, `says the trace is not available: ${JSON.stringify(view)}`);
  await setSettings({ trace: false });
});

test('a phone-sized window: no sideways scrolling, the conversation list opens from the menu', async () => {
  await page.setViewportSize({ width: 375, height: 720 });
  const layout = () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth,
    composer: document.getElementById('composer').getBoundingClientRect().right,
    sidebar: document.getElementById('sidebar').getBoundingClientRect().right }));
  // The list slides out of view (a short transition) when the window narrows.
  await until('the list to be tucked away', async () => (await layout()).sidebar <= 0, 5000);
  const l = await layout();
  check(l.scroll <= l.width && l.composer <= l.width, `fits the width: ${JSON.stringify(l)}`);
  await page.click('#menu');
  await until('the list to slide in', () => page.evaluate(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0));
  await page.click('#conversations .conv-open >> text=What is 3+3?');
  await until('the list to close', () => page.evaluate(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0));
  equal((await articles()).length, 2, 'the chosen conversation');
  await page.setViewportSize({ width: 1100, height: 820 });
});

test('keyboard alone: Tab reaches the settings, Enter opens them, Escape closes them; a conversation is deleted', async () => {
  await page.focus('#input');
  const seen = [];
  for (let i = 0; i < 40 && !(await page.evaluate(() => document.activeElement?.id === 'settings-open')); ++i) {
    await page.keyboard.press('Shift+Tab');
    seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName));
  }
  check(await page.evaluate(() => document.activeElement?.id === 'settings-open'), `Shift+Tab from the message box reaches the settings button: ${seen.join(', ')}`);
  await page.keyboard.press('Enter');
  await until('the settings dialog', () => page.evaluate(() => document.getElementById('settings').open));
  await page.keyboard.press('Escape');
  await until('the settings dialog to close', () => page.evaluate(() => !document.getElementById('settings').open));
  const before = (await stored()).conversations.length;
  page.once('dialog', (d) => d.accept());
  await page.focus('#conversations li.current .conv-delete');
  await page.keyboard.press('Enter');
  await until('one conversation fewer', async () => (await stored()).conversations.length === before - 1);
  equal((await page.$$('#conversations li')).length, before - 1, 'conversations listed');
});

test('no script errors on the page', async () => {
  equal(pageErrors.length, 0, `page errors: ${pageErrors.join(' | ')}`);
  equal(foreign.length, 0, `requests to other origins: ${foreign.join(', ')}`);
});

let n = 0, failed = 0;
for (const c of cases) {
  ++n;
  const t0 = Date.now();
  try {
    await c.fn();
    console.log(`ok ${n} - ${c.name}`);
    console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    ++failed;
    console.log(`not ok ${n} - ${c.name}`);
    for (const line of String(e.stack ?? e).split('\n').slice(0, 6)) console.log(`# ${line}`);
  }
}
console.log(`1..${n}`);
await browser.close();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
if (failed) console.error(serverLog().split('\n').slice(-30).join('\n'));
process.exit(failed ? 1 : 0);
