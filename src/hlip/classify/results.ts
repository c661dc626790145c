/**
 * What a classification produces, as plain data: the wire protocol carries it to the webview, the CLI prints it as JSON,
 * exports write it as JSON or CSV. The large arrays (embeddings, maps) stay with the Classification that made it.
 */

/** One diagnosis of a zero-shot set, as scored for the study. */
export interface ScoreRow {
  className: string;
  prompt: string;
  score: number;
}

export interface ScoreSet {
  name: string;
  title: string;
  /** cosine: raw cosine per diagnosis; softmax: mutually exclusive classes; pairs: P(positive) of a (neg, pos) pair. */
  kind: 'cosine' | 'softmax' | 'pairs';
  rows: ScoreRow[];
}

/** What "Classify Study" produced, without the large arrays (maps are sent as overlays on request). */
export interface ClassifyResults {
  model: { id: string; name: string; variant: string; untrained: boolean };
  /** Execution provider that ran, and why another was not used when it fell back. */
  provider: string;
  fallback?: string;
  /** Precision of the image tower that ran: fp32, or int8 (hlip.precision / --precision). */
  precision: string;
  protocol: string;
  scans: { name: string; volumeIndex: number; window?: string }[];
  sets: ScoreSet[];
  timings: { preprocessMs: number; inferenceMs: number; scoringMs: number; totalMs: number };
  /** cls: CLS attention maps exist; perDiagnosis: DINO.txt patch tokens allow a map per diagnosis / prompt. */
  maps: { cls: boolean; perDiagnosis: boolean };
  warnings: string[];
}

/** A custom prompt scored against the classified study. */
export interface PromptScore {
  text: string;
  pieces: string[];
  score: number;
  truncated: boolean;
}

/** Which attention map to overlay: the CLS attention (head mean), or one diagnosis / prompt of a DINO.txt model. */
export type MapRequest = { kind: 'cls' } | { kind: 'diagnosis'; set: string; className: string } | { kind: 'prompt'; text: string };

/** Scores as CSV: one row per (set, diagnosis). */
export function resultsCsv(r: ClassifyResults): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const rows = ['set,rank,diagnosis,prompt,score'];
  for (const s of r.sets) s.rows.forEach((row, i) => rows.push([s.name, i + 1, q(row.className), q(row.prompt), row.score.toFixed(6)].join(',')));
  return `${rows.join('\n')}\n`;
}
