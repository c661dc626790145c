/**
 * HLIP's pre-processing in TypeScript: a Study's volumes -> the visual tower's input [1, N, 1, D, H, W], plus, per
 * scan, the map from the model grid back to the volume's voxels (to overlay attention on the scan as displayed).
 *
 * MRI (data/pub_brain_5/<set>/process.py, src/hlip_test/zeroshot_pubbrain5.py and pub_brain_5_embed.py):
 *   SimpleITK 'RPI' + GetArrayFromImage -> [z, y, x]; largest spacing to depth; np.percentile 0.5 / 99.5 clip;
 *   (x - min) / (max - min + 1e-8); stored as uint8 (the loader divides by 255; the conversion itself is not
 *   published: numpy's astype(np.uint8) truncation is the default here, 'round' and 'none' are options, 'none' being
 *   the master branch's float storage); zero-pad H, W to a centred square (extra pixel after); bilinear to 256;
 *   nearest-exact depth to D; crop [16:240]; (x - 0.449) / 0.226. Only the D slices that nearest-exact picks are
 *   resampled, and only the cropped part of the 256 grid: the result is the same, for ~1/10 of the work.
 * Head CT: HLIP's head CT data arrive pre-processed (unpublished); each window is its own 1-channel scan
 *   (names end in BrainWindow / BloodWindow / BoneWindow). Here each window maps HU to [0, 1] (clipped), is stored as
 *   uint8 like MRI, and goes through the MRI geometry. The window values are NOT published: ours are conventional.
 * Chest CT (data/ct_rate/process.py, src/hlip_test/zeroshot_ct_rate.py): no reorientation ([k, j, i] as stored);
 *   HU trilinear to (3, 1, 1) mm (size int(n * spacing / target)); (HU + 1150) / 1500 clipped to [0, 1]; centred
 *   zero-pad then centred crop to 112 x 336 x 336; (x - 0.449) / 0.226.
 */
import type { Volume } from '../../volume/volume';
import { type Quantize, minMaxNormaliser, percentiles, realSource, realValue, windowNormaliser, type RealSource } from './intensity';
import { type Axes3, axisOffsets, largestSpacingToDepth, rpiArrayAxes, storedAxes } from './orient';
import { type Dims3, type LinearTable, resample2d, resampleAxis, sliceTable, torchLinearTable, torchNearestExact, unpadTable } from './resize';

export type { Quantize } from './intensity';

export type Protocol = 'mri' | 'head-ct' | 'chest-ct';

export interface CtWindow {
  name: string;
  center: number;
  width: number;
}

/** Conventional head CT windows (HU). HLIP does not publish the ones it trained with: make them configurable. */
export const DEFAULT_HEAD_CT_WINDOWS: readonly CtWindow[] = [
  { name: 'brain', center: 40, width: 80 },
  { name: 'blood', center: 80, width: 200 }, // subdural
  { name: 'bone', center: 600, width: 2800 },
];

/** Chest CT: HU range mapped to [0, 1] and target spacing (z, y, x) in mm, as HLIP's CT-RATE scripts. */
export const CHEST_CT_HU: readonly [number, number] = [-1150, 350];
export const CHEST_CT_SPACING: readonly [number, number, number] = [3, 1, 1];

export const DEFAULT_IMG_SIZE: Record<Protocol, [number, number, number]> = {
  mri: [48, 224, 224],
  'head-ct': [48, 224, 224],
  'chest-ct': [112, 336, 336],
};

const f32 = Math.fround;
/** torch.as_tensor(IMAGENET_DEFAULT_MEAN).mean() and ..._STD).mean(): 0.449 and 0.226 as float32 tensors. */
export const NORM_MEAN = f32(f32(f32(f32(0.485) + f32(0.456)) + f32(0.406)) / 3);
export const NORM_STD = f32(f32(f32(f32(0.229) + f32(0.224)) + f32(0.225)) / 3);

export interface PreprocessOptions {
  /** [D, H, W] of one scan; default [48, 224, 224], chest CT [112, 336, 336]. */
  imgSize?: [number, number, number];
  /** Head CT windows, one scan each, in this order. Default DEFAULT_HEAD_CT_WINDOWS. */
  ctWindows?: CtWindow[];
  /** uint8 storage of MRI / head CT intensities. Default 'trunc'. */
  quantize?: Quantize;
}

/**
 * Model grid <- volume voxels, axis by axis (every step of the pipeline is a per-axis permutation, flip, scale,
 * shift). For model axis c (0 = D, 1 = H, 2 = W): s = voxel index along volume axis axes[c], reversed when flip[c]
 * (s = n - 1 - index); model coordinate m = scale[c] * s + offset[c], both as voxel centres (0 = first centre).
 * A voxel whose m lies outside [-0.5, modelSize - 0.5] on any axis was cropped away. Depth resampled with
 * nearest-exact is mapped by its linear equivalent (m = (s + 0.5) * out / in - 0.5).
 */
export interface ScanMapping {
  modelSize: [number, number, number];
  volumeDims: [number, number, number];
  axes: [0 | 1 | 2, 0 | 1 | 2, 0 | 1 | 2];
  flip: [boolean, boolean, boolean];
  scale: [number, number, number];
  offset: [number, number, number];
}

export interface ScanInfo {
  /** Index into the volumes given to preprocessStudy. */
  volumeIndex: number;
  /** Volume name, with the window for head CT ("name [brain]"). */
  name: string;
  window?: CtWindow;
  mapping: ScanMapping;
}

export interface PreprocessResult {
  data: Float32Array;
  shape: [1, number, 1, number, number, number];
  scans: ScanInfo[];
  /** 4D volumes reduced to frame 0, constant scans, and the like. */
  warnings: string[];
}

export function preprocessStudy(volumes: Volume[], protocol: Protocol, opts: PreprocessOptions = {}): PreprocessResult {
  if (volumes.length === 0) throw new Error('HLIP pre-processing: no volume to process');
  const img = opts.imgSize ?? DEFAULT_IMG_SIZE[protocol];
  if (img.length !== 3 || !img.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`imgSize must be three positive integers, got ${JSON.stringify(img)}`);
  const windows = opts.ctWindows ?? [...DEFAULT_HEAD_CT_WINDOWS];
  if (protocol === 'head-ct') {
    if (windows.length === 0) throw new Error('head CT needs at least one window');
    for (const w of windows) if (!(w.width > 0) || !Number.isFinite(w.center)) throw new Error(`bad CT window ${JSON.stringify(w)}`);
  }
  const quantize = opts.quantize ?? 'trunc';
  const perVolume = protocol === 'head-ct' ? windows.length : 1;
  const n = volumes.length * perVolume;
  const scanSize = img[0] * img[1] * img[2];
  const data = new Float32Array(n * scanSize);
  const scans: ScanInfo[] = [];
  const warnings: string[] = [];

  volumes.forEach((v, vi) => {
    if (v.components !== 1) throw new Error(`${v.name}: RGB volumes cannot be fed to HLIP (it takes one grey value per voxel)`);
    if (v.frames > 1) warnings.push(`${v.name}: 4D volume (${v.frames} frames); HLIP is given frame 0 only`);
    const src = realSource(v.frame(0), v.rescale);
    if (protocol === 'chest-ct') {
      const mapping = fillChest(data, scans.length * scanSize, v, src, img, warnings);
      scans.push({ volumeIndex: vi, name: v.name, mapping });
      return;
    }
    const g = brainGeometry(v, img);
    if (protocol === 'mri') {
      const [lo, hi] = percentiles(src, [0.5, 99.5]);
      if (!(hi > lo)) warnings.push(`${v.name}: constant intensities (or no finite value); the scan is all zeros before normalisation`);
      fillBrain(data, scans.length * scanSize, src, g, img, minMaxNormaliser(lo, hi, src.float32, quantize));
      scans.push({ volumeIndex: vi, name: v.name, mapping: g.mapping });
    } else {
      for (const w of windows) {
        fillBrain(data, scans.length * scanSize, src, g, img, windowNormaliser(w.center, w.width, quantize));
        scans.push({ volumeIndex: vi, name: `${v.name} [${w.name}]`, window: { ...w }, mapping: g.mapping });
      }
    }
  });
  return { data, shape: [1, n, 1, img[0], img[1], img[2]], scans, warnings };
}

interface BrainGeometry {
  axes: Axes3;
  offsets: [Int32Array, Int32Array, Int32Array];
  depth: Int32Array;
  tH: LinearTable;
  tW: LinearTable;
  mapping: ScanMapping;
}

function brainGeometry(v: Volume, img: [number, number, number]): BrainGeometry {
  const axes = largestSpacingToDepth(rpiArrayAxes(v));
  const [d0, h0, w0] = axes.map((a) => a.len);
  const side = Math.max(h0, w0);
  const top = (side - h0) >> 1, left = (side - w0) >> 1;
  // 224 -> resize 256, crop 16: HLIP's numbers; other sizes keep the 8/7 ratio and a centred crop.
  const rH = Math.round((img[1] * 8) / 7), rW = Math.round((img[2] * 8) / 7);
  const cH = (rH - img[1]) >> 1, cW = (rW - img[2]) >> 1;
  const mapping: ScanMapping = {
    modelSize: [...img],
    volumeDims: [...v.dims],
    axes: [axes[0].axis, axes[1].axis, axes[2].axis],
    flip: [axes[0].flip, axes[1].flip, axes[2].flip],
    scale: [img[0] / d0, rH / side, rW / side],
    offset: [(0.5 * img[0]) / d0 - 0.5, ((top + 0.5) * rH) / side - 0.5 - cH, ((left + 0.5) * rW) / side - 0.5 - cW],
  };
  return {
    axes,
    offsets: [axisOffsets(v, axes[0]), axisOffsets(v, axes[1]), axisOffsets(v, axes[2])],
    depth: torchNearestExact(d0, img[0]),
    tH: unpadTable(sliceTable(torchLinearTable(side, rH), cH, img[1]), top, h0),
    tW: unpadTable(sliceTable(torchLinearTable(side, rW), cW, img[2]), left, w0),
    mapping,
  };
}

/** A lookup table stored value -> normalised value for 8/16-bit data (no per-voxel arithmetic), else null. */
function lookupTable(src: RealSource, norm: (v: number) => number): { lut: Float32Array; offset: number } | null {
  const d = src.data;
  let lo: number, size: number;
  if (d instanceof Uint8Array) [lo, size] = [0, 256];
  else if (d instanceof Int8Array) [lo, size] = [-128, 256];
  else if (d instanceof Uint16Array) [lo, size] = [0, 65536];
  else if (d instanceof Int16Array) [lo, size] = [-32768, 65536];
  else return null;
  const lut = new Float32Array(size);
  for (let b = 0; b < size; b++) lut[b] = norm(realValue(src, b + lo));
  return { lut, offset: -lo };
}

/** Normalised slices picked by nearest-exact, bilinear over the padded square, crop, mean/std, into out[base..]. */
function fillBrain(out: Float32Array, base: number, src: RealSource, g: BrainGeometry, img: [number, number, number], norm: (v: number) => number): void {
  const [offD, offH, offW] = g.offsets;
  const h0 = g.axes[1].len, w0 = g.axes[2].len;
  const [D, H, W] = img;
  const table = lookupTable(src, norm);
  const data = src.data;
  const slice = new Float32Array(h0 * w0);
  const mid = new Float32Array(h0 * W);
  let last = -1;
  let plane: Float32Array<ArrayBufferLike> = new Float32Array(0);
  for (let d = 0; d < D; d++) {
    const sd = g.depth[d];
    if (sd !== last) {
      const od = offD[sd];
      for (let y = 0; y < h0; y++) {
        const row = od + offH[y], s = y * w0;
        if (table) {
          const { lut, offset } = table;
          for (let x = 0; x < w0; x++) slice[s + x] = lut[data[row + offW[x]] + offset];
        } else {
          for (let x = 0; x < w0; x++) slice[s + x] = norm(realValue(src, data[row + offW[x]]));
        }
      }
      plane = resample2d(slice, h0, w0, g.tH, g.tW, mid);
      last = sd;
    }
    const o = base + d * H * W;
    for (let p = 0; p < H * W; p++) out[o + p] = f32(f32(plane[p] - NORM_MEAN) / NORM_STD);
  }
}

function fillChest(out: Float32Array, base: number, v: Volume, src: RealSource, img: [number, number, number], warnings: string[]): ScanMapping {
  const axes = storedAxes(v); // [k, j, i]: the volume's own C order
  const dims = axes.map((a) => a.len) as Dims3;
  const tables: LinearTable[] = [];
  const lo: number[] = [], len: number[] = [];
  const scale: number[] = [], offset: number[] = [];
  for (let c = 0; c < 3; c++) {
    const a = axes[c];
    // int(n * spacing / target) as HLIP (1e-3 absorbs float32 spacings like 0.69999999 for 0.7); at least 1.
    let t = Math.floor((a.len * a.spacing) / CHEST_CT_SPACING[c] + 1e-3);
    if (t < 1) {
      warnings.push(`${v.name}: axis ${'kji'[c]} is ${(a.len * a.spacing).toFixed(2)} mm long, under one ${CHEST_CT_SPACING[c]} mm voxel; kept as 1`);
      t = 1;
    }
    const pad = Math.max(img[c] - t, 0), pad1 = pad >> 1;
    const start = (t + pad - img[c]) >> 1;
    // Output o reads resampled index r = o + start - pad1; outside [0, t) it is padding (0 after the window).
    const oLo = Math.max(0, pad1 - start), oHi = Math.min(img[c], pad1 - start + t);
    lo.push(oLo);
    len.push(oHi - oLo);
    tables.push(sliceTable(torchLinearTable(a.len, t), oLo + start - pad1, oHi - oLo));
    scale.push(t / a.len);
    offset.push((0.5 * t) / a.len - 0.5 + pad1 - start);
  }
  // Separable trilinear, plane by plane: depth taps (two stored planes, as float32), then H and W on the plane.
  // Keeps the memory at a few planes and every inner loop on Float32Array.
  const [hlo, hhi] = CHEST_CT_HU;
  const range = hhi - hlo;
  const background = f32(f32(0 - NORM_MEAN) / NORM_STD);
  const [D, H, W] = img;
  out.fill(background, base, base + D * H * W);
  const { slope, intercept } = src;
  const [, nj, ni] = dims;
  const planeSize = nj * ni;
  const cache = new Map<number, Float32Array>();
  const storedPlane = (k: number): Float32Array => {
    let p = cache.get(k);
    if (!p) {
      if (cache.size >= 2) cache.delete(cache.keys().next().value as number);
      p = new Float32Array(planeSize);
      p.set(src.data.subarray(k * planeSize, (k + 1) * planeSize));
      cache.set(k, p);
    }
    return p;
  };
  const mixed = new Float32Array(planeSize);
  const mid = new Float32Array(nj * len[2]);
  const td = tables[0];
  for (let d = 0; d < len[0]; d++) {
    const a = storedPlane(td.i0[d]), b = storedPlane(td.i1[d]);
    const w0 = td.w0[d], w1 = td.w1[d];
    for (let p = 0; p < planeSize; p++) mixed[p] = w0 * a[p] + w1 * b[p];
    const plane = resample2d(mixed, nj, ni, tables[1], tables[2], mid);
    let p = 0;
    for (let h = 0; h < len[1]; h++) {
      const row = base + ((d + lo[0]) * H + h + lo[1]) * W + lo[2];
      for (let w = 0; w < len[2]; w++) {
        const hu = f32(plane[p++] * slope + intercept);
        let x = f32(f32(hu - hlo) / range);
        x = x < 0 ? 0 : x > 1 ? 1 : x !== x ? 0 : x;
        out[row + w] = f32(f32(x - NORM_MEAN) / NORM_STD);
      }
    }
  }
  return {
    modelSize: [...img],
    volumeDims: [...v.dims],
    axes: [2, 1, 0],
    flip: [false, false, false],
    scale: scale as [number, number, number],
    offset: offset as [number, number, number],
  };
}

/**
 * A map on the model grid (one scan) -> a float32 map on the volume's own voxel grid (x fastest, one frame), by
 * trilinear interpolation. mapDims is the map's [d, h, w]: the patch grid (e.g. [6, 14, 14]) or the full model size;
 * its cells are taken as evenly covering the model grid (align_corners=False, as HLIP upsamples its relevance maps).
 * Voxels the pre-processing cropped away get 0.
 */
export function modelGridToVolume(map: Float32Array, mapDims: [number, number, number], info: ScanInfo, volume: Volume): Float32Array {
  const m = info.mapping;
  if (map.length !== mapDims[0] * mapDims[1] * mapDims[2]) throw new Error(`map has ${map.length} values for ${mapDims.join('x')}`);
  if (volume.dims.some((d, i) => d !== m.volumeDims[i])) throw new Error(`volume ${volume.dims.join('x')} is not the one this scan came from (${m.volumeDims.join('x')})`);
  // One table per model axis, indexed by the volume voxel index along the matching volume axis.
  const tables: LinearTable[] = [0, 1, 2].map((c) => {
    const n = m.volumeDims[m.axes[c]];
    const size = m.modelSize[c], md = mapDims[c];
    const t: LinearTable = { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float64Array(n), w1: new Float64Array(n) };
    for (let idx = 0; idx < n; idx++) {
      const s = m.flip[c] ? n - 1 - idx : idx;
      const mc = m.scale[c] * s + m.offset[c];
      if (mc < -0.5 - 1e-9 || mc > size - 0.5 + 1e-9) continue; // cropped away: both weights stay 0
      let u = ((mc + 0.5) * md) / size - 0.5;
      u = u < 0 ? 0 : u > md - 1 ? md - 1 : u;
      const u0 = Math.floor(u);
      t.i0[idx] = u0;
      t.i1[idx] = Math.min(u0 + 1, md - 1);
      t.w1[idx] = u - u0;
      t.w0[idx] = 1 - (u - u0);
    }
    return t;
  });
  // Resample in model axis order, giving [n(axes[0]), n(axes[1]), n(axes[2])], then transpose to the volume's order.
  let cur: Float32Array<ArrayBufferLike> = map;
  let dims: Dims3 = [...mapDims];
  for (const c of [2, 1, 0] as const) {
    const r = resampleAxis(cur, dims, c, tables[c]);
    cur = r.data;
    dims = r.dims;
  }
  const [nx, ny] = volume.dims;
  const stride = [1, nx, nx * ny];
  const out = new Float32Array(volume.voxelsPerFrame);
  const s0 = stride[m.axes[0]], s1 = stride[m.axes[1]], s2 = stride[m.axes[2]];
  let p = 0;
  for (let a = 0; a < dims[0]; a++)
    for (let b = 0; b < dims[1]; b++) {
      const o = a * s0 + b * s1;
      for (let c = 0; c < dims[2]; c++) out[o + c * s2] = cur[p++];
    }
  return out;
}
