/**
 * What an open_clip / HLIP training run leaves on disk, as read here (no vscode import: the view, the CLI, the
 * benchmark and the tests share it). Bad input never throws out of the readers: it becomes a RunProblem beside what
 * could be read.
 */

/** A Python value as `str()` prints it in params.txt (None, True, 0.25, 'text', [..], (..), {..}). */
export type PyValue = null | boolean | number | string | PyValue[] | { [key: string]: PyValue };

export type RunProblemCode =
  | 'PARAMS_LINE' // a params.txt line that is not `name: value`
  | 'NO_PARAMS' // a run folder without params.txt
  | 'RESULTS_LINE' // a results.jsonl line that is not a JSON object
  | 'RESULTS_PARTIAL' // the last results.jsonl line has no newline yet (the trainer is writing it)
  | 'EPOCH_INCOMPLETE' // an epoch file without its zip end record (half-written, or truncated)
  | 'NO_CHECKPOINTS' // a run folder with no epoch files
  | 'WEIGHTS' // the weights of an epoch file could not be described
  | 'UNREADABLE' // a file or folder that could not be read at all
  | 'MODALITY_MISMATCH'; // runs compared across modalities (MRI vs CT)

export interface RunProblem {
  code: RunProblemCode;
  /** One sentence for people. */
  message: string;
  file?: string;
  /** 1-based line, for line-oriented files. */
  line?: number;
}

export type Modality = 'mri' | 'ct' | 'mri+ct';

/** One `name: value` line of params.txt. */
export interface Setting {
  key: string;
  /** The text after `name: ` exactly as written. */
  raw: string;
  /** The value parsed as a Python literal; a bare word stays a string (str() of a str has no quotes). */
  value: PyValue;
  line: number;
}

/** One checkpoint file in `checkpoints/`. */
export interface EpochFile {
  path: string;
  fileName: string;
  /** N of epoch_N.pt; undefined for epoch_latest.pt / tmp.pt (the epoch inside is known once the weights are read). */
  epoch?: number;
  kind: 'epoch' | 'latest' | 'tmp';
  size: number;
  mtimeMs: number;
  /** The newest numbered epoch, and epoch_latest.pt. */
  latest: boolean;
  /** False when the zip end record is missing or inconsistent (still being written, or cut short). */
  complete: boolean;
  /** Why it is not complete. */
  incompleteReason?: string;
}

/** One evaluated epoch from results.jsonl: every numeric key. */
export interface ResultRow {
  epoch: number;
  /** Where `epoch` came from: the row's own "epoch" key, the out.log "Eval Epoch" line, zeroshot_frequency, or the line number. */
  epochFrom: 'row' | 'out.log' | 'zeroshot_frequency' | 'line';
  metrics: Record<string, number>;
  line: number;
}

/** One logged training step from out.log (`Train Epoch: ...`). */
export interface TrainPoint {
  /** Training progress in epochs: the 0-based epoch of the line + samples / samples per epoch (1.0 = end of epoch 1). */
  epoch: number;
  /** Samples seen since the start of training (all epochs). */
  samples: number;
  /** Optimizer step, when params.txt gives the global batch (batch_size x accum_batch x accum_freq x world_size). */
  step?: number;
  lr?: number;
  /** `Name: val (avg)` pairs: the current value of each loss. */
  losses: Record<string, number>;
  /** `Logit Scale[ (Sentence|Report)]: x`. */
  scales: Record<string, number>;
}

/** One `Eval Epoch: N key: value\t...` summary line of out.log. */
export interface EvalLogRow {
  epoch: number;
  metrics: Record<string, number>;
  line: number;
}
