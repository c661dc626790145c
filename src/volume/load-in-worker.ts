/** Opens a study in a worker thread so a 600-slice CT never blocks the caller (the extension host's event loop). */
import { Worker } from 'node:worker_threads';
import type { TransferStudy } from '../shared/transfer';
import type { VolumeMeta } from '../shared/volume-meta';
import { VolumeError } from './errors';
import type { VolumeWorkerReply, VolumeWorkerRequest } from './volume-worker-protocol';

/** The first volume of a study while it is read (see volume-worker.ts). */
export interface StudyStream {
  /** Its metadata, once its centre slice is in (the range is that of the voxels in so far). */
  start(meta: VolumeMeta): void;
  /** Bytes of its stored array at `offset`, final; the centre slice comes first. */
  slab(offset: number, data: ArrayBuffer): void;
}

/** A started worker per script, waiting for its study: the next open skips the thread's start-up and bundle load. */
const spares = new Map<string, Worker>();

/** Starts a worker for the next open (the viewer calls this when it activates and after each open). */
export function prepareVolumeWorker(workerScript: string): void {
  if (spares.has(workerScript)) return;
  const worker = new Worker(workerScript);
  worker.unref(); // an idle spare never keeps the process alive
  worker.once('error', () => spares.delete(workerScript));
  spares.set(workerScript, worker);
}

function takeWorker(workerScript: string): Worker {
  const spare = spares.get(workerScript);
  spares.delete(workerScript);
  if (!spare) return new Worker(workerScript);
  spare.ref();
  return spare;
}

export function openStudyInWorker(
  workerScript: string,
  path: string,
  opts: { maxBytes?: number; wholeSeries?: boolean; stream?: StudyStream } = {},
): Promise<TransferStudy> {
  const { stream, ...read } = opts;
  return new Promise((resolve, reject) => {
    const worker = takeWorker(workerScript);
    const done = () => void worker.terminate();
    worker.on('message', (m: VolumeWorkerReply) => {
      if ('kind' in m) {
        if (m.kind === 'start') stream?.start(m.meta);
        else stream?.slab(m.offset, m.data);
        return;
      }
      done();
      if (m.ok) resolve(m.study);
      else reject(new VolumeError(m.code, m.message));
    });
    worker.once('error', (e) => {
      done();
      reject(new VolumeError('DECODE_FAILED', `The reader stopped unexpectedly: ${e.message}`, path));
    });
    const request: VolumeWorkerRequest = { path, ...read, stream: !!stream };
    worker.postMessage(request);
  });
}
