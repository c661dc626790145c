/** Conversion in a child process: a checkpoint that never finishes reading is stopped with a sentence, not waited on. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { importInChildProcess } from '../../src/host/import-process';
import { CodedError } from '../../src/shared/coded-error';
import { ROOT } from '../fixtures';
import { tempDir } from '../oracles';

test('a conversion that stops making progress is killed and reported as CONVERSION_STALLED', async () => {
  const dir = tempDir('stall');
  // A FIFO nobody writes to: reading it blocks forever, like a hostile file that sends the reader into a loop.
  const fifo = join(dir, 'model.safetensors');
  execFileSync('mkfifo', [fifo]);
  const t0 = Date.now();
  await assert.rejects(
    importInChildProcess(join(ROOT, 'src', 'cli', 'main.ts'), fifo, { cacheDir: join(dir, 'cache'), stallMs: 3000 }),
    (e) => e instanceof CodedError && e.code === 'CONVERSION_STALLED' && /model\.safetensors made no progress/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 20_000, 'stopped within seconds of the stall limit');
});
