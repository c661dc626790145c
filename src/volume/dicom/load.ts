/** DICOM files -> series volumes. Headers are read from each file's first bytes; pixels only once a series is planned. */
import { open, readFile, stat } from 'node:fs/promises';
import { VolumeError, asVolumeError } from '../errors';
import type { ReadOptions } from '../limits';
import { Volume } from '../volume';
import { headerFields } from './header';
import { type DicomInstance, describeInstance } from './instance';
import { parseDataSet } from './parse';
import { allocateSeriesVoxels, fillSeriesVoxels } from './pixels';
import type { SeriesPlan } from './series';

/** Enough for the header of almost every file (Siemens CSA headers included); larger headers trigger a full read. */
const HEADER_PREFIX = 64 * 1024;

/** Reads and describes one file from its header. Throws a VolumeError for anything that is not a displayable image. */
export async function readInstanceHeader(file: string): Promise<DicomInstance> {
  const size = (await stat(file)).size;
  if (size > HEADER_PREFIX) {
    const fh = await open(file, 'r');
    const prefix = Buffer.alloc(HEADER_PREFIX);
    try {
      await fh.read(prefix, 0, HEADER_PREFIX, 0);
    } finally {
      await fh.close();
    }
    try {
      const parsed = parseDataSet(prefix, file, { headerOnly: true });
      if (parsed.dataSet.elements.x7fe00010) return describeInstance(parsed, file, true, size);
    } catch {
      // The header did not fit in the prefix (or is deflated): parse the whole file below.
    }
  }
  return describeInstance(parseDataSet(await readFile(file), file), file);
}

export interface DicomScan {
  instances: DicomInstance[];
  /** Files that are DICOM but cannot be shown, with the reason (SR, RT plan, corrupt, ...). */
  skipped: VolumeError[];
}

export async function scanDicomFiles(files: string[]): Promise<DicomScan> {
  const instances: DicomInstance[] = [];
  const skipped: VolumeError[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      try {
        instances.push(await readInstanceHeader(file));
      } catch (e) {
        skipped.push(asVolumeError(e, 'BAD_HEADER', 'Cannot read DICOM header', file));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  // Order of arrival depends on I/O timing; make it stable.
  instances.sort((a, b) => a.file.localeCompare(b.file));
  return { instances, skipped };
}

/**
 * Reads the voxels of a planned series into a Volume. With opts.progress the volume is announced before its voxels
 * and filled in place, the centre slice of the first frame first.
 */
export async function loadSeries(plan: SeriesPlan, opts: ReadOptions = {}): Promise<Volume> {
  const data = allocateSeriesVoxels(plan, opts);
  const first = plan.slices[0].instance;
  const files = [...new Set(plan.slices.map((s) => s.instance.file))];
  const warnings = [...plan.warnings];
  if (first.pixel.photometric === 'PALETTE COLOR') warnings.push('Palette colour images are shown as their index values.');
  const volume = new Volume({
    name: plan.name,
    format: 'dicom',
    sources: files,
    dims: plan.dims,
    frames: plan.frames,
    components: first.pixel.samplesPerPixel === 3 ? 3 : 1,
    data,
    rescale: plan.rescale ?? null,
    affine: plan.affine,
    modality: plan.modality,
    header: headerFields(first.dataSet),
    warnings,
    invertDisplay: first.pixel.photometric === 'MONOCHROME1',
    seriesUid: plan.seriesUid,
    description: plan.description,
  });
  const centre = plan.dims[2] >> 1;
  const progress = opts.progress?.started(volume, centre) ? opts.progress : undefined;
  const bytes = data.byteLength / plan.slices.length;
  await fillSeriesVoxels(plan, data, centre, progress && ((i) => progress.arrived(volume, i * bytes, (i + 1) * bytes)));
  return volume;
}
