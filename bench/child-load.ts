/**
 * One measured load in a fresh process (spawned by bench/io.ts), so that the peak RSS belongs to this load alone.
 *
 *   node --import tsx bench/child-load.ts baseline            imports the readers, loads nothing
 *   node --import tsx bench/child-load.ts nifti FILE.nii.gz   readNifti
 *   node --import tsx bench/child-load.ts dicom FOLDER        openStudy (one series expected)
 *
 * Prints one JSON line. Peak RSS is read twice: after load + range() (the reader's own peak), then after toFloat32().
 */
import { readNifti } from '../src/volume/nifti';
import { openStudy } from '../src/volume/open';
import type { Volume } from '../src/volume/volume';

const peakKiB = () => process.resourceUsage().maxRSS; // ru_maxrss, KiB on Linux

async function main() {
  const [mode, path] = process.argv.slice(2);
  if (mode === 'baseline') {
    console.log(JSON.stringify({ peakLoadKiB: peakKiB() }));
    return;
  }
  const t0 = performance.now();
  let vol: Volume;
  let volumes = 1;
  if (mode === 'nifti') vol = await readNifti(path);
  else if (mode === 'dicom') {
    const study = await openStudy(path);
    volumes = study.volumes.length;
    vol = study.volumes[0];
  } else throw new Error(`unknown mode ${mode}`);
  const loadMs = performance.now() - t0;

  const t1 = performance.now();
  const range = vol.range(); // touches every voxel: the data is really there
  const rangeMs = performance.now() - t1;
  const peakLoadKiB = peakKiB();

  const t2 = performance.now();
  const f32 = vol.toFloat32();
  const floatMs = performance.now() - t2;
  const peakFloatKiB = peakKiB();

  console.log(JSON.stringify({
    loadMs, rangeMs, floatMs, peakLoadKiB, peakFloatKiB,
    volumes, dims: vol.dims, frames: vol.frames, dataType: vol.dataType, bytes: vol.data.byteLength,
    rescale: vol.rescale, range, float32Length: f32.length,
  }));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
