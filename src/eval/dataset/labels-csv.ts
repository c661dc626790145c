/**
 * The labels CSV of HLIP's evaluation data (data/mri.csv, ct.csv, rsna.csv, pub_brain_5_gt.csv): a `study` column and
 * one 0/1 column per class name of the set. HLIP reads `row[CLASSNAMES].astype(int)`: extra columns are ignored (said
 * here as a warning), a missing one stops the script (here: an error naming every missing and extra column).
 */
import { readFileSync } from 'node:fs';
import { EvalError } from '../errors';

export interface LabelRow {
  /** 0-based position among the CSV's data rows (the report's order). */
  index: number;
  study: string;
  /** One 0/1 per class of the set, in the set's order; undefined when the row is unusable (see `problem`). */
  labels?: Uint8Array;
  problem?: string;
}

export interface LabelsFile {
  rows: LabelRow[];
  warnings: string[];
}

/** RFC 4180 fields (quotes, doubled quotes, CRLF); a trailing empty line is not a row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') field += '"', i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += ch;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** pandas' int conversion of a 0/1 cell: "0", "1", "0.0", "1.0" (surrounding spaces allowed). */
function binary(cell: string): 0 | 1 | undefined {
  const t = cell.trim();
  if (!/^[+-]?\d+(\.0*)?$/.test(t) && !/^[+-]?\d*\.\d+$/.test(t)) return undefined;
  const v = Number(t);
  return v === 0 ? 0 : v === 1 ? 1 : undefined;
}

export function readLabels(path: string, classes: readonly string[], setName: string): LabelsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new EvalError('BAD_LABELS', `Cannot read the labels CSV ${path} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}).`);
  }
  const [header, ...data] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header) throw new EvalError('BAD_LABELS', `The labels CSV ${path} is empty.`);
  const names = header.map((h) => h.trim());
  const studyCol = names.indexOf('study');
  const missing = classes.filter((c) => !names.includes(c));
  const extra = names.filter((n, i) => i !== studyCol && !classes.includes(n));
  if (studyCol < 0 || missing.length) {
    const parts = [studyCol < 0 ? 'it has no "study" column' : '', missing.length ? `it lacks ${missing.length} of the ${setName} set's ${classes.length} class columns: ${missing.map((m) => `"${m}"`).join(', ')}` : ''].filter(Boolean);
    throw new EvalError('BAD_LABELS', `The labels CSV ${path} does not match the ${setName} set: ${parts.join('; ')}${extra.length ? `; columns not in the set: ${extra.map((m) => `"${m}"`).join(', ')}` : ''}.`);
  }
  const warnings = extra.length ? [`The labels CSV has columns that are not ${setName} classes (ignored, as HLIP does): ${extra.map((m) => `"${m}"`).join(', ')}.`] : [];
  const cols = classes.map((c) => names.indexOf(c));
  const seen = new Set<string>();
  const rows = data.map((cells, index): LabelRow => {
    const study = (cells[studyCol] ?? '').trim();
    if (!study) return { index, study: `(row ${index + 2})`, problem: `row ${index + 2} of the CSV has no study name` };
    if (seen.has(study)) return { index, study, problem: `study "${study}" appears again in row ${index + 2} of the CSV; only its first row is used` };
    seen.add(study);
    const labels = new Uint8Array(classes.length);
    const bad: string[] = [];
    cols.forEach((col, c) => {
      const v = binary(cells[col] ?? '');
      if (v === undefined) bad.push(`${classes[c]}="${cells[col] ?? ''}"`);
      else labels[c] = v;
    });
    if (bad.length) return { index, study, problem: `labels are not 0/1: ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? ` and ${bad.length - 4} more` : ''}` };
    return { index, study, labels };
  });
  return { rows, warnings };
}
