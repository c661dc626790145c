/**
 * npm run bench:hlip — the HLIP visual tower at full size (ViT-B, random weights) on this machine's CPU.
 *
 * For patch (8,16,16) [token pooling, 1176 tokens/scan] and (6,16,16) [DINO.txt, 1568 tokens/scan] and studies of 1, 4
 * and 8 scans, each in a fresh process (bench/hlip-child.ts): ms per study, peak RSS, achieved GFLOP/s (FLOPs counted
 * from the architecture) against a plain MatMul of the encoder's GEMM shape run through onnxruntime-node in the same
 * process (the roof), and pre-processing time against inference time. The PyTorch reference (tools/hlip_ref, Debian's
 * torch 1.13) runs the same model on the same input size for a ratio. Prints PASS/MISS against the targets; never fails
 * on a MISS. Results also go to bench/results/hlip.json. BENCH_SCANS=1,4 limits the study sizes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSafetensors } from '../src/hlip/checkpoint';
import { type VisualConfig, gridOf, knownVariant, prefixTokens } from '../src/hlip/model-config';
import { buildVisualOnnx } from '../src/hlip/graph';
import { randomCheckpoint } from '../src/hlip/demo/random-checkpoint';

const ROOT = resolve(__dirname, '..');
const CACHE = join(ROOT, '.cache', 'bench-hlip');
const THREADS = Number(process.env.BENCH_THREADS ?? cpus().length);
const SCANS = (process.env.BENCH_SCANS ?? '1,4,8').split(',').map(Number);
const GiB = 2 ** 30;
const MODELS = ['vit_base_multiscan_h2_token1176', 'ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568'];

/** Multiply-adds x2 of one forward pass: patch embedding, the blocks' linears, attention per window, per the schedule. */
export function visualFlops(cfg: VisualConfig, scans: number): number {
  const [d, h, w] = gridOf(cfg);
  const L = d * h * w, P = prefixTokens(cfg), C = cfg.embedDim;
  const [pd, ph, pw] = cfg.patchSize;
  let flops = 2 * scans * L * C * pd * ph * pw;
  for (const level of cfg.schedule) {
    const [windows, len] = level === 'study' ? [1, P + scans * L] : level === 'scan' ? [scans, P + L] : [scans * d, P + h * w];
    flops += 2 * windows * len * C * C * (3 + 1 + 2 * cfg.mlpRatio); // qkv, proj, fc1, fc2
    flops += 4 * windows * len * len * C; // QK^T and PV
  }
  return flops;
}

function ensureModel(name: string): { cfg: VisualConfig; onnx: string; ckpt: string } {
  const cfg = knownVariant(name)!;
  const dir = join(CACHE, name);
  const onnx = join(dir, 'visual.onnx'), ckpt = join(dir, 'model.safetensors');
  if (!existsSync(onnx) || !existsSync(ckpt)) {
    mkdirSync(dir, { recursive: true });
    console.log(`building ${name} (ViT-B, random weights) ...`);
    const tensors = randomCheckpoint(
      { visual: { dim: cfg.embedDim, depth: cfg.depth, patch: cfg.patchSize, grid: gridOf(cfg), pool: cfg.pool, embed: cfg.projDim, regTokens: cfg.regTokens, sequence: cfg.maxNumScans > 0 } },
      7,
    );
    writeSafetensors(ckpt, tensors, { hlip_untrained: 'true' });
    const t0 = performance.now();
    const r = buildVisualOnnx(tensors, cfg, onnx);
    console.log(`  ${(r.params / 1e6).toFixed(1)}M parameters, ${r.nodes} nodes, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { cfg, onnx, ckpt };
}

interface ChildResult { scans: number; gemmGflops: number; preprocessMs: number; loadMs: number; inferMs: number; peakKiB: number }

function runChild(onnx: string, scans: number): ChildResult {
  const r = spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'bench', 'hlip-child.ts'), onnx, String(scans), String(THREADS)], {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 2 ** 26,
  });
  if (r.status !== 0) throw new Error(`hlip-child ${scans} scans failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
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

function main() {
  console.log(`bench:hlip on ${cpus().length} CPU(s) (${cpus()[0]?.model}), ${THREADS} ORT threads, load ${loadavg()[0].toFixed(2)}`);
  const rows: Record<string, unknown>[] = [];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  for (const name of MODELS) {
    const { cfg, onnx, ckpt } = ensureModel(name);
    console.log(`\n${name}: patch ${cfg.patchSize.join('x')}, ${gridOf(cfg).reduce((a, b) => a * b)} tokens/scan, ${cfg.pool} pooling`);
    console.log('  scans   ms/study   peak RSS   GFLOP/s   GEMM GFLOP/s   of roof   pre-proc   torch ms   torch/ours');
    for (const scans of SCANS) {
      const c = runChild(onnx, scans);
      const gflops = visualFlops(cfg, scans) / (c.inferMs / 1000) / 1e9;
      const roof = gflops / c.gemmGflops;
      const pre = c.preprocessMs / c.inferMs;
      const t = torchPeer(ckpt, name, scans);
      const peak = (c.peakKiB * 1024) / GiB;
      console.log(
        `  ${String(scans).padStart(5)}  ${c.inferMs.toFixed(0).padStart(9)}  ${peak.toFixed(2).padStart(6)} GB  ${gflops.toFixed(1).padStart(8)}  ${c.gemmGflops.toFixed(1).padStart(13)}  ${(100 * roof).toFixed(0).padStart(6)}%  ${(100 * pre).toFixed(1).padStart(7)}%  ${t ? t.ms.toFixed(0).padStart(9) : '        -'}  ${t ? (t.ms / c.inferMs).toFixed(2).padStart(10) : '         -'}`,
      );
      rows.push({ model: name, ...c, gflops, roofFraction: roof, preprocessFraction: pre, torchMs: t?.ms, torchPeakKiB: t?.peakKiB });
      if (scans === 8) console.log(`  targets (8 scans): >= 75% of GEMM ${verdict(roof >= 0.75)}, peak < 2 GB ${verdict(peak < 2)}, pre-processing < 10% ${verdict(pre < 0.1)}`);
    }
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'hlip.json'), `${JSON.stringify({ threads: THREADS, rows }, null, 1)}\n`);
}

main();
