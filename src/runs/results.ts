/**
 * checkpoints/results.jsonl: one JSON object appended per evaluated epoch (zero-shot metrics such as "auc (mri)",
 * and with validation data valid_clip_score, "epoch", "num_samples"). Python's json.dumps writes NaN / Infinity for a
 * metric that could not be computed (HLIP's AUC of a class with one label value): they are read as such.
 * Zero-shot-only lines have no "epoch": it comes from out.log's Eval lines, else from zeroshot_frequency.
 */
import type { EvalLogRow, ResultRow, RunProblem } from './types';

export interface ResultsTable {
  rows: ResultRow[];
  /** Every numeric key over all rows, in first-seen order ("epoch" excluded). */
  keys: string[];
  problems: RunProblem[];
}

export interface EpochHints {
  /** out.log's `Eval Epoch` summaries, in order. */
  evals?: EvalLogRow[];
  zeroshotFrequency?: number;
  epochs?: number;
}

const SENTINEL = '\u0000py:';

/** JSON.parse that accepts Python's bare NaN / Infinity / -Infinity tokens outside strings. */
export function parsePythonJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (first) {
    let out = '';
    let inString = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (inString) {
        out += c;
        if (c === '\\') out += line[++i] ?? '';
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      const m = /^(-?Infinity|NaN)/.exec(line.slice(i, i + 9));
      if (!inString && m) {
        out += JSON.stringify(SENTINEL + m[1]);
        i += m[1].length - 1;
      } else out += c;
    }
    if (out === line) throw first;
    return JSON.parse(out, (_k, v) => (typeof v === 'string' && v.startsWith(SENTINEL) ? Number(v.slice(SENTINEL.length)) : v));
  }
}

export function parseResults(text: string, file?: string, hints: EpochHints = {}): ResultsTable {
  const rows: ResultRow[] = [];
  const problems: RunProblem[] = [];
  const keys = new Set<string>();
  const lines = text.split('\n');
  // The trainer writes the object, then "\n": a last line without its newline is still being written.
  const partial = lines[lines.length - 1] !== '' ? lines.length - 1 : -1;
  let evalIndex = 0;
  let zsIndex = 0;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = parsePythonJson(line);
    } catch {
      problems.push(
        i === partial
          ? { code: 'RESULTS_PARTIAL', message: `results.jsonl line ${i + 1} is incomplete (the trainer may still be writing it); skipped.`, file, line: i + 1 }
          : { code: 'RESULTS_LINE', message: `results.jsonl line ${i + 1} is not valid JSON; skipped.`, file, line: i + 1 },
      );
      return;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      problems.push({ code: 'RESULTS_LINE', message: `results.jsonl line ${i + 1} is not a JSON object; skipped.`, file, line: i + 1 });
      return;
    }
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (typeof v === 'number' && k !== 'epoch') {
        metrics[k] = v;
        keys.add(k);
      }
    }
    const own = (obj as Record<string, unknown>).epoch;
    let row: ResultRow;
    if (typeof own === 'number' && Number.isFinite(own)) row = { epoch: own, epochFrom: 'row', metrics, line: i + 1 };
    else if (hints.evals && evalIndex < hints.evals.length) row = { epoch: hints.evals[evalIndex].epoch, epochFrom: 'out.log', metrics, line: i + 1 };
    else if (hints.zeroshotFrequency && hints.zeroshotFrequency > 0) {
      // zero_shot_eval runs when epoch % zeroshot_frequency == 0, and at the last epoch.
      const e = (++zsIndex) * hints.zeroshotFrequency;
      row = { epoch: hints.epochs !== undefined ? Math.min(e, hints.epochs) : e, epochFrom: 'zeroshot_frequency', metrics, line: i + 1 };
    } else row = { epoch: rows.length + 1, epochFrom: 'line', metrics, line: i + 1 };
    evalIndex++;
    rows.push(row);
  });
  return { rows, keys: [...keys], problems };
}
