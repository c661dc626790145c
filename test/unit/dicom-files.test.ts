/**
 * Every file in pydicom's test_files (real files from scanners, toolkits and archives): each either opens as a volume
 * or fails with the typed error we expect for it; pixel values of natively encoded and RLE files equal pydicom's.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as dicomParser from 'dicom-parser';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isVolumeError } from '../../src/volume/errors';
import { openStudy } from '../../src/volume/open';
import { NIBABEL, NIBABEL_NICOM, PYDICOM, ROOT, SYSTEM_PYTHON, fixture } from '../fixtures';
import { tempDir } from '../oracles';
import { execFileSync } from 'node:child_process';

/**
 * Files that are not images, or are broken on purpose, and the error each must give. pydicom agrees that none of the
 * NOT_AN_IMAGE ones holds PixelData with Rows (checked with pydicom 2.3: RT ion plans, SR, waveform, private-sequence
 * and charset test objects).
 */
const EXPECTED_ERRORS: Record<string, string> = {
  'rtplan.dcm': 'NOT_AN_IMAGE',
  'rtplan_truncated.dcm': 'TRUNCATED',
  'rtstruct.dcm': 'NOT_AN_IMAGE',
  'test-SR.dcm': 'NOT_AN_IMAGE',
  'reportsi.dcm': 'NOT_AN_IMAGE',
  'reportsi_with_empty_number_tags.dcm': 'NOT_AN_IMAGE',
  'waveform_ecg.dcm': 'NOT_AN_IMAGE',
  'ExplVR_BigEndNoMeta.dcm': 'NOT_AN_IMAGE', // RT ion plan, raw big-endian data set
  'ExplVR_LitEndNoMeta.dcm': 'NOT_AN_IMAGE', // RT ion plan, raw data set
  'UN_sequence.dcm': 'NOT_AN_IMAGE',
  'empty_charset_LEI.dcm': 'NOT_AN_IMAGE',
  'no_meta_group_length.dcm': 'NOT_AN_IMAGE',
  'priv_SQ.dcm': 'NOT_AN_IMAGE',
  'no_meta.dcm': 'UNRECOGNISED|NOT_AN_IMAGE', // starts with a stray byte before the first tag; no pixel data
  'meta_missing_tsyntax.dcm': 'BAD_HEADER', // no transfer syntax and a data set starting with group 0001; no Rows
  'nested_priv_SQ.dcm': 'TRUNCATED|BAD_HEADER', // a private-sequence parsing test; no Rows
  'MR_truncated.dcm': 'TRUNCATED',
  // The codestream is a parser test (a sequence delimiter inside the fragment); its SIZ marker is not a real image size.
  'JPEG2000-embedded-sequence-delimiter.dcm': 'DECODE_FAILED',
};
const NOT_DICOM = /\.(txt|json|dump|gz)$/;

function pydicomPixels(file: string): { shape: number[]; values: Float32Array } {
  const base = join(tempDir('px'), 'px');
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'pydicom_pixels.py'), file, base], { stdio: 'pipe' });
  const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { shape: number[] };
  const buf = readFileSync(`${base}.f32`);
  return { shape: meta.shape, values: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4) };
}

// pydicom 2.3 decodes these syntaxes without extra plug-ins: native and RLE.
const PYDICOM_DECODES = /^1\.2\.840\.10008\.1\.2(\.1|\.2|\.5|\.1\.99)?$/;

describe("pydicom's test_files", () => {
  test('every file opens as a volume or fails with its expected typed error', async (t) => {
    const dir = fixture(t, PYDICOM);
    if (!dir) return;
    const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile() && !NOT_DICOM.test(f));
    assert.ok(files.length > 50, `only ${files.length} files`);
    const problems: string[] = [];
    let opened = 0;
    for (const f of files) {
      try {
        const study = await openStudy(join(dir, f));
        const v = study.volumes[0];
        if (EXPECTED_ERRORS[f]) problems.push(`${f}: opened, expected ${EXPECTED_ERRORS[f]}`);
        else if (!(v.voxelsPerFrame > 0) || v.data.length === 0) problems.push(`${f}: empty volume`);
        opened++;
      } catch (e) {
        if (!isVolumeError(e)) problems.push(`${f}: untyped error ${(e as Error)?.stack ?? e}`);
        else if (!EXPECTED_ERRORS[f] || !new RegExp(`^(${EXPECTED_ERRORS[f]})$`).test(e.code)) {
          problems.push(`${f}: ${e.code} ${e.message}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.equal(opened, files.length - Object.keys(EXPECTED_ERRORS).length);
  });

  test('native and RLE pixel values equal pydicom (modality LUT applied)', async (t) => {
    const dir = fixture(t, PYDICOM);
    if (!dir) return;
    const { parseDataSet } = await import('../../src/volume/dicom/parse');
    let compared = 0;
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (!statSync(path).isFile() || NOT_DICOM.test(f) || EXPECTED_ERRORS[f]) continue;
      const ts = parseDataSet(readFileSync(path), path, { headerOnly: true }).transferSyntax;
      if (!PYDICOM_DECODES.test(ts)) continue;
      const vol = (await openStudy(path)).volumes[0];
      let ref;
      try {
        ref = pydicomPixels(path);
      } catch {
        continue; // pydicom itself cannot read it (badVR.dcm): the first test covers our side
      }
      assert.equal(ref.values.length, vol.voxelsPerFrame * vol.components * vol.frames, `${f}: size`);
      // Slices may be reordered by position (multi-frame dose grids): compare each of our slices with its source frame.
      const ours = vol.components === 3 ? Float32Array.from(vol.data) : vol.toFloat32();
      const slice = vol.dims[0] * vol.dims[1] * vol.components;
      const frames = ref.values.length / slice;
      for (let k = 0; k < vol.dims[2]; k++) {
        const mine = ours.subarray(k * slice, (k + 1) * slice);
        const match = [...Array(frames).keys()].some((fr) => {
          const theirs = ref.values.subarray(fr * slice, (fr + 1) * slice);
          return mine.every((v, i) => Math.abs(v - theirs[i]) <= 1e-3 * Math.max(1, Math.abs(theirs[i])));
        });
        assert.ok(match, `${f}: slice ${k} matches no pydicom frame`);
      }
      compared++;
    }
    assert.ok(compared >= 20, `compared ${compared} files`);
  });
});

describe("nibabel's DICOM test files", () => {
  test('every .dcm (and gzipped .dcm.gz) opens, with values equal to pydicom', async (t) => {
    const dirs = [fixture(t, NIBABEL), fixture(t, NIBABEL_NICOM)].filter((d): d is string => !!d);
    let compared = 0;
    for (const dir of dirs) {
      for (const f of readdirSync(dir).filter((n) => /\.dcm(\.gz)?$/.test(n))) {
        let path = join(dir, f);
        if (f.endsWith('.gz')) {
          // nibabel ships some DICOMs gzipped; a user would have the plain file.
          path = join(tempDir('nib-dcm'), f.replace(/\.gz$/, ''));
          writeFileSync(path, gunzipSync(readFileSync(join(dir, f))));
        }
        // nibabel strips pixel data from some header-only test files (CSA header tests): then it must say so.
        const stripped = !('x7fe00010' in dicomParser.parseDicom(readFileSync(path)).elements);
        if (stripped) {
          await assert.rejects(openStudy(path), (e) => isVolumeError(e) && e.code === 'NO_PIXEL_DATA', f);
          continue;
        }
        const vol = (await openStudy(path)).volumes[0];
        let ref;
        try {
          ref = pydicomPixels(path);
        } catch {
          // Compressed (pydicom here has no JPEG handler): it opened; its codec is checked in codecs.test.ts.
          assert.ok(vol.voxelsPerFrame > 0 && Number.isFinite(vol.range()[0]), f);
          continue;
        }
        assert.equal(ref.values.length, vol.voxelsPerFrame * vol.frames, `${f}: size`);
        const ours = vol.toFloat32();
        ours.forEach((v, i) => {
          if (Math.abs(v - ref.values[i]) > 1e-3 * Math.max(1, Math.abs(ref.values[i]))) assert.fail(`${f}: voxel ${i}: ${v} vs ${ref.values[i]}`);
        });
        compared++;
      }
    }
    assert.ok(compared >= 6, `compared ${compared} files`);
  });
});
