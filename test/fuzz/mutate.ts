/** Seeded mutations of real files: what a damaged disk, an interrupted copy or a hostile file looks like. */

/** Small, fast, seeded PRNG (mulberry32) so a failing case can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Mutation = 'bitflip' | 'truncate' | 'length' | 'header-bytes' | 'tail-bytes' | 'splice';
export const MUTATIONS: Mutation[] = ['bitflip', 'truncate', 'length', 'header-bytes', 'tail-bytes', 'splice'];

/**
 * Applies one mutation. `length` overwrites a 16/32-bit field in the first or last 4 KiB (DICOM tags, NIfTI headers, a
 * pickle's opcodes, a zip's central directory) with an extreme value (0, 0xffff, 0xffffffff, a random size) - the
 * fields parsers trust most. `tail-bytes` hits the last 1 KiB (zip directories); `splice` copies one stretch of the
 * file over another (structures that point at the wrong things).
 */
export function mutate(src: Uint8Array, kind: Mutation, r: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  const at = (n: number) => Math.floor(r() * n);
  switch (kind) {
    case 'bitflip': {
      const flips = 1 + at(16);
      for (let i = 0; i < flips; i++) {
        const p = at(b.length);
        b[p] ^= 1 << at(8);
      }
      return b;
    }
    case 'truncate':
      return b.subarray(0, at(b.length));
    case 'header-bytes': {
      // Random bytes inside the first 1 KiB, where NIfTI and DICOM headers live.
      const n = 1 + at(8);
      for (let i = 0; i < n; i++) b[at(Math.min(1024, b.length))] = at(256);
      return b;
    }
    case 'tail-bytes': {
      const n = 1 + at(8);
      const w = Math.min(1024, b.length);
      for (let i = 0; i < n; i++) b[b.length - w + at(w)] = at(256);
      return b;
    }
    case 'splice': {
      const len = 1 + at(Math.min(256, b.length));
      const from = at(b.length - len + 1);
      const to = at(b.length - len + 1);
      b.copyWithin(to, from, from + len);
      return b;
    }
    case 'length': {
      const extremes = [0, 0xffff, 0xfffe, 0x7fffffff, 0xffffffff, 0xfffffffa, at(2 ** 31)];
      const v = extremes[at(extremes.length)];
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (b.length < 8) return b;
      const window = Math.min(b.length, 4096);
      const head = r() < 0.6;
      const p = head ? at(window - 4) : b.length - window + at(window - 4);
      if (r() < 0.5) dv.setUint16(p, v & 0xffff, true);
      else dv.setUint32(p, v >>> 0, true);
      return b;
    }
  }
}
