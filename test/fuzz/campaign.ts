/**
 * A seeded mutation campaign over real files (shared by test/unit/fuzz.test.ts and bench/fuzz.ts): round-robin over the
 * seed files, one mutation per case, each case judged by the pool (result / typed error / untyped / hang / memory).
 * A typed error whose sentence carries JavaScript's own wording counts as untyped: the user would read it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CaseKind } from './case-worker';
import { MUTATIONS, mutate, rng } from './mutate';
import { CasePool, JS_INTERNALS, OUTCOMES, type Outcome } from './pool';
import { NIBABEL, PYDICOM, ROOT } from '../fixtures';

export interface SeedFile {
  path: string;
  kind: CaseKind;
}

/** NIfTI-1/2 (plain and gzipped), every DICOM transfer syntax in the fixtures, both checkpoint formats. */
export const SEED_FILES: SeedFile[] = [
  ...[
    'CT_small.dcm', // explicit VR little endian
    'MR_small_implicit.dcm', // implicit VR
    'rtdose.dcm', // implicit VR, multi-frame with a frame offset vector
    'MR_small_bigendian.dcm', // explicit VR big endian
    'image_dfl.dcm', // deflated
    'no_meta.dcm', // no meta header
    'MR_small_RLE.dcm', // RLE
    'SC_rgb_rle_2frame.dcm', // RLE colour, 2 frames
    'SC_rgb_jpeg_dcmtk.dcm', // JPEG baseline
    'JPGExtended.dcm', // JPEG extended (12-bit)
    'SC_rgb_jpeg_gdcm.dcm', // JPEG lossless SV1
    'MR_small_jpeg_ls_lossless.dcm', // JPEG-LS
    'MR_small_jp2klossless.dcm', // JPEG 2000 lossless
    'JPEG2000.dcm', // JPEG 2000
  ].map((f) => ({ path: join(PYDICOM, f), kind: 'volume' as const })),
  ...['anatomical.nii', 'example4d.nii.gz', 'example_nifti2.nii.gz'].map((f) => ({ path: join(NIBABEL, f), kind: 'volume' as const })),
  ...['text-only/model.safetensors', 'text-only/model.pt', 'visual-only/model.safetensors', 'visual-only/model.pt'].map((f) => ({
    path: join(ROOT, '.cache', 'hlip-ref', f),
    kind: 'checkpoint' as const,
  })),
];

export interface BadCase {
  file: string;
  index: number;
  mutation: string;
  outcome: Outcome;
  message?: string;
}

export interface CampaignReport {
  cases: number;
  ms: number;
  table: Record<Outcome, number>;
  /** Typed error codes seen, with counts. */
  codes: Record<string, number>;
  bad: BadCase[];
  slowestMs: number;
  peakRss: number;
}

export interface CampaignOptions {
  seeds: SeedFile[];
  seed: number;
  cacheDir: string;
  /** Stop after this many cases, or when this much time has passed, whichever comes first. */
  maxCases?: number;
  maxMs?: number;
  timeoutMs?: number;
  maxRssBytes?: number;
  onProgress?: (r: CampaignReport) => void;
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const r = rng(o.seed);
  const mutants = join(o.cacheDir, 'mutants');
  mkdirSync(mutants, { recursive: true });
  const sources = o.seeds.map((s) => ({ ...s, bytes: readFileSync(s.path) }));
  const pool = new CasePool({ cacheDir: o.cacheDir, timeoutMs: o.timeoutMs, maxRssBytes: o.maxRssBytes });
  const report: CampaignReport = {
    cases: 0, ms: 0, table: Object.fromEntries(OUTCOMES.map((k) => [k, 0])) as Record<Outcome, number>, codes: {}, bad: [], slowestMs: 0, peakRss: 0,
  };
  const t0 = Date.now();
  try {
    for (let i = 0; (o.maxCases === undefined || i < o.maxCases) && (o.maxMs === undefined || Date.now() - t0 < o.maxMs); i++) {
      const src = sources[i % sources.length];
      const mutation = MUTATIONS[Math.floor(i / sources.length) % MUTATIONS.length];
      // One folder per seed file: the name is kept (readers choose NIfTI vs DICOM partly by it) and no sibling (a
      // config, a vocab, another series) leaks in from a different seed.
      const dir = join(mutants, String(i % sources.length));
      mkdirSync(dir, { recursive: true });
      const target = join(dir, basename(src.path));
      writeFileSync(target, mutate(src.bytes, mutation, r));
      const res = await pool.run(src.kind, target);
      let outcome = res.outcome;
      if (outcome === 'typed' && res.message && JS_INTERNALS.test(res.message)) outcome = 'untyped';
      report.cases++;
      report.table[outcome]++;
      if (res.code) report.codes[res.code] = (report.codes[res.code] ?? 0) + 1;
      report.slowestMs = Math.max(report.slowestMs, res.ms);
      report.peakRss = Math.max(report.peakRss, res.peakRss);
      if (outcome !== 'ok' && outcome !== 'typed' && report.bad.length < 50) {
        report.bad.push({ file: basename(src.path), index: i, mutation, outcome, message: res.message?.slice(0, 800) });
      }
      report.ms = Date.now() - t0;
      if (o.onProgress && report.cases % 500 === 0) o.onProgress(report);
    }
  } finally {
    pool.close();
  }
  report.ms = Date.now() - t0;
  return report;
}
