/**
 * worker_thread entry: opens a study off the caller's thread and transfers the voxel buffers back (no copy); messages in
 * volume-worker-protocol.ts. With `stream`, before the study: 'start' once the first volume's centre slice is in (its
 * range taken from what is in), then a 'slab' for every part of its stored array as it is read (copies, transferred),
 * the centre slice first.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { asVolumeError } from './errors';
import type { ReadProgress } from './limits';
import { openStudy } from './open';
import { studyToTransfer, volumeMeta } from './to-transfer';
import type { VolumeWorkerReply, VolumeWorkerRequest } from './volume-worker-protocol';
import type { Volume } from './volume';
import { sampleRange } from './volume';

const reply = (m: VolumeWorkerReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

parentPort?.on('message', async (msg: VolumeWorkerRequest) => {
  try {
    const progress = msg.stream ? followFirstVolume() : undefined;
    const study = studyToTransfer(await openStudy(msg.path, { maxBytes: msg.maxBytes, wholeSeries: msg.wholeSeries, progress }));
    reply({ ok: true, study }, study.volumes.map((v) => v.data));
  } catch (e) {
    const err = asVolumeError(e, 'DECODE_FAILED', 'Cannot open');
    reply({ ok: false, code: err.code, message: err.message });
  }
});

/** Reports the first volume that starts (the one a viewer shows first); later ones arrive with the study. */
function followFirstVolume(): ReadProgress {
  let followed: Volume | undefined;
  let announced = false;
  return {
    started(v) {
      if (followed) return false;
      followed = v;
      return true;
    },
    arrived(v, from, to) {
      if (v !== followed || to <= from) return;
      const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset + from, to - from);
      if (!announced) {
        announced = true;
        const Ctor = v.data.constructor as new (b: ArrayBuffer, o: number, n: number) => typeof v.data;
        const values = new Ctor(v.data.buffer as ArrayBuffer, v.data.byteOffset + from, (to - from) / v.data.BYTES_PER_ELEMENT);
        reply({ kind: 'start', meta: volumeMeta(v, sampleRange(values, v.rescale)) });
      }
      const data = bytes.slice().buffer;
      reply({ kind: 'slab', offset: from, data }, [data]);
      if (!background) background = lowerThreadPriority();
    },
  };
}

let background = false;
/**
 * Once the first slice is out, the rest of the read is background work: on Linux this thread gets the lowest CPU
 * priority, so the extension host and the webview, which paint that slice, are not starved on a small machine.
 */
function lowerThreadPriority(): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: the read just competes as before
  }
  return true;
}
