/**
 * One open viewer: a webview showing a file or folder. Used by the custom editor (files) and by "Open Folder as
 * Study" (folders, in a plain webview panel). Reading runs in a worker thread, started with the session so it reads
 * while the webview boots; the first volume streams to the webview as it is read (its centre slice first), the others
 * go whole on request. Voxels travel as ArrayBuffers.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { type HostMessage, type ViewerCommand, type ViewerReplies, type ViewerRequest, type WebviewMessage, parseWebviewMessage } from '../protocol';
import { answer } from '../shared/request-pairing';
import { type TransferStudy, type TransferVolume, centerPlanes } from '../shared/transfer';
import type { VolumeMeta } from '../shared/volume-meta';
import { isVolumeError } from '../volume/errors';
import { openStudyInWorker, prepareVolumeWorker } from '../volume/load-in-worker';
import { viewerHtml } from './html';
import { sourceStem } from './source-stem';

/** Voxel chunk size: large enough to keep the channel busy, small enough to interleave with other messages. */
const CHUNK_BYTES = 4 * 2 ** 20;

/** The first volume while the worker reads it: its header, slabs not yet posted, byte ranges posted. */
interface Streamed {
  meta: VolumeMeta;
  queue: { offset: number; data: ArrayBuffer }[];
  sent: [number, number][];
  posted: boolean;
  /** The volume as finally read (then unsent ranges come from it and the queue is dropped). */
  final?: TransferVolume;
  planesSent: boolean;
}

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
  /** When activate() ran (epoch ms; the benchmark's first-open breakdown). */
  activatedAt?: number;
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
  /** Host-side timings (epoch ms) sent with the study: the benchmark prints where the first paint's time went. */
  private readonly marks: Record<string, number> = { session: this.openedAt };
  private streamed?: Streamed;
  private webviewReady = false;
  private draining = false;

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
    if (host.activatedAt) this.marks.activated = host.activatedAt;
    this.updateStatus();
    void this.loadStudy().catch(() => undefined); // read while the webview boots; errors are shown once it is up
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
      const t0 = (this.marks.workerStart = Date.now());
      this.study = openStudyInWorker(this.host.workerScript, path, {
        wholeSeries: true,
        stream: {
          start: (meta) => {
            this.marks.headerRead = Date.now();
            this.streamed = { meta, queue: [], sent: [], posted: false, planesSent: false };
            this.kick();
          },
          slab: (offset, data) => {
            this.streamed?.queue.push({ offset, data });
            this.kick();
          },
        },
      });
      this.study.then(
        (s) => {
          this.marks.studyRead = Date.now();
          prepareVolumeWorker(this.host.workerScript); // for the next open, now that this read is done
          this.host.log.info(`Opened ${path}: ${s.volumes.length} volume(s) in ${Date.now() - t0} ms`);
        },
        (e) => this.host.log.error(`Cannot open ${path}: ${e instanceof Error ? e.message : e}`),
      );
    }
    return this.study;
  }

  private async sendStudy(): Promise<void> {
    void this.post({ type: 'progress', message: `Reading ${basename(this.source.fsPath)}...` });
    if (this.webviewReady) this.streamed = undefined; // a reloaded page: send the volume whole
    this.webviewReady = true;
    this.kick();
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
        marks: this.marks,
      });
      for (const w of study.warnings) this.host.log.warn(`${basename(this.source.fsPath)}: ${w}`);
      const s = this.streamed;
      const first = study.volumes[0];
      if (s && first && sameVolume(s.meta, first.meta)) {
        s.final = first;
        this.kick();
      } else await this.sendVolume(0); // nothing streamed, or not what came out first (its series failed later)
    } catch (e) {
      this.postError(e);
    }
  }

  /** Posts what the streamed volume has ready (once the webview is up), one message at a time. */
  private kick(): void {
    const s = this.streamed;
    if (!s || !this.webviewReady || this.draining || this.disposed || (this.sending !== -1 && this.sending !== 0)) return;
    this.draining = true;
    void this.drain(s).then(
      () => (this.draining = false),
      (e) => {
        this.draining = false;
        this.postError(e);
      },
    );
  }

  /**
   * The streamed volume: its header, the slabs in arrival order (the centre slice alone first, then contiguous ones
   * merged into chunks); once it is all read, its centre planes (coronal and sagittal paint without waiting for the
   * rest) and the ranges not sent yet, from the final buffer.
   */
  private async drain(s: Streamed): Promise<void> {
    if (!s.posted) {
      s.posted = true;
      this.sending = 0;
      void this.post({ type: 'volume', index: 0, meta: s.meta }); // posts keep their order: no round trip to wait
    }
    while (!this.disposed && this.sending === 0 && this.streamed === s) {
      if (s.final && !s.planesSent) {
        s.planesSent = true;
        s.queue = [];
        await this.post({ type: 'planes', index: 0, preview: centerPlanes(s.final.meta, s.final.data), range: s.final.meta.range });
        continue;
      }
      const job = s.final ? unsent(s.sent, s.final.data) : take(s.queue, s.sent.length === 0 ? 0 : CHUNK_BYTES);
      if (!job) return;
      const end = job.offset + job.data.byteLength;
      s.sent.push([job.offset, end]);
      this.marks.firstChunkPosted ??= Date.now();
      await this.post({ type: 'chunk', index: 0, offset: job.offset, data: job.data, done: !!s.final && !unsent(s.sent, s.final.data, 1) });
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
      this.streamed = undefined; // a stream still going stops: this volume replaces it
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

const sameVolume = (a: VolumeMeta, b: VolumeMeta) =>
  a.name === b.name && a.dataType === b.dataType && a.frames === b.frames && a.dims.every((d, i) => d === b.dims[i]);

/**
 * The next slabs of the queue: the first, and those that continue it, up to `max` bytes in one buffer (a bigger slab
 * is split, so little is in flight when the centre planes want to jump the queue). `max` 0: the first slab alone.
 */
function take(queue: { offset: number; data: ArrayBuffer }[], max: number): { offset: number; data: ArrayBuffer } | undefined {
  let first = queue.shift();
  if (!first) return undefined;
  if (max > 0 && first.data.byteLength > max) {
    queue.unshift({ offset: first.offset + max, data: first.data.slice(max) });
    first = { offset: first.offset, data: first.data.slice(0, max) };
  }
  queue.sort((a, b) => a.offset - b.offset);
  const parts = [first];
  let size = first.data.byteLength;
  while (queue.length && queue[0].offset === first.offset + size && size + queue[0].data.byteLength <= max) {
    const next = queue.shift()!;
    parts.push(next);
    size += next.data.byteLength;
  }
  if (parts.length === 1) return first;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.data), at);
    at += p.data.byteLength;
  }
  return { offset: first.offset, data: out.buffer };
}

/** The first byte range of `data` outside the `sent` ranges, at most `max` bytes (copied); undefined when none. */
function unsent(sent: [number, number][], data: ArrayBuffer, max = CHUNK_BYTES): { offset: number; data: ArrayBuffer } | undefined {
  const ranges = [...sent].sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [from, to] of ranges) {
    if (from > at) break;
    at = Math.max(at, to);
  }
  if (at >= data.byteLength) return undefined;
  const next = ranges.find(([from]) => from > at)?.[0] ?? data.byteLength;
  const end = Math.min(next, at + max);
  return { offset: at, data: data.slice(at, end) };
}
