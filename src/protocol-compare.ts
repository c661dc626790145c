/**
 * Messages between the host and the Compare Runs / Compare Checkpoints webview (webview/compare). Both sides import
 * this file; each validates what it receives. Requests get one reply, paired by id (src/shared/request-pairing.ts).
 */
import type { MapRequest } from './hlip/classify/results';
import type { CheckpointComparison } from './runs/checkpoint-compare';
import type { CompareData } from './runs/compare-data';
import type { Reply } from './shared/request-pairing';
import type { EvaluationView } from './eval/evaluation-view';

export type ExportFormat = 'png' | 'svg' | 'csv';

export type CompareRequest =
  /** Save one chart: PNG as a data: URL, SVG as text (drawn by the page); CSV is written by the host from its data. */
  | { kind: 'exportChart'; chartId: string; format: ExportFormat; content?: string }
  /** Show a checkpoint's CLS attention or diagnosis map in the study's viewer. */
  | { kind: 'showMap'; checkpoint: number; map: MapRequest }
  | { kind: 'exportComparison' }
  | { kind: 'openFile'; path: string }
  /** Error analysis: open an evaluated study in the viewer with that checkpoint's map of the diagnosis. */
  | { kind: 'openEvaluatedStudy'; checkpoint: number; study: string; diagnosis: string };

export interface CompareReplies {
  /** The file written; null when the user cancelled the dialog. */
  exportChart: string | null;
  showMap: null;
  exportComparison: string | null;
  openFile: null;
  openEvaluatedStudy: null;
}

/** An evaluation (hlip eval) running or done: progress line, and the results once there. */
export interface EvaluationProgress {
  running: boolean;
  message: string;
  error?: string;
}

export interface CheckpointProgress {
  /** One per checkpoint: what it is doing now. */
  states: { label: string; state: 'waiting' | 'converting' | 'classifying' | 'done' | 'error' | 'cancelled'; message?: string }[];
  running: boolean;
  study: string;
}

export type CompareHostMessage =
  | Reply
  | { type: 'runs'; data: CompareData }
  | { type: 'checkpoints'; comparison: CheckpointComparison; progress: CheckpointProgress }
  /** The map a showMap asked for is on screen in the viewer (or why not). */
  | { type: 'mapShown'; checkpoint: number; label: string }
  | { type: 'evaluation'; progress: EvaluationProgress; view?: EvaluationView };

export type CompareWebviewMessage =
  | { type: 'ready' }
  /** Every chart is drawn (tests and the benchmark wait for it). */
  | { type: 'drawn'; charts: number; ms: number }
  | { type: 'request'; id: number; request: CompareRequest }
  | { type: 'cancel' };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isStr = (x: unknown, max = 10_000): x is string => typeof x === 'string' && x.length <= max;
const isInt = (x: unknown, lo = 0, hi = 2 ** 31): x is number => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
const MAX_EXPORT = 32 * 2 ** 20;

function parseMap(m: unknown): MapRequest | undefined {
  if (!isObj(m)) return undefined;
  if (m.kind === 'cls') return { kind: 'cls' };
  if (m.kind === 'diagnosis' && isStr(m.set, 64) && isStr(m.className, 500)) return { kind: 'diagnosis', set: m.set, className: m.className };
  return undefined;
}

function parseRequest(r: unknown): CompareRequest | undefined {
  if (!isObj(r)) return undefined;
  switch (r.kind) {
    case 'exportChart': {
      if (!isStr(r.chartId, 500) || !(r.format === 'png' || r.format === 'svg' || r.format === 'csv')) return undefined;
      if (r.format === 'csv') return { kind: 'exportChart', chartId: r.chartId, format: 'csv' };
      if (!isStr(r.content, MAX_EXPORT)) return undefined;
      if (r.format === 'png' && !r.content.startsWith('data:image/png;base64,')) return undefined;
      if (r.format === 'svg' && !r.content.startsWith('<svg')) return undefined;
      return { kind: 'exportChart', chartId: r.chartId, format: r.format, content: r.content };
    }
    case 'showMap': {
      const map = parseMap(r.map);
      return map && isInt(r.checkpoint, 0, 1000) ? { kind: 'showMap', checkpoint: r.checkpoint, map } : undefined;
    }
    case 'exportComparison':
      return { kind: 'exportComparison' };
    case 'openFile':
      return isStr(r.path, 4096) ? { kind: 'openFile', path: r.path } : undefined;
    case 'openEvaluatedStudy':
      return isInt(r.checkpoint, 0, 1000) && isStr(r.study, 4096) && isStr(r.diagnosis, 500) ? { kind: 'openEvaluatedStudy', checkpoint: r.checkpoint, study: r.study, diagnosis: r.diagnosis } : undefined;
  }
  return undefined;
}

/** Validates a message from the page. Undefined when malformed. */
export function parseCompareWebviewMessage(x: unknown): CompareWebviewMessage | undefined {
  if (!isObj(x) || !isStr(x.type, 64)) return undefined;
  switch (x.type) {
    case 'ready':
    case 'cancel':
      return { type: x.type };
    case 'drawn':
      return isInt(x.charts, 0, 100_000) && typeof x.ms === 'number' ? { type: 'drawn', charts: x.charts, ms: x.ms } : undefined;
    case 'request': {
      const request = parseRequest(x.request);
      return request && isInt(x.id, 1, Number.MAX_SAFE_INTEGER) ? { type: 'request', id: x.id, request } : undefined;
    }
  }
  return undefined;
}

/** Checks the shape of a message from the host before the page acts on it. */
export function parseCompareHostMessage(x: unknown): CompareHostMessage | undefined {
  if (!isObj(x) || !isStr(x.type, 64)) return undefined;
  switch (x.type) {
    case 'reply':
      return isInt(x.id, 1, Number.MAX_SAFE_INTEGER) && (x.ok === true || (x.ok === false && isStr(x.code, 64) && isStr(x.message))) ? (x as CompareHostMessage) : undefined;
    case 'runs':
      return isObj(x.data) && Array.isArray(x.data.runs) && Array.isArray(x.data.charts) && isObj(x.data.diff) ? (x as CompareHostMessage) : undefined;
    case 'checkpoints':
      return isObj(x.comparison) && Array.isArray(x.comparison.sets) && isObj(x.progress) && Array.isArray(x.progress.states) ? (x as CompareHostMessage) : undefined;
    case 'mapShown':
      return isInt(x.checkpoint, 0, 1000) && isStr(x.label) ? (x as CompareHostMessage) : undefined;
    case 'evaluation':
      return isObj(x.progress) && typeof x.progress.running === 'boolean' && isStr(x.progress.message) &&
        (x.view === undefined || (isObj(x.view) && Array.isArray(x.view.rows) && Array.isArray(x.view.checkpoints) && Array.isArray(x.view.errors)))
        ? (x as CompareHostMessage)
        : undefined;
  }
  return undefined;
}
