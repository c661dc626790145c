/**
 * Issue 11 on real files: a damaged NumberOfFrames, a NaN sform, orientation codes of degenerate affines, the pickle
 * reader's bounds and linear LONG4, and zero-shot scoring of a model without logit_scale. (Hostile checkpoints and the
 * mutation fuzzer are in fuzz.test.ts; downloads in download.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PickleDamage, unpickle } from '../../src/hlip/checkpoint/unpickle';
import { CheckpointError, readSafetensors, writeSafetensors } from '../../src/hlip/checkpoint';
import { classifyStudy, openModel } from '../../src/hlip/classify/study-classifier';
import { convertModel } from '../../src/hlip/convert/model-converter';
import { writeDemoModel } from '../../src/hlip/demo/demo-model';
import { HlipEngine } from '../../src/hlip/inference/engine';
import { ModelCatalogue } from '../../src/hlip/models/model-catalogue';
import { scoreSet, unscorableReason, ZeroShotError } from '../../src/hlip/classify/zero-shot';
import { orientationCode } from '../../src/shared/geometry';
import { VolumeError } from '../../src/volume/errors';
import { openStudy } from '../../src/volume/open';
import { NIBABEL, ROOT, SYSTEM_PYTHON } from '../fixtures';
import { makeSeries, tempDir } from '../oracles';

/** Inserts (0028,0008) NumberOfFrames = `value` (implicit VR) before Rows, where it belongs in tag order. */
function withNumberOfFrames(file: string, value: string): void {
  const b = readFileSync(file);
  const rows = b.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00]));
  assert.ok(rows > 0, 'Rows element found');
  const v = Buffer.from(value.length % 2 ? `${value} ` : value, 'latin1');
  const el = Buffer.concat([Buffer.from([0x28, 0x00, 0x08, 0x00]), Buffer.from(Uint32Array.of(v.length).buffer), v]);
  writeFileSync(file, Buffer.concat([b.subarray(0, rows), el, b.subarray(rows)]));
}

describe('DICOM NumberOfFrames is checked against the pixel data before any frame is described', () => {
  const dir = makeSeries(join(tempDir('frames'), 'dcm'), '--syntax', 'implicit', '--shape', '24', '20', '6');
  const files = readdirSync(dir).sort().map((f) => join(dir, f));

  test('"abc " (read as a binary UL: ~5e8 frames) is a BAD_HEADER naming the field, at once', async () => {
    withNumberOfFrames(files[2], 'abc ');
    const t0 = performance.now();
    const rss0 = process.memoryUsage().rss;
    await assert.rejects(openStudy(files[2]), (e: unknown) => {
      assert.ok(e instanceof VolumeError, String(e));
      assert.equal(e.code, 'BAD_HEADER');
      assert.match(e.message, /NumberOfFrames says \d+, but the pixel data holds at most 1 frame/);
      return true;
    });
    assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
    assert.ok(process.memoryUsage().rss - rss0 < 200 * 2 ** 20, 'no per-frame objects were made');
  });

  test('a folder with that one bad file opens the rest of its series and says which file was skipped', async () => {
    withNumberOfFrames(files[4], 'NaN ');
    const study = await openStudy(dir);
    assert.equal(study.volumes.length, 1);
    assert.deepEqual(study.volumes[0].dims, [24, 20, 4]);
    const skipped = study.warnings.filter((w) => /NumberOfFrames/.test(w));
    assert.equal(skipped.length, 2, study.warnings.join('\n'));
    assert.ok(skipped.some((w) => w.includes(files[2])) && skipped.some((w) => w.includes(files[4])));
  });

  test('a plausible NumberOfFrames that the pixel data does hold still reads (one frame declared as "1 ")', async () => {
    withNumberOfFrames(files[0], '1 ');
    const study = await openStudy(files[0]);
    assert.deepEqual(study.volumes[0].dims, [24, 20, 1]);
  });
});

describe('NIfTI with NaN or Inf in the sform', () => {
  const dir = tempDir('nansform');
  /** nibabel writes the file (sform and qform both set), then one srow value is overwritten with NaN or Inf. */
  const write = (name: string, bad: number, qform: boolean) => {
    const path = join(dir, name);
    execFileSync(SYSTEM_PYTHON, ['-c', `
import nibabel as nib, numpy as np, struct, sys
a = np.array([[0,0,-2.,10],[3.,0,0,-20],[0,4.,0,30],[0,0,0,1]])
img = nib.Nifti1Image(np.arange(5*6*7, dtype=np.int16).reshape(5,6,7), a)
img.set_sform(a, code=2); img.set_qform(a, code=1 if ${qform ? 1 : 0} else 0)
nib.save(img, sys.argv[1])
b = bytearray(open(sys.argv[1], 'rb').read())
b[284:288] = struct.pack('<f', float(sys.argv[2]))
open(sys.argv[1], 'wb').write(b)
`, path, String(bad)]);
    return path;
  };

  test('falls back to the qform (as nibabel orders them), with a warning; the orientation is the qform\'s', async () => {
    const path = write('nan.nii', NaN, true);
    const vol = (await openStudy(path)).volumes[0];
    // nibabel (5.0) returns the sform with its NaN (and its aff2axcodes then fails): the reason for the fallback.
    const ref = execFileSync(SYSTEM_PYTHON, ['-c', 'import nibabel as nib, numpy as np, sys; print(int(np.isnan(nib.load(sys.argv[1]).affine).sum()))', path]);
    assert.equal(ref.toString().trim(), '1');
    assert.ok(vol.affine.every(Number.isFinite));
    assert.equal(orientationCode(vol.affine), 'ASL'); // the qform: i along +y, j along +z, k along -x
    assert.ok(vol.warnings.some((w) => /sform holds NaN or infinite values; using the qform/.test(w)), vol.warnings.join('\n'));
  });

  test('Inf and no qform: the default affine, with a warning, no "reading \'-1\'"', async () => {
    const vol = (await openStudy(write('inf.nii', Infinity, false))).volumes[0];
    assert.ok(vol.affine.every(Number.isFinite));
    assert.equal(orientationCode(vol.affine), 'LAS'); // the Analyze default flips x
    assert.ok(vol.warnings.some((w) => /using the default affine/.test(w)));
  });

  test('orientationCode never indexes out of range: NaN, Inf, zero and huge columns', () => {
    const m = (v: number) => [v, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    assert.equal(orientationCode(m(NaN)), '???');
    assert.equal(orientationCode(m(Infinity)), '???');
    for (const code of [orientationCode(m(0)), orientationCode(m(1e308)), orientationCode([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]) {
      assert.match(code, /^[LRPAIS]{3}$/);
    }
  });
});

describe('pickle reader bounds', () => {
  const load = (bytes: number[] | Uint8Array) => unpickle(Uint8Array.from(bytes), () => assert.fail('no persistent ids'), 'x.pkl');
  const long4 = (n: number, fill: number) => {
    const b = new Uint8Array(2 + 5 + n + 1);
    b.set([0x80, 0x02, 0x8b]);
    new DataView(b.buffer).setInt32(3, n, true);
    b.fill(fill, 7, 7 + n);
    b[7 + n] = 0x2e;
    return b;
  };

  test('the issue\'s 10-byte LONG4 with length -6 is CORRUPT at once (it looped forever)', () => {
    assert.throws(() => load([0x80, 0x02, 0x4e, 0x30, 0x8b, 0xfa, 0xff, 0xff, 0xff, 0x2e]), (e: unknown) => e instanceof CheckpointError && e.code === 'CORRUPT' && /length field holds -6/.test(e.message));
  });

  test('LONG4 builds in linear time up to its cap, exactly; beyond the cap it is TOO_LARGE', () => {
    // 4 KiB of 0x7f: the integer sum(0x7f << 8i), i < 4096.
    const t0 = performance.now();
    const v = load(long4(4096, 0x7f)) as bigint;
    assert.ok(performance.now() - t0 < 200, `${performance.now() - t0} ms`);
    assert.equal(v, BigInt(`0x${'7f'.repeat(4096)}`));
    assert.equal(load(long4(9, 0xff)), -1); // two's complement
    const t1 = performance.now();
    assert.throws(() => load(long4(256 * 1024, 0x7f)), (e: unknown) => e instanceof CheckpointError && e.code === 'TOO_LARGE');
    assert.ok(performance.now() - t1 < 200);
  });

  test('a bad OrderedDict argument is CORRUPT with a sentence; damage messages are the reader\'s, not JavaScript\'s', () => {
    const od = [0x80, 0x02, ...Buffer.from('ccollections\nOrderedDict\n'), 0x4b, 5, 0x85, 0x52, 0x2e];
    assert.throws(() => load(od), (e: unknown) => e instanceof CheckpointError && e.code === 'CORRUPT' && /OrderedDict is built from something that is not a list of pairs/.test(e.message) && !/iterable/.test(e.message));
    assert.ok(new PickleDamage('x') instanceof Error);
  });
});

describe('zero-shot scoring without logit_scale', () => {
  const img = Float32Array.from([1, 0]);
  const cls = Float32Array.from([1, 0, 0, 1]);
  test('cosine sets score; softmax and pairs say why they cannot, as a typed error', () => {
    assert.equal(unscorableReason('cosine', undefined), undefined);
    assert.deepEqual(Array.from(scoreSet(img, cls, 'cosine')), [1, 0]);
    assert.match(unscorableReason('softmax', undefined)!, /logit_scale/);
    assert.match(unscorableReason('pairs', NaN)!, /logit_scale/);
    assert.equal(unscorableReason('softmax', Math.log(100)), undefined);
    assert.throws(() => scoreSet(img, cls, 'softmax'), (e: unknown) => e instanceof ZeroShotError && e.code === 'NO_LOGIT_SCALE');
    assert.throws(() => scoreSet(img, Float32Array.from([1, 2, 3]), 'cosine'), (e: unknown) => e instanceof ZeroShotError && e.code === 'BAD_EMBEDDINGS');
  });
});

describe('a checkpoint without logit_scale, classified end to end', () => {
  let engine: HlipEngine | undefined;
  after(() => engine?.dispose());

  test('the cosine set is scored; Pub-Brain-5 (softmax) is skipped with the reason in the warnings', async () => {
    const dir = tempDir('no-logit');
    const weights = writeDemoModel(join(dir, 'model'));
    const st = await readSafetensors(weights);
    assert.ok(st.tensors.delete('logit_scale'), 'the demo checkpoint has a logit_scale to remove');
    writeSafetensors(weights, st.tensors, st.metadata);
    engine = await HlipEngine.start({ workerScript: join(ROOT, 'src', 'hlip', 'inference', 'inference-worker.ts'), providers: ['cpu'] });
    const store = new ModelCatalogue(join(dir, 'cache'));
    const entry = await convertModel(store, weights, { engine });
    assert.equal(entry.manifest.logitScale, undefined);
    await engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
    const study = await openStudy(join(NIBABEL, 'anatomical.nii'));
    const r = (await classifyStudy(study.volumes, openModel(store, entry), engine)).results;
    assert.deepEqual(r.sets.map((x) => [x.name, x.rows.length]), [['mri', 74]]);
    assert.ok(r.warnings.some((w) => /Pub-Brain-5 was not scored: its softmax scores need the model's logit_scale/.test(w)), r.warnings.join('\n'));
  });
});
