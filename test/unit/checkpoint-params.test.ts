/**
 * open_clip training runs keep the model's name in logs/<run>/params.txt, next to logs/<run>/checkpoints/epoch_N.pt.
 * The name decides what the weights cannot: h2 and h3 token1176 models have the same tensors, different schedules.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectModelSpec, loadCheckpoint, writeSafetensors } from '../../src/hlip/checkpoint';
import { randomCheckpoint } from '../../src/hlip/demo/random-checkpoint';
import { tempDir } from '../oracles';

test('params.txt one folder up names the variant: the h3 schedule (slice-level blocks) is used', async () => {
  const run = tempDir('params');
  mkdirSync(join(run, 'checkpoints'));
  const ckpt = join(run, 'checkpoints', 'epoch_5.safetensors');
  writeSafetensors(ckpt, randomCheckpoint({ visual: { dim: 48, depth: 12, patch: [8, 16, 16], grid: [6, 14, 14], pool: 'token', embed: 32, sequence: true } }, 1));

  const alone = detectModelSpec(await loadCheckpoint(ckpt));
  assert.ok(!alone.visual!.schedule.includes('slice'), 'without a name the weights match h2 first');

  writeFileSync(join(run, 'params.txt'), 'batch_size: 8\nlr: 0.0005\nmodel: vit_base_multiscan_h3_token1176\nname: run1\n');
  const named = detectModelSpec(await loadCheckpoint(ckpt));
  assert.equal(named.visual!.name, 'vit_base_multiscan_h3_token1176');
  assert.deepEqual(named.visual!.schedule.slice(0, 3), ['slice', 'scan', 'study']);
});
