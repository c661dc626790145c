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
/** `Name: val (avg)`: the loss meters (`loss_name.capitalize()`: one word, e.g. Contrastive_loss). */
const LOSS = new RegExp(String.raw`([A-Za-z]\w*): (${NUM}) \((${NUM})\)`, 'g');
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

/** The number starting at `from` up to the next space (or `end`). */
const numAt = (line: string, from: number, end = line.indexOf(' ', from)): number => num(line.slice(from, end < 0 ? undefined : end).trim());

/**
 * One `Train Epoch:` line. Plain index searches, not regular expressions, for the fixed parts: a long run's log has
 * hundreds of thousands of these lines and the compare panel reads every run's.
 */
export function parseTrainLine(line: string, globalBatch?: number): TrainPoint | undefined {
  const at = line.indexOf('Train Epoch: ');
  if (at < 0) return undefined;
  const open = line.indexOf('[', at);
  const slash = line.indexOf('/', open);
  const close = line.indexOf(']', slash);
  if (open < 0 || slash < 0 || close < 0) return undefined;
  const epoch0 = numAt(line, at + 13, open);
  const seen = numAt(line, open + 1, slash);
  const perEpoch = numAt(line, slash + 1, line.indexOf(' ', slash));
  if (![epoch0, seen, perEpoch].every(Number.isFinite)) return undefined;
  const samples = epoch0 * perEpoch + seen;
  const point: TrainPoint = { epoch: epoch0 + (perEpoch > 0 ? seen / perEpoch : 0), samples, losses: {}, scales: {} };
  if (globalBatch && globalBatch > 0) point.step = Math.round(samples / globalBatch);
  const lr = line.indexOf(' LR: ', close);
  if (lr >= 0) point.lr = numAt(line, lr + 5);
  let tail = close;
  for (let s = line.indexOf('Logit Scale', close); s >= 0; s = line.indexOf('Logit Scale', s + 11)) {
    const colon = line.indexOf(': ', s);
    if (colon < 0) break;
    point.scales[line.slice(s, colon)] = numAt(line, colon + 2);
    tail = colon + 2;
  }
  for (const m of line.slice(tail).matchAll(LOSS)) point.losses[m[1]] = num(m[2]);
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
