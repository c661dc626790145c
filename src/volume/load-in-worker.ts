/** Opens a study in a worker thread so a 600-slice CT never blocks the caller (the extension host's event loop). */
import { Worker } from 'node:worker_threads';
import { VolumeError, type VolumeErrorCode } from './errors';
import type { TransferStudy } from '../shared/transfer';

export function openStudyInWorker(workerScript: string, path: string, opts: { maxBytes?: number; wholeSeries?: boolean } = {}): Promise<TransferStudy> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript);
    const done = () => void worker.terminate();
    worker.once('message', (m: { ok: true; study: TransferStudy } | { ok: false; code: VolumeErrorCode; message: string }) => {
      done();
      if (m.ok) resolve(m.study);
      else reject(new VolumeError(m.code, m.message));
    });
    worker.once('error', (e) => {
      done();
      reject(new VolumeError('DECODE_FAILED', `The reader stopped unexpectedly: ${e.message}`, path));
    });
    worker.postMessage({ path, ...opts });
  });
}
