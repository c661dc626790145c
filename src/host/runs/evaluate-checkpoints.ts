/**
 * "HLIP: Evaluate Checkpoints": `hlip eval` (dist/cli.js) in a child process on epochs or runs picked in the Runs view
 * (or files), with progress and cancel; results in the Compare panel. Resumable: the evaluation cache keeps every
 * embedding computed, so running it again (after a cancel or a restart) computes only what is missing.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { EVAL_SETS } from '../../eval/metrics/set-metrics';
import type { RunsNode, RunsView } from './runs-view';

export class EvalCancelled extends Error {
  override name = 'AbortError';
}

/** Runs `hlip eval <args>`; progress lines ("eval: ...") go to onLine; rejects with the CLI's own error sentence. */
export function evalInChildProcess(cliScript: string, args: string[], onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(cliScript, ['eval', ...args], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let tail = '';
    let last = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail += d.toString();
      const lines = tail.split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('eval: ')) onLine(l.slice(6));
        else if (l.trim()) last = l;
      }
    });
    const abort = () => child.kill('SIGKILL'); // its inference worker exits with it (IPC channel closed)
    signal?.addEventListener('abort', abort, { once: true });
    child.on('exit', (code) => {
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) reject(new EvalCancelled('Evaluation cancelled (what was computed is cached: run it again to resume).'));
      else if (code === 0) resolve();
      else reject(new Error(last.replace(/^hlip: /, '') || `hlip eval exited with code ${code}`));
    });
  });
}

export interface EvaluationSpec {
  paths: string[];
  data: string;
  labels: string;
  set: string;
  layout: 'hlip' | 'raw';
  /** vocab.txt when the checkpoints have none beside them. */
  vocab?: string;
}

/** One output folder per (set, layout, data, labels, checkpoints): the same evaluation asked again resumes there. */
export function evaluationDir(storage: string, s: EvaluationSpec): string {
  const h = createHash('sha256').update(JSON.stringify([s.set, s.layout, s.data, s.labels, s.paths])).digest('hex').slice(0, 16);
  return join(storage, 'evaluations', `${s.set}-${h}`);
}

/** Checkpoint files of the picked nodes: an epoch, a loose checkpoint, or every complete epoch of a run. */
export function checkpointsOf(nodes: readonly RunsNode[]): { paths: string[]; runDirs: string[] } {
  const paths: string[] = [];
  const runDirs: string[] = [];
  for (const n of nodes) {
    if (n.kind === 'epoch') paths.push(n.epoch.path), runDirs.push(n.run.dir);
    else if (n.kind === 'run') {
      runDirs.push(n.run.dir);
      paths.push(...n.run.epochs.filter((e) => e.complete && e.kind === 'epoch').map((e) => e.path));
    } else if (n.kind === 'loose' && n.item.kind !== 'model') paths.push(n.item.path);
  }
  return { paths: [...new Set(paths)], runDirs: [...new Set(runDirs)] };
}

/** Asks for whatever the spec lacks; undefined when the user backs out. */
export async function askSpec(view: RunsView, picked: { paths: string[] }, given: Partial<EvaluationSpec>): Promise<EvaluationSpec | undefined> {
  let paths = given.paths ?? picked.paths;
  if (!paths.length) {
    const d = await view.current();
    type Item = vscode.QuickPickItem & { path?: string };
    const items: Item[] = [
      ...d.runs.flatMap((r) => r.epochs.filter((e) => e.complete).map((e): Item => ({ label: `${r.name} ${e.kind === 'epoch' ? `epoch ${e.epoch}` : e.fileName}`, path: e.path }))),
      ...d.checkpoints.map((c): Item => ({ label: c.name, description: c.path, path: c.path })),
      { label: '$(file-add) Checkpoint files...', alwaysShow: true },
    ];
    const picks = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Checkpoints to evaluate' });
    if (!picks?.length) return undefined;
    paths = picks.filter((p) => p.path).map((p) => p.path!);
    if (picks.some((p) => !p.path)) {
      const files = await vscode.window.showOpenDialog({ canSelectMany: true, title: 'Checkpoint files', filters: { Checkpoints: ['pt', 'pth', 'safetensors', 'bin', 'ckpt'] } });
      paths.push(...(files ?? []).map((f) => f.fsPath));
    }
    if (!paths.length) return undefined;
  }
  const set = given.set ?? (await vscode.window.showQuickPick([...EVAL_SETS], { title: 'Zero-shot set (the labels CSV has its class names as columns)' }));
  if (!set) return undefined;
  const data = given.data ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Folder of the labelled studies' }))?.[0]?.fsPath;
  if (!data) return undefined;
  const labels = given.labels ?? (await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Labels CSV (study + one 0/1 column per class)', filters: { CSV: ['csv'] } }))?.[0]?.fsPath;
  if (!labels) return undefined;
  const layout = given.layout ?? ((await vscode.window.showQuickPick(
    [{ label: 'hlip', description: "HLIP's layout: <study>/<scan>/img.pt tensors" }, { label: 'raw', description: 'DICOM / NIfTI study folders (this project\'s pre-processing)' }],
    { title: 'Data layout' },
  ))?.label as EvaluationSpec['layout'] | undefined);
  if (!layout) return undefined;
  return { paths, data, labels, set, layout, vocab: given.vocab };
}
