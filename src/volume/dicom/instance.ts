/**
 * One DICOM file as the series assembler needs it: identity, pixel format, and the geometry of each of its frames.
 * Classic single-frame images have one frame; enhanced multi-frame (CT/MR/PET) objects carry per-frame geometry in
 * functional group sequences; legacy multi-frame (RT dose, NM) describe frame positions with offset vectors.
 */
import { VolumeError } from '../errors';
import type { Vec3 } from '../../shared/geometry';
import type { Rescale } from '../volume';
import type { FrameInfo } from './codecs';
import { type DataSet, EXPLICIT_BE, type Element, PIXEL_DATA, type Parsed } from './parse';

export interface FrameGeometry {
  /** ImagePositionPatient (LPS mm) of the first transmitted pixel. */
  position?: Vec3;
  /** ImageOrientationPatient: row direction then column direction. */
  orientation?: [number, number, number, number, number, number];
  /** PixelSpacing: [between rows, between columns]. */
  pixelSpacing?: [number, number];
  rescale?: Rescale;
  /** Orders frames that share a position (echoes, time points). */
  temporalKey: number;
}

export interface DicomInstance {
  file: string;
  dataSet: DataSet;
  /** Add to offsets in dataSet to get offsets in the file. */
  fileOffset: number;
  /** The data set was parsed from the file's first bytes only (pixel data not in memory). */
  headerOnly: boolean;
  transferSyntax: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
  seriesNumber?: number;
  seriesDescription: string;
  modality: string;
  instanceNumber?: number;
  pixel: FrameInfo;
  /** Pixel data element (offsets into dataSet.byteArray); null when absent. */
  pixelElement: Element | null;
  frames: FrameGeometry[];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
}

// SOP classes that never carry an image: structured reports, RT plans/structures, waveforms, presentation states, ...
const NON_IMAGE_SOP_PREFIXES: [string, string][] = [
  ['1.2.840.10008.5.1.4.1.1.88.', 'a structured report'],
  ['1.2.840.10008.5.1.4.1.1.481.5', 'an RT plan'],
  ['1.2.840.10008.5.1.4.1.1.481.8', 'an RT ion plan'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'an RT structure set'],
  ['1.2.840.10008.5.1.4.1.1.481.4', 'an RT treatment record'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'a waveform'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'a presentation state'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'an encapsulated document'],
  ['1.2.840.10008.1.3.10', 'a DICOMDIR (media directory)'],
  ['1.2.840.10008.5.1.4.1.1.66', 'raw data / registration'],
];

const str = (ds: DataSet, tag: string) => (ds.string(tag) ?? '').replace(/\0/g, '').trim();

function numbers(ds: DataSet, tag: string): number[] | undefined {
  const s = ds.string(tag);
  if (!s) return undefined;
  const v = s.split('\\').map((x) => Number.parseFloat(x));
  return v.every(Number.isFinite) ? v : undefined;
}

function vec(ds: DataSet | undefined, tag: string, n: number): number[] | undefined {
  if (!ds) return undefined;
  const v = numbers(ds, tag);
  return v && v.length >= n ? v.slice(0, n) : undefined;
}

/** An integer from an IS string or a binary US/UL value (implicit VR files do not say which). */
function int(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el) return undefined;
  const n = Number.parseInt(str(ds, tag), 10);
  if (Number.isFinite(n) && el.vr !== 'US' && el.vr !== 'UL') return n;
  if (el.length === 2) return ds.uint16(tag);
  if (el.length === 4) return ds.uint32(tag);
  return undefined;
}

/** First item of a sequence (functional groups hold one item per macro). */
const item = (ds: DataSet | undefined, tag: string): DataSet | undefined => ds?.elements[tag]?.items?.[0]?.dataSet;

function rescaleOf(ds: DataSet | undefined): Rescale | undefined {
  if (!ds) return undefined;
  const slope = numbers(ds, 'x00281053')?.[0];
  const intercept = numbers(ds, 'x00281052')?.[0];
  if (slope === undefined && intercept === undefined) return undefined;
  return { slope: slope ?? 1, intercept: intercept ?? 0 };
}

function geometryFrom(groups: (DataSet | undefined)[]): Partial<FrameGeometry> {
  const g: Partial<FrameGeometry> = {};
  for (const ds of groups) {
    if (!ds) continue;
    const pos = vec(item(ds, 'x00209113') ?? ds, 'x00200032', 3);
    const ori = vec(item(ds, 'x00209116') ?? ds, 'x00200037', 6);
    const sp = vec(item(ds, 'x00289110') ?? ds, 'x00280030', 2);
    const rs = rescaleOf(item(ds, 'x00289145') ?? ds);
    if (pos) g.position = pos as Vec3;
    if (ori) g.orientation = ori as FrameGeometry['orientation'];
    if (sp) g.pixelSpacing = sp as [number, number];
    if (rs) g.rescale = rs;
  }
  return g;
}

/** More frames than any volume the viewer can show (enhanced MR/CT reach a few 10^4); the object per frame stays small. */
const MAX_FRAMES = 100_000;

/**
 * NumberOfFrames, checked against the pixel data before anything is made per frame: a damaged value ("abc " read as a
 * binary UL is ~5e8) must not become half a billion frame objects. Native data holds whole frames; encapsulated data
 * holds at least one 8-byte fragment item per frame.
 */
function frameCount(ds: DataSet, pixel: FrameInfo, el: Element, available: number, file: string): number {
  const declared = int(ds, 'x00280008');
  if (declared === undefined || declared <= 1) return 1;
  const bitsPerFrame = pixel.rows * pixel.columns * pixel.samplesPerPixel * pixel.bitsAllocated;
  const bytes = el.length !== undefined && el.length !== 0xffffffff ? Math.min(el.length, available) : available;
  const fit = el.encapsulatedPixelData
    ? el.fragments?.length ?? Math.floor(bytes / 8)
    : bitsPerFrame > 0 ? Math.floor((bytes * 8) / bitsPerFrame) : 0;
  if (declared > Math.min(MAX_FRAMES, Math.max(1, fit))) {
    throw new VolumeError('BAD_HEADER', `NumberOfFrames says ${declared}, but the pixel data holds at most ${Math.min(MAX_FRAMES, Math.max(1, fit))} frame(s)`, file);
  }
  return declared;
}

/**
 * Reads identity, pixel format and per-frame geometry. Throws NOT_AN_IMAGE / NO_PIXEL_DATA for what cannot be shown.
 * `fileSize` bounds what a header-only parse cannot see (the pixel data past the bytes read).
 */
export function describeInstance({ dataSet: ds, fileOffset, transferSyntax }: Parsed, file: string, headerOnly = false, fileSize?: number): DicomInstance {
  const sopClassUid = str(ds, 'x00080016') || str(ds, 'x00020002');
  const pixelElement = ds.elements[PIXEL_DATA] ?? null;
  const rows = ds.uint16('x00280010') ?? 0;
  const columns = ds.uint16('x00280011') ?? 0;
  if (!pixelElement) {
    const kind = NON_IMAGE_SOP_PREFIXES.find(([p]) => sopClassUid.startsWith(p));
    if (kind) throw new VolumeError('NOT_AN_IMAGE', `This DICOM file is ${kind[1]}, not an image`, file);
    if (ds.elements.x00041220) throw new VolumeError('NOT_AN_IMAGE', 'This is a DICOMDIR (media directory), not an image', file);
    if (rows && columns) throw new VolumeError('NO_PIXEL_DATA', 'This DICOM image has no pixel data element', file);
    throw new VolumeError('NOT_AN_IMAGE', `This DICOM object has no image (SOP class ${sopClassUid || 'unknown'})`, file);
  }
  if (!rows || !columns) throw new VolumeError('BAD_HEADER', 'DICOM image without Rows/Columns', file);

  const pixel: FrameInfo = {
    rows,
    columns,
    bitsAllocated: ds.uint16('x00280100') ?? 16,
    bitsStored: ds.uint16('x00280101') ?? ds.uint16('x00280100') ?? 16,
    pixelRepresentation: ds.uint16('x00280103') ?? 0,
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    planarConfiguration: ds.uint16('x00280006') ?? 0,
    photometric: str(ds, 'x00280004') || 'MONOCHROME2',
    littleEndian: transferSyntax !== EXPLICIT_BE,
  };
  const available = (fileSize ?? ds.byteArray.length + fileOffset) - (fileOffset + pixelElement.dataOffset);
  const nFrames = frameCount(ds, pixel, pixelElement, Math.max(0, available), file);

  const shared = item(ds, 'x52009229');
  const perFrame = ds.elements.x52009230?.items;
  const base = geometryFrom([ds, shared]);
  const frames: FrameGeometry[] = [];
  const offsets = numbers(ds, 'x3004000c'); // RT dose GridFrameOffsetVector: mm along the normal
  for (let f = 0; f < nFrames; f++) {
    const own = perFrame?.[f]?.dataSet;
    const g: FrameGeometry = { ...base, ...geometryFrom([own]), temporalKey: f };
    const content = item(own, 'x00209111'); // FrameContentSequence: temporal / stack position
    const temporal = content && (int(content, 'x00209128') ?? int(content, 'x00209057'));
    if (temporal !== undefined) g.temporalKey = temporal;
    if (!perFrame && nFrames > 1 && g.position && g.orientation && offsets?.length === nFrames) {
      g.position = along(g.position, g.orientation, offsets[f]);
    }
    frames.push(g);
  }

  return {
    file,
    dataSet: ds,
    fileOffset,
    headerOnly,
    transferSyntax,
    sopClassUid,
    sopInstanceUid: str(ds, 'x00080018'),
    studyUid: str(ds, 'x0020000d'),
    seriesUid: str(ds, 'x0020000e') || `no-series-uid:${file}`,
    seriesNumber: int(ds, 'x00200011'),
    seriesDescription: str(ds, 'x0008103e'),
    modality: str(ds, 'x00080060') || 'OT',
    instanceNumber: int(ds, 'x00200013'),
    pixel,
    pixelElement,
    frames,
    sliceThickness: numbers(ds, 'x00180050')?.[0],
    spacingBetweenSlices: numbers(ds, 'x00180088')?.[0],
  };
}

/** Moves a position by `d` mm along the slice normal (row x column). */
function along(p: Vec3, o: number[], d: number): Vec3 {
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  return [p[0] + n[0] * d, p[1] + n[1] * d, p[2] + n[2] * d];
}
