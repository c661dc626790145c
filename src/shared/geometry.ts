/** 4x4 affines (row-major, 16 numbers) mapping voxel index (i, j, k) to world millimetres, RAS+. */
export type Mat4 = number[];
export type Vec3 = [number, number, number];

export const identity4 = (): Mat4 => [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

export function mul4(a: Mat4, b: Mat4): Mat4 {
  const r = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i * 4 + k] * b[k * 4 + j];
      r[i * 4 + j] = s;
    }
  return r;
}

export function apply4(m: Mat4, p: Vec3): Vec3 {
  const [x, y, z] = p;
  return [
    m[0] * x + m[1] * y + m[2] * z + m[3],
    m[4] * x + m[5] * y + m[6] * z + m[7],
    m[8] * x + m[9] * y + m[10] * z + m[11],
  ];
}

/** General 4x4 inverse (Gauss-Jordan with partial pivoting). Throws on a singular matrix. */
export function invert4(m: Mat4): Mat4 {
  const a = m.slice();
  const inv = identity4();
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r * 4 + c]) > Math.abs(a[p * 4 + c])) p = r;
    if (Math.abs(a[p * 4 + c]) < 1e-12) throw new Error('singular affine');
    if (p !== c)
      for (let k = 0; k < 4; k++) {
        [a[c * 4 + k], a[p * 4 + k]] = [a[p * 4 + k], a[c * 4 + k]];
        [inv[c * 4 + k], inv[p * 4 + k]] = [inv[p * 4 + k], inv[c * 4 + k]];
      }
    const d = a[c * 4 + c];
    for (let k = 0; k < 4; k++) {
      a[c * 4 + k] /= d;
      inv[c * 4 + k] /= d;
    }
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r * 4 + c];
      if (f === 0) continue;
      for (let k = 0; k < 4; k++) {
        a[r * 4 + k] -= f * a[c * 4 + k];
        inv[r * 4 + k] -= f * inv[c * 4 + k];
      }
    }
  }
  return inv;
}

export const column = (m: Mat4, j: number): Vec3 => [m[j], m[4 + j], m[8 + j]];
export const norm3 = (v: Vec3): number => Math.hypot(v[0], v[1], v[2]);
export const dot3 = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross3 = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/** Voxel sizes implied by an affine: the length of each of its first three columns. */
export function spacingOf(m: Mat4): Vec3 {
  return [norm3(column(m, 0)), norm3(column(m, 1)), norm3(column(m, 2))];
}

/**
 * Axis codes like nibabel's aff2axcodes: for each voxel axis, the world axis it points along most ('R'/'L', 'A'/'P',
 * 'S'/'I'), each world axis used once. "RAS" means i grows to the Right, j Anterior, k Superior.
 */
export function orientationCode(m: Mat4): string {
  const labels = [['L', 'R'], ['P', 'A'], ['I', 'S']];
  // NaN/Inf columns have no direction (no comparison picks them): say so instead of indexing labels[-1].
  if (![0, 1, 2].every((j) => column(m, j).every(Number.isFinite))) return '???';
  // Greedy assignment on the largest remaining |cosine|, like nibabel's io_orientation.
  const cos: number[][] = [0, 1, 2].map((j) => {
    const c = column(m, j);
    const n = norm3(c) || 1;
    return c.map((v) => v / n);
  });
  const out: string[] = ['?', '?', '?'];
  const usedAxis = new Set<number>();
  const usedWorld = new Set<number>();
  for (let step = 0; step < 3; step++) {
    let best = -1, bj = -1, bw = -1;
    for (let j = 0; j < 3; j++) {
      if (usedAxis.has(j)) continue;
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue;
        const a = Math.abs(cos[j][w]);
        if (a > best || bj < 0) [best, bj, bw] = [a, j, w];
      }
    }
    usedAxis.add(bj);
    usedWorld.add(bw);
    out[bj] = labels[bw][cos[bj][bw] >= 0 ? 1 : 0];
  }
  return out.join('');
}

/** DICOM patient coordinates are LPS+; NIfTI/nibabel world is RAS+. Negate x and y rows. */
export function lpsToRas(m: Mat4): Mat4 {
  const r = m.slice();
  for (let k = 0; k < 4; k++) {
    r[k] = -r[k];
    r[4 + k] = -r[4 + k];
  }
  return r;
}

/** Largest angle (degrees) between a voxel axis and the nearest world axis: 0 for a plain scanner-aligned grid. */
export function obliquity(m: Mat4): number {
  let worst = 0;
  for (let j = 0; j < 3; j++) {
    const c = column(m, j);
    const n = norm3(c) || 1;
    const maxCos = Math.max(...c.map((v) => Math.abs(v) / n));
    worst = Math.max(worst, (Math.acos(Math.min(1, maxCos)) * 180) / Math.PI);
  }
  return worst;
}
