/**
 * HLIP's evaluation layout, as its zero-shot scripts read it (hlip-ablation src/hlip_test/zeroshot_*.py):
 *   mri, ct (and ctrate here): <root>/<study>/<scan>/img.pt, every entry of the study folder a scan;
 *   pubbrain5: <root>/<study>/<file>, studies with an empty folder left out; each tensor 3-D or 4-D ([..., 0] taken),
 *              padded to square, bilinear 256 x 256, nearest-exact depth 48, centre crop 224 (the script's loader);
 *   rsna: <root>/RSNA_<study>/<uid>/<file>: every non-empty <uid> folder is a study with the row's labels.
 * Each tensor is a uint8 torch.save file (read by the restricted unpickler: tensors only, nothing run), /255 and
 * normalised with the mean of ImageNet's mean and std, stacked to [1, scans, 1, D, H, W].
 * Scan order: the scripts take os.listdir order, i.e. the directory's own order as readdir(3) returns it (not sorted).
 * fs.opendir reads it the same way, so on the same file system the scans reach the model in the same order.
 */
import { existsSync, opendirSync } from 'node:fs';
import { join } from 'node:path';
import { readTorchZip } from '../../hlip/checkpoint';
import type { HostTensor } from '../../hlip/checkpoint/tensor';
import { NORM_MEAN, NORM_STD } from '../../hlip/preprocess/study-input';
import { resample2d, sliceTable, torchLinearTable, torchNearestExact, unpadTable } from '../../hlip/preprocess/resize';
import type { EvalSetId } from '../metrics/set-metrics';
import { StudySkip } from '../errors';
import type { LabelRow } from './labels-csv';
import { isDirectory } from '../../shared/is-directory';

export interface EvalStudy {
  /** Path under the data root ("sub-01", "RSNA_ID_x/1.2.3"): the report's study name. */
  id: string;
  dir: string;
  /** CSV row, then position among the row's studies (RSNA): the report's order. */
  index: number;
  sub: number;
  labels: Uint8Array;
}

export interface Skipped {
  study: string;
  /** The CSV data row it comes from. */
  row: number;
  reason: string;
}

/** Entry names in the directory's own order (what Python's os.listdir returns), without "." and "..". */
export function listdir(dir: string): string[] {
  const d = opendirSync(dir);
  const out: string[] = [];
  try {
    for (let e = d.readSync(); e; e = d.readSync()) out.push(e.name);
  } finally {
    d.closeSync();
  }
  return out;
}

/** The studies of the labelled rows, in HLIP's order, and the rows that cannot be evaluated with the reason. */
export function resolveStudies(set: EvalSetId, root: string, rows: LabelRow[]): { studies: EvalStudy[]; skipped: Skipped[] } {
  const studies: EvalStudy[] = [];
  const skipped: Skipped[] = [];
  for (const row of rows) {
    if (!row.labels) {
      skipped.push({ study: row.study, row: row.index, reason: row.problem ?? 'unusable CSV row' });
      continue;
    }
    const folder = set === 'rsna' ? `RSNA_${row.study}` : row.study;
    const dir = join(root, folder);
    if (!isDirectory(dir)) {
      skipped.push({ study: folder, row: row.index, reason: `no study folder ${dir}` });
      continue;
    }
    let entries: string[];
    try {
      entries = listdir(dir);
    } catch (e) {
      skipped.push({ study: folder, row: row.index, reason: `study folder unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (set === 'rsna') {
      let sub = 0;
      for (const uid of entries) {
        const d = join(dir, uid);
        if (isDirectory(d) && listdir(d).length) studies.push({ id: `${folder}/${uid}`, dir: d, index: row.index, sub: sub++, labels: row.labels });
      }
      if (!sub) skipped.push({ study: folder, row: row.index, reason: 'no non-empty series folder (HLIP leaves the row out)' });
    } else if (!entries.length) {
      skipped.push({ study: folder, row: row.index, reason: set === 'pubbrain5' ? 'empty study folder (HLIP leaves it out)' : 'empty study folder' });
    } else studies.push({ id: folder, dir, index: row.index, sub: 0, labels: row.labels });
  }
  return { studies, skipped };
}

/** The scan tensor files of a study, in the order HLIP's loader takes them. */
export function scanFiles(set: EvalSetId, dir: string): string[] {
  const names = listdir(dir);
  if (set === 'pubbrain5' || set === 'rsna') return names.map((n) => join(dir, n));
  return names.map((n) => {
    const f = join(dir, n, 'img.pt');
    if (!existsSync(f)) throw new StudySkip(`${n} has no img.pt (every entry of a study folder is a scan: <study>/<scan>/img.pt)`);
    return f;
  });
}

async function readUint8(path: string, name: string): Promise<HostTensor> {
  let t: unknown;
  try {
    t = await readTorchZip(path);
  } catch (e) {
    throw new StudySkip(`${name}: not a readable torch.save tensor (${(e as Error).message})`);
  }
  const h = t as HostTensor;
  if (!h || typeof h !== 'object' || !('dtype' in h) || !('shape' in h)) throw new StudySkip(`${name}: holds no tensor (a tensor saved with torch.save(img, path) is expected)`);
  if (h.dtype !== 'uint8') throw new StudySkip(`${name}: a ${h.dtype} tensor, HLIP's layout stores uint8`);
  return h;
}

/** (v / 255 - mean) / std in float32 steps, as torch does (img.float() / 255.0, then Normalize). */
const normalise = (v: number) => Math.fround(Math.fround(Math.fround(v / 255) - NORM_MEAN) / NORM_STD);
const LUT = Float32Array.from({ length: 256 }, (_, v) => normalise(v));

/** Pub-Brain-5's loader: [D, H, W] (or [D, H, W, k], [..., 0]) -> padded, resized, cropped [48, 224, 224] in [0, 1]. */
function pubBrainResize(t: HostTensor, imgSize: [number, number, number], name: string): Float32Array {
  let [D, H, W] = t.shape;
  let src = t.data as Uint8Array;
  if (t.shape.length === 4) {
    const k = t.shape[3];
    src = Uint8Array.from({ length: D * H * W }, (_, i) => src[i * k]);
  } else if (t.shape.length !== 3) throw new StudySkip(`${name}: shape [${t.shape.join(', ')}], Pub-Brain-5 scans are [D, H, W] or [D, H, W, k]`);
  if (imgSize[0] !== 48 || imgSize[1] !== 224 || imgSize[2] !== 224) throw new StudySkip(`${name}: HLIP's Pub-Brain-5 loader makes 48x224x224 scans, the model takes ${imgSize.join('x')}`);
  [D, H, W] = [D, H, W];
  const size = Math.max(H, W);
  const top = Math.floor((size - H) / 2), left = Math.floor((size - W) / 2);
  // Zero padding contributes nothing to a linear tap: drop those taps instead of padding (unpadTable).
  const tH = sliceTable(unpadTable(torchLinearTable(size, 256), top, H), 16, 224);
  const tW = sliceTable(unpadTable(torchLinearTable(size, 256), left, W), 16, 224);
  const depth = torchNearestExact(D, 48);
  const out = new Float32Array(48 * 224 * 224);
  const plane = new Float32Array(H * W);
  for (let z = 0; z < 48; z++) {
    const s = depth[z] * H * W;
    for (let i = 0; i < H * W; i++) plane[i] = Math.fround(src[s + i] / 255);
    const r = resample2d(plane, H, W, tH, tW);
    for (let i = 0; i < r.length; i++) out[z * 224 * 224 + i] = Math.fround(Math.fround(r[i] - NORM_MEAN) / NORM_STD);
  }
  return out;
}

/** A study's scans -> the model input [1, scans, 1, D, H, W]; a scan of the wrong kind or shape skips the study. */
export async function hlipStudyInput(set: EvalSetId, files: string[], imgSize: [number, number, number], maxScans: number): Promise<{ data: Float32Array; shape: number[] }> {
  if (!files.length) throw new StudySkip('no scan');
  if (maxScans > 0 && files.length > maxScans) throw new StudySkip(`${files.length} scans, the model takes at most ${maxScans}`);
  const [D, H, W] = imgSize;
  const n = D * H * W;
  const data = new Float32Array(files.length * n);
  for (const [s, f] of files.entries()) {
    const name = f.split(/[\\/]/).slice(-2).join('/');
    const t = await readUint8(f, name);
    if (set === 'pubbrain5') {
      data.set(pubBrainResize(t, imgSize, name), s * n);
      continue;
    }
    if (t.shape.length !== 3 || t.shape[0] !== D || t.shape[1] !== H || t.shape[2] !== W) {
      throw new StudySkip(`${name}: shape [${t.shape.join(', ')}], the model takes [${D}, ${H}, ${W}] uint8 scans`);
    }
    const u = t.data as Uint8Array;
    for (let i = 0; i < n; i++) data[s * n + i] = LUT[u[i]];
  }
  return { data, shape: [1, files.length, 1, D, H, W] };
}
