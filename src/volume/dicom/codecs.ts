/**
 * Pixel-data decoding per transfer syntax, in Node: native (any endianness), RLE (PS3.5 Annex G, here), JPEG baseline
 * 8-bit (libjpeg-turbo WASM), JPEG extended 12-bit (jpeg12.ts), JPEG lossless (jpeg-lossless-decoder-js), JPEG-LS
 * (CharLS WASM) and JPEG 2000 (OpenJPEG WASM). WASM modules load lazily, once, from node_modules (so the bundled CLI
 * and extension find them too). Every failure becomes a VolumeError; nothing raw escapes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { VolumeError } from '../errors';
import type { VoxelArray } from '../volume';
import { fixStoredBits } from './bits';
import { upsample422, ybrToRgb } from './color';
import { decodeJpeg12 } from './jpeg12';
import { decodeRle } from './rle';

export interface FrameInfo {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number; // 0 unsigned, 1 signed
  samplesPerPixel: number;
  planarConfiguration: number; // 0 interleaved, 1 planar
  photometric: string;
  littleEndian: boolean; // native data only
  /** 1-bit data (segmentations): frames are packed back to back, so one may start mid-byte. */
  bitOffset?: number;
}

type Kind = 'native' | 'rle' | 'jpeg' | 'jpeg-lossless' | 'jpeg-ls' | 'j2k';
export const TRANSFER_SYNTAXES: Record<string, { name: string; encapsulated: boolean; kind: Kind }> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', encapsulated: false, kind: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', encapsulated: false, kind: 'native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', encapsulated: false, kind: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', encapsulated: false, kind: 'native' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', encapsulated: true, kind: 'rle' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', encapsulated: true, kind: 'jpeg' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', encapsulated: true, kind: 'jpeg' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless (Process 14)', encapsulated: true, kind: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1 (Process 14, Selection Value 1)', encapsulated: true, kind: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', encapsulated: true, kind: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', encapsulated: true, kind: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', encapsulated: true, kind: 'j2k' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', encapsulated: true, kind: 'j2k' },
  '1.2.840.10008.1.2.4.201': { name: 'HTJ2K Lossless', encapsulated: true, kind: 'j2k' },
  '1.2.840.10008.1.2.4.202': { name: 'HTJ2K Lossless RPCL', encapsulated: true, kind: 'j2k' },
  '1.2.840.10008.1.2.4.203': { name: 'HTJ2K', encapsulated: true, kind: 'j2k' },
};

const KNOWN_UNSUPPORTED: Record<string, string> = {
  '1.2.840.10008.1.2.4.100': 'MPEG2 video',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264 video',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD-compatible video',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 video',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
};

type Ctor = { new (n: number): VoxelArray; new (b: ArrayBuffer, offset: number, length: number): VoxelArray };

/** The typed array a frame decodes into. */
export function outputType(info: FrameInfo): Ctor {
  if (info.samplesPerPixel === 3) return Uint8Array;
  const signed = info.pixelRepresentation === 1;
  if (info.bitsAllocated === 1) return Uint8Array;
  if (info.bitsAllocated <= 8) return signed ? Int8Array : Uint8Array;
  if (info.bitsAllocated <= 16) return signed ? Int16Array : Uint16Array;
  return signed ? Int32Array : Uint32Array;
}

function check(info: FrameInfo): void {
  if (![1, 8, 16, 32].includes(info.bitsAllocated) || (info.bitsAllocated === 1 && info.samplesPerPixel !== 1)) {
    throw new VolumeError('UNSUPPORTED_DATATYPE', `Pixels of ${info.bitsAllocated} bits allocated are not supported`);
  }
  if (info.samplesPerPixel !== 1 && info.samplesPerPixel !== 3) {
    throw new VolumeError('UNSUPPORTED_DATATYPE', `${info.samplesPerPixel} samples per pixel are not supported`);
  }
}

export async function decodeFrame(transferSyntaxUid: string, bytes: Uint8Array, info: FrameInfo): Promise<VoxelArray> {
  const ts = TRANSFER_SYNTAXES[transferSyntaxUid];
  if (!ts) {
    const name = KNOWN_UNSUPPORTED[transferSyntaxUid];
    throw new VolumeError('UNSUPPORTED_TRANSFER_SYNTAX', `Transfer syntax ${transferSyntaxUid}${name ? ` (${name})` : ''} is not supported`);
  }
  check(info);
  try {
    switch (ts.kind) {
      case 'native':
        return fromNative(bytes, info);
      case 'rle':
        return fromPlanes(decodeRle(bytes, info), info);
      case 'jpeg':
        return info.bitsStored > 8 || info.bitsAllocated > 8 ? fromSamples(decodeJpeg12(bytes), info) : fromColorCodec(await runWasm('jpeg', bytes), info);
      case 'jpeg-lossless':
        return fromSamples(decodeJpegLossless(bytes, info), info);
      case 'jpeg-ls':
        return fromColorCodec(await runWasm('jpeg-ls', bytes), info);
      case 'j2k':
        return fromColorCodec(await runWasm('j2k', bytes), info);
    }
  } catch (e) {
    if (e instanceof VolumeError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new VolumeError('DECODE_FAILED', `${ts.name} pixel data could not be decoded: ${why}`);
  }
}

const frameLength = (info: FrameInfo) => info.rows * info.columns * info.samplesPerPixel;

/** Bytes of one natively encoded frame (4:2:2 colour stores two samples per pixel). */
export function nativeFrameBytes(info: FrameInfo): number {
  const px = info.rows * info.columns;
  if (info.bitsAllocated === 1) return Math.ceil(((info.bitOffset ?? 0) + px) / 8);
  const samples = info.samplesPerPixel === 3 && info.photometric === 'YBR_FULL_422' ? 2 * px : px * info.samplesPerPixel;
  return samples * (info.bitsAllocated / 8);
}

/** Native bytes -> typed array (copied, so the frame does not pin the file buffer), swapped, bits fixed, colour interleaved. */
function fromNative(bytes: Uint8Array, info: FrameInfo): VoxelArray {
  const n = frameLength(info);
  const bpv = info.bitsAllocated / 8;
  const size = nativeFrameBytes(info);
  if (bytes.length < size) throw new VolumeError('TRUNCATED', `Pixel data holds ${bytes.length} bytes; a frame needs ${size}`);
  if (info.bitsAllocated === 1) return unpackBits(bytes, n, info.bitOffset ?? 0);
  if (info.samplesPerPixel === 3 && info.photometric === 'YBR_FULL_422' && bpv === 1) {
    return ybrToRgb(upsample422(bytes, info.rows * info.columns), info.photometric, info.rows * info.columns);
  }
  // A real copy: `bytes` may be a Node Buffer, whose slice() is a view into the file.
  const copy = new Uint8Array(n * bpv);
  copy.set(bytes.subarray(0, n * bpv));
  if (!info.littleEndian && bpv > 1) {
    for (let i = 0; i < copy.length; i += bpv) copy.subarray(i, i + bpv).reverse();
  }
  if (info.samplesPerPixel === 3) {
    // Colour deeper than 8 bits keeps its most significant byte: the display is 8 bits per channel.
    const eight = bpv === 1 ? copy : Uint8Array.from({ length: n }, (_, i) => copy[i * bpv + bpv - 1]);
    return toRgb(eight, info, info.planarConfiguration === 1);
  }
  const arr = new (outputType(info))(copy.buffer, 0, n);
  fixStoredBits(arr, info);
  return arr;
}

/** 1-bit pixels, least significant bit first (PS3.5 8.1.1), as 0/1 bytes. */
function unpackBits(bytes: Uint8Array, n: number, first: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const bit = first + i;
    out[i] = (bytes[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}

/** RLE gives one byte plane per sample byte, most significant first; rebuild samples. */
function fromPlanes(planes: Uint8Array[], info: FrameInfo): VoxelArray {
  const px = info.rows * info.columns;
  const bpv = info.bitsAllocated / 8;
  if (info.samplesPerPixel === 3) {
    // 16/32-bit colour keeps its most significant byte (display is 8-bit per channel).
    const planar = new Uint8Array(px * 3);
    for (let s = 0; s < 3; s++) planar.set(planes[s * bpv].subarray(0, px), s * px);
    return toRgb(planar, info, true);
  }
  const out = new (outputType(info))(px);
  for (let i = 0; i < px; i++) {
    let v = 0;
    for (let b = 0; b < bpv; b++) v = v * 256 + planes[b][i];
    out[i] = v; // typed-array assignment wraps into the signed range as the stored bits intend
  }
  fixStoredBits(out, info);
  return out;
}

/** Decoded samples (already numbers) -> the output type with bits fixed. */
function fromSamples(samples: ArrayLike<number>, info: FrameInfo): VoxelArray {
  const n = frameLength(info);
  if (samples.length < n) throw new VolumeError('DECODE_FAILED', `Decoded ${samples.length} samples; the frame has ${n}`);
  if (info.samplesPerPixel === 3) return toRgb(Uint8Array.from({ length: n }, (_, i) => samples[i]), info, false);
  const out = new (outputType(info))(n);
  for (let i = 0; i < n; i++) out[i] = samples[i];
  fixStoredBits(out, info);
  return out;
}

function toRgb(samples: Uint8Array, info: FrameInfo, planar: boolean): Uint8Array {
  const px = info.rows * info.columns;
  let rgb = samples;
  if (planar) {
    rgb = new Uint8Array(px * 3);
    for (let i = 0; i < px; i++) {
      rgb[3 * i] = samples[i];
      rgb[3 * i + 1] = samples[px + i];
      rgb[3 * i + 2] = samples[2 * px + i];
    }
  }
  return ybrToRgb(rgb, info.photometric, px);
}

interface DecodedImage {
  width: number;
  height: number;
  bitsPerSample: number;
  components: number;
  isSigned: boolean;
  bytes: Uint8Array;
  /** The codec already converted YCbCr to RGB (libjpeg, OpenJPEG's MCT). */
  colorConverted: boolean;
}

function fromColorCodec(img: DecodedImage, info: FrameInfo): VoxelArray {
  if (img.width !== info.columns || img.height !== info.rows) {
    throw new VolumeError('DECODE_FAILED', `Decoded ${img.width}x${img.height}; the header says ${info.columns}x${info.rows}`);
  }
  const n = frameLength(info);
  if (info.samplesPerPixel === 3) {
    const rgb = img.bytes.slice(0, n);
    return img.colorConverted ? rgb : ybrToRgb(rgb, info.photometric, info.rows * info.columns);
  }
  const bps = img.bitsPerSample > 8 ? 2 : 1;
  const view = bps === 2 ? new DataView(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength) : undefined;
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    samples[i] = view ? (img.isSigned ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true)) : img.isSigned ? (img.bytes[i] << 24) >> 24 : img.bytes[i];
  }
  return fromSamples(samples, info);
}

// ---- WASM codecs (emscripten builds from @cornerstonejs)

const nodeRequire = createRequire(__filename);

interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  delete?(): void;
}
interface WasmModule {
  JpegLSDecoder?: new () => WasmDecoder;
  J2KDecoder?: new () => WasmDecoder;
  JPEGDecoder?: new () => WasmDecoder;
}

const WASM: Record<'jpeg' | 'jpeg-ls' | 'j2k', { pkg: string; cls: keyof WasmModule; converts: boolean }> = {
  jpeg: { pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit', cls: 'JPEGDecoder', converts: true },
  'jpeg-ls': { pkg: '@cornerstonejs/codec-charls', cls: 'JpegLSDecoder', converts: false },
  j2k: { pkg: '@cornerstonejs/codec-openjpeg', cls: 'J2KDecoder', converts: true },
};
const modules = new Map<string, Promise<WasmModule>>();

function loadWasm(kind: keyof typeof WASM): Promise<WasmModule> {
  let m = modules.get(kind);
  if (!m) {
    const { pkg } = WASM[kind];
    // Resolved at run time from node_modules (through the packages' exports), so the glue finds its .wasm whether or
    // not we are bundled.
    const factory = nodeRequire(nodeRequire.resolve(`${pkg}/decodewasmjs`)) as (o: object) => Promise<WasmModule>;
    const wasmBinary = readFileSync(nodeRequire.resolve(`${pkg}/decodewasm`));
    m = factory({ wasmBinary, print: () => {}, printErr: () => {} });
    modules.set(kind, m);
  }
  return m;
}

async function runWasm(kind: keyof typeof WASM, bytes: Uint8Array): Promise<DecodedImage> {
  const mod = await loadWasm(kind);
  const Decoder = mod[WASM[kind].cls]!;
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const fi = decoder.getFrameInfo();
    return {
      width: fi.width,
      height: fi.height,
      bitsPerSample: fi.bitsPerSample,
      components: fi.componentCount,
      isSigned: !!fi.isSigned,
      bytes: decoder.getDecodedBuffer().slice(),
      colorConverted: WASM[kind].converts,
    };
  } catch (e) {
    // emscripten throws numbers / pointers for C++ exceptions: give the user something readable.
    throw new Error(typeof e === 'number' ? `the ${kind} codec rejected the data (corrupt or truncated stream)` : String(e instanceof Error ? e.message : e));
  } finally {
    decoder.delete?.();
  }
}

function decodeJpegLossless(bytes: Uint8Array, info: FrameInfo): ArrayLike<number> {
  const { Decoder } = nodeRequire('jpeg-lossless-decoder-js') as { Decoder: new () => { decode(b: ArrayBuffer, o?: number, l?: number, bytesPerSample?: number): ArrayBuffer } };
  const bps = info.bitsAllocated <= 8 ? 1 : 2;
  const buf = new Decoder().decode(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length, bps);
  return bps === 1 ? new Uint8Array(buf) : info.pixelRepresentation === 1 ? new Int16Array(buf) : new Uint16Array(buf);
}
