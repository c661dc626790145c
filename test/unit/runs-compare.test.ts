/**
 * `hlip compare`: checkpoints of the generated training runs on a real MRI volume. Each checkpoint's scores equal
 * `hlip classify` of that checkpoint alone (same pipeline, same cache); a checkpoint that cannot be read keeps its
 * column with the reason and the others still run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { classifyCommand } from '../../src/cli/classify';
import { compareCommand } from '../../src/cli/compare';
import { parseOptions } from '../../src/cli/options';
import type { ClassifyResults } from '../../src/hlip/classify/results';
import type { CheckpointComparison } from '../../src/runs';
import { NIBABEL, fixture } from '../fixtures';
import { tempDir } from '../oracles';
import { runsTree } from '../runs-tree';

const tree = runsTree();
const cache = tempDir('runs-compare-cache');
const epoch = (run: string, n: number) => join(tree.logs, run, 'checkpoints', `epoch_${n}.pt`);

async function cli(command: typeof classifyCommand, name: string, args: string[]): Promise<string> {
  const lines: string[] = [];
  const o = parseOptions([...args, '--cache', cache, '--vocab', tree.vocab, '--quiet'], `hlip ${name}`);
  assert.equal(await command(o.positional[0], o, (s) => lines.push(s)), 0);
  return lines.join('\n');
}

test('hlip compare: per-checkpoint scores equal hlip classify of each checkpoint alone; a bad one is reported', async (t) => {
  const study = fixture(t, NIBABEL, 'anatomical.nii');
  if (!study) return;
  const a = epoch('pd025', 3);
  const b = epoch('dinotxt', 2);
  const alone = [
    JSON.parse(await cli(classifyCommand, 'classify', [study, '--model', a, '--json'])) as ClassifyResults,
    JSON.parse(await cli(classifyCommand, 'classify', [study, '--model', b, '--json'])) as ClassifyResults,
  ];
  const missing = join(tree.root, 'no-such-epoch.pt');
  const out = JSON.parse(await cli(compareCommand, 'compare', [study, '--model', a, '--model', missing, '--model', b, '--json'])) as {
    comparison: CheckpointComparison;
    results: (ClassifyResults | null)[];
  };
  const c = out.comparison;
  assert.deepEqual(c.checkpoints.map((k) => [k.label, k.ok]), [['pd025 epoch_3', true], ['no-such-epoch', false], ['dinotxt epoch_2', true]]);
  assert.equal(c.checkpoints[1].error?.code, 'NOT_FOUND');
  assert.equal(out.results[1], null);
  for (const [i, col] of [[0, 0], [1, 2]] as const) {
    const r = alone[i];
    assert.deepEqual(out.results[col]!.sets, r.sets, `checkpoint ${col}: every set, row and score`);
    assert.equal(out.results[col]!.model.id, r.model.id, 'the same converted model (cache hit)');
    for (const s of r.sets) {
      const set = c.sets.find((x) => x.name === s.name)!;
      s.rows.forEach((row, rank) => {
        const cmp = set.rows.find((x) => x.className === row.className)!;
        assert.equal(cmp.scores[col], row.score, `${s.name} ${row.className}`);
        assert.equal(cmp.ranks[col], rank + 1);
        assert.equal(cmp.scores[1], null);
      });
    }
  }
  assert.deepEqual(alone.map((r) => r.model.variant), ['vit_base_multiscan_h2_token1176', 'vit_base_multiscan_h2_dinotxt1176']);
  // Largest disagreements first; with two scores the difference is the largest minus the smallest.
  const mri = c.sets.find((s) => s.name === 'mri')!;
  assert.equal(mri.rows.length, 74);
  for (let i = 1; i < mri.rows.length; i++) assert.ok(mri.rows[i - 1].spread >= mri.rows[i].spread);
  const top = mri.rows[0];
  assert.ok(Math.abs(top.spread - Math.abs(top.scores[2]! - top.scores[0]!)) < 1e-12);

  const text = await cli(compareCommand, 'compare', [study, '--model', a, '--model', b, '--top', '3']);
  assert.match(text, /\[1\] pd025 epoch_3 +vit_base_multiscan_h2_token1176/);
  assert.match(text, /Brain MRI \(74\): 3 largest disagreements of 74/);
});
