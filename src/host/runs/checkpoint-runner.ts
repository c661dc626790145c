/**
 * Checkpoints for Compare Checkpoints: converted in the `hlip import` child process (cached by hash, like every model)
 * and run in an inference engine of their own, so the model the rest of the editor uses stays loaded.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { openModel, type LoadedModel } from '../../hlip/classify/study-classifier';
import { HlipEngine } from '../../hlip/inference/engine';
import { listsWebgpu } from '../../hlip/inference/provider-order';
import type { ModelEntry } from '../../hlip/models/model-catalogue';
import type { CheckpointRunner } from '../../runs';
import { importInChildProcess } from '../import-process';
import type { ModelManager } from '../model-manager';
import { setting } from '../settings';

/**
 * The vocabulary for a training checkpoint: open_clip's trainer saves none, so the setting hlip.vocabPath, else a
 * vocab.txt beside the checkpoint, in its run folder or the logs folder above.
 */
export function vocabFor(checkpoint: string): string | undefined {
  const set = setting<string>('vocabPath');
  if (set && existsSync(set)) return set;
  let dir = dirname(checkpoint);
  for (let i = 0; i < 4; i++, dir = dirname(dir)) if (existsSync(join(dir, 'vocab.txt'))) return join(dir, 'vocab.txt');
  return undefined;
}

/** Converts (or finds in the catalogue) a checkpoint in the `hlip import` child process, with its vocabulary. */
export async function convertCheckpoint(models: ModelManager, cliScript: string, path: string, onStage: (stage: string) => void = () => {}, signal?: AbortSignal): Promise<ModelEntry> {
  const id = await importInChildProcess(cliScript, path, {
    cacheDir: models.catalogue.root, vocabPath: vocabFor(path), providers: models.providers(), signal, onProgress: (s) => onStage(s),
  });
  const entry = await models.catalogue.get(id);
  if (!entry) throw new Error(`the converted model ${id} is missing from ${models.catalogue.root}`);
  return entry;
}

export class CheckpointEngine implements CheckpointRunner, vscode.Disposable {
  private constructor(
    readonly engine: HlipEngine,
    private readonly models: ModelManager,
    private readonly cliScript: string,
  ) {}

  static async start(models: ModelManager, workerScript: string, cliScript: string, log: vscode.LogOutputChannel): Promise<CheckpointEngine> {
    const engine = await HlipEngine.start({ workerScript, providers: models.providers(), softwareGpu: listsWebgpu(models.providerSetting()), log: (l) => log.info(`[compare inference] ${l}`) });
    return new CheckpointEngine(engine, models, cliScript);
  }

  readonly entries = new Map<string, ModelEntry>();

  async convert(path: string, onStage: (stage: string) => void = () => {}, signal?: AbortSignal): Promise<ModelEntry> {
    const entry = await convertCheckpoint(this.models, this.cliScript, path, onStage, signal);
    this.entries.set(path, entry);
    return entry;
  }

  async load(path: string, onStage: (stage: string) => void, signal?: AbortSignal): Promise<LoadedModel> {
    const entry = this.entries.get(path) ?? (await this.convert(path, onStage, signal));
    onStage('Loading');
    await this.engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
    return openModel(this.models.catalogue, entry);
  }

  dispose(): void {
    void this.engine.dispose();
  }
}
