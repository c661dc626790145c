/**
 * The one message protocol between the extension host and the viewer webview. Both sides import this file; each side
 * validates what it receives with the guards below before acting on it. Voxels travel as ArrayBuffers (VS Code
 * transfers them as binary), never as JSON arrays or base64.
 */
import type { ClassifyResults, MapRequest, PromptScore } from './hlip/classify/results';
import type { Reply } from './shared/request-pairing';
import type { CenterPlanes, VolumeMeta } from './shared/volume-meta';

export type { CenterPlanes, VolumeMeta, VoxelType } from './shared/volume-meta';
export type { ClassifyResults, MapRequest, PromptScore, ScoreRow, ScoreSet } from './hlip/classify/results';

export interface StudyEntry {
  name: string;
  modality: string;
  dims: [number, number, number];
  frames: number;
}

/** Webview requests that get exactly one reply (paired by id; see src/shared/request-pairing.ts). */
export type ViewerRequest =
  | { kind: 'classify' }
  | { kind: 'showMap'; map: MapRequest }
  | { kind: 'scorePrompt'; text: string }
  | { kind: 'savePrompt'; text: string }
  | { kind: 'removePrompt'; text: string }
  | { kind: 'exportResults'; format: 'json' | 'csv' };

/** What the reply to each request carries. */
export interface ViewerReplies {
  /** null: cancelled, or no model chosen. */
  classify: ClassifyResults | null;
  showMap: null;
  scorePrompt: PromptScore;
  /** The saved prompts after the change. */
  savePrompt: string[];
  removePrompt: string[];
  /** The file written; null when the user cancelled the dialog. */
  exportResults: string | null;
}

export type HostMessage =
  | Reply
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'classifyState'; state: 'running' | 'done' | 'cancelled' | 'error'; message: string; fraction?: number }
  | { type: 'results'; results: ClassifyResults }
  /** The user's saved prompts (a persistent, user-defined set). */
  | { type: 'savedPrompts'; prompts: string[] }
  /** The study's volumes (may come after the first volume started streaming); `marks`: host timings (epoch ms). */
  | { type: 'study'; name: string; entries: StudyEntry[]; warnings: string[]; marks?: Record<string, number> }
  /**
   * A volume to show now; its voxels follow as 'chunk' messages. With `preview` it paints at once from its centre
   * planes; without, it is still being read: chunks come in any order, the centre axial slice first, and its range is
   * that of the voxels read so far until a 'planes' message brings the final one.
   */
  | { type: 'volume'; index: number; meta: VolumeMeta; preview?: CenterPlanes }
  /** A streamed volume is read: its centre planes (all three paint before the last chunk) and its final range. */
  | { type: 'planes'; index: number; preview: CenterPlanes; range: [number, number] }
  /** Voxel bytes [offset, offset + data.byteLength) of the stored array of volume `index`. */
  | { type: 'chunk'; index: number; offset: number; data: ArrayBuffer; done: boolean }
  | { type: 'overlay'; name: string; meta: VolumeMeta; data: ArrayBuffer }
  | { type: 'error'; code: string; message: string; detail?: string }
  | { type: 'screenshotSaved'; path: string }
  | { type: 'command'; command: ViewerCommand };

/** Actions the host can trigger (keybindings, menus) that the webview performs. */
export type ViewerCommand = 'resetView' | 'cycleLayout' | 'toggleHeader' | 'toggleOverlay' | 'screenshot' | 'screenshotAs';
export const VIEWER_COMMANDS: readonly ViewerCommand[] = ['resetView', 'cycleLayout', 'toggleHeader', 'toggleOverlay', 'screenshot', 'screenshotAs'];

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'selectVolume'; index: number }
  | { type: 'requestOverlay' }
  | { type: 'screenshot'; png: ArrayBuffer; saveAs: boolean }
  | { type: 'cursor'; text: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** Rendered state, for the status bar and for UI tests. */
  | { type: 'rendered'; volume: number; slices: [number, number, number]; frame: number; ms: number }
  /** An error is on screen (so tests and logs know the user saw it). */
  | { type: 'errorShown'; code: string }
  | { type: 'request'; id: number; request: ViewerRequest }
  /** Stops a running classification (its request then replies null). */
  | { type: 'cancelClassify' };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isStr = (x: unknown, max = 10_000): x is string => typeof x === 'string' && x.length <= max;
const isInt = (x: unknown, lo = 0, hi = 2 ** 31): x is number => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;

function parseMapRequest(m: unknown): MapRequest | undefined {
  if (!isObj(m)) return undefined;
  if (m.kind === 'cls') return { kind: 'cls' };
  if (m.kind === 'diagnosis' && isStr(m.set, 64) && isStr(m.className, 500)) return { kind: 'diagnosis', set: m.set, className: m.className };
  if (m.kind === 'prompt' && isStr(m.text, 2000)) return { kind: 'prompt', text: m.text };
  return undefined;
}

function parseViewerRequest(r: unknown): ViewerRequest | undefined {
  if (!isObj(r)) return undefined;
  switch (r.kind) {
    case 'classify':
      return { kind: 'classify' };
    case 'scorePrompt':
    case 'savePrompt':
    case 'removePrompt':
      return isStr(r.text, 2000) && r.text.trim() !== '' ? { kind: r.kind, text: r.text } : undefined;
    case 'exportResults':
      return r.format === 'json' || r.format === 'csv' ? { kind: 'exportResults', format: r.format } : undefined;
    case 'showMap': {
      const map = parseMapRequest(r.map);
      return map && { kind: 'showMap', map };
    }
  }
  return undefined;
}

/** Validates a message from the webview (untrusted: it renders file content). Returns undefined when malformed. */
export function parseWebviewMessage(x: unknown): WebviewMessage | undefined {
  if (!isObj(x) || !isStr(x.type, 64)) return undefined;
  switch (x.type) {
    case 'ready':
    case 'requestOverlay':
    case 'cancelClassify':
      return { type: x.type };
    case 'request': {
      const request = parseViewerRequest(x.request);
      return request && isInt(x.id, 1, Number.MAX_SAFE_INTEGER) ? { type: 'request', id: x.id, request } : undefined;
    }
    case 'selectVolume':
      return isInt(x.index, 0, 100_000) ? { type: 'selectVolume', index: x.index } : undefined;
    case 'screenshot':
      return x.png instanceof ArrayBuffer && x.png.byteLength < 256 * 2 ** 20 && typeof x.saveAs === 'boolean'
        ? { type: 'screenshot', png: x.png, saveAs: x.saveAs }
        : undefined;
    case 'cursor':
      return isStr(x.text, 500) ? { type: 'cursor', text: x.text } : undefined;
    case 'log':
      return (x.level === 'info' || x.level === 'warn' || x.level === 'error') && isStr(x.message)
        ? { type: 'log', level: x.level, message: x.message }
        : undefined;
    case 'errorShown':
      return isStr(x.code, 64) ? { type: 'errorShown', code: x.code } : undefined;
    case 'rendered': {
      const s = x.slices;
      if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => isInt(v, 0, 1e6))) return undefined;
      if (!isInt(x.volume, 0, 1e5) || !isInt(x.frame, 0, 1e6) || typeof x.ms !== 'number') return undefined;
      return { type: 'rendered', volume: x.volume, slices: [s[0], s[1], s[2]], frame: x.frame, ms: x.ms };
    }
  }
  return undefined;
}

/** Validates a message from the host (trusted, but a stale webview may meet a newer host). */
export function parseHostMessage(x: unknown): HostMessage | undefined {
  if (!isObj(x) || !isStr(x.type, 64)) return undefined;
  switch (x.type) {
    case 'progress':
      return isStr(x.message) ? (x as HostMessage) : undefined;
    case 'study':
      return Array.isArray(x.entries) ? (x as HostMessage) : undefined;
    case 'volume':
      return isObj(x.meta) && (x.preview === undefined || (isObj(x.preview) && Array.isArray(x.preview.planes))) ? (x as HostMessage) : undefined;
    case 'planes':
      return isInt(x.index) && isObj(x.preview) && Array.isArray(x.preview.planes) && Array.isArray(x.range) ? (x as HostMessage) : undefined;
    case 'chunk':
      return isInt(x.index) && isInt(x.offset, 0, Number.MAX_SAFE_INTEGER) && x.data instanceof ArrayBuffer ? (x as HostMessage) : undefined;
    case 'overlay':
      return isObj(x.meta) && x.data instanceof ArrayBuffer ? (x as HostMessage) : undefined;
    case 'error':
      return isStr(x.code, 64) && isStr(x.message) ? (x as HostMessage) : undefined;
    case 'screenshotSaved':
      return isStr(x.path) ? (x as HostMessage) : undefined;
    case 'classifyState':
      return ['running', 'done', 'cancelled', 'error'].includes(x.state as string) && isStr(x.message) ? (x as HostMessage) : undefined;
    case 'results':
      return isObj(x.results) && Array.isArray(x.results.sets) ? (x as HostMessage) : undefined;
    case 'reply':
      return isInt(x.id, 1, Number.MAX_SAFE_INTEGER) && (x.ok === true || (x.ok === false && isStr(x.code, 64) && isStr(x.message))) ? (x as HostMessage) : undefined;
    case 'savedPrompts':
      return Array.isArray(x.prompts) ? (x as HostMessage) : undefined;
    case 'command':
      return VIEWER_COMMANDS.includes(x.command as ViewerCommand) ? (x as HostMessage) : undefined;
  }
  return undefined;
}
