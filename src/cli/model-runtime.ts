/** The model side of a CLI run: converted model (cached), inference worker, and the provider that actually ran. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadedModel, openModel } from '../hlip/classify/study-classifier';
import { HlipEngine } from '../hlip/inference/engine';
import { convertModel } from '../hlip/convert/model-converter';
import { type ModelEntry, ModelCatalogue, precisionWarning, towersAt } from '../hlip/models/model-catalogue';
import { resolveProviders } from '../hlip/inference/onnx-sessions';
import { listsWebgpu } from '../hlip/inference/provider-order';
import { type CliOptions, UsageError } from './options';

export interface ModelRuntime {
  entry: ModelEntry;
  model: LoadedModel;
  engine: HlipEngine;
}

/** dist/hlip-worker.js next to the bundled CLI; the TypeScript source when run through tsx (tests). */
export function hlipWorkerScript(): string {
  const bundled = join(__dirname, 'hlip-worker.js');
  return existsSync(bundled) ? bundled : join(__dirname, '..', 'hlip', 'inference', 'inference-worker.ts');
}

/** The inference worker with the providers asked for (--ep) or the platform's default. */
export function startCliEngine(o: Pick<CliOptions, 'ep'>): Promise<HlipEngine> {
  return HlipEngine.start({ workerScript: hlipWorkerScript(), providers: resolveProviders(o.ep), softwareGpu: listsWebgpu(o.ep) });
}

export async function openModelRuntime(o: CliOptions, needText = true): Promise<ModelRuntime> {
  if (!o.model) throw new UsageError('--model <checkpoint file or model folder> is required (a demo: hlip demo-model DIR, then --model DIR)');
  const log = (s: string) => o.quiet || process.stderr.write(`${s}\n`);
  const engine = await startCliEngine(o);
  try {
    const catalogue = new ModelCatalogue(o.cache);
    let lastStage = '';
    const onProgress = (stage: string) => stage !== lastStage && log((lastStage = stage)); // each stage once, not per batch
    const entry = await convertModel(catalogue, o.model, { engine, vocabPath: o.vocab, onProgress, precision: o.precision });
    const towers = towersAt(entry, o.precision)!; // built by convertModel
    await engine.load({ visualPath: towers.visualPath, textPath: needText ? towers.textPath : undefined });
    const fb = engine.info.visual?.fallback ?? engine.info.text?.fallback;
    // Always said, even with --json: which provider ran is part of the result's provenance.
    if (fb) process.stderr.write(`hlip: execution provider fallback: ${fb.reason}\n`);
    if (entry.manifest.untrained) log('hlip: this model has UNTRAINED (random) weights: its scores are meaningless.');
    const pw = precisionWarning(entry, o.precision);
    if (pw) log(`hlip: ${pw}`);
    return { entry, model: openModel(catalogue, entry), engine };
  } catch (e) {
    await engine.dispose();
    throw e;
  }
}
