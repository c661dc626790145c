/**
 * The HLIP model the extension uses: which converted model is active (global state), the inference engine (a child
 * process; never this thread), and the ways to get a model: the built-in demo, a download, an imported checkpoint.
 * Conversion runs in a child process (`hlip import`), so this file loads only the light catalogue.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { type LoadedModel, openModel } from '../hlip/classify/study-classifier';
import { writeDemoModel } from '../hlip/demo/demo-model';
import { CancelledError, HlipEngine } from '../hlip/inference/engine';
import { listsWebgpu, resolveProviders } from '../hlip/inference/provider-order';
import { downloadModel } from '../hlip/models/download';
import { type ModelEntry, ModelCatalogue, precisionWarning, towersAt } from '../hlip/models/model-catalogue';
import type { Precision } from '../hlip/graph/precision';
import { ImportCancelled, importInChildProcess } from './import-process';
import { setting } from './settings';

const ACTIVE_MODEL = 'hlip.activeModel';
export const DEFAULT_HF_REPO = 'Zch0414/hlip-2025-10-08';

export class ModelManager implements vscode.Disposable {
  readonly catalogue: ModelCatalogue;
  private enginePromise?: Promise<HlipEngine>;
  private loaded?: LoadedModel;
  /** The precision the loaded model's towers run at (hlip.precision when they could be built). */
  private loadedPrecision?: Precision;
  private readonly statusItem = vscode.window.createStatusBarItem('hlip.model', vscode.StatusBarAlignment.Right, 99);
  private readonly disposables: vscode.Disposable[] = [this.statusItem];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly workerScript: string,
    private readonly cliScript: string,
  ) {
    this.catalogue = new ModelCatalogue(vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath);
    this.statusItem.name = 'HLIP Model';
    this.statusItem.command = 'hlip.selectModel';
    // New providers take a fresh worker: the running one keeps its sessions until then.
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('hlip.executionProviders')) return;
        void this.enginePromise?.then((en) => en.dispose());
        this.enginePromise = undefined;
        this.loaded = undefined;
      }),
    );
  }

  /** The model loaded now (after ensureModel), if any. */
  get model(): LoadedModel | undefined {
    return this.loaded;
  }

  private async activeEntry(): Promise<ModelEntry | undefined> {
    const id = this.context.globalState.get<string>(ACTIVE_MODEL);
    if (!id) return undefined;
    const entry = await this.catalogue.get(id);
    if (entry) return entry;
    // Converted by an earlier version of the extension: converted again from its checkpoint while that is still there.
    const old = this.catalogue.outdated().find((o) => o.id === id);
    return old && existsSync(old.source) ? this.convertAgain(old) : undefined;
  }

  /** A model of an earlier version converted again from its checkpoint (with Restricted Mode's consent). */
  private async convertAgain(old: { name: string; source: string }): Promise<ModelEntry | undefined> {
    if (!(await this.consentForWorkspaceFile(vscode.Uri.file(old.source)))) return undefined;
    this.log.info(`${old.name} was converted by an earlier version of HLIP: converting it again from ${old.source}`);
    return this.convert(old.source);
  }

  /** The active model loaded in the engine, or the user's choice when none is set (demo / download / import). */
  async ensureModel(): Promise<LoadedModel | undefined> {
    const entry = (await this.activeEntry()) ?? (await this.selectModel());
    if (!entry) return undefined;
    const precision = this.precision();
    if (this.loaded?.entry.manifest.id !== entry.manifest.id || this.loadedPrecision !== precision) {
      const model = openModel(this.catalogue, entry);
      const towers = await this.towersAt(entry, precision);
      const engine = await this.engine();
      await engine.load(towers);
      this.loaded = model;
      this.loadedPrecision = precision;
      this.showEngineStatus(engine, entry);
    }
    return this.loaded;
  }

  /** hlip.precision: fp32 (default) or int8. */
  precision(): Precision {
    return setting<Precision>('precision');
  }

  /**
   * The entry's towers at `precision`, built once in the conversion child process when missing (a model converted
   * before the setting changed); fp32 when they cannot be built (the checkpoint moved), with a warning.
   */
  private async towersAt(entry: ModelEntry, precision: Precision): Promise<{ visualPath: string; textPath?: string }> {
    const ready = towersAt(entry, precision);
    if (ready) {
      const warning = precisionWarning(entry, precision);
      if (warning) this.log.warn(warning);
      return ready;
    }
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `HLIP: building the ${precision} model of ${entry.manifest.name}`, cancellable: true },
        (_, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return this.convertQuietly(entry.manifest.source, undefined, abort.signal);
        },
      );
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log.warn(`No ${precision} model for ${entry.manifest.name}: ${msg}; running fp32`);
      void vscode.window.showWarningMessage(`HLIP: cannot build the ${precision} model (${msg}); running fp32.`);
    }
    const built = towersAt(entry, precision);
    const warning = built && precisionWarning(entry, precision);
    if (warning) {
      this.log.warn(warning);
      void vscode.window.showWarningMessage(`HLIP: ${warning}`);
    }
    return built ?? towersAt(entry, 'fp32')!;
  }

  providers(): string[] {
    return resolveProviders(this.providerSetting());
  }

  /** The user's own list (empty: the platform default). Child processes get this, so a default webgpu stays implicit there. */
  providerSetting(): string[] | undefined {
    const s = setting<string[]>('executionProviders');
    return s?.length ? s : undefined;
  }

  engine(): Promise<HlipEngine> {
    this.enginePromise ??= HlipEngine.start({ workerScript: this.workerScript, providers: this.providers(), softwareGpu: listsWebgpu(this.providerSetting()), log: (l) => this.log.info(`[inference] ${l}`) });
    return this.enginePromise;
  }

  /** Status bar: the model and the provider it runs on (with the fallback reason on hover). */
  async showEngineStatus(engine?: HlipEngine, entry = this.loaded?.entry): Promise<void> {
    if (!entry) return;
    const info = (engine ?? (await this.engine())).info.visual;
    const provider = info?.adapter ? `${info.provider} (${info.adapter})` : info?.provider ?? 'cpu';
    const precision = info?.precision ?? 'fp32';
    this.statusItem.text = `$(hubot) ${entry.manifest.untrained ? 'demo (untrained)' : entry.manifest.name} · ${provider}${precision === 'fp32' ? '' : ` · ${precision}`}${info?.fallback ? ' $(warning)' : ''}`;
    this.statusItem.tooltip = `HLIP model ${entry.manifest.name} (${entry.manifest.visual.name}) on ${provider}, ${precision}` +
      (info?.fallback ? `\nFell back from ${info.fallback.requested.join(', ')}: ${info.fallback.reason}` : '');
    this.statusItem.show();
    if (info?.fallback) this.log.warn(`Execution provider fallback: ${info.fallback.reason}`);
    this.log.info(`Model ${entry.manifest.name} loaded on ${provider} (${precision})`);
  }

  async setActive(entry: ModelEntry): Promise<ModelEntry> {
    await this.context.globalState.update(ACTIVE_MODEL, entry.manifest.id);
    this.loaded = undefined;
    return entry;
  }

  /** "HLIP: Select Model": converted models, plus the demo, download and import actions. */
  async selectModel(): Promise<ModelEntry | undefined> {
    const entries = await this.catalogue.list();
    const activeId = this.context.globalState.get<string>(ACTIVE_MODEL);
    type Item = vscode.QuickPickItem & { run: () => Promise<ModelEntry | undefined> };
    const items: Item[] = [
      ...entries.map((e): Item => ({
        label: `${e.manifest.id === activeId ? '$(check) ' : ''}${e.manifest.name}`,
        description: `${e.manifest.visual.name}${e.manifest.untrained ? ' · untrained' : ''}`,
        detail: e.manifest.source,
        run: () => this.setActive(e),
      })),
      ...this.catalogue.outdated().filter((o) => existsSync(o.source)).map((o): Item => ({
        label: o.name,
        description: 'converted by an earlier version of HLIP: converts again',
        detail: o.source,
        run: () => this.convertAgain(o),
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

  /**
   * In Restricted Mode the download may have been asked for by the workspace (a command link or task passing a source),
   * so converting it (parsing the files) waits for the user to confirm what was fetched and from where.
   */
  private async consentToConvertDownload(source: string, hubUrl: string | undefined): Promise<boolean> {
    if (vscode.workspace.isTrusted) return true;
    const convert = 'Convert Model';
    const from = /^https?:\/\//i.test(source) ? source : `${source} on ${hubUrl ?? 'https://huggingface.co'}`;
    const answer = await vscode.window.showWarningMessage(
      `HLIP downloaded ${from} while this workspace is in Restricted Mode. Convert and use this model?`,
      { modal: true, detail: 'HLIP reads tensors only (pickled code is refused), but only use models from sources you trust. The download stays in the cache either way.' },
      convert,
    );
    if (answer !== convert) this.log.info(`Download of ${source} kept but not converted (Restricted Mode, not confirmed).`);
    return answer === convert;
  }

  /** Converts (or finds in the catalogue) a checkpoint in the conversion child process, with progress and cancel. */
  async convertQuietly(path: string, progress?: (stage: string, fraction: number) => void, signal?: AbortSignal): Promise<ModelEntry> {
    const id = await importInChildProcess(this.cliScript, path, { cacheDir: this.catalogue.root, providers: this.providerSetting(), precision: this.precision(), signal, onProgress: progress });
    const e = await this.catalogue.get(id);
    if (!e) throw new Error(`the converted model ${id} is missing from ${this.catalogue.root}`);
    return e;
  }

  private async convert(path: string): Promise<ModelEntry | undefined> {
    try {
      const entry = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `HLIP: converting ${basename(path)}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          return this.convertQuietly(path, (stage, fraction) => {
            progress.report({ message: stage, increment: Math.max(0, (fraction - last) * 100) });
            last = fraction;
          }, abort.signal);
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
    const hubUrl = setting<string>('hubUrl');
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
      if (!(await this.consentToConvertDownload(source, hubUrl))) return undefined;
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
    await this.catalogue.clear();
    await this.context.globalState.update(ACTIVE_MODEL, undefined);
    this.loaded = undefined;
    this.statusItem.hide();
    void vscode.window.showInformationMessage('HLIP: converted models removed.');
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    void this.enginePromise?.then((e) => e.dispose());
  }
}
