/** Messages between openStudyInWorker (caller's thread) and the volume worker (volume-worker.ts). */
import type { TransferStudy } from '../shared/transfer';
import type { VolumeMeta } from '../shared/volume-meta';
import type { VolumeErrorCode } from './errors';

export interface VolumeWorkerRequest {
  path: string;
  maxBytes?: number;
  wholeSeries?: boolean;
  /** Report the first volume while it is read ('start', then 'slab's), before the study. */
  stream?: boolean;
}

export type VolumeWorkerReply =
  | { ok: true; study: TransferStudy }
  | { ok: false; code: VolumeErrorCode; message: string }
  | { kind: 'start'; meta: VolumeMeta }
  | { kind: 'slab'; offset: number; data: ArrayBuffer };
