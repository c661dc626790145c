/**
 * Decodes one DICOM pixel frame, in plain Node, whatever its transfer syntax:
 *   native (implicit/explicit little endian, deflated, explicit big endian)  native.ts
 *   RLE Lossless                                                              rle.ts (PS3.5 Annex G)
 *   JPEG baseline / extended / lossless                                       chosen by the stream's SOF marker:
 *     8-bit DCT -> libjpeg-turbo (WASM), 12-bit DCT -> jpeg12.ts, lossless -> jpeg-lossless-decoder-js
 *   JPEG-LS                                                                   CharLS (WASM)
 *   JPEG 2000 and HTJ2K                                                       OpenJPEG (WASM, with HT support)
 * Every frame then gets the same finishing: the natural typed array for grey (sign extension / masking from Bits
 * Stored), 8-bit interleaved RGB for colour (color.ts). Nothing raw escapes: failures are VolumeErrors, and codec sizes
 * are checked against the DICOM header before a codec allocates.
 */
import { VolumeError, asVolumeError } from '../errors';
import type { VoxelArray } from '../../shared/volume-meta';
import { fixStoredBits } from './bits';
import { toRgb8, yccOf } from './color';
import { type JpegHeader, SOF_NAMES, jpegIsYcc, libjpegAssumesYcc, readJpegHeader, withAdobeTransform } from './jpeg';
import { readJ2kHeader } from './j2k';
import { decodeSequentialJpeg } from './jpeg12';
import type { FrameInfo } from './frame-info';
import { decodeNative, nativeFrameBytes as nativeBytes } from './native';
import { decodeRle } from './rle';
import type { SampleArray, Samples } from './samples';
import { CHARLS, LIBJPEG_TURBO, OPENJPEG, type WasmDecoder, withDecoder } from './wasm';

export type { FrameInfo } from './frame-info';

type Codec = 'native' | 'rle' | 'jpeg' | 'jpeg-ls' | 'j2k';

const SYNTAXES: Record<string, { name: string; encapsulated: boolean; codec: Codec }> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', encapsulated: false, codec: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', encapsulated: false, codec: 'native' },
  '1.2.840.10008.1.2.1.98': { name: 'Encapsulated Uncompressed Explicit VR Little Endian', encapsulated: true, codec: 'native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', encapsulated: false, codec: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', encapsulated: false, codec: 'native' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', encapsulated: true, codec: 'jpeg' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', encapsulated: true, codec: 'jpeg' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless (Process 14)', encapsulated: true, codec: 'jpeg' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1', encapsulated: true, codec: 'jpeg' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', encapsulated: true, codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', encapsulated: true, codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', encapsulated: true, codec: 'j2k' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', encapsulated: true, codec: 'j2k' },
  '1.2.840.10008.1.2.4.201': { name: 'HTJ2K Lossless', encapsulated: true, codec: 'j2k' },
  '1.2.840.10008.1.2.4.202': { name: 'HTJ2K Lossless RPCL', encapsulated: true, codec: 'j2k' },
  '1.2.840.10008.1.2.4.203': { name: 'HTJ2K', encapsulated: true, codec: 'j2k' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', encapsulated: true, codec: 'rle' },
};

/** Transfer syntax UIDs we can decode, with a human name. */
export const TRANSFER_SYNTAXES: Record<string, { name: string; encapsulated: boolean }> = SYNTAXES;

/** Names of syntaxes we recognise but do not decode, so errors can say what the file is. */
const UNSUPPORTED_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.52': 'JPEG Extended (Process 3 & 5, retired)',
  '1.2.840.10008.1.2.4.53': 'JPEG Spectral Selection (retired)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression (retired)',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component Lossless',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component',
  '1.2.840.10008.1.2.4.94': 'JPIP Referenced',
  '1.2.840.10008.1.2.4.95': 'JPIP Referenced Deflate',
  '1.2.840.10008.1.2.4.100': 'MPEG2 Main Profile video',
  '1.2.840.10008.1.2.4.101': 'MPEG2 High Profile video',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264 video',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD-compatible video',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 2D video',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 3D video',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 Stereo video',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 Main Profile video',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 Main 10 Profile video',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.111': 'JPEG XL JPEG Recompression',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
  '1.2.840.10008.1.2.4.204': 'JPIP HTJ2K Referenced',
  '1.2.840.10008.1.2.4.205': 'JPIP HTJ2K Referenced Deflate',
  '1.2.840.10008.1.2.6.1': 'RFC 2557 MIME Encapsulation',
  '1.2.840.10008.1.2.6.2': 'XML Encoding',
  '1.2.840.10008.1.2.8.1': 'Deflated Image Frame Compression',
};

/** "1.2.840.10008.1.2.4.100 (MPEG2 Main Profile video)", or the bare UID when we do not know it. */
export function describeTransferSyntax(uid: string): string {
  const name = SYNTAXES[uid]?.name ?? UNSUPPORTED_NAMES[uid];
  return name ? `${uid} (${name})` : uid;
}

type Ctor = { new (n: number): VoxelArray; new (b: ArrayBuffer, offset: number, length: number): VoxelArray; readonly BYTES_PER_ELEMENT: number };

/** The typed array decodeFrame returns for this pixel format. */
export function outputType(info: FrameInfo): Ctor {
  if (info.samplesPerPixel === 3) return Uint8Array;
  const signed = info.pixelRepresentation === 1;
  if (info.bitsAllocated <= 8) return signed ? Int8Array : Uint8Array;
  if (info.bitsAllocated <= 16) return signed ? Int16Array : Uint16Array;
  return signed ? Int32Array : Uint32Array;
}

/** Bytes of one natively encoded frame (4:2:2 colour: two samples per pixel; 1-bit: the bytes holding its bits). */
export const nativeFrameBytes = (info: FrameInfo): number => nativeBytes(info);

/**
 * Decodes one frame. Grey (1 sample): rows*columns values in the natural type for Bits Allocated and Pixel
 * Representation (1-bit data as 0/1 bytes), sign-extended from Bits Stored when signed and masked above it when
 * unsigned. Colour (3 samples): Uint8Array of rows*columns*3, interleaved RGB; YBR converted, planar reordered, and
 * deeper samples reduced to their top 8 stored bits (16-bit RGB >> 8). PALETTE COLOR frames come back as indices.
 */
export async function decodeFrame(transferSyntaxUid: string, bytes: Uint8Array, info: FrameInfo): Promise<VoxelArray> {
  const ts = SYNTAXES[transferSyntaxUid];
  if (!ts) {
    throw new VolumeError('UNSUPPORTED_TRANSFER_SYNTAX', `Transfer syntax ${describeTransferSyntax(transferSyntaxUid)} is not supported`);
  }
  checkFormat(info, ts.codec);
  let samples: Samples;
  try {
    samples = await decodeSamples(ts.codec, bytes, info);
  } catch (e) {
    throw asVolumeError(e, 'DECODE_FAILED', `Cannot decode ${ts.name} pixel data`);
  }
  return finish(samples, info);
}

function checkFormat(info: FrameInfo, codec: Codec): void {
  const { rows, columns, bitsAllocated: ba, samplesPerPixel: spp } = info;
  if (!(rows > 0 && columns > 0 && rows <= 0xffff && columns <= 0xffff && Number.isInteger(rows) && Number.isInteger(columns))) {
    throw new VolumeError('BAD_HEADER', `Invalid image size ${columns}x${rows}`);
  }
  if (spp !== 1 && spp !== 3) throw new VolumeError('UNSUPPORTED_DATATYPE', `${spp} samples per pixel are not supported (only 1 or 3)`);
  if (ba === 1) {
    if (spp !== 1 || codec !== 'native') throw new VolumeError('UNSUPPORTED_DATATYPE', '1-bit pixel data is only supported uncompressed and single-sample');
  } else if (ba === 12) {
    throw new VolumeError('UNSUPPORTED_DATATYPE', 'Packed 12-bit pixel data (Bits Allocated 12, retired) is not supported');
  } else if (ba !== 8 && ba !== 16 && ba !== 32) {
    throw new VolumeError('UNSUPPORTED_DATATYPE', `Pixel data with ${ba} bits allocated is not supported (1, 8, 16 or 32)`);
  }
}

const storedBitsOf = (info: FrameInfo) => (info.bitsStored > 0 && info.bitsStored <= info.bitsAllocated ? info.bitsStored : info.bitsAllocated);

async function decodeSamples(codec: Codec, bytes: Uint8Array, info: FrameInfo): Promise<Samples> {
  switch (codec) {
    case 'native':
      return decodeNative(bytes, info);
    case 'rle':
      return { data: decodeRle(bytes, info), planar: false, ycc: yccOf(info.photometric), storedBits: storedBitsOf(info) };
    case 'jpeg':
      return decodeJpeg(bytes, info);
    case 'jpeg-ls':
      return decodeJpegLs(bytes, info);
    case 'j2k':
      return decodeJ2k(bytes, info);
  }
}

/** The codec's image must be the frame the DICOM header describes (and no bigger: it decides our allocation). */
function expectSize(what: string, width: number, height: number, components: number, info: FrameInfo): void {
  if (width !== info.columns || height !== info.rows || components !== info.samplesPerPixel) {
    throw new VolumeError(
      'DECODE_FAILED',
      `${what} image is ${width}x${height} with ${components} component(s); the DICOM header says ${info.columns}x${info.rows} with ${info.samplesPerPixel}`,
    );
  }
}

// ---- JPEG (10918): the stream's frame header picks the decoder

async function decodeJpeg(bytes: Uint8Array, info: FrameInfo): Promise<Samples> {
  const h = readJpegHeader(bytes);
  expectSize('JPEG', h.width, h.height, h.components.length, info);
  if (h.precision > info.bitsAllocated) throw new Error(`JPEG samples have ${h.precision} bits; Bits Allocated is ${info.bitsAllocated}`);
  // Lossless JPEG never transforms colour in DICOM practice (a JFIF marker there means nothing): trust the header.
  const isYcc = h.sof === 0xc3 ? info.photometric.startsWith('YBR') : jpegIsYcc(h, info.photometric);
  const ycc = isYcc ? 'full' : 'none';
  const stored = info.samplesPerPixel === 3 ? h.precision : storedBitsOf(info);
  const dct = h.sof === 0xc0 || h.sof === 0xc1;
  if (h.sof === 0xc3) return { data: decodeJpegLossless(bytes, h), planar: false, ycc, storedBits: stored };
  if (h.precision === 8 && (dct || h.sof === 0xc2 || h.sof === 0xc9 || h.sof === 0xca)) {
    return { data: await decodeLibjpeg(bytes, h, ycc === 'full'), planar: false, ycc: 'none', storedBits: stored };
  }
  if (dct && h.precision === 12) return { data: decodeSequentialJpeg(bytes).data, planar: false, ycc, storedBits: stored };
  throw new Error(`JPEG ${SOF_NAMES[h.sof] ?? `SOF${h.sof - 0xc0}`} at ${h.precision} bits per sample is not supported`);
}

/** libjpeg-turbo outputs RGB; an APP14 marker makes its colour decision the one DICOM asks for (see jpegIsYcc). */
async function decodeLibjpeg(bytes: Uint8Array, h: JpegHeader, ycc: boolean): Promise<Uint8Array> {
  const n = h.components.length;
  const stream = n === 3 && ycc !== libjpegAssumesYcc(h) ? withAdobeTransform(bytes, ycc ? 1 : 0) : bytes;
  return withDecoder(LIBJPEG_TURBO, stream, (d) => copyOut(d, 'libjpeg-turbo', h.width, h.height, n, 1));
}

function copyOut(d: WasmDecoder, what: string, width: number, height: number, components: number, bytesPerSample: number): Uint8Array {
  const fi = d.getFrameInfo();
  if (fi.width !== width || fi.height !== height || fi.componentCount !== components) {
    throw new Error(`${what} decoded ${fi.width}x${fi.height}x${fi.componentCount}, expected ${width}x${height}x${components}`);
  }
  const want = width * height * components * bytesPerSample;
  const buf = d.getDecodedBuffer();
  if (buf.length < want) throw new Error(`${what} returned ${buf.length} bytes, expected ${want}`);
  return buf.slice(0, want); // a copy: the view points into WASM memory
}

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  getPreviousX(c?: number): number;
  getPreviousY(c?: number): number;
  stream: { index: number } | null;
}
type LosslessCtor = new () => LosslessDecoder;

let losslessDecoder: LosslessCtor | undefined;

/** jpeg-lossless-decoder-js, with predictor 7 fixed: it computes (Ra + Rb) / 2 where ITU T.81 H.1 shifts right. */
function losslessCtor(): LosslessCtor {
  if (!losslessDecoder) {
    const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: LosslessCtor };
    losslessDecoder = class extends Decoder {
      select7(c?: number): number {
        return (this.getPreviousX(c) + this.getPreviousY(c)) >> 1;
      }
    };
  }
  return losslessDecoder;
}

function decodeJpegLossless(bytes: Uint8Array, h: JpegHeader): SampleArray {
  const n = h.components.length;
  // The library handles 3 components only at 8 bits (its 16-bit path keeps one component).
  if (n !== 1 && !(n === 3 && h.precision <= 8)) throw new Error(`JPEG Lossless with ${n} components at ${h.precision} bits is not supported`);
  const decoder = new (losslessCtor())();
  const out = decoder.decode(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length, h.precision > 8 ? 2 : 1);
  // The library reads zeros past the end instead of failing: a read beyond the data means a truncated stream.
  if ((decoder.stream?.index ?? 0) > bytes.length) throw new Error('JPEG Lossless data ends before the image does (truncated)');
  if (out.length < h.width * h.height * n) throw new Error(`JPEG Lossless decoder returned ${out.length} samples`);
  return out;
}

// ---- JPEG-LS (14495)

async function decodeJpegLs(bytes: Uint8Array, info: FrameInfo): Promise<Samples> {
  const h = readJpegHeader(bytes);
  expectSize('JPEG-LS', h.width, h.height, h.components.length, info);
  if (h.precision > info.bitsAllocated || h.precision > 16) throw new Error(`JPEG-LS samples have ${h.precision} bits; Bits Allocated is ${info.bitsAllocated}`);
  // CharLS crawls for many seconds when a stream ends without its end-of-image marker (a truncated file):
  // closing the stream makes it fail at once instead.
  const stream = endsWithEoi(bytes) ? bytes : concat(bytes, [0xff, 0xd9]);
  const bps = h.precision > 8 ? 2 : 1;
  const { raw, planar } = await withDecoder(CHARLS, stream, (d) => ({
    raw: copyOut(d, 'CharLS', h.width, h.height, h.components.length, bps),
    planar: h.components.length === 3 && d.getInterleaveMode?.() === 0,
  }));
  const data = bps === 2 ? new Uint16Array(raw.buffer) : raw;
  const stored = info.samplesPerPixel === 3 ? h.precision : storedBitsOf(info);
  return { data, planar, ycc: yccOf(info.photometric), storedBits: stored };
}

function endsWithEoi(b: Uint8Array): boolean {
  let e = b.length;
  while (e > 2 && b[e - 1] === 0) e--; // fragments are padded to even length
  return b[e - 2] === 0xff && b[e - 1] === 0xd9;
}

function concat(b: Uint8Array, tail: number[]): Uint8Array {
  const out = new Uint8Array(b.length + tail.length);
  out.set(b);
  out.set(tail, b.length);
  return out;
}

// ---- JPEG 2000 (15444) and HTJ2K (15444-15)

async function decodeJ2k(bytes: Uint8Array, info: FrameInfo): Promise<Samples> {
  const h = readJ2kHeader(bytes); // size check before OpenJPEG allocates the image
  expectSize('JPEG 2000', h.width, h.height, h.components, info);
  if (!h.fullResolution) throw new Error('JPEG 2000 with subsampled components is not supported');
  if (h.precision > 16 || h.precision > info.bitsAllocated) {
    throw new Error(`JPEG 2000 samples have ${h.precision} bits; Bits Allocated is ${info.bitsAllocated}`);
  }
  const bps = h.precision > 8 ? 2 : 1;
  const raw = await withDecoder(OPENJPEG, bytes, (d) => copyOut(d, 'OpenJPEG', h.width, h.height, h.components, bps));
  const data: SampleArray = bps === 2 ? (h.signed ? new Int16Array(raw.buffer) : new Uint16Array(raw.buffer)) : h.signed ? new Int8Array(raw.buffer) : raw;
  // When the codestream's precision exceeds Bits Stored (pydicom's 693_J2KI.dcm: 16 vs 14) trust the codestream;
  // an unsigned codestream with signed DICOM data (J2K_pixelrep_mismatch.dcm) is sign-extended from Bits Stored,
  // as pydicom does.
  const stored = info.samplesPerPixel === 3 ? h.precision : Math.max(h.precision, storedBitsOf(info));
  // OpenJPEG undoes the codestream's own colour transform (YBR_RCT / YBR_ICT); YBR_FULL means no such transform.
  const p = info.photometric;
  const ycc = p === 'YBR_RCT' || p === 'YBR_ICT' ? 'none' : yccOf(p);
  return { data, planar: false, ycc, storedBits: stored };
}

// ---- common finishing

function finish(s: Samples, info: FrameInfo): VoxelArray {
  const pixels = info.rows * info.columns;
  const want = pixels * info.samplesPerPixel;
  if (s.data.length < want) throw new VolumeError('DECODE_FAILED', `Decoded ${s.data.length} samples; the frame has ${want}`);
  const storedBits = s.storedBits > 0 ? s.storedBits : info.bitsAllocated;
  if (info.samplesPerPixel === 3) return toRgb8({ ...s, storedBits }, pixels);
  const Out = outputType(info);
  const d = s.data;
  let out: VoxelArray;
  if (d instanceof Out && d.length === want && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) out = d;
  else {
    out = new Out(want);
    out.set(d.subarray(0, want)); // numeric copy; same-width signed/unsigned wraps, i.e. reinterprets the bits
  }
  fixStoredBits(out, { ...info, bitsStored: storedBits });
  return out;
}
