/**
 * The generated HLIP logs tree (test/oracles/make_runs.py, torch.save as the trainer does) in .cache/runs, shared by
 * the runs unit, host and UI tests: written once, again when the generator or the reference model changes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parsePythonJson } from '../src/runs/results';
import { ROOT, SYSTEM_PYTHON } from './fixtures';

/** The repository: the extension-host tests run from a bundle elsewhere and are told where it is. */
const REPO = process.env.HLIP_REPO ?? ROOT;
export const RUNS_TREE = join(REPO, '.cache', 'runs');

export interface GeneratedRun {
  name: string;
  dir: string;
  model: string;
  variant: string;
  pool: 'token' | 'dinotxt';
  patch_size: number[];
  depth: number;
  width: number;
  force_patch_dropout: number;
  modality: 'mri' | 'ct';
  results: Record<string, number>[];
  parameters: number;
}

export interface GeneratedTree {
  root: string;
  logs: string;
  logsCt: string;
  vocab: string;
  epochs: number;
  samples_per_epoch: number;
  global_batch: number;
  log_every: number;
  runs: GeneratedRun[];
}

const SOURCES = ['test/oracles/make_runs.py', 'tools/hlip_ref/model.py', 'tools/hlip_ref/make_fixtures.py', 'models/hlip-variants.json'];

const isFresh = (stamp: string) => existsSync(stamp) && SOURCES.every((f) => statSync(join(REPO, f)).mtimeMs <= statSync(stamp).mtimeMs);

export function runsTree(): GeneratedTree {
  const stamp = join(RUNS_TREE, '.done');
  if (!isFresh(stamp)) withLock(`${RUNS_TREE}.lock`, () => isFresh(stamp) || generate(stamp));
  return read();
}

/** Test files run in parallel processes: one writes, the others wait for it. */
function withLock(lock: string, f: () => unknown): void {
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 180_000) throw new Error(`${lock} held for 3 minutes; remove it if no test is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    f();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Written in place (params.txt holds absolute paths, as the trainer's does); the stamp last, so a cut-short run is redone. */
function generate(stamp: string): void {
  rmSync(RUNS_TREE, { recursive: true, force: true });
  execFileSync(SYSTEM_PYTHON, [join(REPO, 'test', 'oracles', 'make_runs.py'), RUNS_TREE], { stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(stamp, new Date().toISOString());
}

function read(): GeneratedTree {
  // json.dumps wrote the NaN metric as Python does.
  const made = parsePythonJson(readFileSync(join(RUNS_TREE, 'runs.json'), 'utf8')) as Omit<GeneratedTree, 'root' | 'logs' | 'logsCt' | 'vocab'>;
  return { ...made, root: RUNS_TREE, logs: join(RUNS_TREE, 'logs'), logsCt: join(RUNS_TREE, 'logs-ct'), vocab: join(RUNS_TREE, 'vocab.txt') };
}
