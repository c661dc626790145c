/**
 * Minimal ZIP reader for torch.save archives: central directory (ZIP64 too, for checkpoints over 4 GB), stored or
 * deflated entries. Entries are read one at a time with positioned reads, so a storage is copied from disk once.
 */
import { inflateRawSync } from 'node:zlib';
import type { ByteSource } from './bytes';
import { CheckpointError, isEngineError } from './errors';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;
/** Deflate cannot expand more than ~1032:1 (258-byte matches coded in 2 bits); a larger claim is a lie. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * The most one entry may inflate to. torch.save stores entries uncompressed, so a deflated checkpoint was re-zipped by
 * hand and its tensors compress little; allowing 16x the file (at least 64 MiB) keeps a zip bomb far from memory limits.
 */
export const inflateLimit = (fileSize: number): number => Math.max(64 * 2 ** 20, 16 * fileSize);

const u64 = (v: DataView, at: number): number => {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError('CORRUPT', `The checkpoint's zip structure is damaged: a 64-bit field holds ${n}`);
  return Number(n);
};

export class ZipReader {
  private constructor(
    readonly src: ByteSource,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  static async open(src: ByteSource): Promise<ZipReader> {
    try {
      return await ZipReader.parse(src);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      const err = new CheckpointError('CORRUPT', `The checkpoint's zip structure is damaged${isEngineError(e) ? '' : `: ${(e as Error).message}`}`, src.path);
      err.cause = e;
      throw err;
    }
  }

  private static async parse(src: ByteSource): Promise<ZipReader> {
    const corrupt = (why: string) => new CheckpointError('CORRUPT', `The checkpoint's zip structure is damaged: ${why}`, src.path);
    // The end record is within the last 22 + 65535 (comment) bytes.
    const tailLen = Math.min(src.size, 22 + 0xffff + 20);
    const tail = await src.read(src.size - tailLen, tailLen, 'the zip end record');
    const tv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw corrupt('no end-of-archive record (the file is probably truncated)');
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (eocd >= 20 && tv.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
      const at = u64(tv, eocd - 20 + 8);
      const rec = await src.read(at, 56, 'the ZIP64 end record');
      const rv = new DataView(rec.buffer);
      if (rv.getUint32(0, true) !== EOCD64) throw corrupt('bad ZIP64 end record');
      count = u64(rv, 32);
      cdSize = u64(rv, 40);
      cdOffset = u64(rv, 48);
    }
    if (cdOffset + cdSize > src.size) throw corrupt(`central directory at ${cdOffset}+${cdSize} lies past the end (${src.size} bytes)`);
    const cd = await src.read(cdOffset, cdSize, 'the zip central directory');
    const v = new DataView(cd.buffer);
    const entries = new Map<string, ZipEntry>();
    const dec = new TextDecoder();
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL) throw corrupt(`central directory entry ${k} is malformed`);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      if (p + 46 + nameLen + extraLen > cdSize) throw corrupt(`central directory entry ${k} runs past the directory`);
      const e: ZipEntry = {
        name: dec.decode(cd.subarray(p + 46, p + 46 + nameLen)),
        method: v.getUint16(p + 10, true),
        compressedSize: v.getUint32(p + 20, true),
        size: v.getUint32(p + 24, true),
        localOffset: v.getUint32(p + 42, true),
      };
      // ZIP64 extra field: only the fields saturated in the fixed record are present, in this order.
      for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
        const id = v.getUint16(x, true);
        const len = v.getUint16(x + 2, true);
        if (id === 0x0001) {
          let q = x + 4;
          if (e.size === U32_MAX) (e.size = u64(v, q)), (q += 8);
          if (e.compressedSize === U32_MAX) (e.compressedSize = u64(v, q)), (q += 8);
          if (e.localOffset === U32_MAX) e.localOffset = u64(v, q);
        }
        x += 4 + len;
      }
      if (e.method === 0 && e.size !== e.compressedSize) throw corrupt(`stored entry ${e.name} says ${e.size} bytes but holds ${e.compressedSize}`);
      if (e.method === 8 && e.size > e.compressedSize * DEFLATE_MAX_RATIO + 1024) {
        throw corrupt(`entry ${e.name} claims to inflate ${e.compressedSize} bytes to ${e.size}, more than deflate can produce`);
      }
      if (e.method === 8 && e.size > inflateLimit(src.size)) {
        throw new CheckpointError('TOO_LARGE', `The zip entry ${e.name} would inflate to ${e.size} bytes, more than a ${src.size}-byte checkpoint can need; it was not read`, src.path);
      }
      entries.set(e.name, e);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return new ZipReader(src, entries);
  }

  /** The entry's uncompressed bytes in a fresh buffer. */
  async read(e: ZipEntry): Promise<Uint8Array> {
    const head = await this.src.read(e.localOffset, 30, `the zip header of ${e.name}`);
    const hv = new DataView(head.buffer);
    if (hv.getUint32(0, true) !== LOCAL) {
      throw new CheckpointError('CORRUPT', `The zip entry ${e.name} has no local header where the directory says`, this.src.path);
    }
    const start = e.localOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    const raw = await this.src.read(start, e.compressedSize, e.name);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      let out: Buffer;
      try {
        // The output limit stops a bomb while inflating; the declared size was bounded when the directory was read.
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        const why = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? `it inflates to more than the ${e.size} bytes its directory declares` : (err as Error).message;
        throw new CheckpointError('CORRUPT', `The compressed zip entry ${e.name} does not inflate: ${why}`, this.src.path);
      }
      if (out.length !== e.size) throw new CheckpointError('CORRUPT', `The zip entry ${e.name} inflates to ${out.length} bytes, not ${e.size}`, this.src.path);
      // A large inflate result owns its ArrayBuffer; a small one may sit in Node's pool and is copied out.
      if (out.byteOffset === 0 && out.buffer.byteLength === out.length) return new Uint8Array(out.buffer);
      return new Uint8Array(out);
    }
    throw new CheckpointError('UNSUPPORTED', `The zip entry ${e.name} uses compression method ${e.method}; only stored and deflate are read`, this.src.path);
  }
}
