/**
 * NIfTI-1 / NIfTI-2 (and Analyze 7.5 .hdr/.img) -> Volume. Header fields come from nifti-reader-js; the affine and the
 * scaling follow nibabel exactly (sform, else qform, else the flipped base affine; scl_slope 0/NaN/Inf = no scaling),
 * so what we show matches what nibabel-based pipelines (HLIP's included) compute.
 */
import { existsSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { VolumeError, asVolumeError } from './errors';
import { type Mat4, mul4 } from '../shared/geometry';
import { type ReadOptions, guardAllocation } from './limits';
import type { HeaderField, VoxelArray } from '../shared/volume-meta';
import { Volume } from './volume';
import { followInflation } from './stream';

type Header = nifti.NIFTI1 | nifti.NIFTI2;

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

function headerSize(b: Uint8Array): number | undefined {
  if (b.length < 4) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const le of [true, false]) {
    const n = dv.getInt32(0, le);
    if (n === 348 || n === 540) return n;
  }
  return undefined;
}

const magicAt = (b: Uint8Array, at: number) => String.fromCharCode(...b.subarray(at, at + 4));

/**
 * True for a NIfTI-1/2 header (size and magic both right: a DICOM preamble can hold 348 in its first bytes) or a gzip
 * stream (the caller goes by the .nii.gz name). Needs the first 352 bytes.
 */
export function isNifti(bytes: Uint8Array): boolean {
  if (isGzip(bytes)) return true;
  const size = headerSize(bytes);
  if (size === 348) return /^n[i+]1\0$/.test(magicAt(bytes, 344));
  if (size === 540) return /^n[i+]2\0$/.test(magicAt(bytes, 4));
  return false;
}

/** Datatype code -> how to read it. Complex and 128-bit types are refused. */
const DATATYPES: Record<number, { name: string; bytes: number; ctor?: new (b: ArrayBuffer, o: number, n: number) => VoxelArray; components?: 3 }> = {
  2: { name: 'uint8', bytes: 1, ctor: Uint8Array },
  4: { name: 'int16', bytes: 2, ctor: Int16Array },
  8: { name: 'int32', bytes: 4, ctor: Int32Array },
  16: { name: 'float32', bytes: 4, ctor: Float32Array },
  64: { name: 'float64', bytes: 8, ctor: Float64Array },
  128: { name: 'RGB24', bytes: 3, ctor: Uint8Array, components: 3 },
  256: { name: 'int8', bytes: 1, ctor: Int8Array },
  512: { name: 'uint16', bytes: 2, ctor: Uint16Array },
  768: { name: 'uint32', bytes: 4, ctor: Uint32Array },
  1024: { name: 'int64', bytes: 8 },
  1280: { name: 'uint64', bytes: 8 },
  1: { name: 'binary', bytes: 0 },
  32: { name: 'complex64', bytes: 8 },
  1536: { name: 'float128', bytes: 16 },
  1792: { name: 'complex128', bytes: 16 },
  2048: { name: 'complex256', bytes: 32 },
  2304: { name: 'RGBA32', bytes: 4 },
};

const XFORM = ['unknown', 'scanner', 'aligned', 'talairach', 'mni', 'template'];

export interface NiftiOptions extends ReadOptions {}

/** Reads .nii, .nii.gz, or an .hdr(.gz) with its .img(.gz). */
export async function readNifti(path: string, opts: NiftiOptions = {}): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    const follow = opts.progress && followInflation(opts.progress, (b) => parseNifti(b, path, opts));
    bytes = /\.nii\.gz$/i.test(path) ? await gunzipNifti(path, opts, follow) : await readFile(path);
  } catch (e) {
    throw asVolumeError(e, 'NOT_FOUND', 'Cannot read the file', path);
  }
  let img: Uint8Array | undefined;
  if (/\.hdr(\.gz)?$/i.test(path)) {
    const imgPath = [path.replace(/\.hdr(\.gz)?$/i, '.img'), path.replace(/\.hdr(\.gz)?$/i, '.img.gz')].find(existsSync);
    if (!imgPath) throw new VolumeError('NOT_FOUND', 'The .img file that goes with this .hdr header is missing', path);
    img = await readFile(imgPath);
  }
  return parseNifti(bytes, path, opts, img);
}

/**
 * Streams a .nii.gz straight into one buffer of the size its header announces: no compressed copy in memory and no
 * grow-and-concatenate (gunzipSync peaks near twice the volume), and the memory guard acts before the big allocation.
 */
async function gunzipNifti(path: string, opts: ReadOptions, onFill?: (out: Buffer, filled: number) => void): Promise<Uint8Array> {
  const gunzip = createReadStream(path, { highWaterMark: 4 * 2 ** 20 }).pipe(createGunzip({ chunkSize: 4 * 2 ** 20 }));
  let head: Buffer[] = [];
  let headLen = 0;
  let out: Buffer | undefined;
  let filled = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (!out) {
        head.push(chunk);
        headLen += chunk.length;
        if (headLen < 548) continue;
        const first = Buffer.concat(head);
        head = [];
        out = Buffer.allocUnsafe(Math.max(first.length, announcedSize(first, path, opts)));
        first.copy(out, 0, 0, Math.min(first.length, out.length));
        filled = Math.min(first.length, out.length);
        onFill?.(out, filled);
        continue;
      }
      const n = Math.min(chunk.length, out.length - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      onFill?.(out, filled);
      if (filled === out.length) break; // trailing bytes (extensions past the data, padding) are not needed
    }
  } catch (e) {
    if (e instanceof VolumeError) throw e;
    throw new VolumeError('TRUNCATED', `The NIfTI file is not a complete gzip stream (${e instanceof Error ? e.message : e})`, path);
  } finally {
    gunzip.destroy();
  }
  if (!out) return Buffer.concat(head); // shorter than a header: parseNifti says what is wrong
  return out.subarray(0, filled);
}

/** vox_offset + voxel bytes, from the first decompressed bytes; 0 when the header is not readable (parseNifti reports). */
function announcedSize(first: Uint8Array, path: string, opts: ReadOptions): number {
  const size = headerSize(first);
  if (size === undefined) return 0;
  let hdr: Header;
  try {
    hdr = nifti.readHeader(first.buffer.slice(first.byteOffset, first.byteOffset + first.length) as ArrayBuffer, true);
  } catch {
    return 0;
  }
  const ndim = hdr?.dims?.[0];
  const dt = DATATYPES[hdr?.datatypeCode];
  if (!hdr || !dt || !(ndim >= 1 && ndim <= 7)) return 0;
  const count = hdr.dims.slice(1, ndim + 1).reduce((a, b) => a * Math.max(1, b), 1);
  const bytes = Math.max(size + 4, Math.floor(hdr.vox_offset)) + count * dt.bytes;
  guardAllocation(bytes, 'This NIfTI volume', opts, path);
  return bytes;
}

/** Inflates a gzip stream whose size we bound first, so a "gzip bomb" cannot exhaust memory. */
function inflate(bytes: Uint8Array, what: string, opts: ReadOptions, file: string, max?: number): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  // ISIZE (last 4 bytes) is the uncompressed size mod 2^32: a hint only, so also cap the output.
  const limit = max ?? (opts.maxBytes ?? 16 * 2 ** 30) + 1024 * 1024;
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.min(limit, 2 ** 32 - 1) });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/maxOutputLength|Cannot create a Buffer larger/.test(msg)) {
      throw new VolumeError('TOO_LARGE', `${what} decompresses to more than the memory limit`, file);
    }
    throw new VolumeError('TRUNCATED', `${what} is not a complete gzip stream (${msg})`, file);
  }
}

export function parseNifti(raw: Uint8Array, path: string, opts: NiftiOptions = {}, rawImg?: Uint8Array): Volume {
  const name = basename(path);
  const bytes = inflate(raw, 'The NIfTI file', opts, path);
  const size = headerSize(bytes);
  if (size === undefined) throw new VolumeError('UNRECOGNISED', 'Not a NIfTI file: the header size is neither 348 nor 540', path);
  if (bytes.length < size) throw new VolumeError('TRUNCATED', `The file ends inside its ${size}-byte header`, path);
  let hdr: Header;
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Math.min(bytes.length, size + 4 + 64 * 1024)) as ArrayBuffer;
    hdr = nifti.readHeader(ab, true) ?? nifti.readHeader(ab.slice(0, size) as ArrayBuffer, true);
  } catch (e) {
    throw asVolumeError(e, 'BAD_HEADER', 'Cannot read the NIfTI header', path);
  }
  if (!hdr) throw new VolumeError('BAD_HEADER', 'Unreadable NIfTI header', path);
  const isNifti2 = size === 540;
  const analyze = !/^n(i|\+)[12]/.test(hdr.magic ?? '');

  const ndim = hdr.dims[0];
  if (!(ndim >= 1 && ndim <= 7)) throw new VolumeError('BAD_HEADER', `dim[0] is ${ndim}; it must be 1 to 7`, path);
  const shape = hdr.dims.slice(1, ndim + 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new VolumeError('BAD_HEADER', `Invalid dimensions ${shape.join(' x ')}`, path);
  }
  const dt = DATATYPES[hdr.datatypeCode];
  if (!dt) throw new VolumeError('UNSUPPORTED_DATATYPE', `Unknown NIfTI datatype code ${hdr.datatypeCode}`, path);
  if (!dt.ctor && dt.name !== 'int64' && dt.name !== 'uint64') {
    throw new VolumeError('UNSUPPORTED_DATATYPE', `NIfTI datatype ${dt.name} cannot be displayed`, path);
  }
  const dims: [number, number, number] = [shape[0], shape[1] ?? 1, shape[2] ?? 1];
  const frames = shape.slice(3).reduce((a, b) => a * b, 1);
  const count = dims[0] * dims[1] * dims[2] * frames;
  const outBytes = count * (dt.ctor ? dt.bytes : 8);
  guardAllocation(outBytes, `This ${dims.join('x')}${frames > 1 ? `x${frames}` : ''} ${dt.name} volume`, opts, path);

  const warnings: string[] = [];
  const dataBytes = count * dt.bytes;
  let source: Uint8Array;
  let offset: number;
  if (rawImg) {
    source = inflate(rawImg, 'The .img file', opts, path, dataBytes + Math.max(0, hdr.vox_offset) + 1);
    offset = Math.max(0, Math.floor(hdr.vox_offset));
  } else {
    source = bytes;
    offset = Math.floor(hdr.vox_offset);
    if (!(offset >= size)) {
      warnings.push(`vox_offset ${hdr.vox_offset} is inside the header; using ${size + 4}.`);
      offset = size + 4;
    }
  }
  if (source.length < offset + dataBytes) {
    throw new VolumeError('TRUNCATED', `The image data is ${source.length - offset} bytes; the header needs ${dataBytes}`, path);
  }
  const data = voxels(source, offset, count, dt, hdr.littleEndian, warnings);

  const { affine, notes } = bestAffine(hdr, isNifti2, bytes, analyze, shape);
  warnings.push(...notes);
  let rescale = null;
  const slope = hdr.scl_slope;
  const inter = hdr.scl_inter;
  if (!analyze && slope !== 0 && Number.isFinite(slope)) {
    if (!Number.isFinite(inter)) throw new VolumeError('BAD_HEADER', `Valid scl_slope but invalid scl_inter ${inter}`, path);
    rescale = { slope, intercept: inter };
  }
  return new Volume({
    name,
    format: 'nifti',
    sources: [path],
    dims,
    frames,
    components: dt.components ?? 1,
    data,
    rescale,
    affine,
    modality: modalityOf(hdr),
    header: headerFields(hdr, dt.name, isNifti2, analyze),
    warnings,
    description: hdr.description,
  });
}

/** Voxels in their own type, byte-swapped into native order; a view on the file buffer when aligned and native. */
function voxels(src: Uint8Array, offset: number, count: number, dt: (typeof DATATYPES)[number], little: boolean, warnings: string[]): VoxelArray {
  const n = count * (dt.components ?? 1);
  const byteLen = count * dt.bytes;
  const start = src.byteOffset + offset;
  if (!dt.ctor) {
    // 64-bit integers: no typed array the viewer can use; float64 keeps every value below 2^53 exact.
    warnings.push(`${dt.name} voxels converted to float64.`);
    const dv = new DataView(src.buffer, start, byteLen);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = Number(dt.name === 'int64' ? dv.getBigInt64(8 * i, little) : dv.getBigUint64(8 * i, little));
    return out;
  }
  const elem = dt.components ? 1 : dt.bytes;
  let buf: ArrayBuffer;
  let at: number;
  if (start % elem === 0 && (little || elem === 1)) {
    buf = src.buffer as ArrayBuffer;
    at = start;
  } else {
    buf = (src.buffer as ArrayBuffer).slice(start, start + byteLen);
    at = 0;
  }
  const out = new dt.ctor(buf, at, n);
  if (!little && elem > 1) swapInPlace(new Uint8Array(buf, at, byteLen), elem);
  // A view keeps the whole file buffer alive; only copy when the header/extensions are a large share of it.
  if (at !== 0 && src.byteLength > byteLen * 1.05) return out.slice() as VoxelArray;
  return out;
}

function swapInPlace(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a];
      b[a] = b[z];
      b[z] = t;
    }
  }
}

/**
 * nibabel's get_best_affine: sform if sform_code != 0, else qform if qform_code != 0, else the base affine. nibabel
 * (5.0) returns an sform holding NaN/Inf as it is, and its aff2axcodes then fails; a viewer needs a usable grid, so a
 * non-finite candidate is passed over for the next one in nibabel's order, with a warning.
 */
function bestAffine(hdr: Header, isNifti2: boolean, bytes: Uint8Array, analyze: boolean, shape: number[]): { affine: Mat4; notes: string[] } {
  const notes: string[] = [];
  // nibabel fixes these on load: zero pixdims become 1, negative ones positive, qfac other than +-1 becomes 1.
  const pix = [1, 2, 3].map((i) => {
    const p = hdr.pixDims[i];
    return !Number.isFinite(p) || p === 0 ? 1 : Math.abs(p);
  });
  const finite = (m: Mat4) => m.every(Number.isFinite);
  const sform = srows(bytes, isNifti2, hdr.littleEndian);
  const hasQform = !analyze && hdr.qform_code !== 0;
  const q = hasQform ? qform(hdr, pix) : undefined;
  if (!analyze && hdr.sform_code !== 0) {
    if (finite(sform)) {
      if (q && finite(q) && !sameGeometry(sform, q)) notes.push('sform and qform disagree; using the sform, as nibabel does.');
      return { affine: sform, notes };
    }
    notes.push(`The sform holds NaN or infinite values; using the ${q && finite(q) ? 'qform' : 'default affine'} instead.`);
  }
  if (q && finite(q)) return { affine: q, notes };
  if (q) notes.push('The qform holds NaN or infinite values; using the default affine instead.');
  else notes.push('No sform or qform: orientation is unknown; assuming the Analyze default (x flipped, origin at the centre).');
  // shape_zoom_affine(shape, zooms, x_flip=True)
  const s = [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1];
  const z = [-pix[0], pix[1], pix[2]];
  return {
    affine: [z[0], 0, 0, (-(s[0] - 1) / 2) * z[0], 0, z[1], 0, (-(s[1] - 1) / 2) * z[1], 0, 0, z[2], (-(s[2] - 1) / 2) * z[2], 0, 0, 0, 1],
    notes,
  };
}

function srows(bytes: Uint8Array, isNifti2: boolean, little: boolean): Mat4 {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m: number[] = [];
  for (let i = 0; i < 12; i++) m.push(isNifti2 ? dv.getFloat64(400 + 8 * i, little) : dv.getFloat32(280 + 4 * i, little));
  return [...m, 0, 0, 0, 1];
}

/** nibabel's get_qform: rotation from the quaternion (a filled in as nibabel's fillpositive), times pixdims and qfac. */
function qform(hdr: Header, pix: number[]): Mat4 {
  const [b, c, d] = [hdr.quatern_b, hdr.quatern_c, hdr.quatern_d];
  const w2 = 1 - (b * b + c * c + d * d);
  const a = w2 < 0 ? 0 : Math.sqrt(w2); // nibabel raises below -3 float32 eps; such files are already inconsistent
  const n = a * a + b * b + c * c + d * d;
  let r: number[];
  if (n < 1e-12) r = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  else {
    const s = 2 / n;
    const [X, Y, Z] = [b * s, c * s, d * s];
    const [wX, wY, wZ, xX, xY, xZ, yY, yZ, zZ] = [a * X, a * Y, a * Z, b * X, b * Y, b * Z, c * Y, c * Z, d * Z];
    r = [1 - (yY + zZ), xY - wZ, xZ + wY, xY + wZ, 1 - (xX + zZ), yZ - wX, xZ - wY, yZ + wX, 1 - (xX + yY)];
  }
  const qfac = hdr.pixDims[0] === -1 ? -1 : 1;
  const sc = [pix[0], pix[1], pix[2] * qfac];
  const rot: Mat4 = [r[0], r[1], r[2], hdr.qoffset_x, r[3], r[4], r[5], hdr.qoffset_y, r[6], r[7], r[8], hdr.qoffset_z, 0, 0, 0, 1];
  return mul4(rot, [sc[0], 0, 0, 0, 0, sc[1], 0, 0, 0, 0, sc[2], 0, 0, 0, 0, 1]);
}

const sameGeometry = (a: Mat4, b: Mat4) => a.every((v, i) => Math.abs(v - b[i]) < 1e-3);

function modalityOf(hdr: Header): string {
  const d = `${hdr.description ?? ''} ${hdr.intent_name ?? ''}`.toLowerCase();
  if (/\bct\b|hounsfield/.test(d)) return 'CT';
  if (/\b(mr|mri|t1|t2|flair|dwi|bold)\b/.test(d)) return 'MR';
  return 'OT';
}

function headerFields(hdr: Header, typeName: string, isNifti2: boolean, analyze: boolean): HeaderField[] {
  // float32 fields shown as written (1.2, not 1.2000000476837158)
  const show = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? String(+v.toPrecision(7)) : String(v));
  const f = (name: string, value: unknown): HeaderField => ({ name, value: Array.isArray(value) ? value.map(show).join(' ') : show(value) });
  const xform = (c: number) => `${c} (${XFORM[c] ?? 'invalid'})`;
  return [
    f('format', analyze ? 'Analyze 7.5' : isNifti2 ? 'NIfTI-2' : 'NIfTI-1'),
    f('sizeof_hdr', isNifti2 ? 540 : 348),
    f('magic', hdr.magic),
    f('endianness', hdr.littleEndian ? 'little' : 'big'),
    f('dim', hdr.dims),
    f('datatype', `${hdr.datatypeCode} (${typeName})`),
    f('bitpix', hdr.numBitsPerVoxel),
    f('pixdim', hdr.pixDims),
    f('vox_offset', hdr.vox_offset),
    f('scl_slope', hdr.scl_slope),
    f('scl_inter', hdr.scl_inter),
    f('xyzt_units', hdr.xyzt_units),
    f('cal_min', hdr.cal_min),
    f('cal_max', hdr.cal_max),
    f('descrip', hdr.description),
    f('aux_file', hdr.aux_file),
    f('intent_code', hdr.intent_code),
    f('intent_name', hdr.intent_name),
    f('qform_code', xform(hdr.qform_code)),
    f('sform_code', xform(hdr.sform_code)),
    f('quatern_b/c/d', [hdr.quatern_b, hdr.quatern_c, hdr.quatern_d]),
    f('qoffset_x/y/z', [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z]),
    f('extensions', hdr.extensions?.length ?? 0),
  ];
}
