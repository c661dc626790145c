/**
 * Two or more checkpoints on one study, side by side: per diagnosis each checkpoint's score and rank, and how far
 * they disagree (largest first). A checkpoint that failed keeps its column with the reason; the others still count.
 */
import type { ClassifyResults } from '../hlip/classify/results';

export interface CheckpointOutcome {
  /** Shown as the column title: "pd025 epoch 3", a file name ... */
  label: string;
  path: string;
  results?: ClassifyResults;
  error?: { code: string; message: string };
}

export interface ComparedRow {
  className: string;
  /** One per checkpoint; null where that checkpoint failed or lacks the set. */
  scores: (number | null)[];
  /** 1 = the checkpoint's top diagnosis in this set. */
  ranks: (number | null)[];
  /** Two checkpoints: second minus first; more: largest minus smallest. */
  difference: number;
  /** Largest minus smallest score (the sort key). */
  spread: number;
  rankSpread: number;
}

export interface ComparedSet {
  name: string;
  title: string;
  kind: string;
  rows: ComparedRow[];
}

export interface CheckpointComparison {
  checkpoints: { label: string; path: string; ok: boolean; error?: { code: string; message: string }; model?: string; variant?: string; provider?: string; fallback?: string; untrained?: boolean }[];
  sets: ComparedSet[];
}

export function compareCheckpoints(outcomes: CheckpointOutcome[]): CheckpointComparison {
  const sets = new Map<string, ComparedSet>();
  const order: string[] = [];
  for (const o of outcomes) for (const s of o.results?.sets ?? []) if (!sets.has(s.name)) (sets.set(s.name, { name: s.name, title: s.title, kind: s.kind, rows: [] }), order.push(s.name));
  for (const name of order) {
    const set = sets.get(name)!;
    const perCkpt = outcomes.map((o) => {
      const s = o.results?.sets.find((x) => x.name === name);
      return s ? new Map(s.rows.map((r, i) => [r.className, { score: r.score, rank: i + 1 }])) : undefined;
    });
    const classes: string[] = [];
    const seen = new Set<string>();
    for (const m of perCkpt) for (const c of m?.keys() ?? []) if (!seen.has(c)) (seen.add(c), classes.push(c));
    for (const className of classes) {
      const scores = perCkpt.map((m) => m?.get(className)?.score ?? null);
      const ranks = perCkpt.map((m) => m?.get(className)?.rank ?? null);
      const have = scores.filter((x): x is number => x !== null);
      const haveRanks = ranks.filter((x): x is number => x !== null);
      const spread = have.length > 1 ? Math.max(...have) - Math.min(...have) : 0;
      const difference = scores.length === 2 && scores[0] !== null && scores[1] !== null ? scores[1] - scores[0] : spread;
      set.rows.push({ className, scores, ranks, difference, spread, rankSpread: haveRanks.length > 1 ? Math.max(...haveRanks) - Math.min(...haveRanks) : 0 });
    }
    set.rows.sort((a, b) => b.spread - a.spread || a.className.localeCompare(b.className));
  }
  return {
    checkpoints: outcomes.map((o) => ({
      label: o.label, path: o.path, ok: !!o.results, error: o.error,
      model: o.results?.model.name, variant: o.results?.model.variant, provider: o.results?.provider, fallback: o.results?.fallback, untrained: o.results?.model.untrained,
    })),
    sets: order.map((n) => sets.get(n)!),
  };
}

/** The comparison as CSV: one row per (set, diagnosis), score and rank per checkpoint. */
export function comparisonCsv(c: CheckpointComparison): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const head = ['set', 'diagnosis', ...c.checkpoints.flatMap((k) => [q(`${k.label} score`), q(`${k.label} rank`)]), 'difference'];
  const lines = [head.join(',')];
  for (const s of c.sets) {
    for (const r of s.rows) {
      lines.push([s.name, q(r.className), ...r.scores.flatMap((x, i) => [x === null ? '' : x.toFixed(6), r.ranks[i] ?? '']), r.difference.toFixed(6)].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}
