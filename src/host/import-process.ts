/** Runs `hlip import` (dist/cli.js) in a child process: model conversion off the extension host's thread, killable. */
import { fork } from 'node:child_process';
import { basename } from 'node:path';
import type { ImportMessage } from '../cli/import';
import { CodedError } from '../shared/coded-error';

/** A conversion that reports no progress for this long is stopped (a hostile or broken file must not spin forever). */
export const CONVERSION_STALL_MS = 10 * 60_000;

export interface ImportProcessOptions {
  cacheDir: string;
  vocabPath?: string;
  providers?: string[];
  /** Also build the towers at this precision (hlip.precision). */
  precision?: string;
  signal?: AbortSignal;
  onProgress?: (stage: string, fraction: number) => void;
  /** Stop the conversion after this long without a progress message (default CONVERSION_STALL_MS). */
  stallMs?: number;
}

export class ImportCancelled extends Error {
  override name = 'AbortError';
}

/** Resolves with the converted model's id in the cache; rejects with the child's own error sentence. */
export function importInChildProcess(cliScript: string, checkpoint: string, o: ImportProcessOptions): Promise<string> {
  const args = ['import', checkpoint, '--cache', o.cacheDir, '--quiet'];
  if (o.vocabPath) args.push('--vocab', o.vocabPath);
  if (o.providers?.length) args.push('--ep', o.providers.join(','));
  if (o.precision && o.precision !== 'fp32') args.push('--precision', o.precision);
  return new Promise((resolve, reject) => {
    const child = fork(cliScript, args, {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, // VS Code's execPath is Electron
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let result: ImportMessage | undefined;
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let stalled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const rearm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        child.kill('SIGKILL');
      }, o.stallMs ?? CONVERSION_STALL_MS);
    };
    rearm();
    child.on('message', (m: ImportMessage) => {
      rearm();
      if (m.type === 'progress') o.onProgress?.(m.stage, m.fraction);
      else result = m;
    });
    const abort = () => child.kill('SIGKILL');
    o.signal?.addEventListener('abort', abort, { once: true });
    child.on('exit', (code) => {
      clearTimeout(watchdog);
      o.signal?.removeEventListener('abort', abort);
      if (o.signal?.aborted) reject(new ImportCancelled('Model conversion cancelled'));
      else if (stalled) {
        const minutes = Math.round((o.stallMs ?? CONVERSION_STALL_MS) / 60_000 * 10) / 10;
        reject(new CodedError('CONVERSION_STALLED', `Converting ${basename(checkpoint)} made no progress for ${minutes} minute(s) and was stopped; the file may be damaged.`));
      }
      else if (result?.type === 'done') resolve(result.id);
      else if (result?.type === 'error') reject(Object.assign(new Error(result.message), { code: result.code }));
      else reject(new Error(`the conversion process exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}
