/**
 * The epoch files of a run's checkpoints/ folder: epoch_N.pt (every save_frequency epochs), epoch_latest.pt (written
 * as tmp.pt, then renamed) and a tmp.pt in flight. Listing reads at most the last KiB of each file: torch.save writes
 * the zip end record last, so a file without one is still being written (or was cut short).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochFile } from './types';

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
/** torch.save archives carry no zip comment: the end record is in the last 22 bytes; a KiB covers ZIP64 and slack. */
const TAIL = 1024;

/** Why a checkpoint file is not a complete zip archive, judged from its tail only; undefined when it is complete. */
export async function incompleteReason(path: string, size?: number): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const n = size ?? (await fh.stat()).size;
    if (n < 22) return n === 0 ? 'the file is empty (being written)' : 'the file is too short to be a checkpoint';
    const len = Math.min(n, TAIL);
    const tail = Buffer.alloc(len);
    await fh.read(tail, 0, len, n - len);
    for (let i = len - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) !== EOCD) continue;
      const at = n - len + i;
      if (i >= 20 && tail.readUInt32LE(i - 20) === EOCD64_LOCATOR) return undefined;
      const cdSize = tail.readUInt32LE(i + 12);
      const cdOffset = tail.readUInt32LE(i + 16);
      if (cdSize === 0xffffffff || cdOffset === 0xffffffff) return undefined; // ZIP64 without locator in the tail
      if (cdOffset + cdSize !== at) return 'its zip directory does not end where the end record says (damaged or still being written)';
      return undefined;
    }
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    if (head[0] !== 0x50 || head[1] !== 0x4b) return 'it is not a zip checkpoint (legacy torch.save or another format)';
    return 'it has no zip end record yet (still being written, or cut short)';
  } finally {
    await fh.close();
  }
}

const EPOCH_RE = /^epoch_(\d+)\.pt$/;

/** Numbered epochs in order, then epoch_latest.pt, then a tmp.pt in flight. Missing folder: []. */
export async function listEpochs(checkpointsDir: string): Promise<EpochFile[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsDir);
  } catch {
    return [];
  }
  const files: EpochFile[] = [];
  for (const fileName of names) {
    const m = EPOCH_RE.exec(fileName);
    const kind = m ? 'epoch' : fileName === 'epoch_latest.pt' ? 'latest' : fileName === 'tmp.pt' ? 'tmp' : undefined;
    if (!kind) continue;
    const path = join(checkpointsDir, fileName);
    let st;
    try {
      st = await stat(path);
    } catch {
      continue; // removed between readdir and stat (--delete-previous-checkpoint)
    }
    if (!st.isFile()) continue;
    let why: string | undefined;
    try {
      why = kind === 'tmp' ? 'tmp.pt is the trainer writing epoch_latest.pt' : await incompleteReason(path, st.size);
    } catch (e) {
      why = `it cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    files.push({
      path, fileName, kind, epoch: m ? Number(m[1]) : undefined, size: st.size, mtimeMs: st.mtimeMs,
      latest: kind === 'latest', complete: !why, incompleteReason: why,
    });
  }
  const order = { epoch: 0, latest: 1, tmp: 2 };
  files.sort((a, b) => order[a.kind] - order[b.kind] || (a.epoch ?? 0) - (b.epoch ?? 0));
  const numbered = files.filter((f) => f.kind === 'epoch');
  if (numbered.length) numbered[numbered.length - 1].latest = true;
  return files;
}
