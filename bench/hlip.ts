/**
 * npm run bench:hlip — the HLIP visual tower at full size (ViT-B, random weights) on this machine's CPU, at each
 * precision (fp32, int8; bf16 has no CPU kernels, see src/hlip/graph/precision.ts).
 *
 * For patch (8,16,16) [token pooling, 1176 tokens/scan] and (6,16,16) [DINO.txt, 1568 tokens/scan] and studies of 1, 4
 * and 8 scans, each in a fresh process (bench/hlip-child.ts): ms per study, peak RSS, achieved GFLOP/s (FLOPs counted
 * from the architecture; an int8 multiply-add counts as two operations like a float one) against the roof at the same
 * precision measured in the same process (the best of several large GEMMs written as the encoder writes its Linear
 * layers), the speed-up over fp32, the cosine between the int8 and fp32 CLS embeddings of the same input, and
 * pre-processing time against inference time. The PyTorch reference (tools/hlip_ref, Debian's torch 1.13) runs the
 * fp32 model on the same input size for a ratio. Prints PASS/MISS against the targets; never fails on a MISS. Results
 * also go to bench/results/hlip.json. BENCH_SCANS=1,4 limits the study sizes, BENCH_PRECISIONS=fp32 the precisions,
 * BENCH_MODELS=<variant> the models, BENCH_TORCH=0 skips the PyTorch peer.
 *
 * `npm run bench:hlip -- --ep webgpu` (or another provider): the same studies on that provider, fp32 unless
 * BENCH_PRECISIONS says otherwise: ms per study (second run; the first compiles shaders and is shown apart) and the
 * share of the graph's kernels that ran on the GPU (from a profiled run). A software GPU adapter (SwiftShader, lavapipe)
 * is not measured unless BENCH_SOFTWARE_GPU=1: it is far slower than the CPU and says nothing about a GPU.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSafetensors } from '../src/hlip/checkpoint';
import { type VisualConfig, gridOf, knownVariant, prefixTokens } from '../src/hlip/model-config';
import { buildVisualOnnx, isPrecision, type Precision, PRECISIONS as PRECISION_LIST, precisionFile } from '../src/hlip/graph';
import { prefixOnlyLastBlock } from '../src/hlip/graph/visual';
import { randomCheckpoint } from '../src/hlip/demo/random-checkpoint';
import { probeGpuAdapter } from '../src/hlip/inference/gpu-adapter';
import { CATALOGUE_VERSION } from '../src/hlip/models/model-catalogue';

const ROOT = resolve(__dirname, '..');
const CACHE = join(ROOT, '.cache', 'bench-hlip');
const THREADS = Number(process.env.BENCH_THREADS ?? cpus().length);
const SCANS = (process.env.BENCH_SCANS ?? '1,4,8').split(',').map(Number);
const GiB = 2 ** 30;
const MODELS = (process.env.BENCH_MODELS ?? 'vit_base_multiscan_h2_token1176,ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568').split(',');
const EP = (() => {
  const i = process.argv.indexOf('--ep');
  return i > 0 ? (process.argv[i + 1] ?? 'cpu').toLowerCase() : 'cpu';
})();
const PRECISIONS = (process.env.BENCH_PRECISIONS ?? (EP === 'cpu' ? PRECISION_LIST.join(',') : 'fp32')).split(',').filter(isPrecision);

/** Multiply-adds x2 of one forward pass: patch embedding, the blocks' linears, attention per window, per the schedule. */
export function visualFlops(cfg: VisualConfig, scans: number): number {
  const [d, h, w] = gridOf(cfg);
  const L = d * h * w, P = prefixTokens(cfg), C = cfg.embedDim;
  const [pd, ph, pw] = cfg.patchSize;
  let flops = 2 * scans * L * C * pd * ph * pw;
  cfg.schedule.forEach((level, i) => {
    const [windows, len] = level === 'study' ? [1, P + scans * L] : level === 'scan' ? [scans, P + L] : [scans * d, P + h * w];
    // The graph's pruned last block (prefixOnlyLastBlock): qkv for every token, the rest for the prefix rows only.
    const rows = i === cfg.depth - 1 && prefixOnlyLastBlock(cfg) ? P : len;
    flops += 2 * windows * len * C * 3 * C + 2 * windows * rows * C * C * (1 + 2 * cfg.mlpRatio); // qkv; proj, fc1, fc2
    flops += 4 * windows * rows * len * C; // QK^T and PV
  });
  return flops;
}

function ensureModel(name: string): { cfg: VisualConfig; onnx: Record<Precision, string>; ckpt: string } {
  const cfg = knownVariant(name)!;
  const dir = join(CACHE, name);
  const ckpt = join(dir, 'model.safetensors');
  const onnx = Object.fromEntries(PRECISION_LIST.map((p) => [p, precisionFile(join(dir, 'visual.onnx'), p)])) as Record<Precision, string>;
  // Graphs of an older catalogue version are rebuilt: the bench measures the graph the product builds now.
  const stamp = join(dir, 'catalogue-version');
  const current = existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === String(CATALOGUE_VERSION);
  const missing = PRECISIONS.filter((p) => !current || !existsSync(onnx[p]));
  if (!existsSync(ckpt) || missing.length) {
    mkdirSync(dir, { recursive: true });
    console.log(`building ${name} (ViT-B, random weights) at ${missing.join(', ')} ...`);
    const tensors = randomCheckpoint(
      { visual: { dim: cfg.embedDim, depth: cfg.depth, patch: cfg.patchSize, grid: gridOf(cfg), pool: cfg.pool, embed: cfg.projDim, regTokens: cfg.regTokens, sequence: cfg.maxNumScans > 0 } },
      7,
    );
    if (!existsSync(ckpt)) writeSafetensors(ckpt, tensors, { hlip_untrained: 'true' });
    for (const p of missing) {
      const t0 = performance.now();
      const r = buildVisualOnnx(tensors, cfg, onnx[p], { precision: p });
      console.log(`  ${p}: ${(r.params / 1e6).toFixed(1)}M parameters, ${r.nodes} nodes, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    // Stale graphs of precisions not asked for this time go too, so a later run builds them anew.
    for (const p of current ? [] : PRECISION_LIST.filter((q) => !missing.includes(q))) {
      for (const f of [onnx[p], `${onnx[p]}.data`]) rmSync(f, { force: true });
    }
    writeFileSync(stamp, `${CATALOGUE_VERSION}\n`);
  }
  return { cfg, onnx, ckpt };
}

interface GemmFigure { shape: [number, number, number]; gflops: number }
interface ChildResult {
  scans: number; precision: Precision; roofGflops: number; roofShape: number[]; gemms: GemmFigure[];
  preprocessMs: number; loadMs: number; inferMs: number; peakKiB: number; embedding: number[];
  /** Kernel ms of the timed (profiled) run: attention, the linear layers, everything else. */
  kernelMs: { attention: number; linear: number; other: number };
}

function runChild(onnx: string, name: string, scans: number, precision: Precision): ChildResult {
  const r = spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'bench', 'hlip-child.ts'), onnx, name, String(scans), String(THREADS), precision], {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 2 ** 26,
  });
  if (r.status !== 0) throw new Error(`hlip-child ${scans} scans ${precision} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function cosine(a: number[], b: number[]): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] ** 2; bb += b[i] ** 2; }
  return ab / Math.sqrt(aa * bb);
}

/** The PyTorch reference on the same model and input size (ms per forward pass), or undefined when unavailable. */
function torchPeer(ckpt: string, name: string, scans: number): { ms: number; peakKiB: number } | undefined {
  if (process.env.BENCH_TORCH === '0') return undefined;
  const script = join(ROOT, 'tools', 'hlip_ref', 'bench_ref.py');
  if (!existsSync(script)) return undefined;
  const r = spawnSync('/usr/bin/python3', [script, ckpt, name, String(scans), String(THREADS)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 2 ** 26 });
  if (r.status !== 0) {
    console.log(`  torch peer failed: ${r.stderr.trim().split('\n').pop()}`);
    return undefined;
  }
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (res.skipped) console.log(`  torch peer skipped at ${scans} scans: ${res.skipped}`);
  return res.skipped ? undefined : res;
}

interface AcceleratedResult {
  scans: number; ep: string; skipped?: string; adapter?: { name: string; software: boolean }; pinned?: string[];
  loadMs: number; firstRunMs: number; inferMs: number; peakKiB: number; gpuFraction: number; kernels: number; cpuOps: string[];
}

/** bench:hlip --ep <provider>: ms per study and the share of kernels on the GPU. */
function mainAccelerated() {
  const probe = EP === 'webgpu' ? probeGpuAdapter() : undefined;
  console.log(`bench:hlip --ep ${EP} on ${cpus().length} CPU(s), load ${loadavg()[0].toFixed(2)}${probe ? `, GPU adapter: ${probe.adapter ? `${probe.adapter.name}${probe.adapter.software ? ' (software)' : ''}` : `none (${probe.problem})`}` : ''}`);
  if (probe && !probe.adapter) {
    console.log(`No GPU adapter on this machine (${probe.problem}): not measured.`);
    return;
  }
  if (probe?.adapter?.software && process.env.BENCH_SOFTWARE_GPU !== '1') {
    console.log('No hardware GPU adapter on this machine: webgpu would run on a software Vulkan, far slower than the CPU and no measure of a GPU. Not measured (BENCH_SOFTWARE_GPU=1 runs it anyway).');
    return;
  }
  const rows: Record<string, unknown>[] = [];
  for (const name of MODELS) {
    const { cfg, onnx } = ensureModel(name);
    console.log(`\n${name}: patch ${cfg.patchSize.join('x')}, ${gridOf(cfg).reduce((a, b) => a * b)} tokens/scan, ${cfg.pool} pooling`);
    console.log('  scans  prec   ms/study   first run ms   GFLOP/s   kernels on GPU   on the CPU');
    for (const scans of SCANS) {
      for (const precision of PRECISIONS) {
        const r = spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'bench', 'hlip-child.ts'), onnx[precision], name, String(scans), String(THREADS), precision, EP], {
          cwd: ROOT, encoding: 'utf8', maxBuffer: 2 ** 26,
        });
        if (r.status !== 0) throw new Error(`hlip-child ${scans} scans ${precision} on ${EP} failed: ${r.stderr}`);
        const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as AcceleratedResult;
        if (c.skipped) {
          console.log(`  ${String(scans).padStart(5)}  ${precision.padEnd(4)}  not run: ${c.skipped}`);
          rows.push({ model: name, precision, ...c });
          continue;
        }
        const gflops = visualFlops(cfg, scans) / (c.inferMs / 1000) / 1e9;
        console.log(`  ${String(scans).padStart(5)}  ${precision.padEnd(4)}  ${c.inferMs.toFixed(0).padStart(9)}  ${c.firstRunMs.toFixed(0).padStart(13)}  ${gflops.toFixed(1).padStart(8)}  ${(100 * c.gpuFraction).toFixed(0).padStart(12)}% of ${c.kernels}   ${c.cpuOps.join(', ') || '-'}`);
        rows.push({ model: name, precision, ...c, gflops });
      }
    }
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', `hlip-${EP}.json`), `${JSON.stringify({ ep: EP, adapter: probe?.adapter, rows }, null, 1)}\n`);
}

function main() {
  if (EP !== 'cpu') return mainAccelerated();
  console.log(`bench:hlip on ${cpus().length} CPU(s) (${cpus()[0]?.model}), ${THREADS} ORT threads, load ${loadavg()[0].toFixed(2)}, precisions ${PRECISIONS.join(', ')}`);
  const rows: Record<string, unknown>[] = [];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const pad = (v: string, n: number) => v.padStart(n);
  for (const name of MODELS) {
    const { cfg, onnx, ckpt } = ensureModel(name);
    console.log(`\n${name}: patch ${cfg.patchSize.join('x')}, ${gridOf(cfg).reduce((a, b) => a * b)} tokens/scan, ${cfg.pool} pooling`);
    console.log('  scans  prec   ms/study   GFLOP/s   roof GFLOP/s   of roof   peak RSS   speed-up   cos vs fp32   pre-proc   torch ms   torch/ours');
    for (const scans of SCANS) {
      const t = PRECISIONS.includes('fp32') ? torchPeer(ckpt, name, scans) : undefined;
      const byPrecision = new Map<Precision, ChildResult>();
      for (const precision of PRECISIONS) {
        const c = runChild(onnx[precision], name, scans, precision);
        byPrecision.set(precision, c);
        const fp32 = byPrecision.get('fp32');
        const gflops = visualFlops(cfg, scans) / (c.inferMs / 1000) / 1e9;
        const ofRoof = gflops / c.roofGflops;
        const pre = c.preprocessMs / c.inferMs;
        const speedup = fp32 ? fp32.inferMs / c.inferMs : undefined;
        const cos = fp32 ? cosine(c.embedding, fp32.embedding) : undefined;
        const peak = (c.peakKiB * 1024) / GiB;
        const torch = precision === 'fp32' ? t : undefined;
        console.log(
          `  ${pad(String(scans), 5)}  ${precision.padEnd(4)}  ${pad(c.inferMs.toFixed(0), 9)}  ${pad(gflops.toFixed(1), 8)}  ${pad(c.roofGflops.toFixed(1), 13)}  ${pad((100 * ofRoof).toFixed(0), 7)}%  ${pad(peak.toFixed(2), 6)} GB  ${pad(speedup ? speedup.toFixed(2) + 'x' : '-', 9)}  ${pad(cos !== undefined ? cos.toFixed(5) : '-', 12)}  ${pad((100 * pre).toFixed(1), 7)}%  ${pad(torch ? torch.ms.toFixed(0) : '-', 9)}  ${pad(torch ? (torch.ms / c.inferMs).toFixed(2) : '-', 10)}`,
        );
        const { embedding: _e, ...figures } = c;
        rows.push({ model: name, ...figures, gflops, roofFraction: ofRoof, speedup, cosineVsFp32: cos, preprocessFraction: pre, torchMs: torch?.ms, torchPeakKiB: torch?.peakKiB });
      }
      if (scans === 8) {
        const f = byPrecision.get('fp32'), q = byPrecision.get('int8');
        const parts: string[] = [];
        if (f) {
          const ofRoof = visualFlops(cfg, scans) / (f.inferMs / 1000) / 1e9 / f.roofGflops;
          parts.push(`fp32 >= 80% of roof ${verdict(ofRoof >= 0.8)}`, `peak < 2 GB ${verdict(f.peakKiB * 1024 < 2 * GiB)}`, `pre-processing < 10% ${verdict(f.preprocessMs / f.inferMs < 0.1)}`);
        }
        if (f && q) parts.push(`int8 >= 2x fp32 ${verdict(f.inferMs / q.inferMs >= 2)}`, `int8 cosine >= 0.999 ${verdict(cosine(q.embedding, f.embedding) >= 0.999)}`);
        console.log(`  targets (8 scans): ${parts.join(', ')}`);
        for (const c of [f, q]) {
          if (!c) continue;
          const k = c.kernelMs, all = k.attention + k.linear + k.other;
          console.log(`  ${c.precision} kernels: attention ${k.attention.toFixed(0)} ms (${((100 * k.attention) / all).toFixed(0)}%), linear layers ${k.linear.toFixed(0)} ms (${((100 * k.linear) / all).toFixed(0)}%), other ${k.other.toFixed(0)} ms`);
        }
        // onnxruntime's CPU attention has no reduced-precision kernel: int8 only touches the linear layers, so even
        // free ones leave fp32's attention and the rest.
        if (f && q) console.log(`  int8 speed-up ceiling with attention at fp32 (linear layers at zero cost): ${(f.inferMs / (q.kernelMs.attention + q.kernelMs.other)).toFixed(2)}x`);
      }
    }
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'hlip.json'), `${JSON.stringify({ threads: THREADS, rows }, null, 1)}\n`);
}

main();
