/**
 * `hlip embed --model <ckpt> (<study> | --input tensor.npy) --out <dir>`: the image side of HLIP as .npy files for
 * Python: CLS embedding (normalised and raw), last-block CLS attention over every token, the input tensor and, for
 * DINO.txt models, the projected patch tokens. A study goes through classifyStudy (the editor's pipeline, so the
 * numbers are the ones classify scores with); a ready tensor goes to the encoder as is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ScanInfo } from '../hlip/preprocess/study-input';
import { meanOverHeads } from '../hlip/classify/maps';
import { type Classification, type LoadedModel, classifyStudy } from '../hlip/classify/study-classifier';
import { type VisualConfig, gridOf, prefixTokens } from '../hlip/model-config';
import type { HlipEngine } from '../hlip/inference/engine';
import { NpyError, readNpy, writeNpy } from '../hlip/export/npy';
import type { Protocol } from '../hlip/preprocess/study-input';
import { openStudy } from '../volume/open';
import { type ModelRuntime, openModelRuntime } from './model-runtime';
import { type CliOptions, UsageError } from './options';
import { CodedError } from '../shared/coded-error';

/** The encoder outputs both paths produce (the fields of a Classification that embed writes). */
export type ImageEmbedding = Pick<Classification, 'embedding' | 'embeddingRaw' | 'clsAttn' | 'patchProj' | 'grid' | 'prefix'> & {
  input: { data: Float32Array; shape: number[] };
  inferenceMs: number;
};

/** A user-input problem: main prints the sentence and its code, not a stack, and exits 1. */
export class EmbedInputError extends CodedError<'BAD_INPUT'> {
  override readonly name = 'EmbedInputError';
  constructor(message: string) {
    super('BAD_INPUT', message);
  }
}

/** Throws EmbedInputError saying what is wrong when `shape` is not [1, N, 1, D, H, W] for this model. */
export function checkInputShape(shape: readonly number[], visual: Pick<VisualConfig, 'imgSize' | 'maxNumScans'>): void {
  const [D, H, W] = visual.imgSize;
  const want = `[1, scans, 1, ${D}, ${H}, ${W}]`;
  const got = `[${shape.join(', ')}]`;
  const fail = (why: string) => {
    throw new EmbedInputError(`input tensor ${got} does not fit this model, which takes ${want}: ${why}`);
  };
  if (shape.length !== 6) fail(`it has ${shape.length} axes, the encoder takes 6 (batch, scans, channel, depth, height, width)${shape.length === 5 ? '; add a leading batch axis of 1' : ''}`);
  if (shape[0] !== 1) fail(`batch is ${shape[0]}; one study at a time (batch 1)`);
  if (shape[1] < 1) fail('it holds no scan');
  if (visual.maxNumScans > 0 && shape[1] > visual.maxNumScans) fail(`${shape[1]} scans, the model's sequence embedding has ${visual.maxNumScans}`);
  if (shape[2] !== 1) fail(`channel axis is ${shape[2]}, not 1`);
  const bad = [0, 1, 2].filter((i) => shape[3 + i] !== visual.imgSize[i]);
  if (bad.length) fail(`scan size ${shape.slice(3).join(' x ')} is not ${D} x ${H} x ${W} (depth x height x width)`);
}

/**
 * Runs the visual tower on a ready input tensor (float32 [1, N, 1, D, H, W], checked against the model) and returns
 * the same outputs classifyStudy does. No pre-processing: the tensor is what the encoder sees.
 */
export async function embedTensor(data: Float32Array, shape: number[], model: LoadedModel, engine: HlipEngine, signal?: AbortSignal): Promise<ImageEmbedding> {
  const visual = model.entry.manifest.visual;
  checkInputShape(shape, visual);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new EmbedInputError(`input tensor has ${data.length} values for shape [${shape.join(', ')}]`);
  const t0 = performance.now();
  const out = await engine.encodeImage(data, shape, { signal, copy: true });
  const E = out.embedding.dims[2];
  return {
    embedding: out.embedding.data.slice(0, E), // prefix token 0 = CLS
    embeddingRaw: out.embeddingRaw.data.slice(0, E),
    clsAttn: out.clsAttn,
    patchProj: out.patchProj,
    grid: gridOf(visual),
    prefix: prefixTokens(visual),
    input: { data, shape },
    inferenceMs: performance.now() - t0,
  };
}

interface FileNote {
  shape: number[];
  meaning: string;
}

/** Writes the .npy files of an embedding into `dir`; returns name -> {shape, meaning} for meta.json. */
export function writeEmbeddingFiles(dir: string, e: ImageEmbedding, withInput: boolean): Record<string, FileNote> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, FileNote> = {};
  const put = (name: string, data: Float32Array, shape: number[], meaning: string) => {
    writeNpy(join(dir, name), data, shape);
    files[name] = { shape, meaning };
  };
  const E = e.embedding.length;
  const [, heads, T] = e.clsAttn.dims;
  put('embedding.npy', e.embedding, [1, E], 'CLS embedding, L2-normalised (what zero-shot scoring uses)');
  put('embedding_raw.npy', e.embeddingRaw, [1, E], 'CLS embedding before L2 normalisation');
  put('cls_attention.npy', meanOverHeads(e.clsAttn), [1, T], 'last block: CLS attention over all T tokens (prefix first), mean over heads');
  put('cls_attention_heads.npy', e.clsAttn.data, [1, heads, T], 'last block: CLS attention per head over all T tokens');
  if (e.patchProj) put('patch_proj.npy', e.patchProj.data, e.patchProj.dims, 'DINO.txt: final-normed patch tokens through the patch half of head.proj; dot with a text embedding = per-diagnosis map');
  if (withInput) put('input.npy', e.input.data, e.input.shape, 'the pre-processed tensor the encoder saw [1, scans, 1, D, H, W]');
  return files;
}

/** Token layout and model facts for meta.json. */
function layoutOf(e: ImageEmbedding, visual: VisualConfig) {
  const [d, h, w] = e.grid;
  const L = d * h * w;
  const T = e.clsAttn.dims[2];
  return {
    prefixTokens: e.prefix,
    prefixNames: ['cls', ...Array.from({ length: e.prefix - 1 }, (_, i) => `register${i}`)],
    tokensPerScan: L,
    grid: e.grid,
    scans: (T - e.prefix) / L,
    totalTokens: T,
    heads: e.clsAttn.dims[1],
    embedDim: e.embedding.length,
    patchSize: visual.patchSize,
    imgSize: visual.imgSize,
    index: 'token P + s*L + (z*h + y)*w + x is scan s, patch (z, y, x) of the grid [d, h, w]; tokens 0..P-1 are the prefix (CLS, then registers)',
  };
}

export async function embedCommand(o: CliOptions, out: (s: string) => void): Promise<number> {
  const study = o.positional[0];
  if (!o.outDir) throw new UsageError('embed: --out <dir> is required');
  if (!study === !o.input) throw new UsageError('embed: give either a study (file or folder) or --input <tensor.npy>, not both');
  if (o.positional.length > 1) throw new UsageError(`embed: one study at a time (got ${o.positional.length} paths)`);
  // Read the tensor before the (slow) model import, so a bad file fails at once.
  let tensor: { data: Float32Array; shape: number[] } | undefined;
  if (o.input) {
    let a;
    try {
      a = readNpy(o.input);
    } catch (e) {
      if (e instanceof NpyError || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new EmbedInputError(`--input ${o.input}: ${(e as Error).message}`);
      throw e;
    }
    if (a.dtype !== 'float32') throw new EmbedInputError(`--input ${o.input}: dtype ${a.dtype}, the encoder takes float32 (numpy: x.astype(np.float32))`);
    tensor = { data: a.data as Float32Array, shape: a.shape };
  }
  const rt: ModelRuntime = await openModelRuntime(o, false);
  try {
    const { manifest } = rt.entry;
    const visual = manifest.visual;
    const t0 = performance.now();
    let e: ImageEmbedding;
    let scans: ScanInfo[] | undefined;
    let extra: Record<string, unknown> = {};
    if (tensor) {
      e = await embedTensor(tensor.data, tensor.shape, rt.model, rt.engine);
    } else {
      const s = await openStudy(study!, { wholeSeries: true });
      const c = await classifyStudy(s.volumes, rt.model, rt.engine, {
        protocol: o.protocol as Protocol | undefined,
        onProgress: (m) => o.quiet || process.stderr.write(`${m}\n`),
      });
      e = { ...c, inferenceMs: c.results.timings.inferenceMs };
      scans = c.scans;
      extra = { protocol: c.results.protocol, timings: c.results.timings, warnings: c.results.warnings };
    }
    const files = writeEmbeddingFiles(o.outDir, e, !tensor);
    const info = rt.engine.info.visual;
    const meta = {
      command: 'hlip embed',
      model: {
        id: manifest.id,
        name: manifest.name,
        source: manifest.source,
        sha256: manifest.sha256,
        untrained: !!manifest.untrained,
        variant: visual.name,
        visual,
        hasTextTower: !!manifest.text,
      },
      provider: info?.provider ?? 'cpu',
      fallback: info?.fallback?.reason ?? null,
      precision: info?.precision ?? 'fp32',
      input: tensor ? { kind: 'tensor', path: resolve(o.input!), shape: tensor.shape } : { kind: 'study', path: resolve(study!), shape: e.input.shape },
      tokens: layoutOf(e, visual),
      // Per scan: where it came from and how the model grid maps back onto its own voxels (see preprocess.ts ScanMapping).
      scans: scans
        ? scans.map((s, i) => ({ index: i, name: s.name, volumeIndex: s.volumeIndex, window: s.window ?? null, mapping: s.mapping }))
        : Array.from({ length: e.input.shape[1] }, (_, i) => ({ index: i })),
      timings: { inferenceMs: e.inferenceMs, totalMs: performance.now() - t0 },
      warnings: [] as string[],
      ...extra,
      files,
    };
    if (tensor) meta.warnings.push(...manifest.warnings);
    writeFileSync(join(o.outDir, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
    if (o.json) out(JSON.stringify(meta, null, 1));
    else {
      const t = meta.tokens;
      if (manifest.untrained) out('!! UNTRAINED demo weights: these embeddings are meaningless.');
      out(`model     ${manifest.name} (${visual.name})`);
      out(`provider  ${meta.provider}${meta.fallback ? `  [fallback: ${meta.fallback}]` : ''}, ${meta.precision}`);
      out(`tokens    ${t.totalTokens} = ${t.prefixTokens} prefix + ${t.scans} scan(s) x ${t.tokensPerScan} (grid ${t.grid.join('x')}), ${t.heads} heads, embedding ${t.embedDim}`);
      for (const [name, f] of Object.entries(files)) out(`wrote     ${join(o.outDir, name)}  [${f.shape.join(', ')}]`);
      out(`wrote     ${join(o.outDir, 'meta.json')}`);
    }
    return 0;
  } finally {
    await rt.engine.dispose();
  }
}
