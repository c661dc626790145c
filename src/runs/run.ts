/**
 * One training run folder, read for listing: settings (params.txt), epoch files (names, sizes, dates, complete or
 * not), evaluated metrics (results.jsonl) and the last logged step (out.log's tail). The full out.log (loss / lr over
 * steps) and the weights' description are read on demand (loadTrainSeries, describeWeights).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { lastTrainPoint, parseOutLog, type OutLog } from './out-log';
import { modalityOf, parseParams, settingNumber } from './params';
import { parseResults } from './results';
import { listEpochs } from './epochs';
import type { EpochFile, Modality, ResultRow, RunProblem, Setting, TrainPoint } from './types';

export interface Run {
  kind: 'run';
  /** The run folder (absolute): its identity. */
  dir: string;
  name: string;
  paramsPath?: string;
  logPath?: string;
  resultsPath?: string;
  checkpointsDir: string;
  settings: Map<string, Setting>;
  /** The `model` setting (open_clip model name, e.g. hlip-vit-base... / the timm variant). */
  model?: string;
  modality?: Modality;
  epochs: EpochFile[];
  results: ResultRow[];
  metricKeys: string[];
  lastTrain?: TrainPoint;
  /** Newest mtime over the files read (for "changed since"). */
  updatedMs: number;
  problems: RunProblem[];
}

/** A folder is a run when it holds params.txt, out.log, or a checkpoints/ folder. */
export function looksLikeRun(dir: string): boolean {
  return existsSync(join(dir, 'params.txt')) || existsSync(join(dir, 'out.log')) || existsSync(join(dir, 'checkpoints'));
}

async function readText(path: string, problems: RunProblem[], what: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push({ code: 'UNREADABLE', message: `${what} cannot be read (${code ?? 'error'}).`, file: path });
    return undefined;
  }
}

/** Samples per optimizer step, as HLIP's trainer counts them. */
export function globalBatch(settings: Map<string, Setting>): number | undefined {
  const b = settingNumber(settings, 'batch_size');
  if (!b) return undefined;
  return b * (settingNumber(settings, 'accum_batch') ?? 1) * (settingNumber(settings, 'accum_freq') ?? 1) * (settingNumber(settings, 'world_size') ?? 1);
}

export async function loadRun(dir: string): Promise<Run> {
  const problems: RunProblem[] = [];
  const paramsPath = join(dir, 'params.txt');
  const logPath = join(dir, 'out.log');
  const checkpointsDir = join(dir, 'checkpoints');
  const resultsPath = join(checkpointsDir, 'results.jsonl');
  let updatedMs = 0;
  const touch = async (p: string) => {
    try {
      updatedMs = Math.max(updatedMs, (await stat(p)).mtimeMs);
      return true;
    } catch {
      return false;
    }
  };

  const paramsText = await readText(paramsPath, problems, 'params.txt');
  const params = paramsText !== undefined ? parseParams(paramsText, paramsPath) : undefined;
  if (params) problems.push(...params.problems);
  else if (!problems.some((p) => p.file === paramsPath)) problems.push({ code: 'NO_PARAMS', message: 'The run has no params.txt: its settings are unknown.', file: dir });
  const settings = params?.settings ?? new Map<string, Setting>();
  await touch(paramsPath);

  const hasLog = await touch(logPath);
  const gb = globalBatch(settings);

  const epochs = await listEpochs(checkpointsDir);
  for (const e of epochs) {
    updatedMs = Math.max(updatedMs, e.mtimeMs);
    if (!e.complete && e.kind !== 'tmp') problems.push({ code: 'EPOCH_INCOMPLETE', message: `${e.fileName} is incomplete: ${e.incompleteReason}.`, file: e.path });
  }
  if (!epochs.some((e) => e.kind !== 'tmp')) problems.push({ code: 'NO_CHECKPOINTS', message: 'The run has no epoch checkpoints (yet).', file: checkpointsDir });

  let results: ResultRow[] = [];
  let metricKeys: string[] = [];
  const resultsText = await readText(resultsPath, problems, 'results.jsonl');
  if (resultsText !== undefined) {
    await touch(resultsPath);
    let hints: Parameters<typeof parseResults>[2] = { zeroshotFrequency: settingNumber(settings, 'zeroshot_frequency'), epochs: settingNumber(settings, 'epochs') };
    // Rows without their own "epoch" (zero-shot only) take it from out.log's Eval lines: read the log only then.
    if (hasLog && resultsText.split('\n').some((l) => l.trim() && !/"epoch"\s*:/.test(l))) {
      const log = await readText(logPath, problems, 'out.log');
      if (log !== undefined) hints = { ...hints, evals: parseOutLog(log).evals };
    }
    const table = parseResults(resultsText, resultsPath, hints);
    results = table.rows;
    metricKeys = table.keys;
    problems.push(...table.problems);
  }

  let lastTrain: TrainPoint | undefined;
  if (hasLog) {
    try {
      lastTrain = await lastTrainPoint(logPath, gb);
    } catch (e) {
      problems.push({ code: 'UNREADABLE', message: `out.log cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, file: logPath });
    }
  }
  const model = settings.get('model')?.value;
  return {
    kind: 'run', dir, name: basename(dir),
    paramsPath: params ? paramsPath : undefined,
    logPath: hasLog ? logPath : undefined,
    resultsPath: resultsText !== undefined ? resultsPath : undefined,
    checkpointsDir, settings,
    model: typeof model === 'string' ? model : undefined,
    modality: modalityOf(settings, metricKeys),
    epochs, results, metricKeys, lastTrain, updatedMs, problems,
  };
}

/** The whole of out.log: every logged step (loss, lr) and Eval summary. */
export async function loadTrainLog(run: Pick<Run, 'logPath' | 'settings'>): Promise<OutLog> {
  if (!run.logPath) return { train: [], evals: [] };
  return parseOutLog(await readFile(run.logPath, 'utf8'), { globalBatch: globalBatch(run.settings) });
}

/** The newest evaluated metrics. */
export const lastResults = (run: Pick<Run, 'results'>): ResultRow | undefined =>
  run.results.reduce<ResultRow | undefined>((a, r) => (!a || r.epoch >= a.epoch ? r : a), undefined);

/** A run whose folder could not be read at all: listed with the reason, never dropped. */
export function unreadableRun(dir: string, e: unknown): Run {
  const why = (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message : String(e));
  return {
    kind: 'run', dir, name: basename(dir), checkpointsDir: join(dir, 'checkpoints'), settings: new Map(), epochs: [], results: [],
    metricKeys: [], updatedMs: 0, problems: [{ code: 'UNREADABLE', message: `The run folder cannot be read (${why}).`, file: dir }],
  };
}

/** The newest complete epoch file (numbered first, else epoch_latest.pt): what a run's weights are described from. */
export const newestComplete = (run: Pick<Run, 'epochs'>): EpochFile | undefined =>
  [...run.epochs].reverse().find((e) => e.complete && e.kind === 'epoch') ?? run.epochs.find((e) => e.complete && e.kind === 'latest');
