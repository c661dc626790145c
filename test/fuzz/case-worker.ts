/**
 * Child process of the fuzz pool (test/fuzz/pool.ts): reads one case per stdin line ({id, kind, path}), opens the file
 * with the product's own entry point and answers one JSON line per case. It runs under Node's permission model with
 * writes allowed only in its temp cache, so a reader that writes anywhere else fails loudly instead of silently.
 */
import { createInterface } from 'node:readline';
import { CodedError } from '../../src/shared/coded-error';
import { detectModelSpec, loadCheckpoint } from '../../src/hlip/checkpoint';
import { openStudy } from '../../src/volume/open';

/** 'grow-memory' exists so the pool's own judgement can be tested: it allocates until it is stopped. */
export type CaseKind = 'volume' | 'checkpoint' | 'grow-memory';

export interface CaseReply {
  id: number;
  /** ok: a result; typed: a CodedError (code given); untyped: anything else (message given). */
  result: 'ok' | 'typed' | 'untyped';
  code?: string;
  message?: string;
}

async function run(kind: CaseKind, path: string): Promise<void> {
  if (kind === 'volume') {
    await openStudy(path, { maxBytes: 512 * 2 ** 20 });
    return;
  }
  if (kind === 'grow-memory') {
    const hold: Uint8Array[] = [];
    for (;;) {
      hold.push(new Uint8Array(32 * 2 ** 20).fill(1)); // touched, so resident
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const c = await loadCheckpoint(path);
  detectModelSpec(c);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, kind, path } = JSON.parse(line) as { id: number; kind: CaseKind; path: string };
  let reply: CaseReply;
  try {
    await run(kind, path);
    reply = { id, result: 'ok' };
  } catch (e) {
    reply =
      e instanceof CodedError
        ? { id, result: 'typed', code: e.code, message: e.message }
        : { id, result: 'untyped', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n')}` : String(e) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
});
process.stdout.write('{"ready":true}\n');
