// The page's calls to `apr serve`: the API key, the served model, and one
// streamed chat completion (OpenAI's /v1/chat/completions with SSE).

const KEY_STORAGE = 'apr.apiKey';

export class AuthError extends Error {}

// Kept in localStorage; where the browser refuses storage, for this page's life only.
let keyInMemory = '';
export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? keyInMemory;
  } catch {
    return keyInMemory;
  }
}
export function setApiKey(key) {
  keyInMemory = key;
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch { /* storage refused: the key lives in memory */ }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

// The error text of a refused request, in either API's shape.
async function errorText(res) {
  const body = await res.text().catch(() => '');
  try {
    const j = JSON.parse(body);
    const e = j.error;
    if (typeof e === 'string') return e;
    if (e && typeof e.message === 'string') return e.message;
  } catch { /* not JSON */ }
  return `HTTP ${res.status}${body ? ': ' + body.slice(0, 200) : ''}`;
}

// {model, computeMode, slots} from /health and /v1/models. Throws AuthError
// when the server wants a key this page does not have (or has wrong).
export async function serverInfo() {
  const health = await fetch('/health').then((r) => r.json()).catch(() => ({}));
  const res = await fetch('/v1/models', { headers: headers() });
  if (res.status === 401) throw new AuthError(await errorText(res));
  if (!res.ok) throw new Error(await errorText(res));
  const models = await res.json();
  return {
    model: models.data?.[0]?.id ?? health.model ?? 'unknown',
    computeMode: health.compute_mode ?? '',
    slots: health.slots ?? 0,
    loading: health.status === 'loading',
  };
}

// One SSE stream's events (the text after each "data: ").
async function* sseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) yield data;
    }
  }
}

const TRACE_HEADERS = ['X-Trace-Time-Ms', 'X-Trace-Tokens', 'X-Trace-Tok-Per-Sec', 'X-Trace-Layers', 'X-Trace-Avg-Layer-Ms'];

// Streams one answer. `onText(delta)` gets each piece of text as it comes.
// Resolves to {tokens, promptTokens, cachedTokens, finish, firstTokenMs, timings (the server's),
// tokPerSec, trace, traceHeaders}; `signal` aborts (the server notices the
// closed connection and frees the slot).
export async function streamChat({ model, messages, sampling, wantTrace, signal, onText }) {
  const body = { model, messages, stream: true, stream_options: { include_usage: true }, ...sampling };
  const extra = { 'Content-Type': 'application/json' };
  if (wantTrace) extra['X-Trace-Level'] = 'layer';
  const started = performance.now();
  const res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(extra), body: JSON.stringify(body), signal });
  if (res.status === 401) throw new AuthError(await errorText(res));
  if (!res.ok) throw new Error(await errorText(res));
  const result = { tokens: 0, promptTokens: 0, cachedTokens: 0, finish: null, firstTokenMs: null, tokPerSec: null,
    timings: null, trace: null, traceHeaders: {} };
  for (const h of TRACE_HEADERS) {
    const v = res.headers.get(h);
    if (v !== null) result.traceHeaders[h] = v;
  }
  let firstAt = null, pieces = 0;
  for await (const data of sseData(res.body)) {
    if (data === '[DONE]') break;
    let chunk;
    try { chunk = JSON.parse(data); } catch { continue; }
    if (chunk.error) throw new Error(chunk.error.message ?? String(chunk.error));
    // The layer trace (X-Trace-Level: layer) comes in an event of its own before [DONE].
    if (chunk.trace !== undefined) result.trace = chunk.trace;
    // ... with the X-Trace-* figures as an object, since the headers went out first.
    if (chunk.trace_headers && typeof chunk.trace_headers === 'object') Object.assign(result.traceHeaders, chunk.trace_headers);
    if (chunk.timings) result.timings = chunk.timings;
    if (chunk.usage) {
      result.tokens = chunk.usage.completion_tokens ?? 0;
      result.promptTokens = chunk.usage.prompt_tokens ?? 0;
      result.cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
    }
    for (const c of chunk.choices ?? []) {
      const text = c.delta?.content;
      if (text) {
        const now = performance.now();
        if (firstAt === null) { firstAt = now; result.firstTokenMs = now - started; }
        ++pieces;
        onText(text);
      }
      if (c.finish_reason) result.finish = c.finish_reason;
    }
  }
  if (!result.tokens) result.tokens = pieces;
  // The decode speed as the server measured it (tokens after the first over
  // the time since the first); without it, the same measured here, which
  // also counts the network.
  const serverRate = result.timings?.predicted_per_second;
  if (typeof serverRate === 'number') {
    result.tokPerSec = serverRate;
  } else {
    const span = (performance.now() - (firstAt ?? performance.now())) / 1000;
    if (result.tokens > 1 && span > 0) result.tokPerSec = (result.tokens - 1) / span;
  }
  return result;
}
