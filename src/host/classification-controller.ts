/**
 * HLIP in an open viewer: classifying its study, the maps laid over its scans, prompts scored against it, and exports.
 * One state per viewer; the model and the engine come from the ModelManager. Answers the viewer's paired requests.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { mapLabel, prepareOverlay, scanMap, tokenValues } from '../hlip/classify/maps';
import { CUSTOM_SET, scoreCustomSet, scorePrompt } from '../hlip/classify/prompts';
import { resultsCsv } from '../hlip/classify/results';
import { type Classification, type LoadedModel, classifyStudy } from '../hlip/classify/study-classifier';
import { CancelledError, type HlipEngine } from '../hlip/inference/engine';
import type { MapRequest, ViewerReplies, ViewerRequest } from '../protocol';
import { CodedError } from '../shared/coded-error';
import { fromTransfer, volumeMeta } from '../volume/to-transfer';
import type { ModelManager } from './model-manager';
import type { ViewerRequestHandler, ViewerSession } from './session';
import { setting } from './settings';
import { sourceStem } from './source-stem';

const SAVED_PROMPTS = 'hlip.savedPrompts';

interface ViewerState {
  classification?: Classification;
  abort?: AbortController;
}

export class ClassificationController implements ViewerRequestHandler {
  private readonly state = new WeakMap<ViewerSession, ViewerState>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly models: ModelManager,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  classification(session: ViewerSession): Classification | undefined {
    return this.state.get(session)?.classification;
  }

  async handle(session: ViewerSession, request: ViewerRequest): Promise<ViewerReplies[ViewerRequest['kind']]> {
    switch (request.kind) {
      case 'classify':
        return (await this.run(session))?.results ?? null;
      case 'showMap':
        await this.showMap(session, request.map);
        return null;
      case 'scorePrompt': {
        const { c, model, engine } = await this.classified(session);
        return scorePrompt(c, model, engine, request.text);
      }
      case 'savePrompt':
      case 'removePrompt':
        return this.editSavedPrompts(session, request.kind, request.text);
      case 'exportResults':
        return this.exportResults(session, request.format);
    }
  }

  cancel(session: ViewerSession): void {
    this.state.get(session)?.abort?.abort();
  }

  /** Classifies the viewer's study; failures are shown in the viewer and logged, and give undefined. */
  async classify(session: ViewerSession): Promise<Classification | undefined> {
    return this.run(session).catch(() => undefined);
  }

  /** As classify, but a failure rejects (a paired request replies with the error). */
  private async run(session: ViewerSession): Promise<Classification | undefined> {
    const st = this.stateOf(session);
    st.abort?.abort();
    const abort = (st.abort = new AbortController());
    const post = (state: 'running' | 'done' | 'cancelled' | 'error', message: string, fraction?: number) =>
      void session.post({ type: 'classifyState', state, message, fraction });
    try {
      post('running', 'Preparing the model...', 0);
      const model = await this.models.ensureModel();
      if (!model) {
        post('cancelled', 'No model selected.');
        return undefined;
      }
      const engine = await this.models.engine();
      const study = await session.studyData();
      const volumes = study.volumes.map(fromTransfer);
      const c = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'HLIP: classifying' },
        () => classifyStudy(volumes, model, engine, { signal: abort.signal, onProgress: (m, f) => post('running', m, f) }),
      );
      st.classification = c;
      await this.addCustomSet(c, model, engine);
      this.log.info(`Classified ${session.source.fsPath} with ${c.results.model.name} on ${c.results.provider}: ${c.results.timings.totalMs.toFixed(0)} ms`);
      await this.models.showEngineStatus(engine, model.entry);
      await session.post({ type: 'results', results: c.results });
      await session.post({ type: 'savedPrompts', prompts: this.savedPrompts() });
      if (setting<boolean>('showAttentionAfterClassify')) await this.showMap(session, { kind: 'cls' });
      return c;
    } catch (e) {
      if (e instanceof CancelledError || abort.signal.aborted) {
        post('cancelled', 'Classification cancelled.');
        return undefined;
      }
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`Classify ${session.source.fsPath}: ${msg}`);
      post('error', `Cannot classify: ${msg}`);
      throw e;
    }
  }

  private stateOf(session: ViewerSession): ViewerState {
    let st = this.state.get(session);
    if (!st) this.state.set(session, (st = {}));
    return st;
  }

  /** The viewer's classification with the model and engine that made it; a coded error when there is none yet. */
  private async classified(session: ViewerSession): Promise<{ c: Classification; model: LoadedModel; engine: HlipEngine }> {
    const c = this.classification(session);
    const model = this.models.model;
    if (!c || !model) throw new CodedError('NOT_CLASSIFIED', 'Classify the study first, then score prompts or show maps against it.');
    return { c, model, engine: await this.models.engine() };
  }

  /** Overlays a map on the scan the viewer shows (or the first classified scan when it shows another volume). */
  async showMap(session: ViewerSession, map: MapRequest): Promise<void> {
    const { c, model, engine } = await this.classified(session);
    await overlayMap(session, c, model, engine, map);
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

  private async editSavedPrompts(session: ViewerSession, kind: 'savePrompt' | 'removePrompt', text: string): Promise<string[]> {
    const list = this.savedPrompts().filter((p) => p !== text);
    if (kind === 'savePrompt') list.push(text);
    await this.context.globalState.update(SAVED_PROMPTS, list);
    await session.post({ type: 'savedPrompts', prompts: list });
    const c = this.classification(session);
    const model = this.models.model;
    if (c && model) {
      await this.addCustomSet(c, model, await this.models.engine());
      await session.post({ type: 'results', results: c.results });
    }
    return list;
  }

  private async exportResults(session: ViewerSession, format: 'json' | 'csv'): Promise<string | null> {
    const c = this.classification(session);
    if (!c) throw new CodedError('NOT_CLASSIFIED', 'Classify the study first, then export its results.');
    const src = session.source.fsPath;
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(join(dirname(src), `${sourceStem(basename(src))}-hlip.${format}`)),
      filters: format === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] },
    });
    if (!target) return null;
    await writeFile(target.fsPath, format === 'json' ? JSON.stringify(c.results, null, 1) : resultsCsv(c.results));
    this.log.info(`Results exported to ${target.fsPath}`);
    return target.fsPath;
  }
}

/**
 * Puts a classification's map in a viewer: on the scan it shows (or the first classified scan when it shows another
 * volume). Also used for the checkpoints of Compare Checkpoints (their own classification, model and engine);
 * `prefix` names the map's source in the overlay's title.
 */
export async function overlayMap(session: ViewerSession, c: Classification, model: LoadedModel, engine: HlipEngine, map: MapRequest, prefix = ''): Promise<void> {
  const values = await tokenValues(c, map, model, engine);
  const study = await session.studyData();
  const s = Math.max(0, c.scans.findIndex((x) => x.volumeIndex === session.shownVolume));
  const vol = fromTransfer(study.volumes[c.scans[s].volumeIndex]);
  const data = scanMap(c, values, s, vol);
  const range = prepareOverlay(data);
  const meta = { ...volumeMeta(vol), dataType: 'float32' as const, rescale: null, frames: 1, range, header: [], warnings: [] };
  await session.post({ type: 'overlay', name: `${prefix}${mapLabel(map, c.scans[s].name)}`, meta, data: data.buffer as ArrayBuffer });
}
