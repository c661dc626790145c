/**
 * npm run bench:eval — `hlip eval` throughput and memory, as a user runs it (dist/cli.js in a child process, CPU).
 *
 * 50 small HLIP-layout studies (1-3 scans of HLIP's 48x224x224, written by test/oracles/make_eval_data.py with Debian's
 * torch) x 3 small checkpoints (the demo model's architecture, three seeds: width 96, DINO.txt, a 2-layer BERT):
 * studies/s cold (empty cache: conversion of the image towers and the set's class embeddings, every embedding
 * computed) and warm (everything cached: hashes remembered, embeddings read, metrics and 1000-draw bootstrap with
 * paired differences recomputed), their ratio (target warm >= 20x cold); peak RSS (GNU time's maximum resident set of
 * the CLI and its inference worker) of one cold checkpoint over 50 and over 500 studies of 16x64x64 scans with a
 * .cache/hlip-ref model (target: flat, the studies stream). Results also go to bench/results/eval.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeDemoModel } from '../src/hlip/demo/demo-model';

const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.cache', 'bench-eval');
const REF = join(ROOT, '.cache', 'hlip-ref');
const SMALL = join(REF, 'vit_base_multiscan_h2_token1176', 'model.safetensors');
const MODELS = [1, 2, 3].map((seed) => join(WORK, `demo-${seed}`, 'model.safetensors'));
const CLI = join(ROOT, 'dist', 'cli.js');

function data(n: number, size: [number, number, number]): string {
  const dir = join(WORK, `mri-${n}-${size.join('x')}`);
  if (!existsSync(join(dir, 'labels.csv'))) execFileSync('/usr/bin/python3', [join(ROOT, 'test', 'oracles', 'make_eval_data.py'), dir, 'mri', String(n), ...size.map(String), '5', '--no-raw'], { stdio: 'inherit' });
  return dir;
}

/** One `hlip eval` run: seconds, peak RSS (MiB), and the run.json stats. */
function run(dir: string, models: string[], cache: string, out: string) {
  const args = ['-f', '%M', process.execPath, CLI, 'eval', ...models.flatMap((m) => ['--model', m]), '--data', join(dir, 'hlip'), '--labels', join(dir, 'labels.csv'), '--set', 'mri', '--out', out, '--cache', cache, '--ep', 'cpu', '--quiet'];
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`hlip eval failed: ${r.stderr}`);
  const rssKiB = Number(r.stderr.trim().split('\n').pop());
  const stats = JSON.parse(require('node:fs').readFileSync(join(out, 'run.json'), 'utf8'));
  return { seconds, rssMiB: rssKiB / 1024, stats };
}

function main() {
  if (!existsSync(SMALL)) throw new Error(`${SMALL} missing: run scripts/setup.sh (HLIP fixtures)`);
  if (!existsSync(CLI)) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(WORK, { recursive: true });
  [1, 2, 3].forEach((seed, i) => existsSync(MODELS[i]) || writeDemoModel(join(WORK, `demo-${seed}`), seed));
  const d50 = data(50, [48, 224, 224]);
  const cache = join(WORK, 'cache-3x50');
  rmSync(cache, { recursive: true, force: true });
  const cold = run(d50, MODELS, cache, join(WORK, 'out-cold'));
  const warm = run(d50, MODELS, cache, join(WORK, 'out-warm'));
  const runs = 50 * MODELS.length;
  const coldRate = runs / cold.seconds, warmRate = runs / warm.seconds;
  const computedWarm = warm.stats.models.reduce((a: number, m: { computed: number }) => a + m.computed, 0);
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`cold: ${runs} study runs (50 studies x 3 checkpoints) in ${cold.seconds.toFixed(1)} s = ${coldRate.toFixed(2)} studies/s (incl. converting 3 image towers + 3 x the mri class embeddings)`);
  console.log(`warm: ${runs} study runs in ${warm.seconds.toFixed(2)} s = ${warmRate.toFixed(1)} studies/s (${computedWarm} embeddings recomputed; metrics + 1000-draw bootstrap included)`);
  const ratio = warmRate / coldRate;
  console.log(`warm / cold: ${ratio.toFixed(1)}x  ${ratio >= 20 ? 'PASS' : 'MISS'} (target >= 20x)`);

  const rss: Record<number, number> = {};
  for (const n of [50, 500]) {
    const c = join(WORK, `cache-rss-${n}`);
    rmSync(c, { recursive: true, force: true });
    const r = run(data(n, [16, 64, 64]), [SMALL], c, join(WORK, `out-rss-${n}`));
    rss[n] = r.rssMiB;
    console.log(`peak RSS, 1 checkpoint cold over ${n} studies: ${r.rssMiB.toFixed(0)} MiB (${(n / r.seconds).toFixed(2)} studies/s)`);
  }
  const growth = rss[500] / rss[50];
  console.log(`RSS 500 / 50 studies: ${growth.toFixed(2)}  ${growth <= 1.15 ? 'PASS' : 'MISS'} (target: flat, <= 1.15)`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'eval.json'), `${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, cold: { seconds: cold.seconds, studiesPerSecond: coldRate }, warm: { seconds: warm.seconds, studiesPerSecond: warmRate, recomputed: computedWarm }, ratio, rssMiB: rss }, null, 1)}\n`);
}

main();
