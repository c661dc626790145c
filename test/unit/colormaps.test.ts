/** The viewer's colour maps are matplotlib's published tables, not approximations of them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { table } from '../../webview/colormap-tables';
import { ROOT } from '../fixtures';
import { tempDir } from '../oracles';

test('viridis / inferno / magma / hot equal matplotlib\'s tables, regenerated now', () => {
  const out = join(tempDir('cmap'), 'tables.json');
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'tools', 'colormaps', 'make_tables.py'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `matplotlib (Debian python3-matplotlib, installed by scripts/install-system.sh): ${r.stderr}`);
  const fresh = JSON.parse(readFileSync(out, 'utf8')).tables as Record<string, string>;
  for (const name of ['viridis', 'inferno', 'magma', 'hot']) {
    assert.equal(Buffer.from(table(name)).toString('hex'), fresh[name], name);
    assert.equal(table(name).length, 256 * 3);
  }
  // Known anchors of the published data: viridis starts at #440154 and ends at #fde725.
  assert.deepEqual([...table('viridis').subarray(0, 3)], [0x44, 0x01, 0x54]);
  assert.deepEqual([...table('viridis').subarray(765, 768)], [0xfd, 0xe7, 0x25]);
});

test('grey, inverted grey and the overlay map are linear ramps; an unknown name is grey', () => {
  const g = table('gray');
  assert.deepEqual([g[0], g[3 * 128], g[765]], [0, 128, 255]);
  assert.deepEqual([...table('inverted').subarray(0, 3)], [255, 255, 255]);
  assert.deepEqual([...table('heat').subarray(0, 3)], [160, 0, 0]);
  assert.deepEqual(table('nonsense'), g);
});
