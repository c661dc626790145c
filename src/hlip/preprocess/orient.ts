/**
 * Which voxel axis of a Volume becomes each axis of HLIP's [D, H, W] array, and in which direction.
 *
 * HLIP's MRI scripts do `sitk.DICOMOrientImageFilter` to 'RPI', then `sitk.GetArrayFromImage` (array order z, y, x).
 * DICOMOrientImageFilter reads the code in the DICOM convention, each letter naming the side an axis increases
 * TOWARD, 'LPS' being the identity direction (ITK issue #4788 / PR #4791; not the legacy itk::SpatialOrientation
 * "from" codes). So after 'RPI': x grows to the patient's Right, y to Posterior, z to Inferior, and the array is
 * [z][y][x]: slice 0 is the most superior, row 0 the most anterior, column 0 the patient's left.
 * Then transpose2dhw moves the axis with the largest spacing to depth: y -> (y, z, x), x -> (x, z, y).
 */
import type { Volume } from '../../volume/volume';

/** One array axis: the volume voxel axis (0 = i, 1 = j, 2 = k) it runs along, reversed or not, its length, spacing. */
export interface AxisRef {
  axis: 0 | 1 | 2;
  flip: boolean;
  len: number;
  spacing: number;
}

export type Axes3 = [AxisRef, AxisRef, AxisRef];

/** [z, y, x] of the SimpleITK 'RPI' array: toward Inferior, toward Posterior, toward Right. */
export function rpiArrayAxes(v: Volume): Axes3 {
  // Volume.orientation is nibabel's aff2axcodes of the RAS affine: the letter each voxel axis grows toward.
  const code = v.orientation;
  const ref = (pair: string, toward: string): AxisRef => {
    const a = [0, 1, 2].find((i) => pair.includes(code[i]));
    if (a === undefined) throw new Error(`${v.name}: cannot tell the orientation of the voxel axes (${code})`);
    return { axis: a as 0 | 1 | 2, flip: code[a] !== toward, len: v.dims[a], spacing: v.spacing[a] };
  };
  return [ref('SI', 'I'), ref('AP', 'P'), ref('LR', 'R')];
}

/**
 * HLIP's transpose2dhw: np.argmax over the (z, y, x) spacings picks depth, the first on ties. Spacings here come from
 * the affine, not the header's pixdim as in SimpleITK, so near-equal values (1e-6 relative) count as ties.
 */
export function largestSpacingToDepth(a: Axes3): Axes3 {
  const max = Math.max(a[0].spacing, a[1].spacing, a[2].spacing);
  const best = [0, 1, 2].find((c) => a[c].spacing >= max * (1 - 1e-6))!;
  if (best === 1) return [a[1], a[0], a[2]];
  if (best === 2) return [a[2], a[0], a[1]];
  return a;
}

/** Stored order without reorientation, as GetArrayFromImage on the file: [k, j, i] (chest CT). */
export function storedAxes(v: Volume): Axes3 {
  return [2, 1, 0].map((a) => ({ axis: a as 0 | 1 | 2, flip: false, len: v.dims[a], spacing: v.spacing[a] })) as Axes3;
}

/** Flat offset into the volume's frame for each index along an array axis. */
export function axisOffsets(v: Volume, r: AxisRef): Int32Array {
  const stride = r.axis === 0 ? 1 : r.axis === 1 ? v.dims[0] : v.dims[0] * v.dims[1];
  const out = new Int32Array(r.len); // small-integer offsets keep the voxel loads on V8's fast path
  for (let o = 0; o < r.len; o++) out[o] = (r.flip ? r.len - 1 - o : o) * stride;
  return out;
}
