// Syntax colours for code blocks: a small tokenizer per language family
// (comments, strings, numbers, keywords, types and built-ins, function
// calls), enough for the languages chat models write most. The output is a
// fragment of <span class="tok-KIND"> elements holding text nodes, so code
// is never parsed as HTML. Unknown languages get the generic C-like rules.

const words = (s) => new Set(s.split(/\s+/).filter(Boolean));

const C_LIKE_KEYWORDS = 'if else for while do switch case default break continue return goto sizeof typedef struct union enum ' +
  'static const volatile extern inline register auto';
const CPP_KEYWORDS = C_LIKE_KEYWORDS + ' class namespace template typename public private protected virtual override final ' +
  'new delete this operator friend using try catch throw noexcept constexpr consteval constinit decltype explicit mutable ' +
  'static_cast dynamic_cast reinterpret_cast const_cast co_await co_return co_yield concept requires export import module';
const CPP_TYPES = 'int char short long float double bool void unsigned signed size_t ssize_t int8_t int16_t int32_t int64_t ' +
  'uint8_t uint16_t uint32_t uint64_t wchar_t char8_t char16_t char32_t std string vector map unordered_map array span ' +
  'unique_ptr shared_ptr optional';
const JS_KEYWORDS = 'if else for while do switch case default break continue return function var let const class extends ' +
  'new delete typeof instanceof in of this super import export from as async await yield try catch finally throw ' +
  'static get set void with debugger interface type enum implements declare readonly keyof namespace abstract';
const JS_TYPES = 'Array Object String Number Boolean Promise Map Set Date RegExp Error JSON Math console window document ' +
  'string number boolean any unknown never undefined null true false NaN Infinity';
const PY_KEYWORDS = 'and as assert async await break class continue def del elif else except finally for from global if ' +
  'import in is lambda nonlocal not or pass raise return try while with yield match case';
const PY_TYPES = 'True False None self cls int float str bool list dict set tuple bytes object print len range open ' +
  'isinstance enumerate zip map filter sorted sum min max super type Exception ValueError TypeError KeyError';
const RUST_KEYWORDS = 'as async await break const continue crate dyn else enum extern fn for if impl in let loop match mod ' +
  'move mut pub ref return static struct super trait type unsafe use where while Self self';
const RUST_TYPES = 'i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool char str String Vec Option Result ' +
  'Box Rc Arc Some None Ok Err true false';
const GO_KEYWORDS = 'break case chan const continue default defer else fallthrough for func go goto if import interface ' +
  'map package range return select struct switch type var';
const GO_TYPES = 'bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 ' +
  'uint16 uint32 uint64 uintptr true false nil iota append cap close copy delete len make new panic print println recover';
const JAVA_KEYWORDS = 'abstract assert break case catch class const continue default do else enum extends final finally for ' +
  'goto if implements import instanceof interface native new package private protected public return static strictfp ' +
  'super switch synchronized this throw throws transient try volatile while var record yield fun val when object ' +
  'override namespace using async await';
const JAVA_TYPES = 'boolean byte char double float int long short void String Integer List Map true false null';
const SH_KEYWORDS = 'if then else elif fi for while until do done case esac in function return exit export local ' +
  'readonly set unset shift source alias echo cd sudo apt apt-get git make cmake meson ninja npm node python3 pip curl';
const SQL_KEYWORDS = 'select from where insert into values update set delete create table drop alter index join left ' +
  'right inner outer on group by order having limit offset as and or not null is in like between distinct union ' +
  'primary key foreign references default exists case when then else end count sum avg min max';

const C_COMMENTS = { line: ['//'], block: [['/*', '*/']] };
const LANGS = {
  c: { ...C_COMMENTS, strings: ['"', "'"], keywords: words(C_LIKE_KEYWORDS), types: words(CPP_TYPES), preproc: true },
  cpp: { ...C_COMMENTS, strings: ['"', "'"], keywords: words(CPP_KEYWORDS), types: words(CPP_TYPES), preproc: true },
  js: { ...C_COMMENTS, strings: ['"', "'", '`'], keywords: words(JS_KEYWORDS), types: words(JS_TYPES) },
  json: { line: [], block: [], strings: ['"'], keywords: words('true false null'), types: new Set() },
  python: { line: ['#'], block: [], strings: ['"""', "'''", '"', "'"], keywords: words(PY_KEYWORDS), types: words(PY_TYPES), decorators: true },
  rust: { ...C_COMMENTS, strings: ['"', "'"], keywords: words(RUST_KEYWORDS), types: words(RUST_TYPES), lifetimes: true },
  go: { ...C_COMMENTS, strings: ['"', '`', "'"], keywords: words(GO_KEYWORDS), types: words(GO_TYPES) },
  java: { ...C_COMMENTS, strings: ['"', "'"], keywords: words(JAVA_KEYWORDS), types: words(JAVA_TYPES), decorators: true },
  sh: { line: ['#'], block: [], strings: ['"', "'"], keywords: words(SH_KEYWORDS), types: new Set(), variables: true },
  sql: { line: ['--'], block: [['/*', '*/']], strings: ["'", '"'], keywords: words(SQL_KEYWORDS), types: new Set(), caseless: true },
  css: { line: [], block: [['/*', '*/']], strings: ['"', "'"], keywords: new Set(), types: new Set(), css: true },
  markup: { markup: true },
  plain: { plain: true },
};
const ALIASES = {
  h: 'c', cc: 'cpp', cxx: 'cpp', hpp: 'cpp', 'c++': 'cpp', cu: 'cpp', cuda: 'cpp', javascript: 'js', mjs: 'js', jsx: 'js',
  ts: 'js', tsx: 'js', typescript: 'js', py: 'python', python3: 'python', rs: 'rust', golang: 'go', kotlin: 'java',
  kt: 'java', cs: 'java', csharp: 'java', 'c#': 'java', scala: 'java', swift: 'java', bash: 'sh', shell: 'sh',
  zsh: 'sh', console: 'sh', shellsession: 'sh', html: 'markup', xml: 'markup', svg: 'markup', vue: 'markup',
  scss: 'css', less: 'css', text: 'plain', txt: 'plain', plaintext: 'plain', output: 'plain',
};

function spec(lang) {
  const name = ALIASES[lang] ?? lang;
  return LANGS[name] ?? LANGS.cpp;  // unknown: C-like rules are the safest guess
}

function push(frag, kind, text) {
  if (!text) return;
  if (!kind) { frag.append(document.createTextNode(text)); return; }
  const span = document.createElement('span');
  span.className = 'tok-' + kind;
  span.textContent = text;
  frag.append(span);
}

// The end of a string opened by `quote` at `i` (escapes honoured; a
// single-quoted string in C-like code ends at the line's end).
function stringEnd(code, i, quote) {
  let j = i + quote.length;
  while (j < code.length) {
    if (code[j] === '\\') { j += 2; continue; }
    if (code.startsWith(quote, j)) return j + quote.length;
    if (code[j] === '\n' && quote.length === 1 && quote !== '`') return j;
    ++j;
  }
  return code.length;
}

function highlightMarkup(code, frag) {
  const re = /(<!--[\s\S]*?(?:-->|$))|(<\/?)([\w:-]+)((?:\s+[\w:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?>)?/g;
  let last = 0, m;
  while ((m = re.exec(code))) {
    push(frag, null, code.slice(last, m.index));
    last = re.lastIndex;
    if (m[1]) { push(frag, 'comment', m[1]); continue; }
    push(frag, 'punct', m[2]);
    push(frag, 'keyword', m[3]);
    const attrs = /(\s+)([\w:-]+)(?:(\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+))?/g;
    let a;
    while ((a = attrs.exec(m[4]))) {
      push(frag, null, a[1]);
      push(frag, 'type', a[2]);
      push(frag, null, a[3]);
      push(frag, 'string', a[4]);
    }
    push(frag, null, m[0].slice(m[2].length + m[3].length + m[4].length, m[0].length - (m[5] ?? '').length));
    push(frag, 'punct', m[5]);
  }
  push(frag, null, code.slice(last));
}

export function highlight(code, lang = '') {
  const frag = document.createDocumentFragment();
  const s = spec(String(lang).toLowerCase());
  if (s.plain) { push(frag, null, code); return frag; }
  if (s.markup) { highlightMarkup(code, frag); return frag; }
  let i = 0, plain = '';
  const flush = () => { push(frag, null, plain); plain = ''; };
  const lineStart = (k) => k === 0 || code[k - 1] === '\n';
  while (i < code.length) {
    const ch = code[i];
    const lc = s.line.find((p) => code.startsWith(p, i));
    if (lc && !(lc === '#' && s.variables && code[i - 1] === '$')) {
      const end = code.indexOf('\n', i);
      flush(); push(frag, 'comment', code.slice(i, end < 0 ? code.length : end));
      i = end < 0 ? code.length : end;
      continue;
    }
    const bc = s.block.find(([open]) => code.startsWith(open, i));
    if (bc) {
      const end = code.indexOf(bc[1], i + bc[0].length);
      const stop = end < 0 ? code.length : end + bc[1].length;
      flush(); push(frag, 'comment', code.slice(i, stop));
      i = stop;
      continue;
    }
    if (s.preproc && ch === '#' && /^[ \t]*$/.test(code.slice(code.lastIndexOf('\n', i - 1) + 1, i))) {
      const m = /^#\s*\w+/.exec(code.slice(i));
      if (m) {
        flush(); push(frag, 'meta', m[0]); i += m[0].length;
        // #include <file>: the file name is a string.
        const inc = /include$/.test(m[0]) && /^(\s*)(<[^>\n]*>)/.exec(code.slice(i));
        if (inc) { push(frag, null, inc[1]); push(frag, 'string', inc[2]); i += inc[0].length; }
        continue;
      }
    }
    const q = s.strings.find((p) => code.startsWith(p, i));
    // Rust: 'a is a lifetime, 'a' and '\n' are characters.
    const lifetime = s.lifetimes && q === "'" && !/^'(?:\\.[^']*|[^'\\])'/.test(code.slice(i, i + 12));
    if (q && !lifetime) {
      const end = stringEnd(code, i, q);
      flush(); push(frag, 'string', code.slice(i, end));
      i = end;
      continue;
    }
    if (s.decorators && ch === '@' && /[A-Za-z_]/.test(code[i + 1] ?? '')) {
      const m = /^@[\w.]+/.exec(code.slice(i));
      flush(); push(frag, 'meta', m[0]); i += m[0].length;
      continue;
    }
    if (s.variables && ch === '$') {
      const m = /^\$(?:\{[^}\n]*\}|\w+|[@#?$!*0-9-])/.exec(code.slice(i));
      if (m) { flush(); push(frag, 'type', m[0]); i += m[0].length; continue; }
    }
    if (/[0-9]/.test(ch) && !/[\w$]/.test(code[i - 1] ?? '')) {
      const m = /^(?:0[xX][\da-fA-F_']+|0[bB][01_']+|\d[\d_']*(?:\.\d[\d_']*)?(?:[eE][+-]?\d+)?)[a-zA-Z]*/.exec(code.slice(i));
      flush(); push(frag, 'number', m[0]); i += m[0].length;
      continue;
    }
    if (/[A-Za-z_$]/.test(ch) && !/[\w$]/.test(code[i - 1] ?? '')) {
      const m = /^[A-Za-z_$][\w$]*(?:-[A-Za-z][\w]*)*/.exec(code.slice(i));
      let w = m[0];
      if (!s.variables) w = /^[A-Za-z_$][\w$]*/.exec(w)[0];  // hyphenated words only in shell
      const key = s.caseless ? w.toLowerCase() : w;
      let kind = null;
      if (s.css) kind = code[i + w.length] === ':' ? 'type' : null;
      else if (s.keywords.has(key) && !(s.variables && !lineStart(i) && /\S/.test(code[i - 1] ?? '') && code[i - 1] !== '(')) kind = 'keyword';
      else if (s.types.has(key)) kind = 'type';
      else if (/^\s*\(/.test(code.slice(i + w.length, i + w.length + 8))) kind = 'function';
      flush(); push(frag, kind, w);
      i += w.length;
      continue;
    }
    plain += ch;
    ++i;
  }
  flush();
  return frag;
}
