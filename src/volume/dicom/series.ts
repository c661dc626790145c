/**
 * Instances -> series plans: group by SeriesInstanceUID (split further when a "series" mixes orientations or sizes),
 * order slices by their position along the slice normal (never by file name or InstanceNumber), derive spacing from the
 * positions (reporting non-uniform spacing and gantry tilt), and build the voxel -> RAS affine.
 */
import { type Mat4, type Vec3, cross3, dot3, lpsToRas, norm3 } from '../../shared/geometry';
import type { Rescale } from '../volume';
import type { FrameInfo } from './codecs';
import type { DicomInstance, FrameGeometry } from './instance';

export interface SliceRef {
  instance: DicomInstance;
  frame: number;
  rescale?: Rescale;
}

export interface SeriesPlan {
  name: string;
  seriesUid: string;
  modality: string;
  description: string;
  pixel: FrameInfo;
  dims: Vec3;
  frames: number;
  /** Volume order: index = t * dims[2] + k. */
  slices: SliceRef[];
  affine: Mat4;
  /** Same for every slice (or none): kept lazily on the Volume. Undefined with perSliceRescale. */
  rescale?: Rescale;
  /** Slices disagree on rescale: voxels are converted to float32 real values. */
  perSliceRescale: boolean;
  warnings: string[];
  hasGeometry: boolean;
}

interface FrameRef {
  instance: DicomInstance;
  frame: number;
  g: FrameGeometry;
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

function groupKey(f: FrameRef): string {
  const p = f.instance.pixel;
  const o = f.g.orientation?.map((v) => round(v, 3)).join(',') ?? 'none';
  return [f.instance.seriesUid, p.rows, p.columns, p.samplesPerPixel, p.bitsAllocated, o].join('|');
}

/** Groups instances into series and plans each one. Plans come out ordered by series number, then description. */
export function planSeries(instances: DicomInstance[]): SeriesPlan[] {
  const groups = new Map<string, FrameRef[]>();
  for (const instance of instances) {
    instance.frames.forEach((g, frame) => {
      const key = groupKey({ instance, frame, g });
      let list = groups.get(key);
      if (!list) groups.set(key, (list = []));
      list.push({ instance, frame, g });
    });
  }
  // How many geometric groups each SeriesInstanceUID split into: worth a warning.
  const splits = new Map<string, number>();
  for (const list of groups.values()) splits.set(list[0].instance.seriesUid, (splits.get(list[0].instance.seriesUid) ?? 0) + 1);
  const seen = new Map<string, number>();
  const plans = [...groups.values()].map((list) => {
    const uid = list[0].instance.seriesUid;
    const n = splits.get(uid) ?? 1;
    const part = (seen.get(uid) ?? 0) + 1;
    seen.set(uid, part);
    return planOne(list, n > 1 ? { part, of: n } : undefined);
  });
  const num = (p: SeriesPlan) => p.slices[0].instance.seriesNumber ?? Number.MAX_SAFE_INTEGER;
  plans.sort((a, b) => num(a) - num(b) || a.name.localeCompare(b.name) || a.seriesUid.localeCompare(b.seriesUid));
  // Two series may share number and description (repeated localizers): keep names unique for the series list.
  const count = new Map<string, number>();
  for (const p of plans) {
    const n = (count.get(p.name) ?? 0) + 1;
    count.set(p.name, n);
    if (n > 1) p.name = `${p.name} #${n}`;
  }
  return plans;
}

function planOne(frames: FrameRef[], split?: { part: number; of: number }): SeriesPlan {
  const first = frames[0].instance;
  const warnings: string[] = [];
  if (split) {
    warnings.push(
      `Series ${first.seriesNumber ?? first.seriesUid} mixes image sizes or orientations; shown as ${split.of} volumes (this is part ${split.part}).`,
    );
  }
  const withGeometry = frames.every((f) => f.g.position && f.g.orientation);
  const layout = withGeometry ? orderByPosition(frames, warnings) : orderWithoutGeometry(frames, warnings);
  const { slices, nz, nt } = layout;

  const g0 = slices[0].g;
  let [rowSp, colSp] = g0.pixelSpacing ?? [1, 1];
  if (!g0.pixelSpacing) warnings.push('No PixelSpacing: assuming 1 mm pixels.');
  if (!(rowSp > 0) || !(colSp > 0)) {
    warnings.push(`Invalid PixelSpacing ${rowSp}\\${colSp}: assuming 1 mm pixels.`);
    [rowSp, colSp] = [1, 1];
  }
  const o = g0.orientation ?? [1, 0, 0, 0, 1, 0];
  const rowDir: Vec3 = [o[0], o[1], o[2]];
  const colDir: Vec3 = [o[3], o[4], o[5]];
  const origin = g0.position ?? [0, 0, 0];
  const step = layout.step;
  const lps: Mat4 = [
    rowDir[0] * colSp, colDir[0] * rowSp, step[0], origin[0],
    rowDir[1] * colSp, colDir[1] * rowSp, step[1], origin[1],
    rowDir[2] * colSp, colDir[2] * rowSp, step[2], origin[2],
    0, 0, 0, 1,
  ];

  const rescales = slices.map((s) => s.g.rescale);
  const same = (a?: Rescale, b?: Rescale) => (a?.slope ?? 1) === (b?.slope ?? 1) && (a?.intercept ?? 0) === (b?.intercept ?? 0);
  const perSliceRescale = !rescales.every((r) => same(r, rescales[0]));
  if (perSliceRescale) warnings.push('Rescale slope/intercept differ between slices: voxels converted to float32 real values.');
  const modality = first.modality;
  const description = first.seriesDescription;
  const name = [first.seriesNumber !== undefined ? `Series ${first.seriesNumber}` : '', description, `(${modality})`]
    .filter(Boolean)
    .join(' ')
    .concat(split ? ` [${split.part}/${split.of}]` : '');
  return {
    name,
    seriesUid: first.seriesUid,
    modality,
    description,
    pixel: first.pixel,
    dims: [first.pixel.columns, first.pixel.rows, nz],
    frames: nt,
    slices: slices.map((s) => ({ instance: s.instance, frame: s.frame, rescale: s.g.rescale })),
    affine: lpsToRas(lps),
    rescale: perSliceRescale ? undefined : rescales[0],
    perSliceRescale,
    warnings,
    hasGeometry: withGeometry,
  };
}

interface Layout {
  slices: FrameRef[];
  nz: number;
  nt: number;
  step: Vec3;
}

const byTime = (a: FrameRef, b: FrameRef) =>
  a.g.temporalKey - b.g.temporalKey ||
  (a.instance.instanceNumber ?? 0) - (b.instance.instanceNumber ?? 0) ||
  a.frame - b.frame;

function orderByPosition(frames: FrameRef[], warnings: string[]): Layout {
  const o = frames[0].g.orientation!;
  const normal = cross3([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
  const dist = (f: FrameRef) => dot3(f.g.position!, normal);
  // Frames at the same position (within 1 micron) are time points / echoes of one slice.
  const sorted = [...frames].sort((a, b) => dist(a) - dist(b) || byTime(a, b));
  const stacks: FrameRef[][] = [];
  for (const f of sorted) {
    const last = stacks[stacks.length - 1];
    if (last && Math.abs(dist(last[0]) - dist(f)) < 1e-3) last.push(f);
    else stacks.push([f]);
  }
  let nt = stacks[0].length;
  if (!stacks.every((s) => s.length === nt)) {
    nt = Math.min(...stacks.map((s) => s.length));
    warnings.push(
      `Slice positions repeat an uneven number of times (${Math.min(...stacks.map((s) => s.length))} to ${Math.max(...stacks.map((s) => s.length))}); keeping the first ${nt} at each position.`,
    );
  }
  for (const s of stacks) s.sort(byTime);
  const nz = stacks.length;
  const slices: FrameRef[] = [];
  for (let t = 0; t < nt; t++) for (let k = 0; k < nz; k++) slices.push(stacks[k][t]);

  let step: Vec3;
  if (nz === 1) {
    const inst = frames[0].instance;
    const thick = inst.spacingBetweenSlices || inst.sliceThickness || 1;
    step = [normal[0] * thick, normal[1] * thick, normal[2] * thick];
  } else {
    const p0 = stacks[0][0].g.position!;
    const pn = stacks[nz - 1][0].g.position!;
    step = [(pn[0] - p0[0]) / (nz - 1), (pn[1] - p0[1]) / (nz - 1), (pn[2] - p0[2]) / (nz - 1)];
    const gaps = stacks.slice(1).map((s, i) => dist(s[0]) - dist(stacks[i][0]));
    const mean = (dist(stacks[nz - 1][0]) - dist(stacks[0][0])) / (nz - 1);
    const worst = Math.max(...gaps.map((g) => Math.abs(g - mean)));
    if (worst > Math.max(0.01, 0.01 * mean)) {
      warnings.push(
        `Non-uniform slice spacing: gaps from ${round(Math.min(...gaps), 3)} to ${round(Math.max(...gaps), 3)} mm (mean ${round(mean, 3)} mm); the affine uses the mean, so some slices are misplaced by up to ${round(worst, 3)} mm.`,
      );
    }
    const tilt = (Math.acos(Math.min(1, Math.abs(dot3(step, normal)) / norm3(step))) * 180) / Math.PI;
    if (tilt > 0.01) {
      warnings.push(`Gantry tilt of ${round(tilt, 2)} degrees: slices are sheared; the affine keeps the true slice positions.`);
    }
  }
  return { slices, nz, nt, step };
}

/** No ImagePositionPatient / orientation (secondary capture, ultrasound): stack by InstanceNumber and frame. */
function orderWithoutGeometry(frames: FrameRef[], warnings: string[]): Layout {
  const slices = [...frames].sort(
    (a, b) => (a.instance.instanceNumber ?? 0) - (b.instance.instanceNumber ?? 0) || a.frame - b.frame,
  );
  warnings.push(
    slices.length > 1
      ? 'No slice positions: frames stacked in InstanceNumber / frame order; position and orientation unknown.'
      : 'No ImagePositionPatient / ImageOrientationPatient: position and orientation unknown.',
  );
  const inst = frames[0].instance;
  const thick = inst.spacingBetweenSlices || inst.sliceThickness || 1;
  return { slices, nz: slices.length, nt: 1, step: [0, 0, thick] };
}
