/**
 * One open viewer: a webview showing a file or folder. Used by the custom editor (files) and by "Open Folder as
 * Study" (folders, in a plain webview panel). Reading runs in a worker thread; voxels go to the webview as ArrayBuffers.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { type HostMessage, type ViewerCommand, type ViewerReplies, type ViewerRequest, type WebviewMessage, parseWebviewMessage } from '../protocol';
import { answer } from '../shared/request-pairing';
import { type TransferStudy, centerPlanes } from '../shared/transfer';
import { isVolumeError } from '../volume/errors';
import { openStudyInWorker } from '../volume/load-in-worker';
import { viewerHtml } from './html';
import { sourceStem } from './source-stem';

/** Voxel chunk size: large enough to keep the channel busy, small enough to interleave with other messages. */
const CHUNK_BYTES = 8 * 2 ** 20;

/** Answers a viewer's paired requests (HLIP: classify, maps, prompts, export). */
export interface ViewerRequestHandler {
  handle(session: ViewerSession, request: ViewerRequest): Promise<ViewerReplies[ViewerRequest['kind']]>;
  cancel(session: ViewerSession): void;
}

export interface HostServices {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  status: vscode.StatusBarItem;
  workerScript: string;
  requests: ViewerRequestHandler;
}

export class ViewerSession implements vscode.Disposable {
  private static readonly all = new Set<ViewerSession>();
  private static readonly renderedEmitter = new vscode.EventEmitter<{ session: ViewerSession; message: WebviewMessage }>();
  /** Fires on every message the webview sends (tests and benchmarks watch 'rendered'). */
  static readonly onDidReceive = ViewerSession.renderedEmitter.event;
  static active(): ViewerSession | undefined {
    return [...ViewerSession.all].find((s) => s.panel.active);
  }
  static sessions(): ViewerSession[] {
    return [...ViewerSession.all];
  }

  private study?: Promise<TransferStudy>;
  private readonly disposables: vscode.Disposable[] = [];
  readonly openedAt = Date.now();

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly source: vscode.Uri,
    private readonly host: HostServices,
  ) {
    ViewerSession.all.add(this);
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist')] };
    webview.html = viewerHtml(webview, host.extensionUri, basename(source.fsPath));
    this.disposables.push(
      webview.onDidReceiveMessage((raw) => this.receive(raw)),
      panel.onDidChangeViewState(() => this.updateStatus()),
      panel.onDidDispose(() => this.dispose()),
    );
    this.updateStatus();
  }

  post(message: HostMessage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  command(command: ViewerCommand): void {
    void this.post({ type: 'command', command });
  }

  private receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.host.log.warn(`Ignored a malformed message from the viewer webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    ViewerSession.renderedEmitter.fire({ session: this, message: msg });
    switch (msg.type) {
      case 'request':
        void this.answer(msg.id, msg.request);
        break;
      case 'cancelClassify':
        this.host.requests.cancel(this);
        break;
      case 'ready':
        void this.sendStudy();
        break;
      case 'selectVolume':
        void this.sendVolume(msg.index);
        break;
      case 'requestOverlay':
        void this.pickOverlay();
        break;
      case 'screenshot':
        void this.saveScreenshot(msg.png, msg.saveAs);
        break;
      case 'cursor':
        this.lastCursor = msg.text;
        this.updateStatus();
        break;
      case 'log':
        this.host.log[msg.level](`[viewer] ${msg.message}`);
        break;
      case 'rendered':
      case 'errorShown':
        break;
    }
  }

  private async answer(id: number, request: ViewerRequest): Promise<void> {
    const reply = await answer(id, () => this.host.requests.handle(this, request));
    if (!reply.ok) this.host.log.error(`${request.kind}: ${reply.message}`);
    await this.post(reply);
  }

  private lastCursor = '';
  private updateStatus(): void {
    if (!this.panel.active) return;
    this.host.status.text = `$(eye) ${this.lastCursor || basename(this.source.fsPath)}`;
    this.host.status.show();
  }

  /** What the viewer lists: the study's name, its volumes and warnings (loads it if needed). */
  async summary(): Promise<{ name: string; volumes: { name: string; dims: number[] }[]; warnings: string[] }> {
    const s = await this.loadStudy();
    return { name: s.name, volumes: s.volumes.map((v) => ({ name: v.meta.name, dims: v.meta.dims })), warnings: s.warnings };
  }

  /** The study's volumes as read by the worker (shared by the viewer and HLIP classification). */
  studyData(): Promise<TransferStudy> {
    return this.loadStudy();
  }

  /** Index of the volume the viewer shows now. */
  get shownVolume(): number {
    return this.sending < 0 ? 0 : this.sending;
  }

  private loadStudy(): Promise<TransferStudy> {
    if (!this.study) {
      const path = this.source.fsPath;
      this.host.log.info(`Opening ${path}`);
      const t0 = Date.now();
      this.study = openStudyInWorker(this.host.workerScript, path, { wholeSeries: true });
      this.study.then(
        (s) => this.host.log.info(`Opened ${path}: ${s.volumes.length} volume(s) in ${Date.now() - t0} ms`),
        (e) => this.host.log.error(`Cannot open ${path}: ${e instanceof Error ? e.message : e}`),
      );
    }
    return this.study;
  }

  private async sendStudy(): Promise<void> {
    void this.post({ type: 'progress', message: `Reading ${basename(this.source.fsPath)}...` });
    try {
      const study = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `HLIP: reading ${basename(this.source.fsPath)}` },
        () => this.loadStudy(),
      );
      await this.post({
        type: 'study',
        name: study.name,
        entries: study.volumes.map((v) => ({ name: v.meta.name, modality: v.meta.modality, dims: v.meta.dims, frames: v.meta.frames })),
        warnings: study.warnings,
      });
      for (const w of study.warnings) this.host.log.warn(`${basename(this.source.fsPath)}: ${w}`);
      await this.sendVolume(0);
    } catch (e) {
      this.postError(e);
    }
  }

  private sending = -1;
  /**
   * The centre planes first (the viewer paints at once), then the voxels in chunks, so a 300 MB series neither blocks
   * the message channel in one piece nor keeps the user waiting for the last byte. A newer request stops an older one.
   */
  private async sendVolume(index: number): Promise<void> {
    try {
      const study = await this.loadStudy();
      const v = study.volumes[index];
      if (!v) return;
      this.sending = index;
      await this.post({ type: 'volume', index, meta: v.meta, preview: centerPlanes(v.meta, v.data) });
      const total = v.data.byteLength;
      for (let offset = 0; offset < total && this.sending === index && !this.disposed; offset += CHUNK_BYTES) {
        const end = Math.min(total, offset + CHUNK_BYTES);
        await this.post({ type: 'chunk', index, offset, data: v.data.slice(offset, end), done: end === total });
      }
    } catch (e) {
      this.postError(e);
    }
  }

  private async pickOverlay(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      title: 'Overlay volume (label map, probability map, attention map)',
      canSelectMany: false,
      defaultUri: vscode.Uri.file(dirname(this.source.fsPath)),
      filters: { 'Volumes': ['nii', 'gz', 'dcm', 'hdr'], 'All files': ['*'] },
    });
    if (picked?.[0]) await this.loadOverlay(picked[0]);
  }

  /** Loads a volume from disk and shows it as the overlay layer. */
  async loadOverlay(uri: vscode.Uri): Promise<void> {
    try {
      const study = await openStudyInWorker(this.host.workerScript, uri.fsPath);
      const v = study.volumes[0];
      await this.post({ type: 'overlay', name: basename(uri.fsPath), meta: v.meta, data: v.data });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      void vscode.window.showErrorMessage(`HLIP: cannot load the overlay: ${why}`);
    }
  }

  private async saveScreenshot(png: ArrayBuffer, saveAs: boolean): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const src = this.source.fsPath;
    let target = vscode.Uri.file(join(dirname(src), `${sourceStem(basename(src))}-${stamp}.png`));
    if (saveAs) {
      const chosen = await vscode.window.showSaveDialog({ defaultUri: target, filters: { 'PNG image': ['png'] } });
      if (!chosen) return;
      target = chosen;
    }
    try {
      await writeFile(target.fsPath, new Uint8Array(png), { flag: saveAs ? 'w' : 'wx' }); // never overwrite silently
      this.host.log.info(`Screenshot saved: ${target.fsPath}`);
      void this.post({ type: 'screenshotSaved', path: target.fsPath });
      void vscode.window.showInformationMessage(`HLIP: screenshot saved to ${target.fsPath}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`HLIP: cannot save the screenshot: ${e instanceof Error ? e.message : e}`);
    }
  }

  private postError(e: unknown): void {
    const code = isVolumeError(e) ? e.code : 'INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    this.host.log.error(`${this.source.fsPath}: ${message}`);
    void this.post({ type: 'error', code, message });
  }

  private disposed = false;
  dispose(): void {
    this.disposed = true;
    ViewerSession.all.delete(this);
    this.disposables.forEach((d) => d.dispose());
    if (ViewerSession.all.size === 0) this.host.status.hide();
  }
}
