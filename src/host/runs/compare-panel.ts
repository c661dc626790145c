/**
 * The Compare panel (webview/compare): runs side by side (settings that differ, a chart per metric, updated while the
 * runs train) and checkpoints compared on the study of a viewer (table, maps shown in that viewer). Messages:
 * src/protocol-compare.ts; requests are answered with paired replies.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import {
  buildCompareData, chartsToCsv, compareOnStudy, comparisonCsv, loadRun, loadTrainLog,
  type CheckpointComparison, type CompareData, type Run, type StudyComparison,
} from '../../runs';
import { type CheckpointProgress, type CompareHostMessage, type CompareReplies, type CompareRequest, parseCompareWebviewMessage } from '../../protocol-compare';
import { answer } from '../../shared/request-pairing';
import { CodedError } from '../../shared/coded-error';
import { fromTransfer } from '../../volume/to-transfer';
import { comparePageHtml } from '../../../webview/compare/page-html';
import { overlayMap } from '../classification-controller';
import type { ViewerSession } from '../session';
import type { CheckpointEngine } from './checkpoint-runner';
import type { RunsView } from './runs-view';

export const COMPARE_PANEL = 'hlip.compare';
/** Drawn points per training series (out.log has one per logged step); exports write every point. */
const MAX_DRAWN = 2000;

export class ComparePanel implements vscode.Disposable {
  private static readonly all = new Set<ComparePanel>();
  private static readonly drawnEmitter = new vscode.EventEmitter<{ panel: ComparePanel; charts: number; ms: number }>();
  /** Fires when the page has drawn every chart (tests, benchmark). */
  static readonly onDidDraw = ComparePanel.drawnEmitter.event;
  static panels(): ComparePanel[] {
    return [...ComparePanel.all];
  }

  private readonly disposables: vscode.Disposable[] = [];
  private ready: Promise<void>;
  private runDirs: string[] = [];
  private data?: CompareData;
  private runs: Run[] = [];
  private study?: { session: ViewerSession; engine: CheckpointEngine; result?: StudyComparison; abort: AbortController };
  /** The last table sent (tests read it). */
  comparison?: CheckpointComparison;
  progress?: CheckpointProgress;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly view: RunsView,
    private readonly log: vscode.LogOutputChannel,
  ) {
    ComparePanel.all.add(this);
    let ready!: () => void;
    this.ready = new Promise((r) => (ready = r));
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => {
        const m = parseCompareWebviewMessage(raw);
        if (!m) return this.log.warn(`Ignored a malformed message from the compare page: ${JSON.stringify(raw)?.slice(0, 200)}`);
        if (m.type === 'ready') ready();
        else if (m.type === 'drawn') ComparePanel.drawnEmitter.fire({ panel: this, charts: m.charts, ms: m.ms });
        else if (m.type === 'cancel') this.study?.abort.abort();
        else if (m.type === 'request') void answer(m.id, () => this.handle(m.request)).then((r) => this.post(r));
      }),
      panel.onDidDispose(() => this.dispose()),
      view.onDidRefresh(() => void this.reloadIfChanged()),
    );
  }

  static create(extensionUri: vscode.Uri, view: RunsView, log: vscode.LogOutputChannel, title: string): ComparePanel {
    const panel = vscode.window.createWebviewPanel(COMPARE_PANEL, title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
    });
    const w = panel.webview;
    w.html = comparePageHtml({ cspSource: w.cspSource, asset: (f) => w.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', f)).toString(), title });
    return new ComparePanel(panel, view, log);
  }

  post(m: CompareHostMessage): Thenable<boolean> {
    return this.panel.webview.postMessage(m);
  }

  /** Runs side by side: what differs and every logged metric. */
  async showRuns(dirs: string[]): Promise<CompareData> {
    this.runDirs = dirs;
    const listed = new Map((await this.view.current()).runs.map((r) => [r.dir, r]));
    this.runs = await Promise.all(dirs.map((d) => listed.get(d) ?? loadRun(d)));
    const inputs = await Promise.all(this.runs.map(async (run) => ({ run, log: await loadTrainLog(run).catch(() => undefined) })));
    // Charts first; what the weights say (data.pkl of each run's newest epoch) joins the settings diff once read.
    this.data = buildCompareData(inputs, { maxTrainPoints: MAX_DRAWN });
    await this.ready;
    await this.post({ type: 'runs', data: this.data });
    const weights = await Promise.all(this.runs.map((run) => this.view.weightsOf(run).then((w) => (typeof w === 'string' ? undefined : w))));
    const withWeights = buildCompareData(inputs.map((x, i) => ({ ...x, weights: weights[i] })), { maxTrainPoints: MAX_DRAWN });
    if (withWeights.diff.weights.length && this.runDirs === dirs) {
      this.data = withWeights;
      await this.post({ type: 'runs', data: this.data });
    }
    return this.data;
  }

  /** A run trained on: a new epoch or results line re-draws the charts. */
  private async reloadIfChanged(): Promise<void> {
    if (!this.runDirs.length) return;
    const now = new Map((await this.view.current()).runs.map((r) => [r.dir, r.updatedMs]));
    if (this.runs.some((r) => now.get(r.dir) !== undefined && now.get(r.dir) !== r.updatedMs)) await this.showRuns(this.runDirs);
  }

  /** Checkpoints on the study of `session`: converted (cached), classified in turn; progress and cancel in the page. */
  async compareOnStudy(session: ViewerSession, paths: string[], engine: CheckpointEngine): Promise<StudyComparison | undefined> {
    this.study?.abort.abort();
    const abort = new AbortController();
    this.study = { session, engine, abort };
    const study = basename(session.source.fsPath);
    await this.ready;
    const volumes = (await session.studyData()).volumes.map(fromTransfer);
    const send = (states: CheckpointProgress['states'], comparison: CheckpointComparison, running: boolean) => {
      this.comparison = comparison;
      this.progress = { states, running, study };
      void this.post({ type: 'checkpoints', comparison, progress: this.progress });
    };
    let lastStates: CheckpointProgress['states'] = [];
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `HLIP: comparing ${paths.length} checkpoints on ${study}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        return compareOnStudy(volumes, paths, engine, {
          signal: abort.signal,
          onUpdate: (states, comparison) => {
            lastStates = states;
            const busy = states.find((s) => s.state === 'converting' || s.state === 'classifying');
            if (busy) progress.report({ message: `${busy.label}: ${busy.message ?? busy.state}` });
            send(states, comparison, true);
          },
        });
      },
    );
    if (this.study?.abort !== abort) return result;
    this.study.result = result;
    send(lastStates, result.comparison, false);
    for (const c of result.comparison.checkpoints) if (c.error) this.log.warn(`Compare: ${c.label}: ${c.error.message}`);
    return result;
  }

  /** Shows checkpoint i's map in the study's viewer (its own model loaded in the compare engine). */
  async showMap(checkpoint: number, map: CompareRequest & { kind: 'showMap' }): Promise<void> {
    const st = this.study;
    const run = st?.result?.runs[checkpoint];
    if (!st || !run) throw new CodedError('NOT_CLASSIFIED', 'That checkpoint has no classification of this study.');
    const entry = run.model.entry;
    await st.engine.engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
    const label = st.result!.comparison.checkpoints[checkpoint].label;
    await overlayMap(st.session, run.classification, run.model, st.engine.engine, map.map, `${label}: `);
    st.session.panel.reveal(undefined, true);
    await this.post({ type: 'mapShown', checkpoint, label });
  }

  private async handle(r: CompareRequest): Promise<CompareReplies[CompareRequest['kind']]> {
    switch (r.kind) {
      case 'showMap':
        await this.showMap(r.checkpoint, r);
        return null;
      case 'exportChart':
        return this.exportChart(r.chartId, r.format, r.content);
      case 'exportComparison': {
        if (!this.study?.result) throw new CodedError('NOT_CLASSIFIED', 'Nothing compared yet.');
        return this.save(`${basename(this.study.session.source.fsPath)}-checkpoints.csv`, { CSV: ['csv'] }, comparisonCsv(this.study.result.comparison));
      }
      case 'openFile':
        await vscode.window.showTextDocument(vscode.Uri.file(r.path));
        return null;
    }
  }

  private async exportChart(chartId: string, format: 'png' | 'svg' | 'csv', content?: string): Promise<string | null> {
    const chart = this.data?.charts.find((c) => c.id === chartId);
    if (!chart) throw new CodedError('NO_CHART', 'That chart is no longer shown.');
    const stem = chart.title.replace(/[^\w.-]+/g, '_');
    if (format === 'csv') {
      // Every point: the full series, not the thinned one the page draws.
      const full = buildCompareData(await Promise.all(this.runs.map(async (run) => ({ run, log: await loadTrainLog(run).catch(() => undefined) }))));
      return this.save(`${stem}.csv`, { CSV: ['csv'] }, chartsToCsv(full, [chartId]));
    }
    if (format === 'svg') return this.save(`${stem}.svg`, { SVG: ['svg'] }, content ?? '');
    return this.save(`${stem}.png`, { PNG: ['png'] }, Buffer.from((content ?? '').replace(/^data:image\/png;base64,/, ''), 'base64'));
  }

  /** Asks where to save (next to the first run); null when the user cancels. */
  private async save(name: string, filters: Record<string, string[]>, data: string | Buffer): Promise<string | null> {
    const near = this.runs[0]?.dir ?? (this.study ? dirname(this.study.session.source.fsPath) : undefined);
    const target = await vscode.window.showSaveDialog({ defaultUri: near ? vscode.Uri.file(join(near, name)) : undefined, filters });
    if (!target) return null;
    await writeFile(target.fsPath, data);
    this.log.info(`Compare: saved ${target.fsPath}`);
    return target.fsPath;
  }

  dispose(): void {
    ComparePanel.all.delete(this);
    this.study?.abort.abort();
    this.study?.engine.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
