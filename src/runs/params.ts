/**
 * params.txt: open_clip's trainer writes every argument, sorted by name, as one `name: value` line (`str()` of the
 * value). HLIP adds num_scans, force_patch_dropout, accum_batch, mri / ct (dicts naming the evaluation data) ...
 */
import { parsePythonLiteral } from './python-literal';
import type { Modality, PyValue, RunProblem, Setting } from './types';

export interface Params {
  /** In file order. */
  settings: Map<string, Setting>;
  problems: RunProblem[];
}

export function parseParams(text: string, file?: string): Params {
  const settings = new Map<string, Setting>();
  const problems: RunProblem[] = [];
  text.split(/\r?\n/).forEach((lineText, i) => {
    if (!lineText.trim()) return;
    const m = /^([A-Za-z_][\w.-]*): ?(.*)$/.exec(lineText);
    if (!m) {
      problems.push({ code: 'PARAMS_LINE', message: `params.txt line ${i + 1} is not "name: value" (${clip(lineText)}); skipped.`, file, line: i + 1 });
      return;
    }
    const [, key, raw] = m;
    const parsed = parsePythonLiteral(raw.trim());
    settings.set(key, { key, raw, value: parsed === undefined ? raw : parsed, line: i + 1 });
  });
  if (settings.size === 0 && text.trim()) {
    problems.push({ code: 'PARAMS_LINE', message: 'params.txt has no "name: value" line.', file });
  }
  return { settings, problems };
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

export const settingNumber = (s: Map<string, Setting>, key: string): number | undefined => {
  const v = s.get(key)?.value;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

const nonEmpty = (v: PyValue | undefined): boolean =>
  v !== undefined && v !== null && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * The modality a run was trained / evaluated for: HLIP's `--mri` / `--ct` evaluation dicts, else the metric keys
 * (`auc (mri)`, `auc (ct)`).
 */
export function modalityOf(settings: Map<string, Setting>, metricKeys: Iterable<string> = []): Modality | undefined {
  let mri = nonEmpty(settings.get('mri')?.value);
  let ct = nonEmpty(settings.get('ct')?.value);
  if (!mri && !ct) {
    for (const k of metricKeys) {
      if (/\(mri\)/i.test(k)) mri = true;
      if (/\((ct|rsna)\)/i.test(k)) ct = true;
    }
  }
  return mri && ct ? 'mri+ct' : mri ? 'mri' : ct ? 'ct' : undefined;
}
