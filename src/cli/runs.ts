/** `hlip runs <logs-dir>...`: training runs, their epochs and settings, what differs between them, last metrics. */
import { describeWeights, diffRuns, discover, lastResults, newestComplete, weightsSummary, type Run, type WeightsInfo } from '../runs';
import type { RunProblem } from '../runs/types';
import { CodedError } from '../shared/coded-error';
import type { CliOptions } from './options';

/** Settings shown in the text listing (all of them are in --json). */
const KEY_SETTINGS = ['model', 'epochs', 'batch_size', 'accum_batch', 'lr', 'wd', 'warmup', 'num_scans', 'force_patch_dropout', 'precision'];

export const formatBytes = (n: number): string =>
  n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** Weights of the newest complete epoch, or the reason they cannot be described (never throws). */
export async function runWeights(run: Run): Promise<{ weights?: WeightsInfo; problem?: RunProblem }> {
  const e = newestComplete(run);
  if (!e) return {};
  try {
    return { weights: await describeWeights(e.path, run.model) };
  } catch (err) {
    if (!(err instanceof CodedError)) throw err;
    return { problem: { code: 'WEIGHTS', message: `${e.fileName}: ${err.message}`, file: e.path } };
  }
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

export async function runsCommand(dirs: string[], o: CliOptions, out: (s: string) => void): Promise<number> {
  const found = await discover(dirs);
  const described = await Promise.all(found.runs.map(runWeights));
  described.forEach((d, i) => d.problem && found.runs[i].problems.push(d.problem));
  const diff = diffRuns(found.runs, described.map((d) => d.weights));
  if (o.json) {
    out(JSON.stringify({
      runs: found.runs.map((r, i) => ({
        name: r.name, dir: r.dir, model: r.model, modality: r.modality,
        settings: Object.fromEntries([...r.settings].map(([k, s]) => [k, s.value])),
        epochs: r.epochs, weights: described[i].weights, results: r.results, last: lastResults(r), lastTrain: r.lastTrain, problems: r.problems,
      })),
      checkpoints: found.checkpoints, models: found.models, diff, problems: found.problems,
    }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1));
    return 0;
  }
  if (!found.runs.length && !found.checkpoints.length && !found.models.length) out('No training runs, checkpoints or model folders found.');
  for (const [i, r] of found.runs.entries()) {
    out(`run ${r.name}  (${r.dir})`);
    const ks = KEY_SETTINGS.filter((k) => r.settings.has(k)).map((k) => `${k} ${r.settings.get(k)!.raw}`);
    if (ks.length) out(`  settings  ${ks.join(', ')}${r.modality ? `; evaluated on ${r.modality.toUpperCase()}` : ''}`);
    const eps = r.epochs.map((e) => `${e.kind === 'epoch' ? e.epoch : e.kind}${e.latest && e.kind === 'epoch' ? '*' : ''}${e.complete ? '' : ' (incomplete)'}`);
    const newest = r.epochs.reduce((a, e) => Math.max(a, e.mtimeMs), 0);
    if (eps.length) out(`  epochs    ${eps.join(' ')}  [${formatBytes(r.epochs[r.epochs.length - 1].size)} each, newest ${when(newest)}]`);
    const w = described[i].weights;
    if (w) out(`  weights   ${weightsSummary(w)}`);
    const last = lastResults(r);
    if (last) out(`  metrics   epoch ${last.epoch}: ${Object.entries(last.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    if (r.lastTrain) {
      const t = r.lastTrain;
      const parts = [...Object.entries(t.losses).map(([k, v]) => `${k} ${fmt(v)}`), ...(t.lr !== undefined ? [`lr ${t.lr}`] : [])];
      out(`  training  ${t.step !== undefined ? `step ${t.step}` : `${t.samples} samples`} (epoch ${t.epoch.toFixed(2)}): ${parts.join(', ')}`);
    }
    for (const p of r.problems) out(`  problem   ${p.message}`);
  }
  for (const c of found.checkpoints) out(`checkpoint ${c.path}  [${formatBytes(c.size)}, ${when(c.mtimeMs)}]`);
  for (const m of found.models) out(`model     ${m.dir}  [${formatBytes(m.size)}]`);
  for (const p of found.problems) out(`problem   ${p.file ? `${p.file}: ` : ''}${p.message}`);
  if (found.runs.length > 1) {
    out(`\ndiffering settings (${diff.runs.join(', ')}):`);
    const ablation = [...diff.weights, ...diff.differing.filter((d) => !d.identity)];
    if (!ablation.length) out('  none besides the run names and paths');
    for (const d of ablation) out(`  ${d.label}`);
    const identity = diff.differing.filter((d) => d.identity).map((d) => d.key);
    if (identity.length) out(`  (also differ, naming the runs: ${identity.join(', ')})`);
    for (const p of diff.problems) out(`  warning: ${p.message}`);
  }
  return 0;
}
