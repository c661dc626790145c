/**
 * One measured HLIP study in a fresh process (spawned by bench/hlip.ts), so that its peak RSS belongs to it alone.
 *
 *   node --conditions=import --import tsx bench/hlip-child.ts MODEL.onnx VARIANT SCANS THREADS PRECISION [EP]
 *
 * With EP other than cpu (bench:hlip --ep webgpu): no roof (it is a CPU figure); the session is made by createSession
 * (the product's fallback and pinning rules), its first run (shader compilation) is profiled for the node placement,
 * and the second run is the one timed.
 *
 * In one process and one onnxruntime-node: (1) the roof at PRECISION: the best GFLOP/s of large GEMMs written the way
 * the encoder writes its Linear layers (GraphBuilder.dense: MatMul at fp32, DynamicQuantizeMatMul at int8), square
 * 2048 / 3072 / 4096 and the encoder's own three shapes with the whole study's tokens as rows, each warmed and
 * repeated, measured before and after the study (the better one counts); (2) HLIP pre-processing of SCANS synthetic
 * 256x256x176 MRI volumes; (3) the visual tower on that input. Prints one JSON line (with the CLS embedding, so the
 * parent can compare precisions on the same input).
 */
import * as ort from 'onnxruntime-node';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphBuilder } from '../src/hlip/graph/builder';
import { DataType } from '../src/hlip/graph/onnx-proto';
import { isPrecision, type Precision } from '../src/hlip/graph/precision';
import { gridOf, knownVariant, prefixTokens } from '../src/hlip/model-config';
import { preprocessStudy } from '../src/hlip/preprocess/study-input';
import { normalRng } from '../src/hlip/demo/random-checkpoint';
import { Volume } from '../src/volume/volume';
import { createSession } from '../src/hlip/inference/onnx-sessions';
import { fractionOn, opsOn, profiledRun, profilingOptions } from '../src/hlip/inference/node-placement';

const peakKiB = () => process.resourceUsage().maxRSS;

/** A brain-MRI-sized volume with smooth structure (so percentiles and resizing do real work). */
function syntheticMri(seed: number): Volume {
  const [nx, ny, nz] = [256, 256, 176];
  const data = new Int16Array(nx * ny * nz);
  const noise = normalRng(seed);
  for (let k = 0, p = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        const r = Math.hypot((i - 128) / 100, (j - 128) / 120, (k - 88) / 80);
        data[p] = r < 1 ? Math.round(600 + 300 * Math.cos(6 * r) + 20 * noise()) : 0;
      }
  return new Volume({ name: `mri-${seed}`, format: 'nifti', sources: [], dims: [nx, ny, nz], data, affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1.2, 0, 0, 0, 0, 1], modality: 'MR' });
}

export interface GemmFigure { shape: [number, number, number]; gflops: number }

/** x [M, K] times a constant [K, N], written as the encoder writes a Linear layer at `precision`; best of `reps`. */
async function gemm(M: number, K: number, N: number, precision: Precision, threads: number, reps = 2): Promise<GemmFigure> {
  const path = join(tmpdir(), `hlip-bench-gemm-${process.pid}.onnx`);
  const g = new GraphBuilder(path, 17, precision);
  const w = new Float32Array(K * N).map((_, i) => ((i * 7919) % 1000) / 1e4 - 0.05);
  g.input('x', DataType.FLOAT, [M, K]);
  g.output('y', g.dense('x', 'w', w, K, N), [M, N]);
  writeFileSync(path, g.encode());
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', new Float32Array(M * K).map((_, i) => Math.sin(i * 0.1)), [M, K]);
  await s.run({ x }); // warm-up (packing, allocations)
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await s.run({ x });
    best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  rmSync(path, { force: true });
  rmSync(path + '.data', { force: true });
  return { shape: [M, K, N], gflops: (2 * M * K * N) / (best / 1000) / 1e9 };
}

/** The best GEMM throughput at `precision` over the square shapes and the encoder's own (rows = the study's tokens). */
async function roof(rows: number, C: number, hidden: number, precision: Precision, threads: number): Promise<GemmFigure[]> {
  const shapes: [number, number, number][] = [[2048, 2048, 2048], [3072, 3072, 3072], [4096, 4096, 4096], [rows, C, 3 * C], [rows, C, hidden], [rows, hidden, C]];
  const out: GemmFigure[] = [];
  for (const [M, K, N] of shapes) out.push(await gemm(M, K, N, precision, threads));
  return out;
}

async function main() {
  const [model, variant, scansArg, threadsArg, precisionArg, ep = 'cpu'] = process.argv.slice(2);
  if (ep !== 'cpu') return accelerated(model, variant, Number(scansArg), Number(threadsArg ?? 2), ep);
  const scans = Number(scansArg), threads = Number(threadsArg ?? 2);
  const precision = precisionArg ?? 'fp32';
  if (!isPrecision(precision)) throw new Error(`precision ${precision}`);
  const cfg = knownVariant(variant)!;
  const rows = scans * gridOf(cfg).reduce((a, b) => a * b) + prefixTokens(cfg);
  const hidden = Math.round(cfg.mlpRatio * cfg.embedDim);
  // Before and after the study, the better one kept: these shared vCPUs drift by 2x over minutes, and a slow moment
  // must not flatter the model's share of the roof.
  const before = await roof(rows, cfg.embedDim, hidden, precision, threads);
  const volumes = Array.from({ length: scans }, (_, s) => syntheticMri(s + 1));
  const t0 = performance.now();
  const pre = preprocessStudy(volumes, 'mri', { imgSize: cfg.imgSize });
  const preprocessMs = performance.now() - t0;
  volumes.length = 0;
  const t1 = performance.now();
  // Profiled (a few hundred nodes: its cost is lost in seconds of GEMMs) for the time per kind of kernel.
  const prof = profilingOptions();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, executionProviders: ['cpu'], graphOptimizationLevel: 'all', ...prof });
  const loadMs = performance.now() - t1;
  const t2 = performance.now();
  const { outputs: out, placement } = await profiledRun(session, { image: new ort.Tensor('float32', pre.data, pre.shape) }, prof.profileFilePrefix);
  const inferMs = performance.now() - t2;
  const kernelMs = kernelTimes(placement.microsByOp);
  const peak = peakKiB();
  const embedding = Array.from((out.embedding.data as Float32Array).subarray(0, out.embedding.dims[2]));
  await session.release();
  const after = await roof(rows, cfg.embedDim, hidden, precision, threads);
  const gemms = before.map((b, i) => (b.gflops >= after[i].gflops ? b : after[i]));
  const best = gemms.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  console.log(JSON.stringify({ scans, precision, roofGflops: best.gflops, roofShape: best.shape, gemms, preprocessMs, loadMs, inferMs, kernelMs, peakKiB: peak, embedding }));
}

/** The linear layers' kernels (what int8 quantises). */
const LINEAR_OPS = new Set(['MatMul', 'FusedMatMul', 'Gemm', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'MatMulInteger']);

/** Kernel ms of a profiled run in three parts: attention (MultiHeadAttention), linear layers (LINEAR_OPS), the rest. */
function kernelTimes(microsByOp: Record<string, number>): { attention: number; linear: number; other: number } {
  const ms = { attention: 0, linear: 0, other: 0 };
  for (const [op, us] of Object.entries(microsByOp)) {
    const part = op === 'MultiHeadAttention' ? 'attention' : LINEAR_OPS.has(op) ? 'linear' : 'other';
    ms[part] += us / 1000;
  }
  return ms;
}

/** One study on `ep`: ms of the first run (shaders compiled) and of the second, and where the nodes ran. */
async function accelerated(model: string, variant: string, scans: number, threads: number, ep: string) {
  const cfg = knownVariant(variant)!;
  const volumes = Array.from({ length: scans }, (_, s) => syntheticMri(s + 1));
  const pre = preprocessStudy(volumes, 'mri', { imgSize: cfg.imgSize });
  volumes.length = 0;
  const prof = profilingOptions();
  const t1 = performance.now();
  const r = await createSession(model, [ep], { intraOpThreads: threads, softwareGpu: process.env.BENCH_SOFTWARE_GPU === '1', extra: prof });
  const loadMs = performance.now() - t1;
  if (r.provider !== ep) {
    console.log(JSON.stringify({ scans, ep, skipped: r.fallback?.reason ?? `${ep} did not load` }));
    await r.session.release();
    return;
  }
  const feeds = { image: new ort.Tensor('float32', pre.data, pre.shape) };
  const t2 = performance.now();
  const { placement } = await profiledRun(r.session, feeds, prof.profileFilePrefix);
  const firstRunMs = performance.now() - t2;
  const t3 = performance.now();
  await r.session.run(feeds);
  const inferMs = performance.now() - t3;
  const gpu = Object.keys(placement.byProvider).find((p) => p !== 'CPUExecutionProvider') ?? ep;
  await r.session.release();
  console.log(JSON.stringify({
    scans, ep, adapter: r.adapter, pinned: r.cpuNodes, loadMs, firstRunMs, inferMs, peakKiB: peakKiB(),
    gpuFraction: fractionOn(placement, gpu), kernels: placement.nodes, cpuOps: opsOn(placement, 'CPUExecutionProvider'),
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
