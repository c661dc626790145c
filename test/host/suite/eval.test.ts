/**
 * "HLIP: Evaluate Checkpoints" inside a real VS Code: three epochs of a generated training run (test/oracles/make_runs.py)
 * evaluated on generated raw-layout studies (test/oracles/make_eval_data.py); the Compare panel gets the figures with
 * intervals and paired differences, the error-analysis lists, and the evaluated figures as series next to the run's
 * logged ones; a study of the error analysis opens in a viewer with that checkpoint's diagnosis map.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HlipApi } from '../../../src/host/extension';
import type { ComparePanel } from '../../../src/host/runs/compare-panel';
import { runsTree } from '../../runs-tree';
import { test } from './index';

const REPO = process.env.HLIP_REPO!;
const tree = runsTree();
const data = mkdtempSync(join(tmpdir(), 'hlip-eval-data-'));
let panel: ComparePanel;

test('Evaluate Checkpoints on three epochs of a run: figures, intervals, paired differences, evaluated series', async () => {
  execFileSync('/usr/bin/python3', [join(REPO, 'test', 'oracles', 'make_eval_data.py'), data, 'mri', '8', '16', '64', '64', '4']);
  const api = (await vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.activate()) as HlipApi;
  await vscode.workspace.getConfiguration('hlip').update('runFolders', [tree.logs], vscode.ConfigurationTarget.Global);
  const run = join(tree.logs, 'pd025');
  const paths = [1, 2, 3].map((e) => join(run, 'checkpoints', `epoch_${e}.pt`));
  panel = (await vscode.commands.executeCommand('hlip.evaluateCheckpoints', {
    paths, data: join(data, 'raw'), labels: join(data, 'labels.csv'), set: 'mri', layout: 'raw', vocab: tree.vocab,
  })) as ComparePanel;
  const v = panel.evaluationShown!;
  assert.ok(v, `no evaluation shown: ${JSON.stringify(panel.evaluationProgress)}`);
  assert.deepEqual(v.checkpoints.map((c) => c.label), ['epoch_1', 'epoch_2', 'epoch_3']);
  assert.equal(v.studies, 8);
  const macro = v.rows.find((r) => r.key === 'auc (mri)')!;
  assert.equal(macro.values.length, 3);
  assert.equal(macro.differences.length, 2);
  assert.ok(v.errors.some((e) => e.diagnosis === 'brain tumor' && e.highestNegatives.length > 0));
  // Evaluated next to logged: the run's "auc (mri)" chart has both series.
  const chart = panel.compareData!.charts.find((c) => c.id === 'logged:auc (mri)')!;
  const sources = chart.series.map((s) => s.source);
  assert.ok(sources.includes('logged') && sources.includes('evaluated'), sources.join());
  const evaluated = chart.series.find((s) => s.source === 'evaluated')!;
  assert.deepEqual(evaluated.points.map((p) => p[0]), [1, 2, 3]);
  assert.ok(api);
}, { timeout: 300_000 });

test('error analysis: a study opens in the viewer with the checkpoint\'s map of the diagnosis', async () => {
  const v = panel.evaluationShown!;
  const e = v.errors.find((x) => x.checkpoint === 2 && x.diagnosis === 'brain tumor')!;
  const study = e.highestNegatives[0].study;
  await panel.openEvaluatedStudy(2, study, 'brain tumor');
  // The study was opened in a viewer and classified there with epoch 3 (whose map the viewer now shows).
  assert.equal(panel.progress?.study, study);
  assert.equal(panel.progress?.running, false);
  assert.deepEqual(panel.comparison?.checkpoints.map((c) => [c.label, c.ok]), [['pd025 epoch_3', true]]);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, { timeout: 180_000 });
