/**
 * A restricted unpickler for torch.save's data.pkl. It builds plain data (Map for dict/OrderedDict, arrays for
 * list/tuple, string, number/bigint, boolean, null, Uint8Array) and tensor references. It never calls anything: a GLOBAL
 * outside the allow-list below is refused on sight (UNSAFE_PICKLE), and REDUCE only dispatches to the handlers here.
 */
import type { DType } from './tensor';
import { CheckpointError, isAllocationFailure } from './errors';

/** A storage named by a persistent id: ('storage', torch.XStorage, key, location, numel). */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** A tensor as pickled: a view into a storage. Materialised later, so unused tensors (optimizer state) are never read. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A global from the allow-list; only REDUCE / persistent ids can consume it. */
class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString() {
    return `${this.module}.${this.name}`;
  }
}

export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const TORCH_DTYPES = new Set([
  'float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long', 'int32', 'int', 'int16',
  'short', 'int8', 'uint8', 'bool',
]);

const REBUILD = new Set(['_rebuild_tensor_v2', '_rebuild_tensor', '_rebuild_parameter', '_rebuild_parameter_with_state']);

/** Decides whether a GLOBAL may be named at all; everything else is refused before anything else happens. */
function allowGlobal(module: string, name: string, file: string): Global {
  const ok =
    (module === 'collections' && name === 'OrderedDict') ||
    (module === 'torch._utils' && REBUILD.has(name)) ||
    (module === 'torch' && (name in STORAGE_DTYPES || TORCH_DTYPES.has(name))) ||
    // Protocol 2 pickles bytes as _codecs.encode(latin-1 text): decoded here, nothing is called.
    (module === '_codecs' && name === 'encode');
  if (ok) return new Global(module, name);
  // Damaged bytes can put anything here: show printable characters only, and not too many.
  const shown = (t: string) => t.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
  [module, name] = [shown(module), shown(name)];
  if (module === 'torch' && name.endsWith('Storage')) {
    throw new CheckpointError('UNSUPPORTED', `The checkpoint uses torch.${name} (complex or quantised tensors), which this reader does not convert`, file);
  }
  throw new CheckpointError(
    'UNSAFE_PICKLE',
    `The checkpoint's pickle refers to ${module}.${name}, which is not a tensor or plain container; it was not loaded because unpickling it could run code. Convert it to safetensors in a trusted Python environment`,
    file,
  );
}

type Value = unknown;

/** What is wrong with a damaged pickle, in words for the user (anything else thrown is a bug or engine error). */
export class PickleDamage extends Error {}
/** A bound from PICKLE_LIMITS was passed. */
class PickleLimit extends Error {}

const asInt = (v: Value, what: string): number => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new PickleDamage(`${what} is not an integer`);
};
/** A tensor has at most a few dozen dimensions; a longer "size" tuple is damage, not a model. */
const MAX_DIMS = 64;
const asInts = (v: Value, what: string): number[] => {
  if (!Array.isArray(v) || v.length > MAX_DIMS) throw new PickleDamage(`${what} is not a tuple of at most ${MAX_DIMS} integers`);
  return v.map((x, i) => asInt(x, `${what}[${i}]`));
};

/**
 * Bounds that no torch.save output comes near, so a hostile data.pkl ends in a typed error, not in exhausted memory or
 * a stack overflow: integer width (Python pickles ints > 255 bytes with LONG4; a checkpoint holds 64-bit ones), memo
 * entries (a state dict memoises ~10 objects per tensor), MARK nesting, and opcodes (each can make an object: a data.pkl
 * of millions of EMPTY_LIST would fill memory; a real one, even with optimizer state, has well under a million).
 */
export const PICKLE_LIMITS = { maxIntBytes: 4096, maxMemo: 1 << 20, maxMarkDepth: 10_000, maxTextLine: 4096, maxOps: 5_000_000 };

function reduce(fn: Global, args: Value[]): Value {
  const f = `${fn}`;
  switch (f) {
    case 'collections.OrderedDict': {
      const m = new Map<Value, Value>();
      const pairs = args[0] ?? [];
      if (!Array.isArray(pairs)) throw new PickleDamage('an OrderedDict is built from something that is not a list of pairs');
      for (const kv of pairs) {
        if (!Array.isArray(kv) || kv.length !== 2) throw new PickleDamage('an OrderedDict is built from something that is not a list of pairs');
        m.set(kv[0], kv[1]);
      }
      return m;
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof StorageRef)) throw new PickleDamage(`${f} without a storage`);
      return new TensorRef(storage, asInt(offset, 'storage offset'), asInts(size, 'size'), asInts(stride, 'stride'));
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(args[0] instanceof TensorRef)) throw new PickleDamage(`${f} without a tensor`);
      return args[0];
    case '_codecs.encode': {
      const [text, enc] = args;
      if (typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new PickleDamage('_codecs.encode of non-latin-1 text');
      return Uint8Array.from(text, (c) => c.charCodeAt(0));
    }
  }
  throw new PickleDamage(`${f} cannot be called`);
}

export type PersistentLoad = (pid: Value) => Value;

/** Unpickles `data`; `persistentLoad` turns torch's storage ids into StorageRefs. */
export function unpickle(data: Uint8Array, persistentLoad: PersistentLoad, file: string): Value {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: false });
  let stack: Value[] = [];
  const metastack: Value[][] = [];
  const memo = new Map<number, Value>();
  let p = 0;

  // Every length is checked as a non-negative count against the bytes left before the position moves.
  const need = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new PickleDamage(`a length field holds ${n}`);
    if (n > data.length - p) throw new PickleDamage(`a length field asks for ${n} bytes where ${data.length - p} are left`);
  };
  const u8 = () => (need(1), data[p++]);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  /** LONG4 / BINSTRING lengths are signed in the format; Python refuses negative ones, so do we. */
  const len32 = () => {
    const n = i32();
    if (n < 0) throw new PickleDamage(`a length field holds ${n}`);
    return n;
  };
  const u64 = () => {
    need(8);
    const n = view.getBigUint64(p, true);
    p += 8;
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleDamage(`a length field holds ${n}`);
    return Number(n);
  };
  const bytes = (n: number) => (need(n), (p += n), data.subarray(p - n, p));
  const line = () => {
    const end = data.subarray(p, p + PICKLE_LIMITS.maxTextLine + 1).indexOf(0x0a);
    if (end < 0) throw new PickleDamage(p + PICKLE_LIMITS.maxTextLine < data.length ? 'a text line is longer than any checkpoint writes' : 'pickle ends inside a text line');
    const s = dec.decode(data.subarray(p, p + end));
    p += end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleDamage('pickle stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw new PickleDamage('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const mark = () => {
    if (metastack.length >= PICKLE_LIMITS.maxMarkDepth) throw new PickleLimit(`MARKs are nested more than ${PICKLE_LIMITS.maxMarkDepth} deep`);
    metastack.push(stack);
    stack = [];
  };
  const memoize = (k: number) => {
    if (memo.size >= PICKLE_LIMITS.maxMemo && !memo.has(k)) throw new PickleLimit(`it memoises more than ${PICKLE_LIMITS.maxMemo} objects`);
    memo.set(k, top());
  };
  const popMark = (): Value[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) throw new PickleDamage('pickle MARK missing');
    stack = prev;
    return items;
  };
  const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  /** Two's-complement little-endian integer, built from one hex string (linear; shifting per byte is quadratic). */
  const long = (b: Uint8Array): Value => {
    if (b.length === 0) return 0;
    if (b.length > PICKLE_LIMITS.maxIntBytes) throw new PickleLimit(`it holds a ${b.length}-byte integer`);
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += HEX[b[i]];
    let n = BigInt(`0x${hex}`);
    if (b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  };
  const setItems = (d: Value, items: Value[]) => {
    if (!(d instanceof Map)) throw new PickleDamage('SETITEM on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const textInt = (s: string): Value => {
    const t = s.replace(/L$/, '');
    if (t === '00') return false;
    if (t === '01') return true;
    if (!/^[+-]?\d+$/.test(t)) throw new PickleDamage('an INT opcode holds something that is not a number');
    const n = BigInt(t);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  };

  try {
    for (let ops = 0; ; ops++) {
      if (ops >= PICKLE_LIMITS.maxOps) throw new PickleLimit(`it has more than ${PICKLE_LIMITS.maxOps} opcodes`);
      const op = u8();
      switch (op) {
        case 0x80: u8(); break; // PROTO
        case 0x95: u64(); break; // FRAME: framing is only a read-ahead hint
        case 0x2e: return pop(); // STOP
        case 0x28: mark(); break; // MARK
        case 0x30: pop(); break; // POP
        case 0x31: popMark(); break; // POP_MARK
        case 0x32: stack.push(top()); break; // DUP
        case 0x4e: stack.push(null); break; // NONE
        case 0x88: stack.push(true); break; // NEWTRUE
        case 0x89: stack.push(false); break; // NEWFALSE
        case 0x4b: stack.push(u8()); break; // BININT1
        case 0x4d: stack.push(u16()); break; // BININT2
        case 0x4a: stack.push(i32()); break; // BININT
        case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
        case 0x8b: stack.push(long(bytes(len32()))); break; // LONG4
        case 0x49: stack.push(textInt(line())); break; // INT
        case 0x4c: stack.push(textInt(line())); break; // LONG
        case 0x47: need(8); stack.push(view.getFloat64(p, false)); p += 8; break; // BINFLOAT (big-endian)
        case 0x46: stack.push(parseFloat(line())); break; // FLOAT
        case 0x58: stack.push(dec.decode(bytes(u32()))); break; // BINUNICODE
        case 0x8c: stack.push(dec.decode(bytes(u8()))); break; // SHORT_BINUNICODE
        case 0x8d: stack.push(dec.decode(bytes(u64()))); break; // BINUNICODE8
        case 0x54: stack.push(latin1(bytes(len32()))); break; // BINSTRING (Python 2 str)
        case 0x55: stack.push(latin1(bytes(u8()))); break; // SHORT_BINSTRING
        case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
        case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
        case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
        case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
        case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
        case 0x5d: stack.push([]); break; // EMPTY_LIST
        case 0x29: stack.push([]); break; // EMPTY_TUPLE
        case 0x8f: stack.push(new Set()); break; // EMPTY_SET
        case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; } // DICT
        case 0x6c: case 0x74: { const items = popMark(); stack.push(items); break; } // LIST, TUPLE (pop the mark before naming the outer stack)
        case 0x85: stack.push([pop()]); break; // TUPLE1
        case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
        case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
        case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) throw new PickleDamage('APPEND to a non-list'); l.push(v); break; } // APPEND
        case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) throw new PickleDamage('APPENDS to a non-list'); for (const x of items) l.push(x); break; } // APPENDS (no spread: a long MARK would overflow the call stack)
        case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) throw new PickleDamage('ADDITEMS to a non-set'); for (const x of items) s.add(x); break; } // ADDITEMS
        case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
        case 0x71: memoize(u8()); break; // BINPUT
        case 0x72: memoize(u32()); break; // LONG_BINPUT
        case 0x70: memoize(Number(line())); break; // PUT
        case 0x94: memoize(memo.size); break; // MEMOIZE
        case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
          const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
          if (!memo.has(k)) throw new PickleDamage(`memo ${k} is not set`);
          stack.push(memo.get(k));
          break;
        }
        case 0x63: { const module = line(); const name = line(); stack.push(allowGlobal(module, name, file)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw new PickleDamage('STACK_GLOBAL of non-strings');
          stack.push(allowGlobal(module, name, file));
          break;
        }
        case 0x52: { // REDUCE
          const args = pop();
          const fn = pop();
          if (!(fn instanceof Global) || !Array.isArray(args)) throw new PickleDamage('REDUCE of something that is not an allowed global');
          stack.push(reduce(fn, args));
          break;
        }
        case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
        case 0x50: stack.push(persistentLoad(line())); break; // PERSID
        case 0x62: { // BUILD: only the harmless cases torch produces (OrderedDict._metadata, Parameter state)
          const state = pop();
          const obj = top();
          if (!(obj instanceof Map || obj instanceof TensorRef)) throw new PickleDamage('BUILD on an object that is not a dict or tensor');
          void state;
          break;
        }
        // Opcodes that construct or call arbitrary classes: never needed for tensors.
        case 0x81: case 0x92: case 0x69: case 0x6f: case 0x82: case 0x83: case 0x84:
          throw new CheckpointError('UNSAFE_PICKLE', `The checkpoint's pickle constructs objects (opcode 0x${op.toString(16)}); it was not loaded because that could run code`, file);
        default:
          throw new PickleDamage(`unknown pickle opcode 0x${op.toString(16)} at byte ${p - 1}`);
      }
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    if (e instanceof PickleLimit || isAllocationFailure(e)) {
      throw new CheckpointError('TOO_LARGE', `The checkpoint's data.pkl was not loaded because ${e instanceof PickleLimit ? e.message : 'it asks for more memory than can be allocated'}`, file);
    }
    const why = e instanceof PickleDamage ? (e as Error).message : 'its bytes are damaged';
    const err = new CheckpointError('CORRUPT', `The checkpoint's data.pkl cannot be read: ${why}`, file);
    if (!(e instanceof PickleDamage)) err.cause = e;
    throw err;
  }
}


const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
