/** Runs the Debian tools the tests compare against: pydicom (series writer), dcm2niix, nibabel. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SYSTEM_PYTHON } from './fixtures';
import type { Grid } from './world';
import type { Volume } from '../src/volume/volume';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `hlip-${prefix}-`));

const py = (script: string, args: string[]) =>
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

/** Writes a synthetic DICOM series with pydicom (see make_series.py for the options). */
export function makeSeries(dir: string, ...args: string[]): string {
  py('make_series.py', [dir, ...args]);
  return dir;
}

/** Converts a DICOM folder with dcm2niix; returns the NIfTI files it wrote. */
export function dcm2niix(dicomDir: string): string[] {
  const out = tempDir('d2n');
  mkdirSync(out, { recursive: true });
  execFileSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', '%s_%j', '-o', out, dicomDir], { stdio: 'pipe' });
  return readdirSync(out).filter((f) => f.endsWith('.nii')).sort().map((f) => join(out, f));
}

/** A NIfTI as nibabel sees it: affine and get_fdata values. */
export function nibabelGrid(nii: string): Grid {
  const base = join(tempDir('dump'), 'vol');
  py('nifti_dump.py', [nii, base]);
  const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { shape: number[]; affine: number[][] };
  const buf = readFileSync(`${base}.f32`);
  const values = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return { affine: meta.affine.flat(), dims: meta.shape.slice(0, 3), values };
}

export const gridOf = (v: Volume, frame = 0): Grid => ({ affine: v.affine, dims: [...v.dims], values: v.toFloat32(frame) });

export interface NpyInfo { version: number[]; shape: number[]; dtype: string; fortran: boolean; finite: boolean }
/** What numpy itself makes of the files: header version, shape, dtype, order. */
export function numpyView(dir: string, names: string[]): Record<string, NpyInfo> {
  const py = `
import json, sys, numpy as np
d, out = sys.argv[1], {}
for n in json.loads(sys.argv[2]):
    with open(d + '/' + n, 'rb') as f:
        v = np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    a = np.load(d + '/' + n)
    out[n] = {'version': list(v), 'shape': list(a.shape), 'dtype': a.dtype.str, 'fortran': bool(fortran), 'finite': bool(np.isfinite(a).all())}
print(json.dumps(out))`;
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', py, dir, JSON.stringify(names)], { encoding: 'utf8' }));
}

/** Lowest cosine over rows of width E (embeddings compared row by row). */
export function minCosine(a: Float32Array, b: Float32Array, E: number): number {
  let worst = 1;
  for (let r = 0; r < a.length / E; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let e = r * E; e < (r + 1) * E; e++) { ab += a[e] * b[e]; aa += a[e] ** 2; bb += b[e] ** 2; }
    worst = Math.min(worst, ab / Math.sqrt(aa * bb));
  }
  return worst;
}
