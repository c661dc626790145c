/** .npy reader/writer: round trips, and numpy reads what we write and we read what numpy writes. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeNpy, encodeNpy, readNpy, writeNpy, type NpyData } from '../../src/hlip/export/npy';
import { SYSTEM_PYTHON } from '../fixtures';
import { tempDir } from '../oracles';

const py = (code: string, ...args: string[]) => execFileSync(SYSTEM_PYTHON, ['-c', code, ...args]).toString('utf8').trim();

const SAMPLES: [string, NpyData, number[]][] = [
  ['f32', Float32Array.from([1.5, -2, 3.25, Math.PI, -0, 1e-30]), [2, 3]],
  ['i64', BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n), 5n, 6n, 7n, 8n]), [2, 2, 2]],
  ['i32', Int32Array.from([-2147483648, 2147483647, 0]), [3]],
  ['u8', Uint8Array.from([0, 255, 128, 7]), [4, 1]],
  ['empty', new Float32Array(0), [0, 4]],
  ['scalar', Float32Array.from([42]), []],
];

test('round trip in memory, 64-byte aligned header', () => {
  for (const [name, data, shape] of SAMPLES) {
    const bytes = encodeNpy(data, shape);
    const headerLen = bytes[8] | (bytes[9] << 8);
    assert.equal((10 + headerLen) % 64, 0, name);
    assert.equal(bytes[10 + headerLen - 1], 0x0a, name);
    const back = decodeNpy(bytes);
    assert.deepEqual(back.shape, shape, name);
    assert.deepEqual(back.data, data, name);
  }
  assert.throws(() => encodeNpy(Float32Array.from([1, 2, 3]), [2, 2]), /holds 4 values/);
  assert.throws(() => decodeNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), /magic/);
});

test('numpy reads what we write', () => {
  const dir = tempDir('npy');
  for (const [name, data, shape] of SAMPLES) {
    const p = join(dir, `${name}.npy`);
    writeNpy(p, data, shape);
    const out = JSON.parse(
      py('import numpy as np,sys,json; a=np.load(sys.argv[1]); print(json.dumps([str(a.dtype), list(a.shape), [str(x) for x in a.ravel().tolist()]]))', p),
    );
    const dtype = { f32: 'float32', i64: 'int64', i32: 'int32', u8: 'uint8', empty: 'float32', scalar: 'float32' }[name];
    assert.equal(out[0], dtype, name);
    assert.deepEqual(out[1], shape, name);
    const want = Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
    out[2].forEach((s: string, i: number) => (typeof want[i] === 'string' ? assert.equal(s, want[i]) : assert.equal(Number(s), want[i])));
  }
});

test('we read what numpy writes (v1 and v2 headers, int64 / float32 / int32 / uint8)', () => {
  const dir = tempDir('npy');
  py(
    `import numpy as np, sys, os
d = sys.argv[1]
np.save(os.path.join(d, 'a.npy'), np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7)
np.save(os.path.join(d, 'b.npy'), np.array([[-5, 2**40], [7, -2**62]], dtype=np.int64))
np.save(os.path.join(d, 'c.npy'), np.array([1, -2, 3], dtype='<i4'))
np.save(os.path.join(d, 'd.npy'), np.array([9, 8], dtype=np.uint8))
from numpy.lib import format as f
with open(os.path.join(d, 'e.npy'), 'wb') as fh:
    a = np.array([1.0, 2.0], dtype=np.float32)
    f.write_array(fh, a, version=(2, 0))
np.save(os.path.join(d, 'f.npy'), np.asfortranarray(np.ones((2, 2), np.float32)))
np.save(os.path.join(d, 'g.npy'), np.ones(2, np.float64))`,
    dir,
  );
  const a = readNpy(join(dir, 'a.npy'));
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [2, 3, 4]);
  assert.equal(a.data[23], Math.fround(23 / 7));
  const b = readNpy(join(dir, 'b.npy'));
  assert.deepEqual(Array.from(b.data as BigInt64Array), [-5n, 2n ** 40n, 7n, -(2n ** 62n)]);
  assert.deepEqual(Array.from(readNpy(join(dir, 'c.npy')).data as Int32Array), [1, -2, 3]);
  assert.deepEqual(Array.from(readNpy(join(dir, 'd.npy')).data as Uint8Array), [9, 8]);
  assert.deepEqual(Array.from(readNpy(join(dir, 'e.npy')).data as Float32Array), [1, 2]);
  assert.throws(() => readNpy(join(dir, 'f.npy')), /Fortran/);
  assert.throws(() => readNpy(join(dir, 'g.npy')), /unsupported dtype <f8/);
  // Byte-identical to numpy's own file for the same array.
  py(`import numpy as np,sys; np.save(sys.argv[1], np.array([[1,2],[3,4]], dtype=np.float32))`, join(dir, 'h.npy'));
  assert.deepEqual(Buffer.from(encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2])), readFileSync(join(dir, 'h.npy')));
});
