/** Tiny DOM helpers (no framework: the page is small and must load fast under a strict CSP). */
import type { VolumeMeta } from '../src/shared/volume-meta';

export function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

/** The header panel: geometry summary, then every header field, filterable by name, tag or value. */
export function headerTable(meta: VolumeMeta): HTMLElement {
  const filter = el('input', { type: 'search', placeholder: 'Filter fields', 'aria-label': 'Filter header fields', class: 'header-filter' }) as HTMLInputElement;
  const summary: [string, string][] = [
    ['Name', meta.name],
    ['Format', `${meta.format} (${meta.files} file${meta.files === 1 ? '' : 's'})`],
    ['Modality', meta.modality],
    ['Dimensions', `${meta.dims.join(' x ')}${meta.frames > 1 ? ` x ${meta.frames}` : ''}`],
    ['Data type', meta.dataType],
    ['Spacing (mm)', meta.spacing.map((s) => s.toFixed(4)).join(' x ')],
    ['Orientation', meta.orientation],
    ['Affine', [0, 1, 2].map((r) => meta.affine.slice(4 * r, 4 * r + 4).map((v) => v.toFixed(3)).join(' ')).join(' | ')],
    ['Range', `${meta.range[0]} .. ${meta.range[1]}`],
    ['Rescale', meta.rescale ? `${meta.rescale.slope} x + ${meta.rescale.intercept}` : 'none'],
    ...meta.warnings.map((w): [string, string] => ['Warning', w]),
  ];
  const rows = [
    ...summary.map(([k, v]) => ({ tag: '', name: k, value: v })),
    ...meta.header.map((f) => ({ tag: f.tag ?? '', name: f.name, value: f.value })),
  ];
  const tbody = el('tbody');
  const tr = rows.map((r) => {
    const row = el('tr', {}, el('td', { class: 'tag' }, r.tag), el('td', { class: 'name' }, r.name), el('td', { class: 'value' }, r.value));
    tbody.append(row);
    return { row, text: `${r.tag} ${r.name} ${r.value}`.toLowerCase() };
  });
  filter.addEventListener('input', () => {
    const q = filter.value.toLowerCase();
    for (const { row, text } of tr) row.hidden = q !== '' && !text.includes(q);
  });
  return el('div', { class: 'header-content' }, filter, el('table', { class: 'header-table' }, tbody));
}
