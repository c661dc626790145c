/**
 * `hlip import <checkpoint|folder>`: convert a checkpoint into the model cache (ONNX graphs + class embeddings) and print
 * its manifest. The extension runs this same command in a child process, so a conversion (seconds to minutes for a
 * ViT-L) never blocks the extension host and cancelling it kills the process; the cache's atomic rename means a killed
 * conversion leaves nothing behind. Forked with an IPC channel, it reports progress and the result as messages.
 */
import { convertModel } from '../hlip/convert/model-converter';
import { ModelCatalogue } from '../hlip/models/model-catalogue';
import { startCliEngine } from './model-runtime';
import type { CliOptions } from './options';

/** Messages of a forked `hlip import` to its parent. */
export type ImportMessage =
  | { type: 'progress'; stage: string; fraction: number }
  | { type: 'done'; id: string }
  | { type: 'error'; message: string; code?: string };

export async function importCommand(path: string, o: CliOptions, out: (s: string) => void): Promise<number> {
  // Awaited where it matters: main() exits the process right after, which would drop an unsent message.
  const send = (m: ImportMessage) => new Promise<void>((r) => (process.send ? process.send(m, undefined, undefined, () => r()) : r()));
  const engine = await startCliEngine(o);
  try {
    const entry = await convertModel(new ModelCatalogue(o.cache), path, {
      engine,
      vocabPath: o.vocab,
      precision: o.precision,
      onProgress: (stage, fraction) => void (process.send ? send({ type: 'progress', stage, fraction }) : o.quiet || process.stderr.write(`${stage}\n`)),
    });
    await send({ type: 'done', id: entry.manifest.id });
    out(o.json ? JSON.stringify(entry.manifest, null, 1) : `${entry.manifest.name} (${entry.manifest.visual.name}) -> ${entry.dir}`);
    return 0;
  } catch (e) {
    await send({ type: 'error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
    throw e;
  } finally {
    await engine.dispose();
  }
}
