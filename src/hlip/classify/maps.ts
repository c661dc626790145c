/**
 * Attention and diagnosis maps: per-patch values over the study (CLS attention, or patch tokens . text for DINO.txt
 * models), mapped back onto a scan's own voxel grid, and made ready to overlay.
 */
import { CodedError } from '../../shared/coded-error';
import type { HlipEngine } from '../inference/engine';
import { modelGridToVolume } from '../preprocess/study-input';
import type { Volume } from '../../volume/volume';
import { embedPrompt } from './prompts';
import type { MapRequest } from './results';
import type { Classification, LoadedModel } from './study-classifier';
import { diagnosisMap, zeroShotSets } from './zero-shot';

/** [1, heads, T] -> [T]: mean over heads, accumulated in float64. */
export function meanOverHeads(clsAttn: { data: Float32Array; dims: number[] }): Float32Array {
  const [, heads, T] = clsAttn.dims;
  const acc = new Float64Array(T);
  for (let h = 0; h < heads; h++) for (let i = 0; i < T; i++) acc[i] += clsAttn.data[h * T + i];
  return Float32Array.from(acc, (v) => v / heads);
}

/** Per-patch values over the whole study, [N * d*h*w], for a map request (prefix tokens dropped). */
export async function tokenValues(c: Classification, map: MapRequest, model: LoadedModel, engine: HlipEngine): Promise<Float32Array> {
  const T = c.clsAttn.dims[2];
  if (map.kind === 'cls') return c.clsAttnMap ? c.clsAttnMap.data : meanOverHeads(c.clsAttn).subarray(c.prefix, T);
  if (!c.patchProj) throw new CodedError('NO_PATCH_TOKENS', 'Per-diagnosis maps need a DINO.txt model (its patch tokens live in the joint space).');
  let text: Float32Array;
  if (map.kind === 'prompt') text = (await embedPrompt(model, engine, map.text)).embedding;
  else {
    const set = zeroShotSets()[map.set];
    const k = set?.classnames.indexOf(map.className) ?? -1;
    const emb = model.classEmbeddings.get(map.set);
    if (!set || k < 0 || !emb) throw new CodedError('UNKNOWN_CLASS', `Unknown diagnosis "${map.className}" in set ${map.set}.`);
    const E = c.embedding.length;
    text = emb.subarray(k * E, (k + 1) * E);
  }
  return diagnosisMap(c.patchProj.data, text);
}

/** Maps per-patch values of scan `s` onto that scan's own voxel grid (zero where the model saw padding). */
export function scanMap(c: Classification, values: Float32Array, s: number, volume: Volume): Float32Array {
  const L = c.grid[0] * c.grid[1] * c.grid[2];
  return modelGridToVolume(values.subarray(s * L, (s + 1) * L), c.grid, c.scans[s], volume);
}


/**
 * A scan map made ready to overlay: voxels the model never saw (cropped away) come back as exactly 0 and become NaN,
 * which the overlay never paints, so a map with negative values (patch_proj . text) does not tint them. The range is
 * that of the field of view, so the colour scale spans what the model saw (attention varies little in absolute terms).
 * Works in place; returns the value range ([0, 1] when nothing was seen).
 */
export function prepareOverlay(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === 0) data[i] = NaN;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo === Infinity ? [0, 1] : [lo, hi];
}

/** The overlay's name in the viewer: which map, on which scan. */
export function mapLabel(map: MapRequest, scanName: string): string {
  const what = map.kind === 'cls' ? 'CLS attention' : map.kind === 'diagnosis' ? map.className : `"${map.text}"`;
  return `HLIP: ${what} (${scanName})`;
}
