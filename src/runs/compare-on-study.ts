/**
 * Checkpoints compared on one study: each converted (cached by its hash, as every model is), loaded, and run through
 * the one classification pipeline in turn. A checkpoint that fails is recorded with its reason and the others still
 * run; a cancel stops the one running and skips the rest. Used by `hlip compare` and the editor's compare command.
 */
import { basename, dirname } from 'node:path';
import type { Classification, LoadedModel } from '../hlip/classify/study-classifier';
import { classifyStudy } from '../hlip/classify/study-classifier';
import type { HlipEngine } from '../hlip/inference/engine';
import type { Protocol } from '../hlip/preprocess/study-input';
import type { Volume } from '../volume/volume';
import { compareCheckpoints, type CheckpointComparison, type CheckpointOutcome } from './checkpoint-compare';

export type CheckpointState = 'waiting' | 'converting' | 'classifying' | 'done' | 'error' | 'cancelled';

export interface CheckpointRunner {
  engine: HlipEngine;
  /** Converts (or finds in the cache) and loads the checkpoint into `engine`. */
  load(path: string, onStage: (stage: string) => void, signal?: AbortSignal): Promise<LoadedModel>;
}

export interface CompareOnStudyOptions {
  protocol?: Protocol;
  signal?: AbortSignal;
  /** After every change of state: what each checkpoint is doing, and the comparison so far. */
  onUpdate?(states: { label: string; state: CheckpointState; message?: string }[], comparison: CheckpointComparison): void;
}

export interface StudyComparison {
  comparison: CheckpointComparison;
  /** Per checkpoint: its classification (maps, embeddings) and loaded model, where it ran. */
  runs: ({ classification: Classification; model: LoadedModel } | undefined)[];
}

/** "pd025 epoch_3" for a run's epoch file (<logs>/<run>/checkpoints/epoch_3.pt), else the file or folder name. */
export function checkpointLabel(path: string): string {
  const stem = basename(path).replace(/\.(pt|pth|bin|ckpt|safetensors)$/i, '');
  return basename(dirname(path)) === 'checkpoints' ? `${basename(dirname(dirname(path)))} ${stem}` : stem;
}

const reason = (e: unknown) => ({
  code: typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ERROR',
  message: e instanceof Error ? e.message : String(e),
});

export async function compareOnStudy(volumes: Volume[], paths: string[], runner: CheckpointRunner, opts: CompareOnStudyOptions = {}): Promise<StudyComparison> {
  const labels = paths.map(checkpointLabel);
  // Two epochs named alike (two runs' epoch_3 in the same folder layout) keep their order number.
  const unique = labels.map((l, i) => (labels.indexOf(l) !== i || labels.lastIndexOf(l) !== i ? `${l} (${i + 1})` : l));
  const outcomes: CheckpointOutcome[] = paths.map((path, i) => ({ label: unique[i], path }));
  const states = unique.map((label) => ({ label, state: 'waiting' as CheckpointState, message: undefined as string | undefined }));
  const runs: StudyComparison['runs'] = paths.map(() => undefined);
  const update = () => opts.onUpdate?.(states.map((s) => ({ ...s })), compareCheckpoints(outcomes));
  for (const [i, path] of paths.entries()) {
    if (opts.signal?.aborted) {
      for (const s of states.slice(i)) s.state = 'cancelled';
      break;
    }
    try {
      states[i].state = 'converting';
      update();
      const model = await runner.load(path, (stage) => ((states[i].message = stage), update()), opts.signal);
      states[i].state = 'classifying';
      states[i].message = undefined;
      update();
      const classification = await classifyStudy(volumes, model, runner.engine, { protocol: opts.protocol, signal: opts.signal });
      // Kept for its maps; the model input (a full study: ~100 MB of float32) is not needed for them.
      classification.input = { data: new Float32Array(0), shape: classification.input.shape };
      outcomes[i].results = classification.results;
      runs[i] = { classification, model };
      states[i].state = 'done';
    } catch (e) {
      if (opts.signal?.aborted) {
        for (const s of states.slice(i)) s.state = 'cancelled';
        break;
      }
      outcomes[i].error = reason(e);
      states[i].state = 'error';
      states[i].message = outcomes[i].error!.message;
    }
    update();
  }
  update();
  return { comparison: compareCheckpoints(outcomes), runs };
}
