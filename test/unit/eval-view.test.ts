/** The editor's view of an evaluation (src/eval/evaluation-view.ts): evaluated series join the run's logged charts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEpochOf, withEvaluated } from '../../src/eval/evaluation-view';
import type { MetricsReport } from '../../src/eval/report';
import type { CompareData } from '../../src/runs/compare-data';

const model = (path: string, auc: number) => ({ label: path, path, sha256: '', visualHash: '', untrained: false, studies: 3, metrics: { 'auc (mri)': auc, 'auc (glioma)': 0.5 }, scorable: {}, ci95: {}, warnings: [] });

test('evaluated figures join the logged chart of the same key per run and epoch; per-diagnosis figures get no chart', () => {
  const data: CompareData = {
    runs: [{ id: '/logs/a', name: 'a', epochs: 2, problems: [] }],
    diff: { differing: [], same: [], weights: [], problems: [] } as unknown as CompareData['diff'],
    charts: [{ id: 'logged:auc (mri)', title: 'auc (mri)', xLabel: 'epoch', series: [{ runId: '/logs/a', source: 'logged', points: [[1, 0.6], [2, 0.7]] }] }, { id: 'train:lr', title: 'lr', xLabel: 'step', series: [] }],
  };
  const report = { models: [model('/logs/a/checkpoints/epoch_2.pt', 0.71), model('/logs/a/checkpoints/epoch_1.pt', 0.61), model('/elsewhere/x.pt', 0.9)] } as unknown as MetricsReport;
  const out = withEvaluated(data, report);
  assert.deepEqual(out.charts.map((c) => c.id), ['logged:auc (mri)', 'train:lr']);
  assert.deepEqual(out.charts[0].series.map((s) => [s.source, s.points]), [['logged', [[1, 0.6], [2, 0.7]]], ['evaluated', [[1, 0.61], [2, 0.71]]]]);
  // Idempotent: evaluating again replaces the evaluated series.
  assert.equal(withEvaluated(out, report).charts[0].series.length, 2);
  assert.deepEqual(runEpochOf('/r/run1/checkpoints/epoch_12.pt'), { runDir: '/r/run1', epoch: 12 });
  assert.equal(runEpochOf('/r/run1/checkpoints/epoch_latest.pt'), undefined);
});
