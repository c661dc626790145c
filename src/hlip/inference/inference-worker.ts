/**
 * Inference worker entry (dist/hlip-worker.js): the one place inference runs. session.run() blocks its thread for seconds,
 * so it must never run on the extension host's (or CLI's) event loop. Requests are handled one at a time, in order;
 * outputs are transferred back (thread) or serialised (process).
 */
import { parentPort } from 'node:worker_threads';
import './ort-env'; // before onnxruntime-node: no telemetry
import * as ort from 'onnxruntime-node';
import type { EngineReply, EngineRequest, ImageResult, LoadRequest, LoadResult, OutTensor, TextResult, TowerInfo } from './engine-protocol';
import { type CreatedSession, createSession, runWithFallback, RuntimeError, type SessionRecipe } from './onnx-sessions';
import { CodedError } from '../../shared/coded-error';

interface Tower {
  session: ort.InferenceSession;
  info: TowerInfo;
  created: CreatedSession;
  recipe: SessionRecipe;
}

let visual: Tower | undefined;
let text: Tower | undefined;

/** An expected failure inside the worker: crosses to the engine as {code, message}. */
class WorkerError extends CodedError {}

// Runs as a worker thread (parentPort) or as a child process (IPC with advanced serialization, see engine.ts).
const post = (m: EngineReply, transfer: ArrayBuffer[] = []) => (parentPort ? parentPort.postMessage(m, transfer) : process.send?.(m));

async function openTower(id: number, stage: string, path: string, req: LoadRequest): Promise<Tower> {
  post({ type: 'progress', id, stage, fraction: 0 });
  const t0 = performance.now();
  const recipe: SessionRecipe = { modelPath: path, providers: req.providers, opts: { intraOpThreads: req.intraOpThreads, softwareGpu: req.softwareGpu } };
  const created = await createSession(path, req.providers, recipe.opts);
  post({ type: 'progress', id, stage, fraction: 1 });
  return { session: created.session, created, recipe, info: towerInfo(created, performance.now() - t0) };
}

function towerInfo(c: CreatedSession, loadMs: number): TowerInfo {
  const gpu = c.adapter ? `${c.adapter.name}${c.adapter.software ? ' (software)' : ''}` : undefined;
  return { provider: c.provider, ...(gpu ? { adapter: gpu } : {}), fallback: c.fallback, inputs: [...c.session.inputNames], outputs: [...c.session.outputNames], loadMs };
}

/** Runs a tower; a provider that fails mid-run hands over to the next (runWithFallback): the tower keeps the new session and the reply says so. */
async function runTower(t: Tower, feeds: ort.InferenceSession.FeedsType): Promise<{ o: ort.InferenceSession.OnnxValueMapType; tower?: TowerInfo }> {
  const { outputs, replaced } = await runWithFallback(t.created, feeds, t.recipe);
  if (!replaced) return { o: outputs };
  t.created = replaced;
  t.session = replaced.session;
  t.info = towerInfo(replaced, t.info.loadMs);
  return { o: outputs, tower: t.info };
}

async function load(req: LoadRequest): Promise<LoadResult> {
  // Replacing a tower releases the old session first: two ViT-B sessions would double the memory.
  if (req.visualPath) {
    await visual?.session.release();
    visual = undefined;
    visual = await openTower(req.id, 'visual', req.visualPath, req);
  }
  if (req.textPath) {
    await text?.session.release();
    text = undefined;
    text = await openTower(req.id, 'text', req.textPath, req);
  }
  return { visual: visual?.info, text: text?.info };
}

/** Copy only when the output shares its buffer (transfer would detach the neighbours). */
function out(t: ort.Tensor | undefined, name: string): OutTensor {
  if (!t) throw new WorkerError('BAD_MODEL', `The model has no output "${name}"`);
  const d = t.data as Float32Array;
  const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && !(d.buffer instanceof SharedArrayBuffer);
  return { data: whole ? d : d.slice(), dims: [...t.dims] };
}

async function encodeImage(data: Float32Array, shape: number[]): Promise<ImageResult> {
  if (!visual) throw new WorkerError('NOT_LOADED', 'No visual model is loaded');
  const t0 = performance.now();
  const { o, tower } = await runTower(visual, { image: new ort.Tensor('float32', data, shape) });
  return {
    ...(tower ? { tower } : {}),
    embedding: out(o.embedding, 'embedding'),
    embeddingRaw: out(o.embedding_raw, 'embedding_raw'),
    clsAttn: out(o.cls_attn, 'cls_attn'),
    clsAttnMap: o.cls_attn_map ? out(o.cls_attn_map, 'cls_attn_map') : undefined,
    patchProj: o.patch_proj ? out(o.patch_proj, 'patch_proj') : undefined,
    timings: { runMs: performance.now() - t0 },
  };
}

async function encodeText(ids: BigInt64Array, mask: BigInt64Array, n: number, L: number): Promise<TextResult> {
  if (!text) throw new WorkerError('NOT_LOADED', 'No text model is loaded');
  if (ids.length !== n * L || mask.length !== n * L) throw new WorkerError('BAD_INPUT', `ids/mask must hold ${n} x ${L} values`);
  const t0 = performance.now();
  const { o, tower } = await runTower(text, { input_ids: new ort.Tensor('int64', ids, [n, L]), attention_mask: new ort.Tensor('int64', mask, [n, L]) });
  return {
    ...(tower ? { tower } : {}),
    embedding: out(o.text_embedding, 'text_embedding'),
    embeddingRaw: out(o.text_embedding_raw, 'text_embedding_raw'),
    timings: { runMs: performance.now() - t0 },
  };
}

function buffersOf(r: unknown): ArrayBuffer[] {
  if (!r || typeof r !== 'object') return [];
  const bufs = new Set<ArrayBuffer>();
  for (const v of Object.values(r)) {
    const d = (v as OutTensor | undefined)?.data;
    if (d instanceof Float32Array && d.buffer instanceof ArrayBuffer) bufs.add(d.buffer);
  }
  return [...bufs];
}

async function handle(req: EngineRequest): Promise<unknown> {
  switch (req.type) {
    case 'load':
      return load(req);
    case 'encodeImage':
      return encodeImage(req.data, req.shape);
    case 'encodeText':
      return encodeText(req.ids, req.mask, req.n, req.L);
    case 'dispose':
      await visual?.session.release();
      await text?.session.release();
      visual = text = undefined;
      return null;
  }
}

// One at a time: a second run would only compete for the same cores.
let chain: Promise<void> = Promise.resolve();
function onRequest(req: EngineRequest) {
  chain = chain.then(async () => {
    try {
      const result = await handle(req);
      post({ type: 'result', id: req.id, result: result as never }, buffersOf(result));
    } catch (e) {
      const code = e instanceof WorkerError || e instanceof RuntimeError ? e.code : 'INFERENCE_FAILED';
      const message = e instanceof RuntimeError && e.reasons.length ? `${e.message} (${e.reasons.join('; ')})` : e instanceof Error ? e.message : String(e);
      post({ type: 'error', id: req.id, error: { code, message } });
    }
  });
}

if (parentPort) parentPort.on('message', onRequest);
else if (process.send) {
  process.on('message', (m) => onRequest(m as EngineRequest));
  process.on('disconnect', () => process.exit(0)); // the parent went away: never linger holding GBs
}
