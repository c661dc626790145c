/** `hlip info`: what a file or folder holds, one block per series, or JSON for scripts. */
import { openStudy } from '../volume/open';
import type { Study, Volume } from '../volume/volume';

export interface VolumeSummary {
  name: string;
  format: string;
  modality: string;
  dims: number[];
  frames: number;
  dataType: string;
  spacing: number[];
  orientation: string;
  affine: number[][];
  range: [number, number];
  rescale: { slope: number; intercept: number } | null;
  files: number;
  warnings: string[];
}

export function summarise(v: Volume): VolumeSummary {
  const a = v.affine;
  return {
    name: v.name,
    format: v.format,
    modality: v.modality,
    dims: [...v.dims],
    frames: v.frames,
    dataType: v.dataType,
    spacing: v.spacing.map((s) => +s.toFixed(6)),
    orientation: v.orientation,
    affine: [0, 1, 2, 3].map((r) => a.slice(r * 4, r * 4 + 4).map((x) => +x.toFixed(6))),
    range: v.range(),
    rescale: v.rescale,
    files: v.sources.length,
    warnings: v.warnings,
  };
}

const fmt = (xs: number[], d = 4) => xs.map((x) => +x.toFixed(d)).join(' x ');

function printStudy(study: Study, out: (s: string) => void): void {
  out(`${study.name}: ${study.volumes.length} volume(s)`);
  study.volumes.forEach((v, i) => {
    const s = summarise(v);
    out('');
    out(`[${i + 1}] ${s.name}`);
    out(`  format       ${s.format} (${s.files} file${s.files === 1 ? '' : 's'}), modality ${s.modality}`);
    out(`  dims         ${fmt(s.dims, 0)}${s.frames > 1 ? ` x ${s.frames} frames` : ''}  ${s.dataType}`);
    out(`  spacing      ${fmt(s.spacing)} mm`);
    out(`  orientation  ${s.orientation}`);
    out(`  affine       ${s.affine.map((r) => `[${r.map((x) => x.toFixed(4)).join(', ')}]`).join('\n               ')}`);
    const unit = v.modality === 'CT' && s.rescale ? ' HU' : '';
    out(`  range        ${s.range[0]} .. ${s.range[1]}${unit}${s.rescale ? `  (rescale ${s.rescale.slope} x + ${s.rescale.intercept})` : ''}`);
    for (const w of s.warnings) out(`  warning      ${w}`);
  });
  for (const w of study.warnings) out(`warning: ${w}`);
}

export async function infoCommand(paths: string[], json: boolean, out: (s: string) => void): Promise<void> {
  const studies: Study[] = [];
  for (const p of paths) studies.push(await openStudy(p));
  if (json) {
    const data = studies.map((s) => ({ name: s.name, volumes: s.volumes.map(summarise), warnings: s.warnings }));
    out(JSON.stringify(paths.length === 1 ? data[0] : data, null, 2));
  } else studies.forEach((s, i) => (i && out(''), printStudy(s, out)));
}
