/**
 * The HLIP side of the extension: the active model (converted once, cached in global storage), the inference engine
 * (a worker thread; never this thread), classification of the study in a viewer, maps as overlays, custom prompts.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { CUSTOM_SET, type Classification, type LoadedModel, classifyStudy, openModel, scanMap, scoreCustomSet, scorePrompt, tokenValues } from '../hlip/classify/study-classifier';
import { resultsCsv } from '../hlip/classify/results';
import { writeDemoModel } from '../hlip/demo/demo-model';
import { downloadModel } from '../hlip/models/download';
import { CancelledError, HlipEngine } from '../hlip/inference/engine';
import { type ModelEntry, ModelStore } from '../hlip/models/model-store';
import { resolveProviders } from '../hlip/inference/onnx-sessions';
import type { MapRequest, WebviewMessage } from '../protocol';
import { fromTransfer, volumeMeta } from '../volume/to-transfer';
import { ImportCancelled, importInChildProcess } from './import-process';
import type { ViewerSession } from './session';

const ACTIVE_MODEL = 'hlip.activeModel';
const SAVED_PROMPTS = 'hlip.savedPrompts';
export const DEFAULT_HF_REPO = 'Zch0414/hlip-2025-10-08';

interface SessionState {
  classification?: Classification;
  abort?: AbortController;
}

export class HlipService implements vscode.Disposable {
  private readonly store: ModelStore;
  private engine?: Promise<HlipEngine>;
  private model?: LoadedModel;
  private readonly state = new WeakMap<ViewerSession, SessionState>();
  readonly statusItem = vscode.window.createStatusBarItem('hlip.model', vscode.StatusBarAlignment.Right, 99);

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly workerScript: string,
    private readonly cliScript: string,
  ) {
    this.store = new ModelStore(vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath);
    this.statusItem.name = 'HLIP Model';
    this.statusItem.command = 'hlip.selectModel';
    // New providers take a fresh worker: the running one keeps its sessions until then.
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('hlip.executionProviders')) return;
        void this.engine?.then((en) => en.dispose());
        this.engine = undefined;
        this.model = undefined;
      }),
    );
  }

  // ---- models

  private async activeEntry(): Promise<ModelEntry | undefined> {
    const id = this.context.globalState.get<string>(ACTIVE_MODEL);
    return id ? await this.store.get(id) : undefined;
  }

  /** The active model, or the user's choice when none is set (demo / download / import). */
  async ensureModel(): Promise<LoadedModel | undefined> {
    const entry = (await this.activeEntry()) ?? (await this.selectModel());
    if (!entry) return undefined;
    if (this.model?.entry.manifest.id !== entry.manifest.id) {
      this.model = openModel(this.store, entry);
      const engine = await this.getEngine();
      await engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
      this.showEngineStatus(engine, entry);
    }
    return this.model;
  }

  private providers(): string[] {
    return resolveProviders(vscode.workspace.getConfiguration('hlip').get<string[]>('executionProviders'));
  }

  private getEngine(): Promise<HlipEngine> {
    this.engine ??= HlipEngine.start({ workerScript: this.workerScript, providers: this.providers(), log: (l) => this.log.info(`[inference] ${l}`) });
    return this.engine;
  }

  private showEngineStatus(engine: HlipEngine, entry: ModelEntry): void {
    const info = engine.info.visual;
    const provider = info?.provider ?? 'cpu';
    this.statusItem.text = `$(hubot) ${entry.manifest.untrained ? 'demo (untrained)' : entry.manifest.name} · ${provider}${info?.fallback ? ' $(warning)' : ''}`;
    this.statusItem.tooltip = `HLIP model ${entry.manifest.name} (${entry.manifest.visual.name}) on ${provider}` +
      (info?.fallback ? `\nFell back from ${info.fallback.requested.join(', ')}: ${info.fallback.reason}` : '');
    this.statusItem.show();
    if (info?.fallback) this.log.warn(`Execution provider fallback: ${info.fallback.reason}`);
    this.log.info(`Model ${entry.manifest.name} loaded on ${provider}`);
  }

  async setActive(entry: ModelEntry): Promise<ModelEntry> {
    await this.context.globalState.update(ACTIVE_MODEL, entry.manifest.id);
    this.model = undefined;
    return entry;
  }

  /** "HLIP: Select Model": converted models, plus the demo, download and import actions. */
  async selectModel(): Promise<ModelEntry | undefined> {
    const entries = await this.store.list();
    const activeId = this.context.globalState.get<string>(ACTIVE_MODEL);
    type Item = vscode.QuickPickItem & { run: () => Promise<ModelEntry | undefined> };
    const items: Item[] = [
      ...entries.map((e): Item => ({
        label: `${e.manifest.id === activeId ? '$(check) ' : ''}${e.manifest.name}`,
        description: `${e.manifest.visual.name}${e.manifest.untrained ? ' · untrained' : ''}`,
        detail: e.manifest.source,
        run: () => this.setActive(e),
      })),
      { label: '$(beaker) Built-in demo model', description: 'HLIP architecture, seeded random weights: untrained, scores are meaningless', run: () => this.useDemoModel() },
      { label: '$(cloud-download) Download a model...', description: DEFAULT_HF_REPO, run: () => this.download() },
      { label: '$(file-add) Import a checkpoint...', description: '.safetensors, .pt, .bin or a model folder', run: () => this.importCheckpoint() },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'HLIP model', placeHolder: 'Model used by Classify Study' });
    return picked?.run();
  }

  async useDemoModel(): Promise<ModelEntry | undefined> {
    const dir = vscode.Uri.joinPath(this.context.globalStorageUri, 'demo-model').fsPath;
    writeDemoModel(dir);
    return this.convert(dir);
  }

  /** "HLIP: Import Checkpoint": converts once (ONNX + class embeddings), cached by the checkpoint's hash. */
  async importCheckpoint(uri?: vscode.Uri): Promise<ModelEntry | undefined> {
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: 'HLIP checkpoint (file or model folder)',
        canSelectFiles: true,
        canSelectFolders: true,
        filters: { 'Checkpoints': ['safetensors', 'pt', 'pth', 'bin', 'ckpt'], 'All files': ['*'] },
      });
      uri = picked?.[0];
    }
    if (!uri) return undefined;
    if (!(await this.consentForWorkspaceFile(uri))) return undefined;
    return this.convert(uri.fsPath);
  }

  /**
   * A model file inside an untrusted workspace is only read with the user's consent (the reader never runs code from
   * it, but the workspace may have been handed to the user by anyone).
   */
  private async consentForWorkspaceFile(uri: vscode.Uri): Promise<boolean> {
    if (vscode.workspace.isTrusted || !vscode.workspace.getWorkspaceFolder(uri)) return true;
    const load = 'Load Model';
    const answer = await vscode.window.showWarningMessage(
      `${basename(uri.fsPath)} comes from a workspace you have not trusted. Load this model file anyway?`,
      { modal: true, detail: 'HLIP reads tensors only (pickled code is refused), but only load model files from sources you trust.' },
      load,
    );
    return answer === load;
  }

  private async convert(path: string): Promise<ModelEntry | undefined> {
    try {
      const entry = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `HLIP: converting ${basename(path)}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          const id = await importInChildProcess(this.cliScript, path, {
            cacheDir: this.store.root,
            providers: this.providers(),
            signal: abort.signal,
            onProgress: (stage, fraction) => {
              progress.report({ message: stage, increment: Math.max(0, (fraction - last) * 100) });
              last = fraction;
            },
          });
          const e = await this.store.get(id);
          if (!e) throw new Error(`the converted model ${id} is missing from ${this.store.root}`);
          return e;
        },
      );
      this.log.info(`Model ready: ${entry.manifest.name} (${entry.manifest.visual.name}) from ${path}`);
      for (const w of entry.manifest.warnings) this.log.warn(`${entry.manifest.name}: ${w}`);
      void vscode.window.showInformationMessage(
        `HLIP: ${entry.manifest.name} is ready (${entry.manifest.visual.name})${entry.manifest.untrained ? ': UNTRAINED weights, scores are meaningless' : ''}.`,
      );
      return this.setActive(entry);
    } catch (e) {
      if (e instanceof ImportCancelled) {
        void vscode.window.showInformationMessage('HLIP: model conversion cancelled.');
        return undefined;
      }
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`Cannot import ${path}: ${msg}`);
      void vscode.window.showErrorMessage(`HLIP: cannot use ${basename(path)}: ${msg}`);
      return undefined;
    }
  }

  /** "HLIP: Download Model": a Hugging Face repo (default HLIP's release) or a URL; resumable, checksum-verified. */
  async download(source?: string): Promise<ModelEntry | undefined> {
    source ??= await vscode.window.showInputBox({
      title: 'HLIP: download a model',
      prompt: 'Hugging Face repository (owner/name) or an https URL of a checkpoint file',
      value: DEFAULT_HF_REPO,
    });
    if (!source) return undefined;
    const hubUrl = vscode.workspace.getConfiguration('hlip').get<string>('hubUrl') || 'https://huggingface.co';
    const dest = vscode.Uri.joinPath(this.context.globalStorageUri, 'downloads', source.replace(/[^\w.-]+/g, '_')).fsPath;
    try {
      const dir = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `HLIP: downloading ${source}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          const res = await downloadModel(source, dest, {
            hubUrl,
            signal: abort.signal,
            onProgress: (p) => {
              const f = p.total ? p.received / p.total : 0;
              progress.report({ message: `${p.file}: ${(p.received / 2 ** 20).toFixed(1)} MB${p.total ? ` of ${(p.total / 2 ** 20).toFixed(1)} MB` : ''}`, increment: Math.max(0, (f - last) * 100) });
              last = f;
            },
          });
          return res.dir;
        },
      );
      this.log.info(`Downloaded ${source} to ${dir}`);
      return this.convert(dir);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const cancelled = (e as Error).name === 'AbortError' || e instanceof CancelledError;
      this.log[cancelled ? 'info' : 'error'](`Download of ${source} ${cancelled ? 'paused (resumes next time)' : `failed: ${msg}`}`);
      void (cancelled
        ? vscode.window.showInformationMessage('HLIP: download paused; run Download Model again to resume.')
        : vscode.window.showErrorMessage(`HLIP: download failed: ${msg}`));
      return undefined;
    }
  }

  async clearCache(): Promise<void> {
    await this.store.clear();
    await this.context.globalState.update(ACTIVE_MODEL, undefined);
    this.model = undefined;
    this.statusItem.hide();
    void vscode.window.showInformationMessage('HLIP: converted models removed.');
  }

  // ---- classification in a viewer

  async classify(session: ViewerSession): Promise<Classification | undefined> {
    const st = this.stateOf(session);
    st.abort?.abort();
    const abort = (st.abort = new AbortController());
    const post = (state: 'running' | 'done' | 'cancelled' | 'error', message: string, fraction?: number) =>
      void session.post({ type: 'classifyState', state, message, fraction });
    try {
      post('running', 'Preparing the model...', 0);
      const model = await this.ensureModel();
      if (!model) {
        post('cancelled', 'No model selected.');
        return undefined;
      }
      const engine = await this.getEngine();
      const study = await session.studyData();
      const volumes = study.volumes.map(fromTransfer);
      const c = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'HLIP: classifying' },
        () => classifyStudy(volumes, model, engine, { signal: abort.signal, onProgress: (m, f) => post('running', m, f) }),
      );
      st.classification = c;
      await this.addCustomSet(c, model, engine);
      this.log.info(`Classified ${session.source.fsPath} with ${c.results.model.name} on ${c.results.provider}: ${c.results.timings.totalMs.toFixed(0)} ms`);
      this.showEngineStatus(engine, model.entry);
      await session.post({ type: 'results', results: c.results });
      await session.post({ type: 'savedPrompts', prompts: this.savedPrompts() });
      if (vscode.workspace.getConfiguration('hlip').get<boolean>('showAttentionAfterClassify', true)) await this.showMap(session, { kind: 'cls' });
      return c;
    } catch (e) {
      if (e instanceof CancelledError || abort.signal.aborted) {
        post('cancelled', 'Classification cancelled.');
        return undefined;
      }
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`Classify ${session.source.fsPath}: ${msg}`);
      post('error', `Cannot classify: ${msg}`);
      return undefined;
    }
  }

  private stateOf(session: ViewerSession): SessionState {
    let st = this.state.get(session);
    if (!st) this.state.set(session, (st = {}));
    return st;
  }

  classification(session: ViewerSession): Classification | undefined {
    return this.state.get(session)?.classification;
  }

  /** Overlays a map on the scan the viewer shows (or the first classified scan when it shows another volume). */
  async showMap(session: ViewerSession, map: MapRequest): Promise<void> {
    const c = this.classification(session);
    if (!c || !this.model) return;
    const engine = await this.getEngine();
    const values = await tokenValues(c, map, this.model, engine);
    const study = await session.studyData();
    const shown = session.shownVolume;
    let s = c.scans.findIndex((x) => x.volumeIndex === shown);
    if (s < 0) s = 0;
    const vol = fromTransfer(study.volumes[c.scans[s].volumeIndex]);
    const data = scanMap(c, values, s, vol);
    // Voxels the model never saw (cropped away) come back as exactly 0: make them NaN, which the overlay never paints,
    // so a map with negative values (patch_proj . text) does not tint them. The range is that of the field of view, so
    // the colour scale spans what the model saw (attention maps vary little in absolute terms).
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === 0) data[i] = NaN;
      else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    const range: [number, number] = lo === Infinity ? [0, 1] : [lo, hi];
    const meta = { ...volumeMeta(vol), dataType: 'float32' as const, rescale: null, frames: 1, range, header: [], warnings: [] };
    const label = map.kind === 'cls' ? 'CLS attention' : map.kind === 'diagnosis' ? map.className : `"${map.text}"`;
    await session.post({ type: 'overlay', name: `HLIP: ${label} (${c.scans[s].name})`, meta, data: data.buffer as ArrayBuffer });
  }

  /** The saved prompts as their own ranked set ("My prompts"), replacing an older one. */
  private async addCustomSet(c: Classification, model: LoadedModel, engine: HlipEngine): Promise<void> {
    c.results.sets = c.results.sets.filter((s) => s.name !== CUSTOM_SET);
    const custom = await scoreCustomSet(c, model, engine, this.savedPrompts());
    if (custom) c.results.sets.push(custom);
  }

  private savedPrompts(): string[] {
    return this.context.globalState.get<string[]>(SAVED_PROMPTS) ?? [];
  }

  /** Webview requests that concern HLIP; returns false for messages it does not handle. */
  async onMessage(session: ViewerSession, msg: WebviewMessage): Promise<boolean> {
    try {
      switch (msg.type) {
        case 'classify':
          await this.classify(session);
          return true;
        case 'cancelClassify':
          this.state.get(session)?.abort?.abort();
          return true;
        case 'showMap':
          await this.showMap(session, msg.map);
          return true;
        case 'scorePrompt': {
          const c = this.classification(session);
          if (!c || !this.model) throw new Error('Classify the study first, then score prompts against it.');
          await session.post({ type: 'promptScore', result: await scorePrompt(c, this.model, await this.getEngine(), msg.text) });
          return true;
        }
        case 'savePrompt':
        case 'removePrompt': {
          const list = this.savedPrompts().filter((p) => p !== msg.text);
          if (msg.type === 'savePrompt') list.push(msg.text);
          await this.context.globalState.update(SAVED_PROMPTS, list);
          await session.post({ type: 'savedPrompts', prompts: list });
          const c = this.classification(session);
          if (c && this.model) {
            await this.addCustomSet(c, this.model, await this.getEngine());
            await session.post({ type: 'results', results: c.results });
          }
          return true;
        }
        case 'exportResults':
          await this.exportResults(session, msg.format);
          return true;
      }
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      this.log.error(m);
      void session.post({ type: 'classifyState', state: 'error', message: m });
      return true;
    }
    return false;
  }

  private async exportResults(session: ViewerSession, format: 'json' | 'csv'): Promise<void> {
    const c = this.classification(session);
    if (!c) return;
    const src = session.source.fsPath;
    const stem = basename(src).replace(/\.(nii\.gz|nii|dcm)$/i, '');
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(join(dirname(src), `${stem}-hlip.${format}`)),
      filters: format === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] },
    });
    if (!target) return;
    await writeFile(target.fsPath, format === 'json' ? JSON.stringify(c.results, null, 1) : resultsCsv(c.results));
    this.log.info(`Results exported to ${target.fsPath}`);
  }

  dispose(): void {
    this.statusItem.dispose();
    void this.engine?.then((e) => e.dispose());
  }
}
