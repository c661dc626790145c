/**
 * The HLIP results panel: ranked zero-shot scores with bars (one tab per diagnosis set), a search box, the custom prompt
 * box (word pieces and score), saved prompts, the execution provider and timings, export, and the buttons that ask
 * the host for attention overlays. Untrained (demo) weights are flagged at the top, always.
 */
import type { ClassifyResults, MapRequest, PromptScore, ScoreSet, ViewerReplies, ViewerRequest } from '../src/protocol';
import type { PendingRequests } from '../src/shared/request-pairing';
import { el } from './ui';

export type ViewerRequests = PendingRequests<ViewerRequest, ViewerReplies>;

export class ResultsPanel {
  readonly root = el('aside', { class: 'results-panel', hidden: '', 'aria-label': 'HLIP results' });
  private readonly status = el('div', { class: 'results-status', role: 'status' });
  private readonly body = el('div', { class: 'results-body' });
  private readonly search = el('input', { type: 'search', placeholder: 'Filter diagnoses', 'aria-label': 'Filter diagnoses', class: 'results-filter' }) as HTMLInputElement;
  private readonly promptInput = el('input', { type: 'text', placeholder: 'Custom prompt, e.g. "This study shows: glioma."', 'aria-label': 'Custom prompt', class: 'prompt-input', id: 'prompt-input' }) as HTMLInputElement;
  private readonly promptOut = el('div', { class: 'prompt-result', id: 'prompt-result' });
  private readonly saved = el('ul', { class: 'saved-prompts', id: 'saved-prompts' });
  private results?: ClassifyResults;
  private setIndex = 0;
  private lastPrompt?: PromptScore;

  constructor(private readonly requests: ViewerRequests, cancelClassify: () => void) {
    const run = el('button', { class: 'primary', id: 'classify-run' }, 'Classify study');
    run.addEventListener('click', () => void this.ask({ kind: 'classify' }));
    const cancel = el('button', { id: 'classify-cancel' }, 'Cancel');
    cancel.addEventListener('click', cancelClassify);
    this.search.addEventListener('input', () => this.renderRows());
    this.promptInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && this.promptInput.value.trim()) this.scorePrompt(this.promptInput.value);
    });
    this.root.append(el('div', { class: 'results-actions' }, run, cancel), this.status, this.body);
  }

  /**
   * Sends a request; its failure is said in the panel's status line (the classify request's own failure also arrives
   * as its classifyState). Resolves undefined on failure.
   */
  private async ask<K extends ViewerRequest['kind']>(request: Extract<ViewerRequest, { kind: K }>): Promise<ViewerReplies[K] | undefined> {
    try {
      return await this.requests.request(request);
    } catch (e) {
      this.toggle(true);
      this.status.textContent = e instanceof Error ? e.message : String(e);
      this.status.dataset.error = 'true';
      return undefined;
    }
  }

  private scorePrompt(text: string): void {
    this.requests.request({ kind: 'scorePrompt', text }).then(
      (r) => this.showPrompt(r),
      (e: Error) => this.promptOut.replaceChildren(el('div', { class: 'prompt-error', role: 'alert' }, e.message)),
    );
  }

  private editSaved(kind: 'savePrompt' | 'removePrompt', text: string): void {
    void this.ask({ kind, text }).then((prompts) => prompts && this.showSaved(prompts));
  }

  toggle(show = this.root.hidden): void {
    this.root.hidden = !show;
  }

  progress(state: string, message: string, fraction?: number): void {
    this.toggle(true);
    this.root.dataset.state = state;
    const pct = fraction === undefined ? '' : ` ${Math.round(fraction * 100)}%`;
    this.status.textContent = `${message}${state === 'running' ? pct : ''}`;
    delete this.status.dataset.error;
  }

  show(results: ClassifyResults): void {
    this.results = results;
    this.setIndex = Math.min(this.setIndex, results.sets.length - 1);
    this.toggle(true);
    this.root.dataset.state = 'done';
    this.status.textContent = '';
    this.render();
  }

  showPrompt(result: PromptScore): void {
    this.lastPrompt = result;
    const save = el('button', { id: 'prompt-save', title: 'Save this prompt to your prompt set' }, 'Save');
    save.addEventListener('click', () => this.editSaved('savePrompt', result.text));
    const map = this.mapButton({ kind: 'prompt', text: result.text }, 'Map');
    this.promptOut.replaceChildren(
      el('div', { class: 'prompt-pieces', title: 'Word pieces the tokenizer produced' }, ...result.pieces.map((p) => el('span', { class: 'piece' }, p))),
      el('div', { class: 'prompt-score' }, `cosine ${result.score.toFixed(4)}${result.truncated ? ' (truncated to the context length)' : ''}`, save, ...(map ? [map] : [])),
    );
  }

  showSaved(prompts: string[]): void {
    this.saved.replaceChildren(
      ...prompts.map((p) => {
        const use = el('button', { class: 'link' }, p);
        use.addEventListener('click', () => {
          this.promptInput.value = p;
          this.scorePrompt(p);
        });
        const rm = el('button', { class: 'icon', title: 'Remove', 'aria-label': `Remove ${p}` }, el('span', { class: 'codicon codicon-close' }));
        rm.addEventListener('click', () => this.editSaved('removePrompt', p));
        return el('li', {}, use, rm);
      }),
    );
  }

  private mapButton(map: MapRequest, label: string): HTMLElement | undefined {
    if (!this.results) return undefined;
    if (map.kind === 'cls' ? !this.results.maps.cls : !this.results.maps.perDiagnosis) return undefined;
    const b = el('button', { class: 'map-button', title: 'Show the attention map over the scan' }, label);
    b.addEventListener('click', (e) => {
      e.stopPropagation();
      void this.ask({ kind: 'showMap', map });
    });
    return b;
  }

  private async export(format: 'json' | 'csv'): Promise<void> {
    const path = await this.ask({ kind: 'exportResults', format });
    if (path) this.status.textContent = `Exported to ${path}`;
  }

  private render(): void {
    const r = this.results!;
    const banner = r.model.untrained
      ? [el('div', { class: 'untrained', role: 'alert' }, 'Untrained demo weights: these scores are meaningless. Use "HLIP: Download Model" or "HLIP: Import Checkpoint" for real weights.')]
      : [];
    const t = r.timings;
    const meta = el(
      'div',
      { class: 'results-meta' },
      el('div', {}, el('strong', {}, r.model.name), ` (${r.model.variant})`),
      el(
        'div',
        { id: 'results-provider', ...(r.fallback ? { title: `Fallback: ${r.fallback}` } : {}) },
        `Ran on ${r.provider}${r.fallback ? ` (fallback from ${r.fallback.split(':')[0]}; hover for why)` : ''}, ${r.precision ?? 'fp32'}; ${r.protocol}, ${r.scans.length} scan(s)`,
      ),
      el('div', {}, `pre-processing ${t.preprocessMs.toFixed(0)} ms, inference ${t.inferenceMs.toFixed(0)} ms, total ${t.totalMs.toFixed(0)} ms`),
      ...r.warnings.map((w) => el('div', { class: 'warning' }, w)),
    );
    const tabs = el('div', { class: 'set-tabs', role: 'tablist' });
    r.sets.forEach((s, i) => {
      const b = el('button', { role: 'tab', 'aria-selected': String(i === this.setIndex), 'data-set': s.name }, `${s.title} (${s.rows.length})`);
      b.addEventListener('click', () => {
        this.setIndex = i;
        this.render();
      });
      tabs.append(b);
    });
    const exportJson = el('button', { id: 'export-json' }, 'Export JSON');
    exportJson.addEventListener('click', () => void this.export('json'));
    const exportCsv = el('button', { id: 'export-csv' }, 'Export CSV');
    exportCsv.addEventListener('click', () => void this.export('csv'));
    const cls = this.mapButton({ kind: 'cls' }, 'CLS attention map');
    this.body.replaceChildren(
      ...banner,
      meta,
      el('div', { class: 'results-tools' }, ...(cls ? [cls] : []), exportJson, exportCsv),
      tabs,
      this.search,
      el('table', { class: 'scores', id: 'scores' }),
      el('h4', {}, 'Custom prompt'),
      this.promptInput,
      this.promptOut,
      el('h4', {}, 'Saved prompts'),
      this.saved,
    );
    if (this.lastPrompt) this.showPrompt(this.lastPrompt);
    this.renderRows();
  }

  private renderRows(): void {
    const table = this.body.querySelector('#scores');
    const set: ScoreSet | undefined = this.results?.sets[this.setIndex];
    if (!table || !set) return;
    const q = this.search.value.trim().toLowerCase();
    const scores = set.rows.map((r) => r.score);
    // Bars are relative to the set's own range: raw cosines of a CLIP model sit in a narrow band.
    const lo = set.kind === 'cosine' ? Math.min(...scores) : 0;
    const hi = set.kind === 'cosine' ? Math.max(...scores) : 1;
    const rows = set.rows
      .map((r, rank) => ({ r, rank }))
      .filter(({ r }) => !q || r.className.toLowerCase().includes(q) || r.prompt.toLowerCase().includes(q))
      .map(({ r, rank }) => {
        const width = hi > lo ? (100 * (r.score - lo)) / (hi - lo) : 100;
        const map = this.mapButton(set.name === 'custom' ? { kind: 'prompt', text: r.prompt } : { kind: 'diagnosis', set: set.name, className: r.className }, 'Map');
        const bar = el('div', { class: 'bar' });
        bar.style.width = `${width.toFixed(1)}%`; // CSSOM, not a style attribute: the CSP forbids inline styles
        const tr = el(
          'tr',
          { 'data-class': r.className },
          el('td', { class: 'rank' }, String(rank + 1)),
          el('td', { class: 'class-name', title: r.prompt }, r.className),
          el('td', { class: 'bar-cell' }, bar),
          el('td', { class: 'score' }, r.score.toFixed(4)),
          el('td', {}, ...(map ? [map] : [])),
        );
        return tr;
      });
    table.replaceChildren(el('tbody', {}, ...rows));
  }
}
