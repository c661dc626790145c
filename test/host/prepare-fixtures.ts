/**
 * Builds the workspace the extension-host and UI tests open: real files from the Debian fixtures plus generated ones
 * (an asymmetric phantom with an overlay, a two-series DICOM study, broken files).
 *   node --import tsx test/host/prepare-fixtures.ts OUT_DIR
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NIBABEL, PYDICOM, ROOT, SYSTEM_PYTHON } from '../fixtures';

export function prepareFixtures(out: string): string {
  mkdirSync(out, { recursive: true });
  const py = (script: string, ...args: string[]) => execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', script), ...args], { stdio: 'pipe' });
  if (!existsSync(join(out, 'phantom.nii.gz'))) py('make_phantom.py', join(out, 'phantom.nii.gz'), '64');
  if (!existsSync(join(out, 'study'))) {
    py('make_series.py', join(out, 'study', 'ct'), '--scramble', '--seed', '11');
    py('make_series.py', join(out, 'study', 'mr'), '--orient', 'sagittal', '--modality', 'MR', '--seed', '12');
  }
  const copies: [string, string][] = [
    [join(NIBABEL, 'example4d.nii.gz'), 'example4d.nii.gz'],
    [join(NIBABEL, 'anatomical.nii'), 'anatomical.nii'],
    [join(PYDICOM, 'CT_small.dcm'), 'CT_small.dcm'],
    [join(PYDICOM, 'MR_small.dcm'), 'IM0001'], // extension-less DICOM, as on CDs
    [join(PYDICOM, 'test-SR.dcm'), 'report.dcm'],
  ];
  for (const [src, name] of copies) copyFileSync(src, join(out, name));
  // Truncated gzip: the editor must say so, not stay blank.
  const gz = readFileSync(join(NIBABEL, 'example4d.nii.gz'));
  writeFileSync(join(out, 'broken.nii.gz'), gz.subarray(0, gz.length >> 1));
  writeFileSync(join(out, 'not-a-scan.dcm'), 'this is plain text, not DICOM\n');
  return out;
}

if (require.main === module) console.log(prepareFixtures(resolve(process.argv[2] ?? join(ROOT, '.cache', 'host-fixtures'))));
