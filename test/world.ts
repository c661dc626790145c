/** Compares two voxel grids in world space: how one grid's voxels map onto the other's, and the largest difference. */
import { type Mat4, invert4, mul4 } from '../src/shared/geometry';

export interface Grid {
  affine: Mat4;
  dims: number[];
  /** Real values, x fastest. */
  values: ArrayLike<number>;
}

/**
 * Requires that every voxel centre of `a` is a voxel centre of `b` (a flip/permutation of the same lattice, as dcm2niix
 * writes after reorienting) and returns the largest |a - b| over all voxels, or throws with the reason.
 */
export function maxDiffInWorld(a: Grid, b: Grid, tol = 1e-3): number {
  const m = mul4(invert4(b.affine), a.affine); // a index -> b index
  // Each a-axis must map onto exactly one b-axis with step +-1 and an integer offset.
  const perm: number[] = [], sign: number[] = [], off: number[] = [];
  for (let bi = 0; bi < 3; bi++) {
    const row = [m[bi * 4], m[bi * 4 + 1], m[bi * 4 + 2]];
    const ai = row.findIndex((v) => Math.abs(Math.abs(v) - 1) < tol);
    if (ai < 0 || row.some((v, j) => j !== ai && Math.abs(v) > tol)) {
      throw new Error(`grids are not the same lattice: row ${bi} of b^-1 a is [${row.map((v) => v.toFixed(4))}]`);
    }
    perm[bi] = ai;
    sign[bi] = Math.sign(row[ai]);
    off[bi] = m[bi * 4 + 3];
    if (Math.abs(off[bi] - Math.round(off[bi])) > tol) throw new Error(`half-voxel shift on axis ${bi}: ${off[bi]}`);
    off[bi] = Math.round(off[bi]);
  }
  for (let bi = 0; bi < 3; bi++) {
    if (b.dims[bi] !== a.dims[perm[bi]]) throw new Error(`dims differ: a ${a.dims} b ${b.dims}`);
  }
  let worst = 0;
  const [nx, ny, nz] = a.dims;
  const idx = [0, 0, 0];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const ai = [i, j, k];
        for (let bi = 0; bi < 3; bi++) idx[bi] = sign[bi] * ai[perm[bi]] + off[bi];
        const bv = b.values[(idx[2] * b.dims[1] + idx[1]) * b.dims[0] + idx[0]];
        const av = a.values[(k * ny + j) * nx + i];
        const d = Math.abs(av - bv);
        if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
      }
  return worst;
}
