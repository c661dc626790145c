/**
 * What differs between runs: params.txt settings (the ablation: "force_patch_dropout 0.25 -> 0.5"), the model the
 * weights describe, and the modality (comparing an MRI run with a CT run is flagged, not refused).
 */
import { formatPyValue } from './python-literal';
import type { Run } from './run';
import type { RunProblem } from './types';
import type { WeightsInfo } from './weights';

/** The fields of a weights description a diff names. */
const WEIGHT_FIELDS: [string, (v: NonNullable<WeightsInfo['visual']>) => string][] = [
  ['variant', (v) => v.variant],
  ['pooling', (v) => (v.pool === 'dinotxt' ? 'DINO.txt' : 'token')],
  ['patch size', (v) => v.patchSize.join('x')],
  ['sequence embedding', (v) => (v.sequenceEmbedding > 1 ? String(v.sequenceEmbedding) : 'none')],
  ['RoPE', (v) => (v.rope ? 'yes' : 'no')],
  ['register tokens', (v) => String(v.registerTokens)],
  ['depth', (v) => String(v.depth)],
  ['width', (v) => String(v.width)],
];

/** Settings that name the run or where it wrote, not how it trained: always differ, never the ablation. */
export const RUN_IDENTITY_KEYS = new Set([
  'name', 'log_path', 'checkpoint_path', 'tensorboard_path', 'logs_dir', 'resume', 'wandb_notes', 'dist_url', 'rank', 'local_rank',
  'device', 'remote_sync',
]);

export interface SettingDiff {
  key: string;
  /** One per run, in the order given; undefined where the run does not have the setting. */
  values: (string | undefined)[];
  /** "force_patch_dropout 0.25 -> 0.5" (two runs) or "force_patch_dropout: 0.25 | 0.5 | 0.75". */
  label: string;
  /** Settings naming the run / its paths (RUN_IDENTITY_KEYS). */
  identity: boolean;
}

export interface RunsDiff {
  runs: string[];
  differing: SettingDiff[];
  /** Keys set identically in every run. */
  same: string[];
  /** What the weights say, field by field, where runs differ ("weights: pooling token -> DINO.txt"). */
  weights: SettingDiff[];
  problems: RunProblem[];
}

const show = (v: string | undefined) => (v === undefined ? '(unset)' : v === '' ? "''" : v);

export function diffLabel(key: string, values: (string | undefined)[]): string {
  return values.length === 2 ? `${key} ${show(values[0])} -> ${show(values[1])}` : `${key}: ${values.map(show).join(' | ')}`;
}

/** `weights` (optional, same order as runs): what each run's weights say. */
export function diffRuns(runs: Pick<Run, 'name' | 'settings' | 'modality'>[], weights?: (WeightsInfo | undefined)[]): RunsDiff {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of runs) for (const k of r.settings.keys()) if (!seen.has(k)) (seen.add(k), keys.push(k));
  keys.sort();
  const differing: SettingDiff[] = [];
  const same: string[] = [];
  for (const key of keys) {
    const values = runs.map((r) => {
      const s = r.settings.get(key);
      return s === undefined ? undefined : formatPyValue(s.value);
    });
    if (values.every((v) => v === values[0])) same.push(key);
    else differing.push({ key, values, label: diffLabel(key, values), identity: RUN_IDENTITY_KEYS.has(key) });
  }
  // The ablation first, the run's name and paths last.
  differing.sort((a, b) => Number(a.identity) - Number(b.identity));
  const problems: RunProblem[] = [];
  const modalities = runs.map((r) => r.modality);
  const known = [...new Set(modalities.filter(Boolean))];
  if (known.length > 1) {
    problems.push({
      code: 'MODALITY_MISMATCH',
      message: `These runs are of different modalities (${runs.map((r, i) => `${r.name}: ${modalities[i] ?? 'unknown'}`).join(', ')}); their metrics are not comparable.`,
    });
  }
  const weightsDiff: SettingDiff[] = [];
  if (weights?.some((w) => w?.visual)) {
    for (const [field, get] of WEIGHT_FIELDS) {
      const values = weights.map((w) => (w?.visual ? get(w.visual) : undefined));
      const key = `weights: ${field}`;
      if (!values.every((v) => v === values[0])) weightsDiff.push({ key, values, label: diffLabel(key, values), identity: false });
    }
  }
  return { runs: runs.map((r) => r.name), differing, same, weights: weightsDiff, problems };
}
