/**
 * Checkpoints on one study, side by side: per diagnosis each checkpoint's score and rank and their difference,
 * largest disagreements first, a filter, and buttons that put a checkpoint's CLS attention or diagnosis map in the
 * viewer (same slice: the viewer keeps its position when the overlay changes).
 */
import type { CheckpointComparison } from '../../src/runs/checkpoint-compare';
import type { CheckpointProgress } from '../../src/protocol-compare';
import { el } from '../ui';

export interface TableActions {
  showMap(checkpoint: number, map: { kind: 'cls' } | { kind: 'diagnosis'; set: string; className: string }): void;
  cancel(): void;
  exportCsv(): void;
}

const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(4));
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;

export function checkpointTable(c: CheckpointComparison, progress: CheckpointProgress, actions: TableActions, state: { set?: string; filter: string }): HTMLElement {
  const root = el('section', { class: 'ckpt-compare', 'data-running': String(progress.running) });
  const status = el('div', { class: 'ckpt-status' });
  progress.states.forEach((s, i) => {
    const ck = c.checkpoints[i];
    const line = el('div', { class: `ckpt-state state-${s.state}` }, el('span', { class: 'ckpt-label' }, s.label), ` ${s.state}${s.message ? `: ${s.message}` : ''}`);
    if (ck?.fallback) line.append(el('span', { class: 'note', title: ck.fallback }, ` (${ck.provider}, fallback)`));
    if (ck?.untrained) line.append(el('span', { class: 'warn' }, ' untrained weights: scores are meaningless'));
    status.append(line);
  });
  const toolbar = el('div', { class: 'toolbar' }, el('strong', {}, `Checkpoints on ${progress.study}`), el('span', { class: 'spacer' }));
  if (progress.running) {
    const cancel = el('button', { class: 'text', id: 'cancel-compare' }, 'Cancel');
    cancel.addEventListener('click', () => actions.cancel());
    toolbar.append(cancel);
  }
  const exp = el('button', { class: 'text', title: 'Save the table as CSV' }, 'Export CSV');
  exp.addEventListener('click', () => actions.exportCsv());
  toolbar.append(exp);
  root.append(toolbar, status);
  if (!c.sets.length) return root;

  const setSel = el('select', { 'aria-label': 'Diagnosis set' }) as HTMLSelectElement;
  for (const s of c.sets) setSel.append(new Option(s.title, s.name));
  if (state.set && c.sets.some((s) => s.name === state.set)) setSel.value = state.set;
  const filter = el('input', { type: 'search', placeholder: 'Filter diagnoses', 'aria-label': 'Filter diagnoses', value: state.filter }) as HTMLInputElement;
  const table = el('table', { class: 'ckpt-table' });
  const render = () => {
    const set = c.sets.find((s) => s.name === setSel.value) ?? c.sets[0];
    state.set = set.name;
    const q = filter.value.toLowerCase();
    state.filter = filter.value;
    const head = el('tr', {}, el('th', {}, 'Diagnosis'));
    c.checkpoints.forEach((ck, i) => {
      const th = el('th', { colspan: '2', title: ck.error ? ck.error.message : `${ck.model ?? ''} ${ck.variant ?? ''}` }, ck.label);
      if (ck.ok) {
        const b = el('button', { class: 'icon map-btn', title: `Show ${ck.label}'s CLS attention in the viewer`, 'data-checkpoint': String(i) }, 'CLS map');
        b.addEventListener('click', () => actions.showMap(i, { kind: 'cls' }));
        th.append(' ', b);
      } else if (ck.error) th.append(el('div', { class: 'error' }, ck.error.message));
      head.append(th);
    });
    head.append(el('th', { title: c.checkpoints.length === 2 ? 'second minus first' : 'largest minus smallest' }, 'Difference'));
    const sub = el('tr', { class: 'sub' }, el('th', {}, ''));
    for (const _ of c.checkpoints) sub.append(el('th', {}, 'score'), el('th', {}, 'rank'));
    sub.append(el('th', {}, ''));
    const body = el('tbody');
    for (const r of set.rows) {
      if (q && !r.className.toLowerCase().includes(q)) continue;
      const tr = el('tr', {}, el('td', { class: 'name' }, r.className));
      r.scores.forEach((s, i) => {
        const cell = el('td', { class: 'num' });
        if (s !== null && c.checkpoints[i].ok && set.kind !== 'pairs') {
          const b = el('button', { class: 'link', title: `Show ${c.checkpoints[i].label}'s map for ${r.className}` }, fmt(s));
          b.addEventListener('click', () => actions.showMap(i, { kind: 'diagnosis', set: set.name, className: r.className }));
          cell.append(b);
        } else cell.append(fmt(s));
        tr.append(cell, el('td', { class: 'num rank' }, r.ranks[i] === null ? '-' : String(r.ranks[i])));
      });
      tr.append(el('td', { class: `num diff ${r.difference > 0 ? 'up' : r.difference < 0 ? 'down' : ''}` }, signed(r.difference)));
      body.append(tr);
    }
    table.replaceChildren(el('thead', {}, head, sub), body);
  };
  setSel.addEventListener('change', render);
  filter.addEventListener('input', render);
  render();
  root.append(el('div', { class: 'toolbar' }, setSel, filter), el('div', { class: 'table-wrap' }, table));
  return root;
}
