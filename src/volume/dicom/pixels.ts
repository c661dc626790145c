/**
 * Fills a series' voxel array. Native little-endian frames are read from disk straight into the output (no copy of
 * the file in memory), so a 300-slice CT peaks near the size of the volume itself; everything else (compressed, big
 * endian, deflated, multi-frame objects) is parsed whole and decoded per frame.
 */
import * as dicomParser from 'dicom-parser';
import { open, readFile } from 'node:fs/promises';
import { VolumeError, asVolumeError } from '../errors';
import { type ReadOptions, guardAllocation } from '../limits';
import type { VoxelArray } from '../../shared/volume-meta';
import { fixStoredBits } from './bits';
import { TRANSFER_SYNTAXES, decodeFrame, nativeFrameBytes, outputType } from './codecs';
import type { DicomInstance } from './instance';
import { EXPLICIT_LE, IMPLICIT_LE, PIXEL_DATA, parseDataSet } from './parse';
import type { SeriesPlan, SliceRef } from './series';


/** Reads every slice of a plan into one array in volume order (t outer, then k). */
export async function readSeriesVoxels(plan: SeriesPlan, opts: ReadOptions = {}): Promise<VoxelArray> {
  const out = allocateSeriesVoxels(plan, opts);
  await fillSeriesVoxels(plan, out);
  return out;
}

/** The (zeroed) array a plan's voxels go into, after the memory guard. */
export function allocateSeriesVoxels(plan: SeriesPlan, opts: ReadOptions = {}): VoxelArray {
  const p = plan.pixel;
  const perSlice = p.rows * p.columns * p.samplesPerPixel;
  const Out = plan.perSliceRescale ? Float32Array : outputType(p);
  const total = perSlice * plan.slices.length;
  const bytesPerValue = (Out as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  guardAllocation(total * bytesPerValue, `Series "${plan.name}"`, opts);
  return new Out(total);
}

/**
 * Fills `out` slice by slice. The file holding slice `first` is read on its own first (the slice a viewer shows
 * first); `onSlice` hears each slice index (volume order) once its values are final.
 */
export async function fillSeriesVoxels(plan: SeriesPlan, out: VoxelArray, first = 0, onSlice?: (index: number) => void): Promise<void> {
  const p = plan.pixel;
  const perSlice = p.rows * p.columns * p.samplesPerPixel;
  // Visit each file once, writing all of its frames (a multi-frame file holds many slices).
  const byFile = new Map<DicomInstance, { slice: SliceRef; index: number }[]>();
  plan.slices.forEach((slice, index) => {
    let list = byFile.get(slice.instance);
    if (!list) byFile.set(slice.instance, (list = []));
    list.push({ slice, index });
  });
  const jobs = [...byFile.entries()];
  const lead = jobs.findIndex(([, targets]) => targets.some((t) => t.index === first));
  if (lead > 0) jobs.unshift(...jobs.splice(lead, 1));
  const run = async ([instance, targets]: (typeof jobs)[number]) => {
    try {
      await readInstanceFrames(instance, targets, out, perSlice, plan.perSliceRescale);
    } catch (e) {
      throw asVolumeError(e, 'DECODE_FAILED', 'Cannot read pixel data', instance.file);
    }
    if (onSlice) for (const t of targets) onSlice(t.index);
  };
  if (onSlice && jobs.length > 1) await run(jobs.shift()!);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await run(jobs[next++]);
  };
  // A few reads in flight hide disk latency; decoding itself is single-threaded.
  await Promise.all(Array.from({ length: Math.min(8, jobs.length) }, worker));
}

function canReadDirect(inst: DicomInstance, perSliceRescale: boolean): boolean {
  const ts = inst.transferSyntax;
  return (
    !perSliceRescale &&
    (ts === IMPLICIT_LE || ts === EXPLICIT_LE) &&
    inst.pixelElement !== null &&
    !inst.pixelElement.encapsulatedPixelData &&
    inst.pixel.samplesPerPixel === 1 &&
    inst.pixel.bitsAllocated % 8 === 0
  );
}

async function readInstanceFrames(
  inst: DicomInstance,
  targets: { slice: SliceRef; index: number }[],
  out: VoxelArray,
  perSlice: number,
  perSliceRescale: boolean,
): Promise<void> {
  const info = inst.pixel;
  const nFrames = inst.frames.length;
  const fb = nativeFrameBytes(info);
  if (canReadDirect(inst, perSliceRescale)) {
    const el = inst.pixelElement!;
    if (el.length < fb * nFrames) {
      throw new VolumeError('TRUNCATED', `Pixel data holds ${el.length} bytes; ${nFrames} frame(s) need ${fb * nFrames}`, inst.file);
    }
    const fh = await open(inst.file, 'r');
    try {
      for (const { slice, index } of targets) {
        const dest = out.subarray(index * perSlice, (index + 1) * perSlice) as VoxelArray;
        const view = new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength);
        const pos = inst.fileOffset + el.dataOffset + slice.frame * fb;
        const { bytesRead } = await fh.read(view, 0, fb, pos);
        if (bytesRead < fb) throw new VolumeError('TRUNCATED', 'File ends inside the pixel data', inst.file);
        fixStoredBits(dest, info);
      }
    } finally {
      await fh.close();
    }
    return;
  }

  const { dataSet } = inst.headerOnly ? parseDataSet(await readFile(inst.file), inst.file) : { dataSet: inst.dataSet };
  const el = dataSet.elements[PIXEL_DATA];
  if (!el) throw new VolumeError('NO_PIXEL_DATA', 'Pixel data element missing', inst.file);
  const ts = inst.transferSyntax;
  if (!TRANSFER_SYNTAXES[ts]) {
    throw new VolumeError('UNSUPPORTED_TRANSFER_SYNTAX', `Transfer syntax ${ts} is not supported`, inst.file);
  }
  for (const { slice, index } of targets) {
    let frameInfo = info;
    let bytes: Uint8Array;
    if (el.encapsulatedPixelData) bytes = encapsulatedFrame(dataSet, el, slice.frame, nFrames);
    else if (info.bitsAllocated === 1) {
      const bit = slice.frame * info.rows * info.columns;
      frameInfo = { ...info, bitOffset: bit % 8 };
      bytes = nativeFrame(dataSet.byteArray, el, bit >> 3, nativeFrameBytes(frameInfo), inst.file, 1);
    } else bytes = nativeFrame(dataSet.byteArray, el, slice.frame * fb, fb, inst.file);
    const pixels = await decodeFrame(ts, bytes, frameInfo);
    if (pixels.length !== perSlice) {
      throw new VolumeError('DECODE_FAILED', `Decoded frame has ${pixels.length} values, expected ${perSlice}`, inst.file);
    }
    const dest = out.subarray(index * perSlice, (index + 1) * perSlice);
    if (perSliceRescale) {
      const slope = slice.rescale?.slope ?? 1;
      const inter = slice.rescale?.intercept ?? 0;
      for (let i = 0; i < perSlice; i++) dest[i] = pixels[i] * slope + inter;
    } else dest.set(pixels);
  }
}

/** `length` bytes of native pixel data starting `offset` bytes into the element. */
function nativeFrame(bytes: Uint8Array, el: dicomParser.Element, offset: number, length: number, file: string, minLength = length): Uint8Array {
  const start = el.dataOffset + offset;
  if (offset + minLength > el.length || start + minLength > bytes.length) {
    throw new VolumeError('TRUNCATED', 'Pixel data ends before the last frame', file);
  }
  return bytes.subarray(start, Math.min(start + length, bytes.length));
}

/** One frame's compressed bytes, whichever way the encoder split frames into fragments. */
function encapsulatedFrame(ds: dicomParser.DataSet, el: dicomParser.Element, frame: number, nFrames: number): Uint8Array {
  const frags = el.fragments ?? [];
  if (frags.length === 0) throw new VolumeError('NO_PIXEL_DATA', 'Encapsulated pixel data has no fragments');
  if (nFrames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, frags.length);
  if (el.basicOffsetTable && el.basicOffsetTable.length === nFrames) {
    return dicomParser.readEncapsulatedImageFrame(ds, el, frame);
  }
  if (frags.length === nFrames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frame, 1);
  // Several fragments per frame and no offset table: JPEG start-of-image markers tell where frames begin.
  const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
  return dicomParser.readEncapsulatedImageFrame(ds, el, frame, table);
}
