/**
 * Bytes -> dicom-parser DataSet, for every encoding a scanner or archive writes: Part-10 with or without the 128-byte
 * preamble, raw data sets with no meta header (the transfer syntax is guessed from the first element), meta headers
 * that lack the transfer syntax, and deflated data sets (dicom-parser inflates those itself in Node).
 */
import * as dicomParser from 'dicom-parser';
import { VolumeError } from '../errors';

export type DataSet = dicomParser.DataSet;
export type Element = dicomParser.Element;

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const PIXEL_DATA = 'x7fe00010';

const VRS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

const hasPreamble = (b: Uint8Array) =>
  b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;

/**
 * For a data set with no preamble: which encoding its first element is in, or undefined when the bytes do not start
 * like DICOM at all. Raw files always start with a low, even group (0002 meta, 0008 identifying, ...).
 */
function guessRawEncoding(b: Uint8Array): 'meta' | string | undefined {
  if (b.length < 8) return undefined;
  const groupLE = b[0] | (b[1] << 8);
  const groupBE = (b[0] << 8) | b[1];
  const vr = String.fromCharCode(b[4], b[5]);
  const explicit = VRS.has(vr);
  if (groupLE === 0x0002 && explicit) return 'meta';
  if (groupLE >= 0x0002 && groupLE <= 0x0028 && groupLE % 2 === 0) {
    if (explicit) return EXPLICIT_LE;
    // Implicit: a 4-byte length follows the tag; it must fit in the file.
    // Implicit: a 4-byte length follows the tag; the first elements of a data set are short.
    const len = (b[4] | (b[5] << 8) | (b[6] << 16)) + b[7] * 2 ** 24;
    return len < 0x10000 || len === 0xffffffff ? IMPLICIT_LE : undefined;
  }
  if (groupBE >= 0x0002 && groupBE <= 0x0028 && groupBE % 2 === 0 && explicit) return EXPLICIT_BE;
  return undefined;
}

/** True when the bytes are a DICOM file: "DICM" at 128, or a raw data set starting with a plausible element. */
export function isDicom(bytes: Uint8Array): boolean {
  return hasPreamble(bytes) || guessRawEncoding(bytes) !== undefined;
}

/** dicom-parser throws strings, Errors, or { exception, dataSet } when it stops part-way. */
function message(e: unknown): string {
  const inner = typeof e === 'object' && e !== null && 'exception' in e ? (e as { exception: unknown }).exception : e;
  return (inner instanceof Error ? inner.message : String(inner)).replace(/^dicomParser[.:]\w+: /, '');
}

/** A data set, where its byte array starts in the file, and the transfer syntax its pixel data is encoded with. */
export interface Parsed {
  dataSet: DataSet;
  /** Add to offsets in the data set to get offsets in the file. */
  fileOffset: number;
  transferSyntax: string;
}

export interface ParseOptions {
  /** Stop at the pixel data element (it is recorded with its offset and length, but not walked). */
  headerOnly?: boolean;
}

/**
 * Parses a DICOM data set. Throws VolumeError: UNRECOGNISED when it is not DICOM, TRUNCATED when the bytes end inside
 * an element, BAD_HEADER for anything else dicom-parser refuses.
 */
export function parseDataSet(bytes: Uint8Array, file?: string, opts: ParseOptions = {}): Parsed {
  const until = opts.headerOnly ? { untilTag: PIXEL_DATA } : {};
  let input = bytes;
  let shift = 0;
  let syntax: string | undefined;
  if (!hasPreamble(bytes)) {
    const enc = guessRawEncoding(bytes);
    if (!enc) throw new VolumeError('UNRECOGNISED', 'Not a DICOM file: no "DICM" marker and no DICOM element at the start', file);
    if (enc === 'meta') {
      // A meta header without the preamble: give it one so the Part-10 reader applies.
      input = new Uint8Array(bytes.length + 132);
      input.set([0x44, 0x49, 0x43, 0x4d], 128);
      input.set(bytes, 132);
      shift = -132;
    } else syntax = enc;
  }
  try {
    const dataSet = dicomParser.parseDicom(input, { ...until, ...(syntax ? { TransferSyntaxUID: syntax } : {}) });
    return { dataSet, fileOffset: shift, transferSyntax: transferSyntaxOf(dataSet) };
  } catch (e) {
    const why = message(e);
    // As pydicom does: a meta header without a transfer syntax, or one that names the wrong VR encoding.
    if (!syntax) {
      const retry = parseAfterMeta(input, until);
      if (retry) return { ...retry, fileOffset: retry.fileOffset + shift };
    }
    if (/overread|overrun|beyond|outside|out of range|maxPosition|greater than or equal to/i.test(why)) {
      throw new VolumeError('TRUNCATED', `DICOM file ends inside an element (${why})`, file);
    }
    throw new VolumeError('BAD_HEADER', `Cannot parse DICOM: ${why}`, file);
  }
}

/** Re-reads the data set after the meta header with its encoding guessed from its first element. */
function parseAfterMeta(bytes: Uint8Array, until: object): Parsed | undefined {
  try {
    const meta = dicomParser.readPart10Header(bytes);
    const declared = meta.string('x00020010')?.replace(/\0/g, '').trim();
    const metaEnd = Math.max(...Object.values(meta.elements).map((e) => e.dataOffset + e.length));
    const rest = bytes.subarray(metaEnd);
    const enc = guessRawEncoding(rest);
    if (!enc || enc === 'meta' || (declared && (declared === IMPLICIT_LE) === (enc === IMPLICIT_LE))) return undefined;
    const dataSet = dicomParser.parseDicom(rest, { ...until, TransferSyntaxUID: enc });
    const pixels = dataSet.elements[PIXEL_DATA];
    if (pixels?.items && !pixels.fragments) itemsToFragments(pixels);
    return { dataSet, fileOffset: metaEnd, transferSyntax: declared || enc };
  } catch {
    return undefined;
  }
}

/** An implicit-VR reader takes encapsulated pixel data for a sequence: turn its items back into fragments. */
function itemsToFragments(el: Element): void {
  const items = el.items ?? [];
  const first = items[1]?.dataOffset ?? 0;
  el.encapsulatedPixelData = true;
  el.basicOffsetTable = [];
  el.fragments = items.slice(1).map((it) => ({ offset: it.dataOffset - first, position: it.dataOffset, length: it.length }));
  el.items = undefined;
}

export function transferSyntaxOf(ds: DataSet): string {
  return (ds.string('x00020010') ?? IMPLICIT_LE).replace(/\0/g, '').trim();
}
