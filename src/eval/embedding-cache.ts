/**
 * Image embeddings on disk, one small file per (image-tower weights hash, pre-processing version, study content hash):
 * a second checkpoint costs only its image tower, the same one with other prompts costs nothing here, and a killed
 * evaluation resumes with what it had written. Files are written whole (temporary name, then rename).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { rememberedSha256, writeAtomic } from './model-cache';

export class EmbeddingCache {
  constructor(private readonly root: string) {}

  private file(visualHash: string, preprocessing: string, studyHash: string): string {
    const pp = createHash('sha256').update(preprocessing).digest('hex').slice(0, 16);
    return join(this.root, 'embeddings', visualHash.slice(0, 32), pp, studyHash.slice(0, 2), `${studyHash}.f32`);
  }

  get(visualHash: string, preprocessing: string, studyHash: string): Float32Array | undefined {
    try {
      const b = readFileSync(this.file(visualHash, preprocessing, studyHash));
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    } catch {
      return undefined;
    }
  }

  put(visualHash: string, preprocessing: string, studyHash: string, embedding: Float32Array): void {
    writeAtomic(this.file(visualHash, preprocessing, studyHash), new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength));
  }

  /** Content hash of a study: its files in the given order, each by relative name and sha256 (remembered by path, size, mtime). */
  async studyHash(base: string, files: string[]): Promise<string> {
    const h = createHash('sha256');
    for (const f of files) h.update(`${relative(base, f)}\0${await rememberedSha256(this.root, f)}\n`);
    return h.digest('hex');
  }
}

/** Every file under a folder, sorted by path (a raw study's content, for its hash). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}
