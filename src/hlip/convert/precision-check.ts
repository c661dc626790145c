/**
 * A converted model's reduced-precision image tower measured against its fp32 one when it is built: both run on a
 * probe scan (a synthetic head phantom through HLIP's MRI pre-processing) and the cosine between their embeddings is
 * saved beside the files (models/model-catalogue.ts reads it and warns below the bound). The figures in
 * test/unit/precision.test.ts hold for the models measured there; a trained checkpoint's activations can differ, so
 * each model is measured, not assumed.
 */
import { writeFileSync } from 'node:fs';
import { normalRng } from '../demo/random-checkpoint';
import type { Precision } from '../graph/precision';
import type { HlipEngine } from '../inference/engine';
import { type ModelEntry, type PrecisionCheck, PRECISION_MIN_COSINE, precisionCheckFile, towersAt } from '../models/model-catalogue';
import { preprocessStudy } from '../preprocess/study-input';
import { Volume } from '../../volume/volume';

const PROBE = 'synthetic head phantom, 1 scan, MRI pre-processing';

/** An ellipsoidal head with skull, ventricles and a lesion, plus noise: MRI-like intensities and edges. */
export function probeVolume(seed = 1): Volume {
  const [nx, ny, nz] = [112, 128, 64];
  const data = new Int16Array(nx * ny * nz);
  const noise = normalRng(seed);
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        const r = Math.hypot((i - 56) / 48, (j - 64) / 58, (k - 32) / 28);
        const vent = Math.hypot((i - 56) / 10, (j - 60) / 18, (k - 34) / 8) < 1;
        const lesion = Math.hypot((i - 78) / 7, (j - 80) / 7, (k - 30) / 6) < 1;
        const v = r > 1 ? 0 : r > 0.9 ? 300 : vent ? 150 : lesion ? 900 : 550 + 120 * Math.cos(9 * r);
        data[p] = Math.max(0, Math.round(v + (v ? 25 * noise() : 0)));
      }
    }
  }
  return new Volume({ name: 'probe', format: 'nifti', sources: [], dims: [nx, ny, nz], data, affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1], modality: 'MR' });
}

/** Runs both image towers on the probe in a sibling worker, saves and returns the cosine of their CLS embeddings. */
export async function measurePrecision(engine: HlipEngine, entry: ModelEntry, precision: Precision, signal?: AbortSignal): Promise<PrecisionCheck> {
  const reduced = towersAt(entry, precision);
  if (!reduced) throw new Error(`${entry.manifest.name} has no ${precision} towers to check`);
  const probe = preprocessStudy([probeVolume()], 'mri', { imgSize: entry.manifest.visual.imgSize });
  const sibling = await engine.sibling();
  try {
    const embed = async (visualPath: string) => {
      await sibling.load({ visualPath }, { signal });
      const r = await sibling.encodeImage(probe.data, probe.shape, { signal, copy: true });
      return r.embedding.data.subarray(0, r.embedding.dims[2]);
    };
    const a = await embed(entry.visualPath), b = await embed(reduced.visualPath);
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] ** 2; bb += b[i] ** 2; }
    const check: PrecisionCheck = { precision, cosine: ab / Math.sqrt(aa * bb), bound: PRECISION_MIN_COSINE, probe: PROBE };
    writeFileSync(precisionCheckFile(entry, precision), `${JSON.stringify(check, null, 1)}\n`);
    return check;
  } finally {
    await sibling.dispose();
  }
}
