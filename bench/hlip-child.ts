/**
 * One measured HLIP study in a fresh process (spawned by bench/hlip.ts), so that its peak RSS belongs to it alone.
 *
 *   node --conditions=import --import tsx bench/hlip-child.ts MODEL.onnx SCANS THREADS
 *
 * In one process and one onnxruntime-node: (1) a plain MatMul of the encoder's own GEMM shape (tokens x C times C x 4C),
 * the throughput roof of this machine right now (before and after the study; the better one counts); (2) HLIP pre-processing of SCANS synthetic 256x256x176 MRI volumes;
 * (3) the visual tower on that input. Prints one JSON line.
 */
import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphBuilder } from '../src/hlip/graph/builder';
import { DataType } from '../src/hlip/graph/onnx-proto';
import { preprocessStudy } from '../src/hlip/preprocess/study-input';
import { normalRng } from '../src/hlip/demo/random-checkpoint';
import { Volume } from '../src/volume/volume';

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

async function gemmGflops(tokens: number, C: number, threads: number): Promise<number> {
  const path = join(tmpdir(), `hlip-bench-gemm-${process.pid}.onnx`);
  const g = new GraphBuilder(path);
  const w = new Float32Array(C * 4 * C).map((_, i) => ((i * 7919) % 1000) / 1e5);
  g.input('x', DataType.FLOAT, [tokens, C]);
  g.output('y', g.op('MatMul', ['x', g.weight('w', [C, 4 * C], w)]), [tokens, 4 * C]); // output(name, value, shape)
  writeFileSync(path, g.encode());
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
  const x = new ort.Tensor('float32', new Float32Array(tokens * C).fill(0.01), [tokens, C]);
  await s.run({ x });
  const reps = 5;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await s.run({ x });
  const sec = (performance.now() - t0) / 1000 / reps;
  await s.release();
  return (2 * tokens * C * 4 * C) / sec / 1e9;
}

async function main() {
  const [model, scansArg, threadsArg] = process.argv.slice(2);
  const scans = Number(scansArg), threads = Number(threadsArg ?? 2);
  // The roof is measured before and after the study and the better one kept: these shared vCPUs drift by 2x over
  // minutes, and a slow moment must not flatter the model's share of it.
  const gemmBefore = await gemmGflops(1568, 768, threads);
  const volumes = Array.from({ length: scans }, (_, s) => syntheticMri(s + 1));
  const t0 = performance.now();
  const pre = preprocessStudy(volumes, 'mri', { imgSize: [48, 224, 224] });
  const preprocessMs = performance.now() - t0;
  const t1 = performance.now();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
  const loadMs = performance.now() - t1;
  const t2 = performance.now();
  const out = await session.run({ image: new ort.Tensor('float32', pre.data, pre.shape) });
  const inferMs = performance.now() - t2;
  const peak = peakKiB();
  const gemmAfter = await gemmGflops(1568, 768, threads);
  console.log(JSON.stringify({ scans, gemmGflops: Math.max(gemmBefore, gemmAfter), gemmBefore, gemmAfter, preprocessMs, loadMs, inferMs, peakKiB: peak, outputs: Object.keys(out) }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
