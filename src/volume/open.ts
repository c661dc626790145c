/**
 * The one entry point from a path to a Study: a NIfTI file, a DICOM file, a DICOMDIR, or a folder holding any mix of
 * them (a DICOM series folder, a whole study, a folder of NIfTI scans). Used by the CLI, the extension host and tests.
 */
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VolumeError, asVolumeError } from './errors';
import type { ReadOptions } from './limits';
import { isNifti, readNifti } from './nifti';
import { dicomdirFiles, isDicomdir } from './dicom/dicomdir';
import { loadSeries, readInstanceHeader, scanDicomFiles } from './dicom/load';
import { isDicom, parseDataSet } from './dicom/parse';
import { planSeries } from './dicom/series';
import type { Study, Volume } from './volume';

const NIFTI_NAME = /\.(nii|nii\.gz|hdr|hdr\.gz)$/i;
const SNIFF_BYTES = 352; // covers a NIfTI-1 header's magic (344) and DICOM's "DICM" (128)
const MAX_FILES = 100_000;

async function sniff(file: string): Promise<'nifti' | 'dicom' | undefined> {
  const fh = await open(file, 'r');
  try {
    const b = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await fh.read(b, 0, SNIFF_BYTES, 0);
    const head = b.subarray(0, bytesRead);
    if (NIFTI_NAME.test(file)) return 'nifti';
    if (isDicom(head)) return 'dicom';
    if (isNifti(head)) return 'nifti';
    return undefined;
  } finally {
    await fh.close();
  }
}

async function listFiles(dir: string, out: string[] = [], depth = 0): Promise<string[]> {
  if (depth > 12 || out.length >= MAX_FILES) return out;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await listFiles(p, out, depth + 1);
    else if (e.isFile() || e.isSymbolicLink()) out.push(p); // a link to a folder fails the sniff and is skipped
  }
  return out;
}

/** Opens a file or folder as a Study. Throws VolumeError when nothing in it can be shown. */
export async function openStudy(path: string, opts: ReadOptions = {}): Promise<Study> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new VolumeError('NOT_FOUND', 'File or folder not found', path);
  }
  if (info.isDirectory()) return openFolder(path, opts);
  const kind = await sniff(path);
  if (kind === 'nifti') return { name: basename(path), volumes: [await readNifti(path, opts)], warnings: [] };
  if (kind === 'dicom') {
    const listing = await readDicomdir(path);
    if (listing) {
      const study = await openDicomFiles(basename(dirname(path)), listing.files, opts, false);
      if (listing.missing.length) study.warnings.unshift(`DICOMDIR references ${listing.missing.length} missing file(s), e.g. ${listing.missing[0]}`);
      return study;
    }
    if (opts.wholeSeries) {
      // As radiology viewers do: a slice opens with the rest of its series from the same folder.
      const target = await readInstanceHeader(path).catch(() => undefined);
      if (target) {
        const siblings = await filesIn(dirname(path));
        if (siblings.length > 1) return openDicomFiles(basename(path), siblings, opts, false, target.seriesUid);
      }
    }
    return openDicomFiles(basename(path), [path], opts, true);
  }
  throw new VolumeError('UNRECOGNISED', 'Not a NIfTI or DICOM file', path);
}

/** Files directly in a folder (not below it); the DICOM scan decides by content which are DICOM. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && !NIFTI_NAME.test(e.name))
    .slice(0, MAX_FILES)
    .map((e) => join(dir, e.name));
}

async function openFolder(dir: string, opts: ReadOptions): Promise<Study> {
  const files = await listFiles(dir);
  const warnings: string[] = [];
  if (files.length >= MAX_FILES) warnings.push(`Only the first ${MAX_FILES} files were read.`);
  // NIfTI by name; everything else goes to the DICOM scan, whose header read doubles as the content sniff (one pass
  // over a 300-file series instead of two).
  const niftiFiles = files.filter((f) => NIFTI_NAME.test(f));
  const dicomFiles = files.filter((f) => !NIFTI_NAME.test(f) && !/\.img(\.gz)?$/i.test(f));
  const volumes: Volume[] = [];
  const failures: VolumeError[] = [];
  for (const f of niftiFiles) {
    try {
      volumes.push(await readNifti(f, opts));
    } catch (e) {
      failures.push(asVolumeError(e, 'BAD_HEADER', 'Cannot read NIfTI file', f));
    }
  }
  if (dicomFiles.length) {
    try {
      const dicom = await openDicomFiles(basename(dir), dicomFiles, opts, false);
      volumes.push(...dicom.volumes);
      warnings.push(...dicom.warnings);
    } catch (e) {
      failures.push(asVolumeError(e, 'BAD_HEADER', 'Cannot read DICOM files', dir));
    }
  }
  for (const f of failures) warnings.push(f.message);
  if (volumes.length === 0) {
    const why = failures.length ? `: ${failures.slice(0, 3).map((f) => f.message).join('; ')}` : ' (no NIfTI or DICOM image files found)';
    throw new VolumeError('EMPTY', `Nothing in this folder can be shown${why}`, dir);
  }
  return { name: basename(dir), volumes, warnings };
}

/**
 * DICOM files -> one volume per series, in series-number order.
 * With `single`, the one file's own error is thrown as is (a user opening an SR should read "structured report").
 */
async function openDicomFiles(name: string, files: string[], opts: ReadOptions, single: boolean, onlySeries?: string): Promise<Study> {
  const warnings: string[] = [];
  const scan = await scanDicomFiles(files);
  const instances = onlySeries ? scan.instances.filter((i) => i.seriesUid === onlySeries) : scan.instances;
  const skipped = onlySeries ? [] : scan.skipped;
  if (instances.length === 0) {
    if (single && skipped.length === 1) throw skipped[0];
    if (!single && skipped.every((e) => e.code === 'UNRECOGNISED')) return { name, volumes: [], warnings }; // no DICOM here
    const reasons = skipped.slice(0, 3).map((e) => e.message).join('; ');
    throw new VolumeError('EMPTY', `No DICOM images could be read${reasons ? `: ${reasons}` : ''}`);
  }
  // DICOMDIRs and reports sit beside images on every CD; say how many, not each one.
  const nonImages = skipped.filter((e) => e.code === 'NOT_AN_IMAGE').length;
  if (nonImages) warnings.push(`${nonImages} DICOM file(s) hold no image (DICOMDIR, reports, plans, ...) and were skipped.`);
  // UNRECOGNISED: not DICOM at all (notes, thumbnails next to the series): not worth a warning.
  for (const e of skipped.filter((e) => e.code !== 'NOT_AN_IMAGE' && e.code !== 'UNRECOGNISED').slice(0, 20)) warnings.push(e.message);
  const volumes: Volume[] = [];
  for (const plan of planSeries(instances)) {
    try {
      volumes.push(await loadSeries(plan, opts));
    } catch (e) {
      const err = asVolumeError(e, 'DECODE_FAILED', `Cannot read series "${plan.name}"`);
      if (single) throw err;
      warnings.push(`${plan.name}: ${err.message}`);
    }
  }
  if (volumes.length === 0) throw new VolumeError('EMPTY', `No series could be read: ${warnings.slice(-3).join('; ')}`);
  return { name, volumes, warnings };
}

/** The files a DICOMDIR references, or undefined when the file is not a DICOMDIR. */
async function readDicomdir(file: string) {
  // DICOMDIRs are small and usually named so; don't read a big multi-frame image twice to find out.
  if (!/DICOMDIR/i.test(basename(file)) && (await stat(file)).size > 8 * 2 ** 20) return undefined;
  const bytes = await readFile(file);
  let parsed;
  try {
    parsed = parseDataSet(bytes, file);
  } catch {
    return undefined; // not parseable as a whole: let the image path report the error
  }
  return isDicomdir(parsed.dataSet) ? dicomdirFiles(parsed.dataSet, file) : undefined;
}
