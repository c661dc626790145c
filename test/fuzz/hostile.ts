/**
 * A corpus of hostile checkpoints, written byte by byte: each attack of issue 11 (negative pickle lengths, a quadratic
 * LONG4, a zip bomb, stride-0 expansion, safetensors header lies) and the classic pickle/zip ones (GLOBAL/REDUCE of
 * os.system, INST, OBJ, NEWOBJ, deep nesting, huge MEMOIZE, path traversal, ZIP64 lies). Every file must end in the
 * listed CheckpointError code, fast and in bounded memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface HostileCase {
  name: string;
  path: string;
  /** Acceptable CheckpointError codes. */
  codes: string[];
}

// --- a pickle assembler: opcodes as bytes, strings as BINUNICODE ---
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
const str = (s: string) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]);
const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`);
const int = (n: number) => Buffer.concat([Buffer.from([0x4a]), i32(n)]); // BININT
const PROTO2 = Buffer.from([0x80, 0x02]);
const op = (...codes: number[]) => Buffer.from(codes);
const MARK = 0x28, TUPLE = 0x74, TUPLE1 = 0x85, REDUCE = 0x52, BINPERSID = 0x51, SETITEM = 0x73, STOP = 0x2e, EMPTY_DICT = 0x7d, NEWFALSE = 0x89;

/** {name: _rebuild_tensor_v2(storage(key, FloatStorage, numel), offset, shape, stride, False, OrderedDict())}. */
function tensorPickle(name: string, numel: number, shape: number[], stride: number[], offset = 0): Buffer {
  const tuple = (xs: number[]) => Buffer.concat([op(MARK), ...xs.map(int), op(TUPLE)]);
  const storage = Buffer.concat([op(MARK), str('storage'), global('torch', 'FloatStorage'), str('0'), str('cpu'), int(numel), op(TUPLE, BINPERSID)]);
  return Buffer.concat([
    PROTO2, op(EMPTY_DICT), str(name),
    global('torch._utils', '_rebuild_tensor_v2'),
    op(MARK), storage, int(offset), tuple(shape), tuple(stride), op(NEWFALSE), global('collections', 'OrderedDict'), op(MARK, TUPLE), op(REDUCE), op(TUPLE, REDUCE),
    op(SETITEM, STOP),
  ]);
}

// --- a zip writer: stored or deflated entries, with optional lies in the directory ---
interface ZipItem {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** Size written in the directory instead of the real one. */
  claimSize?: number;
}

function zip(items: ZipItem[], tail?: (cdOffset: number, cdSize: number, count: number) => Buffer): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const body = it.deflate ? deflateRawSync(it.data) : it.data;
    const name = Buffer.from(it.name);
    const size = it.claimSize ?? it.data.length;
    // The local header and the central directory record share their fields from "version needed" on; the central
    // one has "version made by" in front of them (2 bytes later) and the local offset at 42.
    const header = (bytes: number, signature: number, at: number): Buffer => {
      const h = Buffer.alloc(bytes);
      h.writeUInt32LE(signature, 0);
      h.writeUInt16LE(20, at); // version needed to extract
      h.writeUInt16LE(it.deflate ? 8 : 0, at + 4);
      h.writeUInt32LE(crc32(it.data), at + 10);
      h.writeUInt32LE(body.length, at + 14);
      h.writeUInt32LE(Math.min(size, 0xffffffff), at + 18);
      h.writeUInt16LE(name.length, at + 22);
      return h;
    };
    const lh = header(30, 0x04034b50, 4);
    const ch = header(46, 0x02014b50, 6);
    ch.writeUInt16LE(20, 4); // version made by
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    central.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(items.length, 8);
  eocd.writeUInt16LE(items.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, tail ? tail(offset, cd.length, items.length) : Buffer.alloc(0), eocd]);
}

const torchZip = (pkl: Buffer, storage: Buffer = Buffer.alloc(16), extra: ZipItem[] = []) =>
  zip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: storage }, ...extra]);

/** A safetensors file from a header given as text (lies allowed) and a data region. */
function safetensors(header: string, data: Buffer = Buffer.alloc(16), claimLength?: bigint): Buffer {
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(claimLength ?? BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

const ZIP64_LOCATOR_LIE = (at: bigint) => () => {
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(at, 8);
  loc.writeUInt32LE(1, 16);
  return loc;
};

/** Writes the corpus into `dir`; returns one case per file. */
export function writeHostileCorpus(dir: string): HostileCase[] {
  mkdirSync(dir, { recursive: true });
  const cases: HostileCase[] = [];
  const add = (name: string, bytes: Buffer, ...codes: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    cases.push({ name, path, codes });
  };
  const deepMarks = Buffer.alloc(200_000, MARK);
  const tooManyMemos = Buffer.concat([PROTO2, op(0x4e), Buffer.alloc(2_000_000, 0x94), op(STOP)]);
  const nestedLists = Buffer.concat([PROTO2, Buffer.alloc(100_000, 0x5d), Buffer.alloc(99_999, 0x61), op(STOP)]);

  // Issue 11, item 1: signed lengths and the super-linear LONG4.
  add('pkl-long4-negative.pt', torchZip(Buffer.from([0x80, 0x02, 0x4e, 0x30, 0x8b, 0xfa, 0xff, 0xff, 0xff, 0x2e])), 'CORRUPT');
  add('pkl-binstring-negative.pt', torchZip(Buffer.concat([PROTO2, op(0x54), i32(-5), op(STOP)])), 'CORRUPT');
  add('pkl-long4-past-end.pt', torchZip(Buffer.concat([PROTO2, op(0x8b), i32(0x7fffffff), op(STOP)])), 'CORRUPT');
  add('pkl-binunicode-past-end.pt', torchZip(Buffer.concat([PROTO2, op(0x58), u32(0xfffffff0), op(STOP)])), 'CORRUPT');
  add('pkl-binbytes8-huge.pt', torchZip(Buffer.concat([PROTO2, op(0x8e), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), op(STOP)])), 'CORRUPT');
  add('pkl-long4-256k.pt', torchZip(Buffer.concat([PROTO2, op(0x8b), i32(256 * 1024), Buffer.alloc(256 * 1024, 0x7f), op(STOP)])), 'TOO_LARGE');
  add('pkl-int-text-huge.pt', torchZip(Buffer.concat([PROTO2, Buffer.from(`I${'9'.repeat(100_000)}\n`), op(STOP)])), 'CORRUPT');
  // Code execution: every way a pickle can call something.
  add('pkl-os-system.pt', torchZip(Buffer.concat([PROTO2, global('os', 'system'), str('touch /tmp/hlip-pwned'), op(TUPLE1, REDUCE, STOP)])), 'UNSAFE_PICKLE');
  add('pkl-posix-system.pt', torchZip(Buffer.concat([PROTO2, global('posix', 'system'), str('id'), op(TUPLE1, REDUCE, STOP)])), 'UNSAFE_PICKLE');
  add('pkl-stack-global-eval.pt', torchZip(Buffer.concat([PROTO2, str('builtins'), str('eval'), op(0x93), str('1'), op(TUPLE1, REDUCE, STOP)])), 'UNSAFE_PICKLE');
  add('pkl-inst.pt', torchZip(Buffer.concat([PROTO2, op(MARK), str('id'), Buffer.from('ios\nsystem\n'), op(STOP)])), 'UNSAFE_PICKLE');
  add('pkl-obj.pt', torchZip(Buffer.concat([PROTO2, op(MARK), global('collections', 'OrderedDict'), op(0x6f, STOP)])), 'UNSAFE_PICKLE');
  add('pkl-newobj.pt', torchZip(Buffer.concat([PROTO2, global('collections', 'OrderedDict'), op(0x29, 0x81, STOP)])), 'UNSAFE_PICKLE');
  add('pkl-reduce-ordereddict-int.pt', torchZip(Buffer.concat([PROTO2, global('collections', 'OrderedDict'), int(5), op(TUPLE1, REDUCE, STOP)])), 'CORRUPT');
  // Resource exhaustion inside the pickle.
  add('pkl-deep-marks.pt', torchZip(Buffer.concat([PROTO2, deepMarks, op(STOP)])), 'TOO_LARGE');
  add('pkl-huge-memoize.pt', torchZip(tooManyMemos), 'TOO_LARGE');
  add('pkl-nested-lists.pt', torchZip(nestedLists), 'NOT_HLIP', 'CORRUPT');
  add('pkl-6m-empty-lists.pt', torchZip(Buffer.concat([PROTO2, Buffer.alloc(6_000_000, 0x5d), op(STOP)])), 'TOO_LARGE');
  add('pkl-appends-200k.pt', torchZip(Buffer.concat([PROTO2, op(0x5d, MARK), Buffer.alloc(200_000, 0x4e), op(0x65, STOP)])), 'NOT_HLIP');
  // Issue 11, item 3: tensors that expand beyond the file, and zip bombs.
  add('tensor-stride0-5e8.pt', torchZip(tensorPickle('w', 4, [500_000_000], [0])), 'TOO_LARGE');
  add('tensor-shape-overflow.pt', torchZip(tensorPickle('w', 4, [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [0, 0, 0])), 'TOO_LARGE');
  add('tensor-past-storage.pt', torchZip(tensorPickle('w', 4, [1000], [1])), 'CORRUPT');
  add('tensor-storage-numel-lie.pt', torchZip(tensorPickle('w', 2 ** 31 - 1, [4], [1])), 'CORRUPT');
  add('tensor-negative-stride.pt', torchZip(tensorPickle('w', 4, [4], [-1], 3)), 'CORRUPT');
  add('zip-bomb-declared.pt', zip([{ name: 'archive/data.pkl', data: Buffer.alloc(2 * 2 ** 20), deflate: true, claimSize: 2 ** 31 }]), 'TOO_LARGE', 'CORRUPT');
  add('zip-inflate-over-limit.pt', zip([{ name: 'archive/data.pkl', data: randomBytes(100_000), deflate: true, claimSize: 80 * 2 ** 20 }]), 'TOO_LARGE');
  add('zip-bomb-undeclared.pt', zip([{ name: 'archive/data.pkl', data: Buffer.alloc(64 * 2 ** 20), deflate: true, claimSize: 1000 }]), 'CORRUPT');
  add('zip-stored-size-lie.pt', zip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02, 0x4e, 0x2e]), claimSize: 2 ** 30 }]), 'CORRUPT');
  // Zip structure lies.
  add('zip-path-traversal.pt', zip([
    { name: '../../../../tmp/hlip-fuzz-evil/data.pkl', data: tensorPickle('w', 4, [4], [1]) },
    { name: '../../../../tmp/hlip-fuzz-evil/data/0', data: Buffer.alloc(16) },
    { name: '/tmp/hlip-fuzz-evil-abs', data: Buffer.from('x') },
  ]), 'NOT_HLIP', 'CORRUPT');
  add('zip64-locator-past-end.pt', zip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02, 0x4e, 0x2e]) }], ZIP64_LOCATOR_LIE(2n ** 40n)), 'CORRUPT');
  add('zip64-locator-huge.pt', zip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02, 0x4e, 0x2e]) }], ZIP64_LOCATOR_LIE(2n ** 64n - 1n)), 'CORRUPT');
  {
    const good = torchZip(tensorPickle('w', 4, [4], [1]));
    const lie = Buffer.from(good);
    lie.writeUInt16LE(0xffff, lie.length - 12); // EOCD: 65535 entries in a 2-entry directory
    add('zip-count-lie.pt', lie, 'CORRUPT');
    const off = Buffer.from(good);
    off.writeUInt32LE(0xfffffff0, off.length - 6); // EOCD: directory offset past the end
    add('zip-cd-offset-lie.pt', off, 'CORRUPT');
  }
  // Issue 11, item 7: safetensors header lies.
  const entry = (dtype: string) => `{"w":{"dtype":${dtype},"shape":[4],"data_offsets":[0,16]}}`;
  add('st-dtype-object.safetensors', safetensors(entry('{"toString":1}')), 'CORRUPT');
  add('st-dtype-number.safetensors', safetensors(entry('7')), 'CORRUPT');
  add('st-dtype-proto.safetensors', safetensors(entry('"__proto__"')), 'UNSUPPORTED');
  add('st-metadata-deep.safetensors', safetensors(`{"__metadata__":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`), 'CORRUPT');
  add('st-metadata-object.safetensors', safetensors('{"__metadata__":{"a":{"toString":1}}}'), 'CORRUPT');
  add('st-header-length-huge.safetensors', safetensors(entry('"F32"'), undefined, 2n ** 63n), 'CORRUPT');
  add('st-header-length-past-end.safetensors', safetensors(entry('"F32"'), undefined, 10_000n), 'CORRUPT');
  add('st-offsets-past-end.safetensors', safetensors('{"w":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}'), 'CORRUPT');
  add('st-shape-huge.safetensors', safetensors('{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}'), 'CORRUPT');
  add('st-negative-offsets.safetensors', safetensors('{"w":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}}'), 'CORRUPT');
  add('st-not-object.safetensors', safetensors('{"w":[1,2,3]}'), 'CORRUPT');
  return cases;
}
