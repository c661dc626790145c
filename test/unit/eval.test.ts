/**
 * `hlip eval` / `hlip merge` end to end, as a user runs them (child processes): HLIP-layout data written with Debian's
 * python3-torch and its raw NIfTI twin, small random-weight checkpoints (.cache/hlip-ref). The loaders against an
 * independent torch re-implementation of HLIP's (test/oracles/hlip_loader.py), one study's logits against
 * `hlip classify`, shards merged against one unsharded run (byte-identical report), a killed run resumed from its cache,
 * bad input in the skipped list.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/hlip/checkpoint';
import type { HostTensor } from '../../src/hlip/checkpoint/tensor';
import { after, before, test } from 'node:test';
import { hlipStudyInput, scanFiles } from '../../src/eval/dataset/hlip-layout';
import { parseCsv } from '../../src/eval/dataset/labels-csv';
import type { EvalSetId } from '../../src/eval/metrics/set-metrics';
import { readNpy } from '../../src/hlip/export/npy';
import { ROOT, SYSTEM_PYTHON } from '../fixtures';
import { tempDir } from '../oracles';

const REF = join(ROOT, '.cache', 'hlip-ref');
const M1 = join(REF, 'vit_base_multiscan_h2_token1176', 'model.safetensors');
const M2 = join(REF, 'vit_base_multiscan_h2_dinotxt1176', 'model.safetensors');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const work = tempDir('eval');
const mri = join(work, 'mri');
after(() => rmSync(work, { recursive: true, force: true }));

before(() => {
  if (!existsSync(M1) || !existsSync(M2)) {
    if (process.env.CI === 'true') throw new Error(`HLIP fixtures missing in ${REF} (scripts/setup.sh makes them)`);
  }
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_eval_data.py'), mri, 'mri', '10', '16', '64', '64', '1', '--bad']);
});

interface Run { status: number; stdout: string; stderr: string }
const hlip = (...args: string[]) =>
  new Promise<Run>((res) => {
    execFile(process.execPath, ['--conditions=import', '--import', 'tsx', MAIN, ...args, ...(args[0] === 'merge' ? [] : ['--ep', 'cpu'])], { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
const ok = (r: Run) => assert.equal(r.status, 0, `hlip failed:\n${r.stderr}\n${r.stdout}`);
const evalArgs = (out: string, cache: string, ...more: string[]) =>
  ['eval', '--model', M1, '--model', M2, '--data', join(mri, 'hlip'), '--labels', join(mri, 'labels.csv'), '--set', 'mri', '--out', out, '--cache', cache, '--draws', '200', ...more];
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

const unsharded = join(work, 'unsharded');
const unshardedCache = join(work, 'cache-a');

test('HLIP layout: the input tensors equal HLIP\'s loaders (os.listdir order, /255, normalise; Pub-Brain-5 resize; RSNA series)', async () => {
  const cases: [EvalSetId, string][] = [['mri', 'sub-002'], ['mri', 'sub-005'], ['pubbrain5', 'sub-001'], ['pubbrain5', 'sub-004'], ['rsna', 'RSNA_sub-001/1.2.1.1']];
  for (const set of ['pubbrain5', 'rsna'] as const) execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_eval_data.py'), join(work, set), set, '6', '16', '64', '64', '2']);
  for (const [set, study] of cases) {
    const root = join(work, set, 'hlip');
    const npy = join(work, `${set}-${study.replace(/\W/g, '_')}.npy`);
    execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'hlip_loader.py'), root, set, study, npy]);
    const want = readNpy(npy);
    const imgSize: [number, number, number] = set === 'pubbrain5' ? [48, 224, 224] : [16, 64, 64];
    const got = await hlipStudyInput(set, scanFiles(set, join(root, study)), imgSize, 40);
    assert.deepEqual(got.shape, want.shape, `${set} ${study} shape`);
    let worst = 0;
    for (let i = 0; i < got.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - (want.data as Float32Array)[i]));
    // Exact for the stored tensors; the Pub-Brain-5 bilinear resize may differ from torch's kernel by float rounding.
    assert.ok(worst <= (set === 'pubbrain5' ? 1e-5 : 0), `${set} ${study}: max |ours - torch| = ${worst}`);
  }
  // The scan order really is the directory's (not sorted) for at least one study, or the check above proves little.
  const listing = json(join(mri, 'listdir.json')) as Record<string, string[]>;
  assert.ok(Object.values(listing).some((names) => names.join() !== [...names].sort().join()), 'no study with an unsorted listdir order');
});

test('hlip eval: two checkpoints, HLIP\'s keys with intervals and a paired difference; bad input skipped with reasons', async () => {
  const r = await hlip(...evalArgs(unsharded, unshardedCache));
  ok(r);
  assert.match(r.stderr, /studies\/s, ETA/);
  const m = json(join(unsharded, 'metrics.json'));
  assert.equal(m.set, 'mri');
  assert.equal(m.studies.evaluated, 10);
  assert.equal(m.models.length, 2);
  for (const model of m.models) {
    assert.ok('auc (mri)' in model.metrics && 'auc (brain tumor)' in model.metrics);
    const v = model.metrics['auc (mri)'];
    assert.ok(typeof v === 'number' && v > 0 && v < 1, `auc (mri) ${v}`);
    assert.ok(model.ci95['auc (mri)'][0] <= v && v <= model.ci95['auc (mri)'][1]);
  }
  const d = m.paired[0].differences['auc (mri)'];
  assert.equal(m.paired[0].a, 'vit_base_multiscan_h2_token1176');
  assert.ok(Math.abs(d.difference - (m.models[1].metrics['auc (mri)'] - m.models[0].metrics['auc (mri)'])) < 1e-12 && d.p > 0 && d.p <= 1);
  const reasons = Object.fromEntries(m.skipped.map((s: { study: string; reason: string }) => [s.study, s.reason]));
  assert.match(reasons['sub-missing'], /no study folder/);
  assert.match(reasons['sub-float'], /float32 tensor, HLIP's layout stores uint8/);
  assert.match(reasons['sub-shape'], /shape \[16, 65, 64\], the model takes \[16, 64, 64\]/);
  assert.match(reasons['sub-label2'], /labels are not 0\/1: acute ischemic stroke="2"/);
  assert.ok(m.warnings.some((w: string) => /"Extra column"/.test(w)));
  const csv = parseCsv(readFileSync(join(unsharded, 'predictions-vit_base_multiscan_h2_token1176.csv'), 'utf8'));
  assert.equal(csv[0][0], 'study');
  assert.equal(csv[0].length, 75);
  assert.deepEqual(csv.slice(1).map((row) => row[0]), Array.from({ length: 10 }, (_, i) => `sub-${String(i).padStart(3, '0')}`));
  const run = json(join(unsharded, 'run.json'));
  assert.deepEqual(run.models.map((x: { computed: number }) => x.computed), [10, 10]);
  // Error analysis: per diagnosis, negatives by descending logit and positives by ascending logit.
  const errors = json(join(unsharded, 'errors.json'))['vit_base_multiscan_h2_token1176']['brain tumor'];
  const col = csv[0].indexOf('brain tumor');
  const logit = (study: string) => Number(csv.find((row) => row[0] === study)![col]);
  const neg = errors.highestNegatives.map((x: { study: string }) => logit(x.study));
  assert.ok(neg.length > 0 && neg.every((v: number, i: number) => i === 0 || v <= neg[i - 1]));
  assert.ok(errors.lowestPositives.length > 0);
});

test('content-keyed caches: a new image tower with a known (frozen) text tower converts only the image side; the same towers in another file convert and compute nothing', async () => {
  const M3 = join(REF, 'vit_base_multiscan_h3_token1176', 'model.safetensors');
  const [a, c] = [await readSafetensors(M1), await readSafetensors(M3)];
  const write = (name: string, tensors: Map<string, HostTensor>, config: string) => {
    const dir = join(work, name);
    mkdirSync(dir);
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    copyFileSync(join(dirname(config), 'open_clip_config.json'), join(dir, 'open_clip_config.json'));
    copyFileSync(join(dirname(M1), 'vocab.txt'), join(dir, 'vocab.txt'));
    return join(dir, 'model.safetensors');
  };
  const epochB = write('epoch-b', new Map([...c.tensors].filter(([k]) => !k.startsWith('text.')).concat([...a.tensors].filter(([k]) => k.startsWith('text.')))), M3);
  const resaved = write('resaved', new Map([...a.tensors, ['step', { dtype: 'float32', shape: [1], data: Float32Array.of(7) }]]), M1);
  const stats = async (model: string) => {
    const out = join(work, `${model.split('/').slice(-2)[0]}-out`);
    ok(await hlip('eval', '--model', model, '--data', join(mri, 'hlip'), '--labels', join(mri, 'labels.csv'), '--set', 'mri', '--out', out, '--cache', unshardedCache, '--draws', '10'));
    const r = json(join(out, 'run.json')).models[0];
    return [r.built, r.computed, r.cached];
  };
  assert.deepEqual(await stats(epochB), [['visual'], 10, 0]);
  assert.deepEqual(await stats(resaved), [[], 0, 10]);
});

test('a CSV that lacks class columns is refused naming them', async () => {
  const bad = join(work, 'bad.csv');
  execFileSync('bash', ['-c', `cut -d, -f1,3- ${join(mri, 'labels.csv')} > ${bad}`]);
  const r = await hlip('eval', '--model', M1, '--data', join(mri, 'hlip'), '--labels', bad, '--set', 'mri', '--out', join(work, 'x'), '--cache', unshardedCache);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /lacks 1 of the mri set's 74 class columns: "acute ischemic stroke".*\[BAD_LABELS\]/);
});

test('shards merged give the report of one unsharded run, byte for byte (fresh cache: every embedding recomputed)', async () => {
  const cache = join(work, 'cache-shards');
  const dirs = [0, 1, 2].map((i) => join(work, `shard-${i}`));
  for (const [i, dir] of dirs.entries()) ok(await hlip(...evalArgs(dir, cache, '--shard', `${i}/3`)));
  const merged = join(work, 'merged');
  ok(await hlip('merge', ...dirs, '--out', merged, '--draws', '200'));
  for (const f of readdirSync(unsharded).filter((n) => n !== 'run.json')) {
    assert.ok(readFileSync(join(merged, f)).equals(readFileSync(join(unsharded, f))), `${f} differs between merged and unsharded`);
  }
  const r = await hlip('merge', dirs[0], dirs[2], '--out', join(work, 'merged2'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /missing: 1.*MERGE_MISMATCH/);
});

test("one study's logits equal hlip classify of that study (raw layout, this project's pre-processing)", async () => {
  const out = join(work, 'raw');
  const cache = join(work, 'cache-raw');
  ok(await hlip('eval', '--model', M1, '--data', join(mri, 'raw'), '--labels', join(mri, 'labels.csv'), '--set', 'mri', '--layout', 'raw', '--out', out, '--cache', cache, '--draws', '50'));
  const csv = parseCsv(readFileSync(join(out, 'predictions.csv'), 'utf8'));
  const row = csv.find((r) => r[0] === 'sub-002')!;
  const c = await hlip('classify', join(mri, 'raw', 'sub-002'), '--model', M1, '--json', '--protocol', 'mri', '--cache', join(work, 'cache-classify'));
  ok(c);
  const set = (JSON.parse(c.stdout).sets as { name: string; rows: { className: string; score: number }[] }[]).find((s) => s.name === 'mri')!;
  let worst = 0;
  csv[0].slice(1).forEach((name, k) => (worst = Math.max(worst, Math.abs(Number(row[k + 1]) - set.rows.find((x) => x.className === name)!.score))));
  assert.ok(worst < 1e-6, `max |eval - classify| = ${worst}`);
});

test('an evaluation killed half way resumes without recomputing the cached embeddings', async () => {
  const cache = join(work, 'cache-resume');
  const out = join(work, 'resume');
  const args = ['--conditions=import', '--import', 'tsx', MAIN, 'eval', '--model', M1, '--data', join(mri, 'hlip'), '--labels', join(mri, 'labels.csv'), '--set', 'mri', '--out', out, '--cache', cache, '--ep', 'cpu', '--draws', '200'];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: 'ignore', detached: true });
  const embeddings = join(cache, 'eval', 'embeddings');
  const count = () => (existsSync(embeddings) ? execFileSync('find', [embeddings, '-name', '*.f32']).toString().split('\n').filter(Boolean).length : 0);
  const t0 = Date.now();
  while (count() < 3 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 50));
  process.kill(-child.pid!, 'SIGKILL'); // the CLI and its inference worker
  const cached = count();
  assert.ok(cached >= 3 && cached < 10, `${cached} embeddings cached when killed`);
  assert.ok(!existsSync(join(out, 'metrics.json')));
  ok(await hlip('eval', '--model', M1, '--data', join(mri, 'hlip'), '--labels', join(mri, 'labels.csv'), '--set', 'mri', '--out', out, '--cache', cache, '--draws', '200'));
  const run = json(join(out, 'run.json')).models[0];
  assert.equal(run.cached, cached);
  assert.equal(run.computed, 10 - cached);
  // Same logits as the uninterrupted run.
  assert.ok(readFileSync(join(out, 'predictions.csv')).equals(readFileSync(join(unsharded, 'predictions-vit_base_multiscan_h2_token1176.csv'))));
  assert.ok(statSync(join(out, 'metrics.json')).size > 0);
});
