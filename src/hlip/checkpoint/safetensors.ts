/**
 * safetensors: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {str: str}}, then the data region (offsets relative to its start). Validated before any data is read.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { numel, type DType, type TensorMap } from './tensor';
import { DTYPE_SIZE, openSource, typedArray } from './bytes';
import { CheckpointError } from './errors';

const TO_DTYPE: Record<string, DType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U8: 'uint8', BOOL: 'bool',
};
const FROM_DTYPE = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;
/** The reference implementation's limit; a larger header is a damaged length field, not a real model. */
const MAX_HEADER = 100_000_000;

export interface Safetensors {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and checks the header; returns entries sorted by offset and the data region's start. */
function parseHeader(json: Uint8Array, fileSize: number, path: string): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const corrupt = (why: string) => new CheckpointError('CORRUPT', `The safetensors header is invalid: ${why}`, path);
  let header: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw corrupt('not UTF-8 text');
  }
  // A real header nests 3 deep ({name: {shape: [..]}}); a deeper one is refused before anything recurses over it.
  if (nestingDepth(text) > 8) throw corrupt('it nests deeper than a safetensors header does');
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw corrupt(`not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw corrupt('not a JSON object');
  const dataStart = 8 + json.length;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      // The format says {str: str}; anything else (nested objects, numbers) is refused as the reference reader does.
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw corrupt(`__metadata__ ${JSON.stringify(k.slice(0, 60))} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw corrupt(`entry ${name} is not an object`);
    if (typeof r.dtype !== 'string') throw corrupt(`tensor ${name} has a dtype that is not a string`);
    const dtype = Object.hasOwn(TO_DTYPE, r.dtype) ? TO_DTYPE[r.dtype] : undefined;
    if (!dtype) throw new CheckpointError('UNSUPPORTED', `Tensor ${name} has dtype ${r.dtype.slice(0, 20)}, which is not read (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL are)`, path);
    const isUint = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (!Array.isArray(r.shape) || r.shape.length > 64 || !r.shape.every(isUint)) throw corrupt(`tensor ${name} has a shape that is not a list of sizes`);
    const off = r.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isUint) || off[1] < off[0]) throw corrupt(`tensor ${name} has data_offsets that are not [begin, end]`);
    const shape = r.shape as number[];
    const bytes = numel(shape) * DTYPE_SIZE[dtype];
    if (off[1] - off[0] !== bytes) throw corrupt(`tensor ${name} [${shape}] ${dtype} needs ${bytes} bytes, its offsets span ${off[1] - off[0]}`);
    if (off[1] > dataSize) throw corrupt(`tensor ${name} ends at byte ${off[1]} of the data, which is only ${dataSize} bytes; the file is probably truncated`);
    entries.push({ name, dtype, shape, begin: off[0], end: off[1] });
  }
  entries.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].begin < entries[i - 1].end) throw corrupt(`tensors ${entries[i - 1].name} and ${entries[i].name} overlap`);
  }
  return { entries, metadata, dataStart };
}

/** Deepest bracket nesting of a JSON text (brackets inside strings skipped). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function headerLength(b: Uint8Array, fileSize: number, path: string): number {
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, fileSize - 8))) {
    throw new CheckpointError('CORRUPT', `The safetensors header claims ${n} bytes but the file has ${fileSize}; it is truncated or not safetensors`, path);
  }
  return Number(n);
}

/** Reads a .safetensors file; every tensor gets its own buffer (one read each, always aligned). */
export async function readSafetensors(path: string): Promise<Safetensors> {
  const src = await openSource(path);
  try {
    if (src.size < 8) throw new CheckpointError('CORRUPT', `The file has ${src.size} bytes, too short for safetensors`, path);
    const n = headerLength(await src.read(0, 8, 'the header length'), src.size, path);
    const { entries, metadata, dataStart } = parseHeader(await src.read(8, n, 'the header'), src.size, path);
    const tensors: TensorMap = new Map();
    for (const e of entries) {
      const bytes = await src.read(dataStart + e.begin, e.end - e.begin, `tensor ${e.name}`);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: typedArray(bytes, e.dtype) });
    }
    return { tensors, metadata };
  } finally {
    await src.close();
  }
}

/** Parses safetensors held in memory: views into `buf` where aligned, copies where not. */
export function parseSafetensors(buf: Uint8Array, path = '<memory>'): Safetensors {
  if (buf.length < 8) throw new CheckpointError('CORRUPT', `The buffer has ${buf.length} bytes, too short for safetensors`, path);
  const n = headerLength(buf, buf.length, path);
  const { entries, metadata, dataStart } = parseHeader(buf.subarray(8, 8 + n), buf.length, path);
  const tensors: TensorMap = new Map();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: typedArray(buf.subarray(dataStart + e.begin, dataStart + e.end), e.dtype) });
  }
  return { tensors, metadata };
}

/** Writes tensors in map order, header padded with spaces to 8 bytes (as the reference writer) so data is aligned. */
export function writeSafetensors(path: string, tensors: TensorMap, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    if (t.data.length !== numel(t.shape) || bytes !== numel(t.shape) * DTYPE_SIZE[t.dtype]) {
      throw new RangeError(`tensor ${name}: ${t.data.length} values of ${t.dtype} do not fill shape [${t.shape}]`);
    }
    header[name] = { dtype: FROM_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    for (const t of tensors.values()) writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, Math.min(b.length - done, 1 << 30));
}
