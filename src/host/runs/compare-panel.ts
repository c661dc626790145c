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
import { readFile } from 'node:fs/promises';
import { type EvaluationView, evaluationView, withEvaluated } from '../../eval/evaluation-view';
import type { ErrorAnalysis, MetricsReport } from '../../eval/report';
import { type EvaluationSpec, evalInChildProcess } from './evaluate-checkpoints';

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
  /** What the page shows of the runs now (tests read it). */
  get runsData(): CompareData | undefined {
    return this.data;
  }
  private runs: Run[] = [];
  private study?: { session: ViewerSession; engine: CheckpointEngine; result?: StudyComparison; abort: AbortController };
  private evaluation?: { spec: EvaluationSpec; abort: AbortController; report?: MetricsReport; engine: () => Promise<CheckpointEngine> };
  /** The runs' data as last sent, evaluated series included (tests read it). */
  get compareData(): CompareData | undefined {
    return this.data;
  }
  /** The last evaluation and its progress line sent (tests read them). */
  evaluationShown?: EvaluationView;
  evaluationProgress?: { running: boolean; message: string; error?: string };
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
        else if (m.type === 'cancel') {
          this.study?.abort.abort();
          this.evaluation?.abort.abort();
        }
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
    if (this.evaluation?.report) this.data = withEvaluated(this.data, this.evaluation.report);
    await this.ready;
    await this.post({ type: 'runs', data: this.data });
    const weights = await Promise.all(this.runs.map((run) => this.view.weightsOf(run).then((w) => (typeof w === 'string' ? undefined : w))));
    const withWeights = buildCompareData(inputs.map((x, i) => ({ ...x, weights: weights[i] })), { maxTrainPoints: MAX_DRAWN });
    if (withWeights.diff.weights.length && this.runDirs === dirs) {
      this.data = withWeights;
      if (this.evaluation?.report) this.data = withEvaluated(this.data, this.evaluation.report);
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

  /**
   * Runs `hlip eval` (child process; progress and cancel here and in the page) and shows the result: figures with
   * intervals and paired differences, error analysis, and the figures as "evaluated" series in the runs' charts.
   */
  async evaluate(spec: EvaluationSpec, cliScript: string, args: string[], outDir: string, engine: () => Promise<CheckpointEngine>): Promise<EvaluationView | undefined> {
    this.evaluation?.abort.abort();
    const abort = new AbortController();
    this.evaluation = { spec, abort, engine };
    await this.ready;
    const send = (progress: { running: boolean; message: string; error?: string }, view?: EvaluationView) => {
      this.evaluationShown = view;
      this.evaluationProgress = progress;
      void this.post({ type: 'evaluation', progress, view });
    };
    send({ running: true, message: `Evaluating ${spec.paths.length} checkpoint(s) on ${spec.set}...` });
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `HLIP: evaluating ${spec.paths.length} checkpoint(s) (${spec.set})`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          await evalInChildProcess(cliScript, args, (line) => {
            progress.report({ message: line });
            send({ running: true, message: line });
          }, abort.signal);
        },
      );
    } catch (e) {
      const message = (e as Error).message;
      this.log.warn(`Evaluation: ${message}`);
      send({ running: false, message, error: message });
      return undefined;
    }
    const report = JSON.parse(await readFile(join(outDir, 'metrics.json'), 'utf8')) as MetricsReport;
    const errors = JSON.parse(await readFile(join(outDir, 'errors.json'), 'utf8')) as ErrorAnalysis;
    if (this.evaluation?.abort !== abort) return undefined;
    this.evaluation.report = report;
    const view = evaluationView(report, errors, spec.data);
    send({ running: false, message: `Done: ${outDir}` }, view);
    if (this.runDirs.length) await this.showRuns(this.runDirs);
    return view;
  }

  /** Error analysis: the study opened in a viewer, classified with that checkpoint, its map of the diagnosis shown. */
  async openEvaluatedStudy(checkpoint: number, study: string, diagnosis: string): Promise<void> {
    const ev = this.evaluation;
    const path = ev?.spec.paths[checkpoint];
    if (!ev || !ev.report || !path) throw new CodedError('NO_EVALUATION', 'No evaluation is shown here.');
    if (ev.spec.layout !== 'raw') throw new CodedError('NOT_VIEWABLE', "Studies in HLIP's layout are pre-processed tensors (img.pt), which the viewer does not open; evaluate DICOM / NIfTI studies (raw layout) to open them.");
    const session = (await vscode.commands.executeCommand('hlip.openFolderAsStudy', vscode.Uri.file(join(ev.spec.data, study)))) as ViewerSession | undefined;
    if (!session) throw new CodedError('NOT_OPENED', `Could not open ${study}.`);
    const result = await this.compareOnStudy(session, [path], await ev.engine());
    // Per-diagnosis maps need DINO.txt patch tokens; a CLS-token model shows its CLS attention instead.
    const perDiagnosis = !!result?.runs[0]?.classification.patchProj;
    await this.showMap(0, { kind: 'showMap', checkpoint: 0, map: perDiagnosis ? { kind: 'diagnosis', set: ev.report.set, className: diagnosis } : { kind: 'cls' } });
    if (!perDiagnosis) void vscode.window.showInformationMessage(`HLIP: ${basename(path)} pools with its CLS token (no per-diagnosis map): showing its CLS attention.`);
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
      case 'openEvaluatedStudy':
        await this.openEvaluatedStudy(r.checkpoint, r.study, r.diagnosis);
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
    this.evaluation?.abort.abort();
    this.study?.engine.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
