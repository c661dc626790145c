/**
 * Runs fuzz cases one at a time in a long-lived child (test/fuzz/case-worker.ts) and judges each one from outside: a
 * reply is ok / typed / untyped; no reply within the time limit is a hang, resident memory over the limit (polled from
 * /proc) or a V8 heap abort is "memory", any other death a crash. A killed child is replaced for the next case, so one
 * bad case is counted, never fatal. The child may write only inside `cacheDir` (Node's permission model), and its
 * HOME / TMPDIR / XDG_CACHE_HOME point there too.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CaseKind, CaseReply } from './case-worker';

export type Outcome = 'ok' | 'typed' | 'untyped' | 'hang' | 'memory' | 'crash';
export const OUTCOMES: Outcome[] = ['ok', 'typed', 'untyped', 'hang', 'memory', 'crash'];

export interface CaseResult {
  outcome: Outcome;
  code?: string;
  message?: string;
  ms: number;
  /** Highest resident set seen while the case ran (bytes; 0 where /proc is not available). */
  peakRss: number;
}

export interface PoolOptions {
  cacheDir: string;
  timeoutMs?: number;
  maxRssBytes?: number;
}

/** JavaScript's own wording leaking into a user-facing message (issue 11: "no JS internals"). */
export const JS_INTERNALS = /Cannot read propert|Cannot set propert|is not iterable|is not a function|is not defined|Offset is outside the bounds|Invalid typed array length|Invalid array length|Maximum call stack|undefined \(reading|ERR_[A-Z_]{4,}|\[object Object\]|Access to this API has been restricted/;

const WORKER = join(__dirname, 'case-worker.ts');
/** Node 20 spells it --experimental-permission; newer Node has --permission. */
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Live {
  child: ChildProcessWithoutNullStreams;
  replies: CaseReply[];
  wake?: () => void;
  exited?: { code: number | null; signal: NodeJS.Signals | null; stderr: string };
}

export class CasePool {
  private live?: Live;
  private nextId = 0;
  readonly timeoutMs: number;
  readonly maxRssBytes: number;

  constructor(readonly opts: PoolOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxRssBytes = opts.maxRssBytes ?? 2 ** 30;
  }

  private async start(): Promise<Live> {
    const dir = this.opts.cacheDir;
    const child = spawn(
      process.execPath,
      [
        PERMISSION_FLAG, '--allow-fs-read=*', `--allow-fs-write=${dir}`, '--allow-worker', '--no-warnings',
        // The heap limit sits under the RSS limit, so a runaway heap aborts V8 (seen as "memory") before the host swaps.
        `--max-old-space-size=${Math.floor((this.maxRssBytes * 0.85) / 2 ** 20)}`,
        '--conditions=import', '--import', 'tsx', WORKER,
      ],
      { env: { ...process.env, TMPDIR: dir, HOME: dir, XDG_CACHE_HOME: dir }, cwd: join(__dirname, '..', '..'), stdio: 'pipe' },
    );
    const live: Live = { child, replies: [] };
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let ready = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!ready) {
        ready = line.includes('"ready"');
        live.wake?.();
        return;
      }
      live.replies.push(JSON.parse(line) as CaseReply);
      live.wake?.();
    });
    child.on('exit', (code, signal) => {
      live.exited = { code, signal, stderr };
      live.wake?.();
    });
    const deadline = Date.now() + 120_000; // a cold tsx start on a loaded machine takes a while
    while (!ready) {
      if (live.exited) throw new Error(`fuzz worker failed to start (exit ${live.exited.code}): ${live.exited.stderr}`);
      if (Date.now() > deadline) throw new Error('fuzz worker did not start within 120 s');
      await new Promise<void>((r) => {
        live.wake = r;
        setTimeout(r, 200);
      });
    }
    return live;
  }

  /** Opens `path` as `kind` in the child and judges the outcome. */
  async run(kind: CaseKind, path: string): Promise<CaseResult> {
    const live = this.live ?? (this.live = await this.start());
    const id = this.nextId++;
    const t0 = Date.now();
    let peakRss = 0;
    live.child.stdin.write(`${JSON.stringify({ id, kind, path })}\n`);
    for (;;) {
      const reply = live.replies.find((r) => r.id === id);
      if (reply) {
        live.replies.length = 0;
        return { outcome: reply.result, code: reply.code, message: reply.message, ms: Date.now() - t0, peakRss };
      }
      const ms = Date.now() - t0;
      if (live.exited) {
        this.live = undefined;
        const { code, signal, stderr } = live.exited;
        const heap = /heap out of memory|Allocation failed|Reached heap limit/i.test(stderr) || signal === 'SIGABRT' || code === 134;
        return { outcome: heap ? 'memory' : 'crash', message: `exit ${code} ${signal ?? ''} ${stderr.slice(-600)}`, ms, peakRss };
      }
      peakRss = Math.max(peakRss, rssOf(live.child.pid!));
      if (peakRss > this.maxRssBytes || ms > this.timeoutMs) {
        this.kill();
        return { outcome: peakRss > this.maxRssBytes ? 'memory' : 'hang', message: `${ms} ms, ${(peakRss / 2 ** 20).toFixed(0)} MiB resident`, ms, peakRss };
      }
      await new Promise<void>((r) => {
        live.wake = r;
        setTimeout(r, 25);
      });
    }
  }

  private kill(): void {
    this.live?.child.kill('SIGKILL');
    this.live = undefined;
  }

  close(): void {
    if (!this.live) return;
    this.live.child.stdin.end();
    this.kill();
  }
}
