/**
 * Python literals as `str()` prints them (params.txt values): None, True/False, ints, floats (inf, nan), quoted
 * strings, lists, tuples, dicts. Anything else is not a literal (a bare string argument, a path): undefined.
 */
import type { PyValue } from './types';

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  peek(): string {
    return this.s[this.i];
  }
}

const FAIL = Symbol('fail');
type Out = PyValue | typeof FAIL;

function value(r: Reader, depth: number): Out {
  if (depth > 32) return FAIL;
  r.ws();
  const c = r.peek();
  if (c === undefined) return FAIL;
  if (c === '[' || c === '(') return sequence(r, c === '[' ? ']' : ')', depth);
  if (c === '{') return dict(r, depth);
  if (c === "'" || c === '"') return quoted(r);
  const m = /^(None|True|False|[-+]?(?:inf|nan)|[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))/.exec(r.s.slice(r.i));
  if (!m) return FAIL;
  r.i += m[0].length;
  const w = m[0];
  if (w === 'None') return null;
  if (w === 'True') return true;
  if (w === 'False') return false;
  if (/inf$/.test(w)) return w.startsWith('-') ? -Infinity : Infinity;
  if (/nan$/.test(w)) return NaN;
  return Number(w);
}

function sequence(r: Reader, close: string, depth: number): Out {
  r.i++;
  const out: PyValue[] = [];
  for (;;) {
    r.ws();
    if (r.peek() === close) return r.i++, out;
    const v = value(r, depth + 1);
    if (v === FAIL) return FAIL;
    out.push(v);
    r.ws();
    if (r.peek() === ',') r.i++;
    else if (r.peek() !== close) return FAIL;
  }
}

function dict(r: Reader, depth: number): Out {
  r.i++;
  const out: { [k: string]: PyValue } = {};
  for (;;) {
    r.ws();
    if (r.peek() === '}') return r.i++, out;
    const k = value(r, depth + 1);
    if (k === FAIL || (typeof k === 'object' && k !== null)) return FAIL;
    r.ws();
    if (r.peek() !== ':') return FAIL;
    r.i++;
    const v = value(r, depth + 1);
    if (v === FAIL) return FAIL;
    out[String(k)] = v;
    r.ws();
    if (r.peek() === ',') r.i++;
    else if (r.peek() !== '}') return FAIL;
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

function quoted(r: Reader): Out {
  const q = r.s[r.i++];
  let out = '';
  while (r.i < r.s.length) {
    const c = r.s[r.i++];
    if (c === q) return out;
    if (c === '\\') {
      const e = r.s[r.i++];
      if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = r.s.slice(r.i, r.i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) return FAIL;
        out += String.fromCharCode(parseInt(hex, 16));
        r.i += n;
      } else out += ESCAPES[e] ?? `\\${e}`;
    } else out += c;
  }
  return FAIL;
}

/** The literal `text` spells, or undefined when it is not one whole Python literal. */
export function parsePythonLiteral(text: string): PyValue | undefined {
  const r = new Reader(text);
  const v = value(r, 0);
  r.ws();
  return v === FAIL || r.i !== text.length ? undefined : v;
}

/** A value the way a person reads it in a diff: strings bare, containers in Python's own spelling. */
export function formatPyValue(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
  if (typeof v === 'string') return v;
  const inner = (x: PyValue) => (typeof x === 'string' ? `'${x}'` : formatPyValue(x));
  if (Array.isArray(v)) return `[${v.map(inner).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `'${k}': ${inner(x)}`).join(', ')}}`;
}
