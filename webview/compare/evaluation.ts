/**
 * An evaluation (hlip eval) in the compare page: progress with cancel; every figure per checkpoint with its bootstrap
 * interval and, against the first checkpoint, the paired difference (interval, p), sortable by that difference; error
 * analysis per diagnosis: the highest-scored negatives and lowest-scored positives, each opening the study in the viewer
 * with that checkpoint's map of the diagnosis.
 */
import type { EvaluationView } from '../../src/eval/evaluation-view';
import type { EvaluationProgress } from '../../src/protocol-compare';
import { el } from '../ui';

export interface EvaluationActions {
  cancel(): void;
  openStudy(checkpoint: number, study: string, diagnosis: string): void;
}

export interface EvaluationState {
  b: number;
  sort: 'figure' | 'diff-desc' | 'diff-asc';
  errCheckpoint: number;
  diagnosis?: string;
}

type Num = number | null;
const f4 = (v: Num) => (v === null ? 'NaN' : v.toFixed(4));
const ci = (c: [Num, Num] | null) => (c ? ` [${f4(c[0])}, ${f4(c[1])}]` : '');
const signed = (v: Num) => (v === null ? 'NaN' : `${v >= 0 ? '+' : ''}${v.toFixed(4)}`);

export function evaluationSection(progress: EvaluationProgress, v: EvaluationView | undefined, actions: EvaluationActions, state: EvaluationState): HTMLElement {
  const root = el('section', { class: 'evaluation', 'data-running': String(progress.running) });
  const bar = el('div', { class: 'toolbar' }, el('strong', {}, v ? `Evaluation: ${v.set} (${v.layout} layout), ${v.studies} studies, ${v.skipped} skipped` : 'Evaluation'), el('span', { class: 'spacer' }));
  if (progress.running) {
    const cancel = el('button', { class: 'text', id: 'cancel-evaluation' }, 'Cancel');
    cancel.addEventListener('click', () => actions.cancel());
    bar.append(cancel);
  }
  root.append(bar, el('div', { class: progress.error ? 'error eval-progress' : 'note eval-progress' }, progress.error ?? progress.message));
  if (!v) return root;
  for (const w of v.warnings.slice(0, 5)) root.append(el('div', { class: 'warn' }, w));
  for (const c of v.checkpoints) if (c.untrained) root.append(el('div', { class: 'warn' }, `${c.label}: untrained weights, its figures are meaningless.`));

  // ---- figures, sortable by the paired difference
  const pairSel = el('select', { 'aria-label': 'Checkpoint compared with the first' }) as HTMLSelectElement;
  v.checkpoints.slice(1).forEach((c, i) => pairSel.append(new Option(`${c.label} vs ${v.checkpoints[0].label}`, String(i + 1))));
  if (state.b >= 1 && state.b < v.checkpoints.length) pairSel.value = String(state.b);
  const table = el('table', { class: 'ckpt-table eval-table' });
  const render = () => {
    const b = v.checkpoints.length > 1 ? Number(pairSel.value) : 0;
    state.b = b;
    const diffOf = (r: EvaluationView['rows'][number]) => (b ? r.differences[b - 1]?.d ?? null : null);
    const rows = [...v.rows];
    if (state.sort !== 'figure' && b) {
      const sign = state.sort === 'diff-desc' ? -1 : 1;
      rows.sort((x, y) => {
        const dx = diffOf(x), dy = diffOf(y);
        if (dx === null || dy === null) return dx === null ? (dy === null ? 0 : 1) : -1; // NaN last
        return sign * (dx - dy);
      });
    }
    const head = el('tr', {}, el('th', {}, 'Figure'), el('th', {}, v.checkpoints[0].label));
    if (b) {
      const sortBtn = el('button', { class: 'link', id: 'sort-difference', title: 'Sort by the difference (again: reverse, then figure order)' },
        `${v.checkpoints[b].label} - ${v.checkpoints[0].label}${state.sort === 'diff-desc' ? ' \u25bc' : state.sort === 'diff-asc' ? ' \u25b2' : ''}`);
      sortBtn.addEventListener('click', () => {
        state.sort = state.sort === 'figure' ? 'diff-desc' : state.sort === 'diff-desc' ? 'diff-asc' : 'figure';
        render();
      });
      head.append(el('th', {}, v.checkpoints[b].label), el('th', {}, sortBtn), el('th', {}, 'p'));
    }
    const body = el('tbody');
    for (const r of rows) {
      const tr = el('tr', {}, el('td', { class: 'name' }, r.key), el('td', { class: 'num' }, f4(r.values[0].v), el('span', { class: 'note' }, ci(r.values[0].ci))));
      if (b) {
        const d = r.differences[b - 1];
        tr.append(
          el('td', { class: 'num' }, f4(r.values[b].v), el('span', { class: 'note' }, ci(r.values[b].ci))),
          el('td', { class: `num diff ${d?.d ? (d.d > 0 ? 'up' : 'down') : ''}` }, signed(d?.d ?? null), el('span', { class: 'note' }, ci(d?.ci ?? null))),
          el('td', { class: 'num' }, d?.p === null || d?.p === undefined ? '-' : d.p.toFixed(3)),
        );
      }
      body.append(tr);
    }
    table.replaceChildren(el('thead', {}, head), body);
  };
  pairSel.addEventListener('change', render);
  render();
  root.append(el('h2', {}, 'Figures (95% bootstrap intervals)'), v.checkpoints.length > 1 ? el('div', { class: 'toolbar' }, pairSel) : el('span'), el('div', { class: 'table-wrap' }, table));

  // ---- error analysis
  const ckSel = el('select', { 'aria-label': 'Checkpoint' }) as HTMLSelectElement;
  v.checkpoints.forEach((c, i) => ckSel.append(new Option(c.label, String(i))));
  ckSel.value = String(Math.min(state.errCheckpoint, v.checkpoints.length - 1));
  const dxSel = el('select', { 'aria-label': 'Diagnosis', id: 'error-diagnosis' }) as HTMLSelectElement;
  const diagnoses = [...new Set(v.errors.map((e) => e.diagnosis))];
  for (const d of diagnoses) dxSel.append(new Option(d, d));
  if (state.diagnosis && diagnoses.includes(state.diagnosis)) dxSel.value = state.diagnosis;
  const lists = el('div', { class: 'error-lists' });
  const renderErrors = () => {
    state.errCheckpoint = Number(ckSel.value);
    state.diagnosis = dxSel.value;
    const e = v.errors.find((x) => x.checkpoint === state.errCheckpoint && x.diagnosis === state.diagnosis);
    const list = (title: string, items: { study: string; logit: number }[]) => {
      const ul = el('ol', { class: 'error-list' });
      for (const it of items) {
        const b = el('button', { class: 'link', title: v.layout === 'raw' ? `Open ${it.study} in the viewer with ${v.checkpoints[state.errCheckpoint].label}'s map of ${state.diagnosis}` : 'HLIP-layout studies are pre-processed tensors; the viewer opens raw (DICOM / NIfTI) studies' }, it.study);
        b.addEventListener('click', () => actions.openStudy(state.errCheckpoint, it.study, state.diagnosis!));
        ul.append(el('li', {}, b, el('span', { class: 'note' }, ` ${it.logit.toFixed(4)}`)));
      }
      if (!items.length) ul.append(el('li', { class: 'note' }, 'none'));
      return el('div', {}, el('h3', {}, title), ul);
    };
    lists.replaceChildren(...(e ? [list('Highest-scored negatives', e.highestNegatives), list('Lowest-scored positives', e.lowestPositives)] : []));
  };
  ckSel.addEventListener('change', renderErrors);
  dxSel.addEventListener('change', renderErrors);
  renderErrors();
  root.append(el('h2', {}, 'Error analysis'), el('div', { class: 'toolbar' }, ckSel, dxSel), lists);
  return root;
}
