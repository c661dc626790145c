/**
 * Training runs inside a real VS Code: the HLIP Runs view lists the generated logs tree (torch.save as HLIP's trainer,
 * test/oracles/make_runs.py) from the setting hlip.runFolders, follows a run while it trains (a new epoch file and
 * results line through the real file watcher), the Compare panel draws a chart per metric, and Compare Checkpoints
 * on an open study gives each checkpoint's own classification, a failing checkpoint showing why.
 */
import * as assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HlipApi } from '../../../src/host/extension';
import type { RunsNode } from '../../../src/host/runs/runs-view';
import type { ClassifyResults } from '../../../src/protocol';
import type { Discovery } from '../../../src/runs';
import { runsTree } from '../../runs-tree';
import { test } from './index';

let api: HlipApi;
async function hlip(): Promise<HlipApi> {
  if (!api) api = (await vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.activate()) as HlipApi;
  return api;
}
const config = () => vscode.workspace.getConfiguration('hlip');
const tree = runsTree();
const live = mkdtempSync(join(tmpdir(), 'hlip-live-logs-'));

async function children(n?: RunsNode): Promise<RunsNode[]> {
  return (await hlip()).runs.view.getChildren(n);
}
const label = async (n: RunsNode) => {
  const item = (await hlip()).runs.view.getTreeItem(n);
  return `${typeof item.label === 'string' ? item.label : item.label?.label}${item.description ? ` | ${item.description}` : ''}`;
};

/** Resolves with the first listing that satisfies `ok`. */
function listing(ok: (d: Discovery) => boolean, timeout = 30_000): Promise<Discovery> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (sub.dispose(), reject(new Error('the Runs view did not update'))), timeout);
    const sub = api.runs.view.onDidRefresh((d) => ok(d) && (clearTimeout(timer), sub.dispose(), resolve(d)));
  });
}

test('the HLIP Runs view lists the generated runs with their epochs, settings and weights', async () => {
  await hlip();
  cpSync(join(tree.logs, 'pd050'), join(live, 'pd050'), { recursive: true });
  await config().update('runFolders', [tree.logs, tree.logsCt, live], vscode.ConfigurationTarget.Global);
  await vscode.commands.executeCommand('hlip.runs.focus');
  const top = await children();
  const runs = top.filter((n) => n.kind === 'run');
  assert.deepEqual(runs.map((n) => (n.kind === 'run' ? n.run.name : '')).sort(), ['ct', 'dinotxt', 'pd025', 'pd050', 'pd050']);
  const pd025 = runs.find((n) => n.kind === 'run' && n.run.name === 'pd025')!;
  assert.match(await label(pd025), /pd025 \| MRI · 3 epochs · auc \(mri\) 0\.76\d* @3/);
  const kids = await children(pd025);
  assert.deepEqual(await Promise.all(kids.map(label)).then((l) => l.map((x) => x.split(' | ')[0])), ['Settings', 'Weights', 'epoch 1', 'epoch 2', 'epoch 3', 'epoch_latest.pt']);
  assert.match(await label(kids[4]), /epoch 3 \| latest · 5\.\d MiB/);
  const settings = await children(kids[0]);
  assert.equal(await label(settings[0]), 'model | clip_vit_base_multiscan_h2_token1176');
  assert.equal(await label(settings[1]), 'force_patch_dropout | 0.25');
  const weights = await Promise.all((await children(kids[1])).map(label));
  assert.ok(weights.includes('pooling | CLS token'), weights.join('\n'));
  assert.ok(weights.includes('patch size | 8 x 16 x 16'));
  assert.ok(weights.includes('sequence embedding | 40 scans'));
}, { timeout: 120_000 });

test('a run that trains on: a new epoch file and results line appear through the file watcher', async () => {
  const run = join(live, 'pd050');
  // The watcher on a folder outside the workspace starts asynchronously: rewrite params.txt until it reports.
  const params = readFileSync(join(run, 'params.txt'));
  const started = listing(() => true, 20_000);
  const poke = setInterval(() => writeFileSync(join(run, 'params.txt'), params), 1000);
  writeFileSync(join(run, 'params.txt'), params);
  await started.finally(() => clearInterval(poke));
  // 10 s: well inside the view's 30 s re-read, so it is the file events that bring the change.
  const next = listing((d) => d.runs.some((r) => r.dir === run && r.epochs.some((e) => e.epoch === 4) && r.results.length === 4), 10_000);
  copyFileSync(join(run, 'checkpoints', 'epoch_3.pt'), join(run, 'checkpoints', 'epoch_4.pt'));
  appendFileSync(join(run, 'checkpoints', 'results.jsonl'), '{"auc (mri)": 0.81, "epoch": 4, "num_samples": 512}\n');
  const d = await next;
  const r = d.runs.find((x) => x.dir === run)!;
  assert.deepEqual(r.epochs.filter((e) => e.latest).map((e) => e.fileName), ['epoch_4.pt', 'epoch_latest.pt']);
}, { timeout: 60_000 });

test('Compare Runs draws a chart per logged metric, loss and learning rate, and names the ablation', async () => {
  const { runs } = await hlip();
  const drawn = new Promise<{ charts: number }>((resolve) => {
    const sub = runs.onDidDraw((e) => (sub.dispose(), resolve(e)));
  });
  const dirs = [join(tree.logs, 'pd025'), join(tree.logs, 'pd050')];
  await vscode.commands.executeCommand('hlip.runs.compare', dirs);
  const { charts } = await drawn;
  const panel = runs.panels().at(-1)!;
  // auc (mri), 5 retrieval keys, valid_clip_score, num_samples; Contrastive_loss; lr.
  assert.equal(charts, 10);
  const data = panel.runsData!;
  assert.deepEqual(data.diff.differing.filter((d) => !d.identity).map((d) => d.label), ['force_patch_dropout 0.25 -> 0.5']);
  assert.deepEqual(data.diff.problems, []);
  const loss = data.charts.find((c) => c.id === 'train:Contrastive_loss')!;
  assert.equal(loss.xLabel, 'step');
  assert.deepEqual(loss.series.map((s) => s.points.length), [tree.epochs * 5, tree.epochs * 5]);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  assert.equal(runs.panels().includes(panel), false);
}, { timeout: 60_000 });

test('Compare Checkpoints on an open study: each checkpoint classified as alone; a bad one says why', async () => {
  const { runs, onDidReceive } = await hlip();
  const study = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'anatomical.nii');
  const rendered = new Promise<void>((resolve) => {
    const sub = onDidReceive(({ session, message }) => session.source.fsPath === study.fsPath && message.type === 'rendered' && (sub.dispose(), resolve()));
  });
  await vscode.commands.executeCommand('vscode.openWith', study, 'hlip.volumeViewer');
  await rendered;
  const a = join(tree.logs, 'pd025', 'checkpoints', 'epoch_3.pt');
  const b = join(tree.logs, 'dinotxt', 'checkpoints', 'epoch_3.pt');
  const missing = join(tree.root, 'missing.pt');
  await vscode.commands.executeCommand('hlip.compareCheckpoints', [a, missing, b]);
  const panel = runs.panels().at(-1)!;
  const c = panel.comparison!;
  assert.equal(panel.progress?.running, false);
  assert.deepEqual(c.checkpoints.map((k) => [k.label, k.ok]), [['pd025 epoch_3', true], ['missing', false], ['dinotxt epoch_3', true]]);
  assert.match(c.checkpoints[1].error!.message, /No checkpoint file or folder/);
  // The same checkpoint through "Classify with This Checkpoint" (the editor's classify path) gives the same scores.
  const alone = (await vscode.commands.executeCommand('hlip.runs.classifyWithEpoch', { kind: 'epoch', run: undefined, epoch: { path: b } })) as ClassifyResults;
  const mri = alone.sets.find((s) => s.name === 'mri')!;
  const cmp = c.sets.find((s) => s.name === 'mri')!;
  assert.equal(cmp.rows.length, 74);
  for (const [rank, row] of mri.rows.entries()) {
    const r = cmp.rows.find((x) => x.className === row.className)!;
    assert.equal(r.scores[2], row.score, row.className);
    assert.equal(r.ranks[2], rank + 1);
  }
  // A checkpoint's map in the viewer, from the compare engine.
  await panel.showMap(2, { kind: 'showMap', checkpoint: 2, map: { kind: 'diagnosis', set: 'mri', className: mri.rows[0].className } });
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await config().update('runFolders', undefined, vscode.ConfigurationTarget.Global);
}, { timeout: 300_000 });
