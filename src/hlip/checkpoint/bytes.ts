/** Positioned reads and typed-array views shared by the zip and safetensors readers. */
import { open, type FileHandle } from 'node:fs/promises';
import type { DType, TensorData } from './tensor';
import { CheckpointError } from './errors';

/** Node caps one read at 2 GiB; larger tensors are read in pieces into the same buffer. */
const MAX_READ = 1 << 30;

export interface ByteSource {
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, in a fresh buffer (byteOffset 0, so any element type is aligned). */
  read(offset: number, length: number, what: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CheckpointError('NOT_FOUND', `Cannot open the checkpoint: ${(e as Error).message}`, path);
  }
  const size = (await fh.stat()).size;
  return {
    path,
    size,
    async read(offset, length, what) {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new CheckpointError('CORRUPT', `The file ends before ${what} (needs bytes ${offset}..${offset + length}, file has ${size}); it is probably truncated`, path);
      }
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await fh.read(out, done, Math.min(MAX_READ, length - done), offset + done);
        if (bytesRead === 0) throw new CheckpointError('CORRUPT', `Unexpected end of file while reading ${what}`, path);
        done += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A typed array over `bytes` (little-endian): a view when the offset is aligned, else one copy. */
export function typedArray(bytes: Uint8Array, dtype: DType): TensorData {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  let src = bytes;
  if (bytes.byteOffset % size !== 0) {
    src = new Uint8Array(bytes.byteLength); // not .slice(): on a Node Buffer that is a view, still unaligned
    src.set(bytes);
  }
  const n = bytes.byteLength / size;
  switch (dtype) {
    case 'float32': return new Float32Array(src.buffer, src.byteOffset, n);
    case 'float64': return new Float64Array(src.buffer, src.byteOffset, n);
    case 'float16':
    case 'bfloat16': return new Uint16Array(src.buffer, src.byteOffset, n);
    case 'int64': return new BigInt64Array(src.buffer, src.byteOffset, n);
    case 'int32': return new Int32Array(src.buffer, src.byteOffset, n);
    case 'int16': return new Int16Array(src.buffer, src.byteOffset, n);
    case 'int8': return new Int8Array(src.buffer, src.byteOffset, n);
    case 'uint8':
    case 'bool': return new Uint8Array(src.buffer, src.byteOffset, n);
  }
}

/** In-place byte swap for big-endian storages (torch writes `byteorder` = "big" on such hosts). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
