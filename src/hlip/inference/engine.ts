/**
 * Host/CLI-side client of the inference worker (src/hlip/inference/inference-worker.ts). Requests are queued here and sent one at a time, so
 * cancelling the running one (stop the worker) loses nothing else: the next request starts a fresh worker and reloads
 * the models it had.
 *
 * Isolation: onnxruntime-node's run() is one synchronous native call. Terminating a worker THREAD inside it aborts the
 * whole process when the call returns ("terminate called after throwing an instance of 'Napi::Error'"), and a native
 * out-of-memory abort in a thread takes the extension host down too. So the default is a child PROCESS, which can be
 * killed at once (its cores and memory come back immediately). In 'thread' mode a cancelled call is rejected at once
 * but the thread is only terminated after its run returns.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
// A worker thread's process.env is a private copy the native library never reads: the spawning process sets the real one.
import './ort-env';
import type { BatchEncoding } from '../text/tokenizer';
import type {
  EncodeImageRequest, EncodeTextRequest, EngineReply, EngineRequest, ImageResult, LoadRequest, LoadResult, TextResult, TowerInfo,
} from './engine-protocol';
import type { SessionFallback } from './onnx-sessions';
import { CodedError } from '../../shared/coded-error';
import { precisionOfFile } from '../graph/precision';

export class CancelledError extends CodedError<'CANCELLED'> {
  override readonly name = 'CancelledError';
  constructor(message = 'Cancelled') {
    super('CANCELLED', message);
  }
}

export class EngineError extends CodedError {
  override readonly name = 'EngineError';
}

export interface EngineOptions {
  /** dist/hlip-worker.js, or src/hlip/inference/inference-worker.ts in tests (run through tsx). */
  workerScript: string;
  /** Execution providers in order of preference (see runtime.ts); cpu is always the last resort. */
  providers: string[];
  intraOpThreads?: number;
  /** The user listed webgpu (provider-order.ts listsWebgpu): a software GPU adapter is acceptable. */
  softwareGpu?: boolean;
  /** 'process' (default; safe to cancel) or 'thread' (worker_thread; inputs transferred, no copy). */
  isolation?: 'process' | 'thread';
  log?: (line: string) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (stage: string, fraction: number) => void;
}

export interface EngineInfo {
  /** Provider of the visual tower (else the text tower) once loaded. */
  provider?: string;
  fallback?: SessionFallback;
  visual?: TowerInfo;
  text?: TowerInfo;
}

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (stage: string, fraction: number) => void;
}

/** The worker, whichever way it runs. */
interface Channel {
  post(m: EngineRequest, transfer: ArrayBuffer[]): void;
  /** Stop now (process) or as soon as the current native call returns (thread). */
  stop(): void;
  /** Settles when the worker has gone. */
  stopped: Promise<void>;
}

type Distribute<R> = R extends EngineRequest ? Omit<R, 'id'> : never;
type Outgoing = Distribute<EngineRequest>;

export class HlipEngine {
  private worker?: Channel;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private tail: Promise<unknown> = Promise.resolve();
  /** What the live worker has loaded; replayed into a fresh worker after a cancel or crash. */
  private loaded: { visualPath?: string; textPath?: string } = {};
  private workerHasModels = false;
  private disposed = false;
  private lastInfo: EngineInfo = {};

  private constructor(private readonly opts: EngineOptions) {}

  static async start(opts: EngineOptions): Promise<HlipEngine> {
    const e = new HlipEngine(opts);
    e.spawn();
    return e;
  }

  get info(): EngineInfo {
    return this.lastInfo;
  }

  /** Loads (or replaces) the towers. Paths not given keep what was loaded before. */
  load(paths: { visualPath?: string; textPath?: string }, call: CallOptions = {}): Promise<LoadResult> {
    return this.enqueue(call, async () => {
      const r = await this.send<LoadResult>(this.loadRequest(paths), [], call);
      this.loaded = { visualPath: paths.visualPath ?? this.loaded.visualPath, textPath: paths.textPath ?? this.loaded.textPath };
      this.workerHasModels = true;
      this.noteInfo(r);
      return r;
    });
  }

  /**
   * Runs the visual tower on a [1, N, 1, D, H, W] tensor. The buffer is transferred to the worker (the caller's array is
   * detached) unless `copy` is set; pass copy when the same tensor may be needed again after a cancel.
   */
  encodeImage(data: Float32Array, shape: number[], call: CallOptions & { copy?: boolean } = {}): Promise<ImageResult> {
    return this.enqueue(call, async () => {
      const d = call.copy || !(data.buffer instanceof ArrayBuffer) || data.byteOffset || data.byteLength !== data.buffer.byteLength ? data.slice() : data;
      const req: Omit<EncodeImageRequest, 'id'> = { type: 'encodeImage', data: d, shape };
      const r = await this.send<ImageResult>(req, [d.buffer as ArrayBuffer], call);
      if (r.tower) this.noteTower('visual', r.tower);
      return r;
    });
  }

  /** Runs the text tower on tokenised prompts (ids / mask: n x L int64, see tokenizer.ts). Inputs are copied, not transferred. */
  encodeText(t: BatchEncoding, call: CallOptions = {}): Promise<TextResult> {
    return this.enqueue(call, () => {
      const req: Omit<EncodeTextRequest, 'id'> = { type: 'encodeText', ids: t.ids, mask: t.mask, n: t.n, L: t.L };
      return this.send<TextResult>(req, [], call).then((r) => {
        if (r.tower) this.noteTower('text', r.tower);
        return r;
      });
    });
  }

  /** Another engine with the same options and its own worker (model conversion uses one, leaving this one's models alone). */
  sibling(): Promise<HlipEngine> {
    return HlipEngine.start(this.opts);
  }

  /**
   * Stops the worker; pending calls reject with CancelledError. The engine cannot be used afterwards. Resolves once a
   * worker process has exited (its files are closed: Windows cannot rename a folder with open model files).
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    const stopped = this.worker?.stopped;
    this.kill(new CancelledError('The engine was disposed'));
    await stopped;
  }

  private loadRequest(paths: { visualPath?: string; textPath?: string }): Omit<LoadRequest, 'id'> {
    return { type: 'load', ...paths, providers: this.opts.providers, intraOpThreads: this.opts.intraOpThreads, softwareGpu: this.opts.softwareGpu };
  }

  private noteInfo(r: LoadResult) {
    // The precision a tower runs at is the one its file was built at (graph/precision.ts names them).
    if (r.visual && this.loaded.visualPath) r.visual.precision = precisionOfFile(this.loaded.visualPath);
    if (r.text && this.loaded.textPath) r.text.precision = precisionOfFile(this.loaded.textPath);
    const main = r.visual ?? r.text;
    this.lastInfo = { provider: main?.provider, fallback: main?.fallback, visual: r.visual, text: r.text };
    if (main?.fallback) this.opts.log?.(`HLIP runtime: using ${main.provider} (${main.fallback.reason})`);
  }

  /** A tower's provider failed during a run and the worker moved it to the next one. */
  private noteTower(which: 'visual' | 'text', t: TowerInfo) {
    const info = { ...this.lastInfo, [which]: { ...t, precision: this.lastInfo[which]?.precision } };
    const main = info.visual ?? info.text;
    this.lastInfo = { ...info, provider: main?.provider, fallback: main?.fallback };
    this.opts.log?.(`HLIP runtime: ${which} tower now on ${t.provider} (${t.fallback?.reason ?? 'provider failed while running'})`);
  }

  /** Serialises calls; a call aborted while still queued is rejected at once and never reaches the worker. */
  private enqueue<T>(call: CallOptions, task: () => Promise<T>): Promise<T> {
    const { signal } = call;
    return new Promise<T>((resolve, reject) => {
      if (this.disposed) return reject(new EngineError('DISPOSED', 'The engine was disposed'));
      if (signal?.aborted) return reject(new CancelledError());
      let running = false;
      let settled = false;
      const onAbort = () => {
        if (running) this.kill(new CancelledError()); // the worker is busy with this call: only terminating stops it
        else finish(() => reject(new CancelledError()));
      };
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.tail = this.tail.then(async () => {
        if (settled) return;
        running = true;
        try {
          const r = await task();
          finish(() => resolve(r));
        } catch (e) {
          finish(() => reject(e));
        }
      });
    });
  }

  private async send<T>(req: Outgoing, transfer: ArrayBuffer[], { signal, onProgress }: CallOptions): Promise<T> {
    if (this.disposed) throw new EngineError('DISPOSED', 'The engine was disposed');
    if (signal?.aborted) throw new CancelledError();
    if (!this.worker) this.spawn();
    // A fresh worker (after a cancel or crash) gets the models back before the request that needs them.
    if (!this.workerHasModels && (this.loaded.visualPath || this.loaded.textPath) && req.type !== 'load') {
      this.workerHasModels = true;
      const r = await this.post<LoadResult>(this.loadRequest(this.loaded), [], onProgress);
      this.noteInfo(r);
      if (signal?.aborted) throw new CancelledError();
    }
    return this.post<T>(req, transfer, onProgress);
  }

  private post<T>(req: Outgoing, transfer: ArrayBuffer[], onProgress?: Pending['onProgress']): Promise<T> {
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, onProgress });
      worker.post({ ...req, id } as EngineRequest, transfer);
    });
  }

  private spawn(): Channel {
    const ch = (this.opts.isolation ?? 'process') === 'thread' ? this.spawnThread() : this.spawnProcess();
    this.worker = ch;
    this.workerHasModels = false;
    return ch;
  }

  private spawnProcess(): Channel {
    const script = this.opts.workerScript;
    const child: ChildProcess = fork(script, [], {
      serialization: 'advanced', // typed arrays (Float32Array, BigInt64Array) cross intact
      // Tests run the worker from TypeScript source through tsx; never inherit the host's inspector flags.
      execArgv: /\.[cm]?ts$/.test(script) ? ['--conditions=import', '--import', 'tsx'] : [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, // VS Code's execPath is Electron
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    const ch: Channel = {
      post: (m) => child.send(m),
      stop: () => void child.kill('SIGKILL'),
      stopped: new Promise((r) => child.once('exit', () => r())),
    };
    child.on('message', (m) => this.worker === ch && this.onReply(m as EngineReply));
    child.on('error', (e) => this.crashed(ch, e.message));
    child.on('exit', (code, signal) => this.crashed(ch, `exited (${signal ?? `code ${code}`})${stderr.trim() ? ': ' + stderr.trim().split('\n').slice(-3).join(' ') : ''}`));
    return ch;
  }

  private spawnThread(): Channel {
    const script = this.opts.workerScript;
    // node 20 workers ignore `--import tsx` for the entry file, so a CommonJS bootstrap registers tsx's require hook first.
    const w = /\.[cm]?ts$/.test(script)
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, execArgv: ['--conditions=import'] })
      : new Worker(script);
    let busy = 0;
    let stopping = false;
    const ch: Channel = {
      stopped: new Promise((r) => w.once('exit', () => r())),
      post: (m, transfer) => {
        busy++;
        w.postMessage(m, transfer);
      },
      stop: () => {
        stopping = true;
        if (!busy) void w.terminate();
      },
    };
    w.on('message', (m: EngineReply) => {
      if (m.type !== 'progress') busy--;
      if (stopping) {
        if (!busy) void w.terminate(); // the native call has returned: terminating is safe now
        return;
      }
      this.onReply(m);
    });
    w.on('error', (e) => this.crashed(ch, e.message));
    w.on('exit', (code) => this.crashed(ch, `exited (code ${code})`));
    return ch;
  }

  /** The live worker died on its own (out of memory, native abort): fail what it was doing; the next call restarts it. */
  private crashed(ch: Channel, why: string) {
    if (this.worker !== ch) return;
    this.opts.log?.(`HLIP worker ${why}`);
    this.kill(new EngineError('WORKER_CRASHED', `The inference worker stopped: ${why}`));
  }

  private onReply(m: EngineReply) {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') return p.onProgress?.(m.stage, m.fraction);
    this.pending.delete(m.id);
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(new EngineError(m.error.code, m.error.message));
  }

  /** Stops the worker and rejects whatever it was doing with `err`; the next call starts a new one. */
  private kill(err: Error): void {
    const w = this.worker;
    this.worker = undefined;
    this.workerHasModels = false;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    w?.stop();
  }
}
