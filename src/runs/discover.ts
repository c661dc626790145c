/**
 * Finds what a logs tree holds: run folders (`<logs>/<name>/params.txt`, out.log, checkpoints/), standalone
 * checkpoint files and model folders (open_clip_config.json beside weights). A root may be a logs folder, a run
 * folder, a model folder or a checkpoint file. Walks a few levels, never into a run's own folders.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { loadRun, looksLikeRun, unreadableRun, type Run } from './run';
import type { RunProblem } from './types';

export interface LooseCheckpoint {
  kind: 'checkpoint';
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
}

export interface ModelFolder {
  kind: 'model';
  dir: string;
  name: string;
  /** The weights file inside. */
  weights: string;
  size: number;
  mtimeMs: number;
}

export interface Discovery {
  runs: Run[];
  checkpoints: LooseCheckpoint[];
  models: ModelFolder[];
  /** Roots that could not be read. */
  problems: RunProblem[];
}

const WEIGHT_EXTS = new Set(['.pt', '.pth', '.ckpt', '.safetensors']);
const isWeights = (name: string) => WEIGHT_EXTS.has(extname(name).toLowerCase()) || /(^|_)pytorch_model\.bin$/.test(name);
const SKIP = new Set(['node_modules', '.git', '__pycache__', 'tensorboard', 'wandb', 'code']);

export interface DiscoverOptions {
  /** Folder levels below each root searched for runs (default 3). */
  maxDepth?: number;
  /** Stop after this many folders visited (a whole-workspace scan must stay bounded). */
  maxFolders?: number;
}

export async function discover(roots: string[], opts: DiscoverOptions = {}): Promise<Discovery> {
  const maxDepth = opts.maxDepth ?? 3;
  let budget = opts.maxFolders ?? 5000;
  const out: Discovery = { runs: [], checkpoints: [], models: [], problems: [] };
  const runDirs: string[] = [];
  const seen = new Set<string>();

  const visit = async (dir: string, depth: number): Promise<void> => {
    if (seen.has(dir) || budget-- <= 0) return;
    seen.add(dir);
    if (looksLikeRun(dir)) {
      runDirs.push(dir);
      return;
    }
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (depth === 0) out.problems.push({ code: 'UNREADABLE', message: `The folder cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, file: dir });
      return;
    }
    const weights = entries.filter((e) => e.isFile() && isWeights(e.name)).map((e) => e.name).sort();
    if (weights.length && existsSync(join(dir, 'open_clip_config.json'))) {
      const w = join(dir, weights.find((n) => n.endsWith('.safetensors')) ?? weights[0]);
      const st = await stat(w);
      out.models.push({ kind: 'model', dir, name: basename(dir), weights: w, size: st.size, mtimeMs: st.mtimeMs });
      return;
    }
    for (const n of weights) {
      try {
        const st = await stat(join(dir, n));
        out.checkpoints.push({ kind: 'checkpoint', path: join(dir, n), name: n, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        /* removed while listing */
      }
    }
    if (depth >= maxDepth) return;
    const subdirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)).map((e) => e.name).sort();
    for (const n of subdirs) await visit(join(dir, n), depth + 1);
  };

  for (const r of roots) {
    const root = resolve(r);
    let st;
    try {
      st = await stat(root);
    } catch {
      out.problems.push({ code: 'UNREADABLE', message: 'No such file or folder.', file: root });
      continue;
    }
    if (st.isFile()) out.checkpoints.push({ kind: 'checkpoint', path: root, name: basename(root), size: st.size, mtimeMs: st.mtimeMs });
    else await visit(root, 0);
  }
  // Runs are independent: read them concurrently; a failure in one is that run's problem, never the listing's.
  out.runs = await Promise.all(runDirs.map((d) => loadRun(d).catch((e: unknown) => unreadableRun(d, e))));
  out.runs.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}
