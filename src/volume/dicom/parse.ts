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
    const len = (b[4] | (b[5] << 8) | (b[6] << 16)) + b[7] * 2 ** 24;
    return len <= b.length - 8 || len === 0xffffffff ? IMPLICIT_LE : undefined;
  }
  if (groupBE >= 0x0002 && groupBE <= 0x0028 && groupBE % 2 === 0 && explicit) return EXPLICIT_BE;
  return undefined;
}

/** True when the bytes are a DICOM file: "DICM" at 128, or a raw data set starting with a plausible element. */
export function isDicom(bytes: Uint8Array): boolean {
  return hasPreamble(bytes) || guessRawEncoding(bytes) !== undefined;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/^dicomParser\.\w+: /, '');

/** A data set and where its byte array starts in the file (offsets in the data set + fileOffset = file offsets). */
export interface Parsed {
  dataSet: DataSet;
  fileOffset: number;
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
  let fileOffset = 0;
  let syntax: string | undefined;
  if (!hasPreamble(bytes)) {
    const enc = guessRawEncoding(bytes);
    if (!enc) throw new VolumeError('UNRECOGNISED', 'Not a DICOM file: no "DICM" marker and no DICOM element at the start', file);
    if (enc === 'meta') {
      // A meta header without the preamble: give it one so the Part-10 reader applies.
      input = new Uint8Array(bytes.length + 132);
      input.set([0x44, 0x49, 0x43, 0x4d], 128);
      input.set(bytes, 132);
      fileOffset = -132;
    } else syntax = enc;
  }
  try {
    const dataSet = dicomParser.parseDicom(input, { ...until, ...(syntax ? { TransferSyntaxUID: syntax } : {}) });
    return { dataSet, fileOffset };
  } catch (e) {
    const why = message(e);
    if (/missing required meta header attribute 0002,0010/.test(why)) {
      const p = parseWithoutMetaSyntax(input, file, until);
      return { dataSet: p.dataSet, fileOffset: p.fileOffset + fileOffset };
    }
    if (/overread|overrun|beyond|outside|Offset is outside|out of range/i.test(why)) {
      throw new VolumeError('TRUNCATED', `DICOM file ends inside an element (${why})`, file);
    }
    throw new VolumeError('BAD_HEADER', `Cannot parse DICOM: ${why}`, file);
  }
}

/** The meta header is there but names no transfer syntax: guess it from the first data-set element, as pydicom does. */
function parseWithoutMetaSyntax(bytes: Uint8Array, file: string | undefined, until: object): Parsed {
  try {
    const meta = dicomParser.readPart10Header(bytes);
    const metaEnd = Math.max(...Object.values(meta.elements).map((e) => e.dataOffset + e.length));
    const rest = bytes.subarray(metaEnd);
    const enc = guessRawEncoding(rest);
    if (!enc || enc === 'meta') throw new Error('no data set after the meta header');
    const dataSet = dicomParser.parseDicom(rest, { ...until, TransferSyntaxUID: enc });
    return { dataSet, fileOffset: metaEnd };
  } catch (e) {
    throw new VolumeError('BAD_HEADER', `DICOM meta header has no transfer syntax and none could be guessed: ${message(e)}`, file);
  }
}

export function transferSyntaxOf(ds: DataSet): string {
  return (ds.string('x00020010') ?? IMPLICIT_LE).replace(/\0/g, '').trim();
}
