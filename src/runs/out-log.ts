/**
 * out.log: Python logging lines (`2025-01-02,03:04:05 | INFO | [root |] message`). Two kinds matter here:
 *   Train Epoch: 3 [ 4096/100000 (4%)] Data (t): ... LR: 0.000300 Logit Scale (Sentence): 14.286 ... Contrastive_loss: 1.2345 (1.3012)
 *   Eval Epoch: 4 auc (mri): 0.7123<TAB>auc (ct): 0.6543
 * The epoch of a Train line is 0-based (the loop variable); Eval lines carry the completed epoch (1-based), as
 * checkpoints and results.jsonl do. Lines of any other shape are other log messages, not errors.
 */
import { open } from 'node:fs/promises';
import type { EvalLogRow, TrainPoint } from './types';

const NUM = String.raw`[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)`;
const TRAIN = new RegExp(String.raw`Train Epoch: (\d+) \[\s*(\d+)/(\d+) \(\s*[\d.]+%\)\]`);
const LR = new RegExp(String.raw`\bLR: (${NUM})`);
const SCALE = new RegExp(String.raw`(Logit Scale(?: \([^)]*\))?): (${NUM})(?! \()`, 'g');
/** `Name: val (avg)`: the loss meters (names capitalised by the trainer). */
const LOSS = new RegExp(String.raw`([A-Za-z][\w]*(?: [A-Za-z][\w]*)*): (${NUM}) \((${NUM})\)`, 'g');
const EVAL = /Eval Epoch: (\d+) (?!\[)(.*)$/;

export interface OutLog {
  train: TrainPoint[];
  evals: EvalLogRow[];
}

export interface OutLogOptions {
  /** Samples per optimizer step (batch_size x accum_batch x accum_freq x world_size), to give each point a step. */
  globalBatch?: number;
  /** Line number of the first line of `text` (when parsing a tail). */
  firstLine?: number;
}

const num = (s: string): number => (s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s));

export function parseTrainLine(line: string, globalBatch?: number): TrainPoint | undefined {
  const t = TRAIN.exec(line);
  if (!t) return undefined;
  const epoch0 = Number(t[1]);
  const seen = Number(t[2]);
  const perEpoch = Number(t[3]);
  const rest = line.slice(t.index + t[0].length);
  const samples = epoch0 * perEpoch + seen;
  const point: TrainPoint = { epoch: epoch0 + (perEpoch > 0 ? seen / perEpoch : 0), samples, losses: {}, scales: {} };
  if (globalBatch && globalBatch > 0) point.step = Math.round(samples / globalBatch);
  const lr = LR.exec(rest);
  if (lr) point.lr = num(lr[1]);
  for (const m of rest.matchAll(SCALE)) point.scales[m[1]] = num(m[2]);
  for (const m of rest.matchAll(LOSS)) {
    if (m[1].startsWith('Logit Scale')) continue;
    point.losses[m[1]] = num(m[2]);
  }
  return point;
}

export function parseEvalLine(line: string, lineNo: number): EvalLogRow | undefined {
  const e = EVAL.exec(line);
  if (!e) return undefined;
  const metrics: Record<string, number> = {};
  for (const part of e[2].split('\t')) {
    const at = part.lastIndexOf(': ');
    if (at <= 0) continue;
    const v = num(part.slice(at + 2).trim());
    if (!Number.isNaN(v) || /nan/.test(part)) metrics[part.slice(0, at).trim()] = v;
  }
  return Object.keys(metrics).length ? { epoch: Number(e[1]), metrics, line: lineNo } : undefined;
}

export function parseOutLog(text: string, opts: OutLogOptions = {}): OutLog {
  const train: TrainPoint[] = [];
  const evals: EvalLogRow[] = [];
  const first = opts.firstLine ?? 1;
  let lineNo = first - 1;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.includes('Train Epoch: ')) {
      const p = parseTrainLine(line, opts.globalBatch);
      if (p) train.push(p);
    } else if (line.includes('Eval Epoch: ')) {
      const r = parseEvalLine(line, lineNo);
      if (r) evals.push(r);
    }
  }
  return { train, evals };
}

/** The last logged training step, from the file's tail only (a long run's log is many MB). */
export async function lastTrainPoint(path: string, globalBatch?: number, tailBytes = 64 * 1024): Promise<TrainPoint | undefined> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const n = Math.min(size, tailBytes);
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, size - n);
    const lines = buf.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const p = lines[i].includes('Train Epoch: ') ? parseTrainLine(lines[i], globalBatch) : undefined;
      if (p) return p;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}
