// `apr serve` driven by the official OpenAI and Ollama JavaScript clients
// (npm packages pinned in clients/package.json, installed into
// clients/node_modules by scripts/install-deps.sh or on first run here).
// Prints TAP: one line per case. Usage: node clients.mjs (APR_CLI = the apr binary).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bail, npmCi, serverBase } from './serve_harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const clientsDir = join(here, 'clients');
if (!existsSync(join(clientsDir, 'node_modules', 'openai')) || !existsSync(join(clientsDir, 'node_modules', 'ollama'))) {
  npmCi(clientsDir, 'the npm clients');
}
const { default: OpenAI } = await import(join(clientsDir, 'node_modules', 'openai', 'index.mjs'));
const { Ollama } = await import(join(clientsDir, 'node_modules', 'ollama', 'dist', 'index.mjs'));

const cli = process.env.APR_CLI;
if (!cli) bail('APR_CLI is not set (meson sets it)');
const model = join(here, '..', '..', 'models', 'nano', 'nano-q4_k_m.gguf');
const KEY = 'client-test-key';

// ---- the server ------------------------------------------------------------
const server = spawn(cli, ['serve', model, '--port', '0', '--threads', '2', '--parallel', '2', '--alias', 'nano', '--api-key', KEY],
  { stdio: ['ignore', 'ignore', 'pipe'] });
const { base } = await serverBase(server);

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60000 });
const ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${KEY}` } });
const FOUR = 'What is 2+2? Answer with just the number.';
const user = (content) => [{ role: 'user', content }];

// ---- tiny TAP runner -------------------------------------------------------
const cases = [];
const test = (name, fn) => cases.push({ name, fn });
function check(cond, what) { if (!cond) throw new Error(what); }
function equal(a, b, what) { if (a !== b) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`); }

const weather = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

test('openai: chat.completions.create answers 4, with usage', async () => {
  const r = await openai.chat.completions.create({ model: 'nano', messages: user(FOUR), temperature: 0 });
  equal(r.choices[0].message.content, '4', 'content');
  equal(r.choices[0].finish_reason, 'stop', 'finish_reason');
  equal(r.usage.completion_tokens, 2, 'completion_tokens');
  check(r.usage.prompt_tokens > 10, 'prompt_tokens');
  check(typeof r.usage.prompt_tokens_details.cached_tokens === 'number', 'cached_tokens');
});

test('openai: streamed chat equals the whole answer, usage chunk with include_usage', async () => {
  const stream = await openai.chat.completions.create({ model: 'nano', messages: user('Hi'), temperature: 0, stream: true,
    stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  equal(text, 'Hello! How can I help you today?', 'text');
  equal(finish, 'stop', 'finish_reason');
  check(usage && usage.completion_tokens > 5, 'usage');
});

test('openai: completions.create on a raw prompt, n = 2, logprobs', async () => {
  const r = await openai.completions.create({ model: 'nano', prompt: '<|im_start|>user\nWhat is 7*8?<|im_end|>\n<|im_start|>assistant\n',
    temperature: 0, max_tokens: 8, n: 2, logprobs: 2 });
  equal(r.choices.length, 2, 'choices');
  for (const c of r.choices) {
    equal(c.text, '56', 'text');
    check(c.logprobs.tokens.length >= 2 && c.logprobs.top_logprobs[0] && Object.keys(c.logprobs.top_logprobs[0]).length === 2, 'logprobs');
  }
});

test('openai: models.list names the alias', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  equal(ids.join(','), 'nano', 'ids');
});

test('openai: tools and a tool round trip are accepted (the tool call parser is exercised in test_serve_units)', async () => {
  const r = await openai.chat.completions.create({ model: 'nano', messages: user('What is the weather in Paris?'), tools: weather,
    tool_choice: 'auto', temperature: 0, max_tokens: 16 });
  check(r.choices.length === 1 && ['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason), 'a choice');
  const plain = await openai.chat.completions.create({ model: 'nano', messages: user('What is the weather in Paris?'), temperature: 0, max_tokens: 1 });
  check(r.usage.prompt_tokens > plain.usage.prompt_tokens + 20, 'the tools are in the prompt');
  const round = await openai.chat.completions.create({ model: 'nano', temperature: 0, max_tokens: 8, tools: weather, messages: [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21 C' }] });
  check(round.choices.length === 1, 'round trip answered');
});

test('openai: errors arrive as the client\'s typed errors (404 model, 400 bad value, 401 key)', async () => {
  try { await openai.chat.completions.create({ model: 'gpt-4o', messages: user('Hi') }); throw new Error('no error'); }
  catch (e) { check(e instanceof OpenAI.NotFoundError, `NotFoundError, got ${e}`); equal(e.code, 'model_not_found', 'code'); }
  try { await openai.chat.completions.create({ model: 'nano', messages: user('Hi'), temperature: 9 }); throw new Error('no error'); }
  catch (e) { check(e instanceof OpenAI.BadRequestError, `BadRequestError, got ${e}`); equal(e.param, 'temperature', 'param'); }
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'nope', maxRetries: 0 });
  try { await wrong.models.list(); throw new Error('no error'); }
  catch (e) { check(e instanceof OpenAI.AuthenticationError, `AuthenticationError, got ${e}`); }
});

test('openai: a stream aborted by the client frees its slot; the next answer is right', async () => {
  const stream = await openai.completions.create({ model: 'nano', prompt: 'import os\nimport sys\n\ndef main():\n', temperature: 0,
    max_tokens: 300, stream: true });
  let n = 0;
  for await (const _ of stream) { if (++n === 3) { stream.controller.abort(); break; } }
  const r = await openai.chat.completions.create({ model: 'nano', messages: user(FOUR), temperature: 0 });
  equal(r.choices[0].message.content, '4', 'content after abort');
});

test('ollama: chat, whole and streamed', async () => {
  const r = await ollama.chat({ model: 'nano', messages: user('What is 7*8?'), stream: false, options: { temperature: 0 } });
  equal(r.message.content, '56', 'content');
  equal(r.done, true, 'done');
  equal(r.done_reason, 'stop', 'done_reason');
  check(r.eval_count === 3 && r.total_duration > 0 && r.prompt_eval_count > 0, 'counts and durations');
  const parts = await ollama.chat({ model: 'nano', messages: user('Hi'), stream: true, options: { temperature: 0 } });
  let text = '', last = null;
  for await (const p of parts) { text += p.message.content; last = p; }
  equal(text, 'Hello! How can I help you today?', 'streamed text');
  check(last.done && last.eval_duration > 0, 'final part');
});

test('ollama: generate, list, ps, show, version', async () => {
  const g = await ollama.generate({ model: 'nano', prompt: FOUR, stream: false, options: { temperature: 0, num_predict: 8 } });
  equal(g.response, '4', 'response');
  const l = await ollama.list();
  equal(l.models[0].name, 'nano', 'list');
  const ps = await ollama.ps();
  equal(ps.models[0].model, 'nano', 'ps');
  const s = await ollama.show({ model: 'nano' });
  check(s.template.includes('<|im_start|>'), 'show template');
  const v = await ollama.version();
  check(typeof v.version === 'string' && v.version.length > 0, 'version');
});

test('ollama: tools accepted; an unknown model is a ResponseError 404', async () => {
  const r = await ollama.chat({ model: 'nano', messages: user('What is the weather in Paris?'), tools: weather, stream: false,
    options: { temperature: 0, num_predict: 8 } });
  check(r.done === true, 'done');
  try { await ollama.chat({ model: 'llama3', messages: user('Hi'), stream: false }); throw new Error('no error'); }
  catch (e) { equal(e.name, 'ResponseError', 'error type'); equal(e.status_code, 404, 'status'); }
});

test('SIGTERM: the server exits 0 within seconds', async () => {
  const start = Date.now();
  const code = await new Promise((resolve) => { server.removeAllListeners('exit'); server.on('exit', (c) => resolve(c)); server.kill('SIGTERM'); });
  equal(code, 0, 'exit code');
  check(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
});

let failed = 0;
for (let i = 0; i < cases.length; ++i) {
  const { name, fn } = cases[i];
  try {
    await fn();
    console.log(`ok ${i + 1} - ${name}`);
  } catch (e) {
    ++failed;
    console.log(`not ok ${i + 1} - ${name}`);
    for (const line of String(e?.stack ?? e).split('\n')) console.log(`# ${line}`);
  }
}
console.log(`1..${cases.length}`);
if (server.exitCode === null) server.kill('SIGKILL');
process.exit(failed ? 1 : 0);
