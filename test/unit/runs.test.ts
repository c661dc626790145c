/**
 * Training runs against a logs tree written by Debian's python3-torch exactly as HLIP's trainer writes one
 * (test/oracles/make_runs.py): discovery, settings, the settings diff, metric series, what the weights say, bad input,
 * and that listing never reads a checkpoint in full (bytes read counted by the kernel: /proc/self/io).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildCompareData, chartsToCsv, describeWeights, diffRuns, discover, loadRun, loadTrainLog, parseParams, parsePythonJson } from '../../src/runs';
import { decimate } from '../../src/runs/compare-data';
import { parsePythonLiteral } from '../../src/runs/python-literal';
import { isCheckpointError } from '../../src/hlip/checkpoint';
import { ROOT } from '../fixtures';
import { tempDir } from '../oracles';
import { runsTree } from '../runs-tree';

const tree = runsTree();
const made = (name: string) => tree.runs.find((r) => r.name === name)!;

/** Bytes this process has read through read(2) and friends since it started (page cache included). */
const bytesRead = () => Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

test('discovery: the three runs of the logs folder, each with its three epochs, epoch_latest and results', async () => {
  const d = await discover([tree.logs]);
  assert.deepEqual(d.runs.map((r) => r.name), ['dinotxt', 'pd025', 'pd050']);
  assert.deepEqual(d.checkpoints, []);
  assert.deepEqual(d.problems, []);
  for (const r of d.runs) {
    assert.deepEqual(r.problems, [], r.name);
    assert.deepEqual(r.epochs.map((e) => e.fileName), ['epoch_1.pt', 'epoch_2.pt', 'epoch_3.pt', 'epoch_latest.pt']);
    assert.deepEqual(r.epochs.map((e) => e.latest), [false, false, true, true]);
    assert.ok(r.epochs.every((e) => e.complete && e.size === statSync(e.path).size));
    assert.equal(r.model, made(r.name).model);
    assert.equal(r.modality, 'mri');
    assert.equal(r.results.length, tree.epochs);
  }
  // A root can also be the run folder itself, and several roots are merged.
  const both = await discover([join(tree.logs, 'pd025'), tree.logsCt]);
  assert.deepEqual(both.runs.map((r) => `${r.name}:${r.modality}`), ['ct:ct', 'pd025:mri']);
});

test('settings: params.txt values as Python wrote them (numbers, None, booleans, dicts, lists, a tab)', async () => {
  const r = await loadRun(made('pd050').dir);
  const v = (k: string) => r.settings.get(k)?.value;
  assert.equal(v('force_patch_dropout'), 0.5);
  assert.equal(v('lr'), 0.0006);
  assert.equal(v('eps'), 1e-6);
  assert.equal(v('epochs'), 3);
  assert.equal(v('cache_dir'), null);
  assert.equal(v('save_most_recent'), true);
  assert.equal(v('model'), 'clip_vit_base_multiscan_h2_token1176');
  assert.deepEqual(v('mri'), { data_root: '/data/brainmri', input_file: '../data/mri/test.csv' });
  assert.deepEqual(v('ct'), {});
  assert.deepEqual(v('train_data_filelist'), ['../data/mri/train.csv']);
  assert.equal(r.settings.get('csv_separator')?.raw, '\t');
  // Sorted by name, as the trainer writes them.
  const keys = [...r.settings.keys()];
  assert.deepEqual(keys, [...keys].sort());
});

test('diff: the patch-dropout pair differs in force_patch_dropout only; the pooling pair in model and weights', async () => {
  const [pd025, pd050, dinotxt] = await Promise.all(['pd025', 'pd050', 'dinotxt'].map((n) => loadRun(made(n).dir)));
  const a = diffRuns([pd025, pd050]);
  assert.deepEqual(a.differing.filter((d) => !d.identity).map((d) => d.label), ['force_patch_dropout 0.25 -> 0.5']);
  assert.deepEqual(a.differing.filter((d) => d.identity).map((d) => d.key), ['checkpoint_path', 'log_path', 'name']);
  assert.deepEqual(a.problems, []);

  const w = await Promise.all([pd025, dinotxt].map((r) => describeWeights(r.epochs[2].path, r.model)));
  const b = diffRuns([pd025, dinotxt], w);
  assert.deepEqual(b.differing.filter((d) => !d.identity).map((d) => d.label), ['model clip_vit_base_multiscan_h2_token1176 -> clip_vit_base_multiscan_h2_dinotxt1176']);
  assert.deepEqual(b.weights.map((d) => d.label), [
    'weights: variant vit_base_multiscan_h2_token1176 -> vit_base_multiscan_h2_dinotxt1176',
    'weights: pooling token -> DINO.txt',
  ]);
});

test('what the weights say, from the state dict, with the checkpoint dict\'s epoch and name', async () => {
  for (const name of ['pd025', 'dinotxt']) {
    const g = made(name);
    const r = await loadRun(g.dir);
    const w = await describeWeights(r.epochs[1].path, r.model);
    assert.equal(w.epoch, 2);
    assert.equal(w.runName, name);
    assert.deepEqual(w.topKeys, ['epoch', 'name', 'state_dict', 'optimizer', 'scaler']);
    assert.equal(w.hasOptimizer, true);
    assert.equal(w.parameters, g.parameters);
    assert.equal(w.visual?.variant, g.variant);
    assert.equal(w.visual?.pool, g.pool);
    assert.deepEqual(w.visual?.patchSize, g.patch_size);
    assert.equal(w.visual?.depth, g.depth);
    assert.equal(w.visual?.width, g.width);
    assert.equal(w.visual?.sequenceEmbedding, 40);
    assert.equal(w.visual?.rope, false);
    assert.equal(w.visual?.registerTokens, 0);
    assert.ok(w.text && w.text.layers === 2);
  }
  // epoch_latest.pt (written as tmp.pt, renamed) holds the last epoch.
  const latest = await describeWeights(join(made('pd050').dir, 'checkpoints', 'epoch_latest.pt'));
  assert.equal(latest.epoch, tree.epochs);
});

test('listing runs and describing weights never read a checkpoint in full (kernel byte count)', async () => {
  const total = tree.runs.reduce((a, r) => a + ['1', '2', '3', 'latest'].reduce((b, e) => b + statSync(join(r.dir, 'checkpoints', `epoch_${e}.pt`)).size, 0), 0);
  const before = bytesRead();
  const d = await discover([tree.root]);
  const listed = bytesRead() - before;
  assert.equal(d.runs.length, 4);
  // 16 checkpoint files of ~6 MB: the listing reads their last KiB and the small text files.
  assert.ok(listed < 200 * 1024, `listing read ${listed} bytes of ${total}`);
  const file = d.runs[0].epochs[2];
  const b2 = bytesRead();
  await describeWeights(file.path, d.runs[0].model);
  const described = bytesRead() - b2;
  // The zip directory and data.pkl (state dict and optimizer structure), not the storages.
  assert.ok(described < file.size / 10, `describing read ${described} of ${file.size} bytes`);
});

test('metric series: results.jsonl rows and out.log steps as the trainer logged them', async () => {
  const g = made('pd025');
  const r = await loadRun(g.dir);
  assert.deepEqual(r.results.map((x) => x.epoch), [1, 2, 3]);
  assert.ok(r.results.every((x) => x.epochFrom === 'row'));
  for (const [i, row] of r.results.entries()) {
    const { epoch: _e, ...expected } = g.results[i];
    assert.deepEqual(row.metrics, expected);
  }
  // Zero-shot-only rows have no "epoch": it comes from out.log's Eval lines.
  const z = await loadRun(made('dinotxt').dir);
  assert.deepEqual(z.results.map((x) => [x.epoch, x.epochFrom]), [[1, 'out.log'], [2, 'out.log'], [3, 'out.log']]);
  // Python's NaN (an AUC that could not be computed) is read as NaN, not dropped.
  const ct = await loadRun(made('ct').dir);
  assert.ok(Number.isNaN(ct.results[0].metrics['auc (ct)']));

  const log = await loadTrainLog(r);
  const stepsPerEpoch = tree.samples_per_epoch / tree.global_batch;
  const perEpoch = Math.ceil(stepsPerEpoch / tree.log_every) + (stepsPerEpoch % tree.log_every === 1 ? 0 : 1);
  assert.equal(log.train.length, tree.epochs * perEpoch);
  assert.equal(log.evals.length, tree.epochs);
  const last = log.train[log.train.length - 1];
  assert.equal(last.epoch, tree.epochs);
  assert.equal(last.step, tree.epochs * stepsPerEpoch);
  assert.deepEqual(Object.keys(last.losses), ['Contrastive_loss']);
  assert.ok(log.train.every((p) => p.lr !== undefined && p.lr >= 0 && p.lr <= 0.0006));
  assert.deepEqual(r.lastTrain, last);
  // Same numbers as the log line's text.
  const text = readFileSync(r.logPath!, 'utf8').trim().split('\n').filter((l) => l.includes('Train Epoch')).pop()!;
  assert.equal(last.losses.Contrastive_loss, Number(/Contrastive_loss: (\S+)/.exec(text)![1]));

  const data = buildCompareData([{ run: r, log }, { run: await loadRun(made('pd050').dir), log: await loadTrainLog(await loadRun(made('pd050').dir)) }]);
  const ids = data.charts.map((c) => c.id);
  for (const k of r.metricKeys) assert.ok(ids.includes(`logged:${k}`), k);
  assert.ok(ids.includes('train:Contrastive_loss') && ids.includes('train:lr'));
  assert.ok(data.charts.every((c) => c.series.length === 2));
  const csv = chartsToCsv(data, ['logged:auc (mri)']).trim().split('\n');
  assert.equal(csv.length, 1 + 2 * tree.epochs);
  assert.match(csv[1], /^auc \(mri\),epoch,pd025,logged,1,0\.6/);
});

test('bad input: unparsable lines, a half-written epoch, a run without checkpoints, mixed modalities', async () => {
  const dir = tempDir('runs-bad');
  cpSync(tree.logs, join(dir, 'logs'), { recursive: true });
  cpSync(tree.logsCt, join(dir, 'logs'), { recursive: true });
  const run = join(dir, 'logs', 'pd025');
  appendFileSync(join(run, 'params.txt'), 'this line is not a setting\n');
  appendFileSync(join(run, 'checkpoints', 'results.jsonl'), '{"auc (mri)": oops}\n{"auc (mri)": 0.8');
  const half = join(run, 'checkpoints', 'epoch_3.pt');
  truncateSync(half, Math.floor(statSync(half).size / 2));
  cpSync(half, join(run, 'checkpoints', 'tmp.pt'));
  mkdirSync(join(dir, 'logs', 'fresh', 'checkpoints'), { recursive: true });
  writeFileSync(join(dir, 'logs', 'fresh', 'params.txt'), 'model: clip_vit_base_multiscan_h2_token1176\nmri: {}\n');

  const d = await discover([join(dir, 'logs')]);
  assert.deepEqual(d.runs.map((r) => r.name), ['ct', 'dinotxt', 'fresh', 'pd025', 'pd050']);
  const bad = d.runs.find((r) => r.name === 'pd025')!;
  const codes = bad.problems.map((p) => `${p.code}${p.line ? `@${p.line}` : ''}`);
  const paramsLines = readFileSync(join(run, 'params.txt'), 'utf8').trim().split('\n').length;
  assert.deepEqual(codes.sort(), [`PARAMS_LINE@${paramsLines}`, 'EPOCH_INCOMPLETE', 'RESULTS_LINE@4', 'RESULTS_PARTIAL@5'].sort());
  // What could be read still is: the other settings, the good rows, the complete epochs.
  assert.equal(bad.settings.get('force_patch_dropout')?.value, 0.25);
  assert.equal(bad.results.length, 3);
  const e3 = bad.epochs.find((e) => e.fileName === 'epoch_3.pt')!;
  assert.equal(e3.complete, false);
  assert.match(e3.incompleteReason!, /end record/);
  assert.equal(bad.epochs.find((e) => e.kind === 'tmp')?.complete, false);
  assert.equal(bad.epochs.find((e) => e.fileName === 'epoch_2.pt')?.latest, false);
  await assert.rejects(describeWeights(half), (e) => isCheckpointError(e) && e.code === 'CORRUPT');
  assert.deepEqual(d.runs.find((r) => r.name === 'fresh')!.problems.map((p) => p.code), ['NO_CHECKPOINTS']);
  assert.deepEqual(d.runs.find((r) => r.name === 'pd050')!.problems, []);
  const mixed = diffRuns(d.runs.filter((r) => r.name === 'ct' || r.name === 'pd050'));
  assert.deepEqual(mixed.problems.map((p) => p.code), ['MODALITY_MISMATCH']);
  assert.match(mixed.problems[0].message, /ct: ct, pd050: mri/);
});

test('Python literals and Python JSON', () => {
  assert.deepEqual(parsePythonLiteral("{'a': [1, 2.5, None, True], 'b': ('x', -3e-05)}"), { a: [1, 2.5, null, true], b: ['x', -3e-5] });
  assert.equal(parsePythonLiteral('2024_05_01-12'), undefined);
  assert.equal(parsePythonLiteral('/data/x'), undefined);
  assert.ok(Number.isNaN(parsePythonLiteral('nan') as number));
  assert.equal(parsePythonLiteral("'it\\'s'"), "it's");
  assert.deepEqual(parsePythonJson('{"a": NaN, "b": -Infinity, "c": "NaN"}'), { a: NaN, b: -Infinity, c: 'NaN' });
  const p = parseParams('a: 1\nb:\nc: [1,\n', 'p.txt');
  assert.deepEqual([...p.settings.keys()], ['a', 'b', 'c']);
  assert.equal(p.settings.get('c')?.value, '[1,'); // not a literal: kept as text
});

test('hlip runs: text and --json on the generated tree', () => {
  const hlip = (...args: string[]) => spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8' });
  const r = hlip('runs', join(tree.logs, 'pd025'), join(tree.logs, 'pd050'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /run pd025/);
  assert.match(r.stdout, /epochs\s+1 2 3\* latest/);
  assert.match(r.stdout, /weights\s+vit_base_multiscan_h2_token1176, CLS-token pooling, patch 8x16x16/);
  assert.match(r.stdout, /differing settings \(pd025, pd050\):\n  force_patch_dropout 0\.25 -> 0\.5\n/);
  assert.match(r.stdout, /metrics\s+epoch 3: auc \(mri\) 0\.7600/);
  const j = hlip('runs', tree.root, '--json');
  assert.equal(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  assert.equal(out.runs.length, 4);
  const ct = out.runs.find((x: { name: string }) => x.name === 'ct');
  assert.equal(ct.results[0].metrics['auc (ct)'], 'NaN');
  assert.equal(ct.settings.force_patch_dropout, 0.25);
  assert.equal(out.diff.problems[0].code, 'MODALITY_MISMATCH');
  const bad = hlip('runs', join(tree.root, 'nope'));
  assert.equal(bad.status, 0);
  assert.match(bad.stdout, /No such file or folder/);
});

test('drawn series are thinned by buckets keeping each bucket\'s lowest and highest value', () => {
  const pts: [number, number][] = Array.from({ length: 10_000 }, (_, i) => [i, Math.sin(i / 50)]);
  pts[4321][1] = 9; // a spike
  pts[7000][1] = -9;
  const d = decimate(pts, 2000);
  assert.ok(d.length <= 2001, String(d.length));
  assert.ok(d.some((p) => p[1] === 9) && d.some((p) => p[1] === -9), 'spikes kept');
  assert.deepEqual(d[0], pts[0]);
  assert.deepEqual(d[d.length - 1], pts[pts.length - 1]);
  for (let i = 1; i < d.length; i++) assert.ok(d[i][0] > d[i - 1][0], 'x order');
  assert.equal(decimate(pts.slice(0, 100), 2000).length, 100);
});
