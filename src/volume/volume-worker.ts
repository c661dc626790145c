/**
 * worker_thread entry: opens a study off the caller's thread and transfers the voxel buffers back (no copy).
 * Message in: { path, maxBytes?, wholeSeries? }. Out: { ok: true, study: TransferStudy } | { ok: false, code, message }.
 */
import { parentPort } from 'node:worker_threads';
import { asVolumeError } from './errors';
import { openStudy } from './open';
import { studyToTransfer } from './to-transfer';

parentPort?.on('message', async (msg: { path: string; maxBytes?: number; wholeSeries?: boolean }) => {
  try {
    const study = studyToTransfer(await openStudy(msg.path, { maxBytes: msg.maxBytes, wholeSeries: msg.wholeSeries }));
    parentPort!.postMessage({ ok: true, study }, study.volumes.map((v) => v.data));
  } catch (e) {
    const err = asVolumeError(e, 'DECODE_FAILED', 'Cannot open');
    parentPort!.postMessage({ ok: false, code: err.code, message: err.message });
  }
});
