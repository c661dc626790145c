/**
 * ONNX Runtime sessions: execution-provider choice and fallback.
 * onnxruntime-node does not fall back on its own: `create(path, {executionProviders: ['cuda', 'cpu']})` REJECTS when the
 * CUDA libraries cannot load, and silently drops providers that are not built for the platform. So we try one provider
 * at a time (with cpu behind it for ops it lacks), drop the one that fails, and say why.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../shared/coded-error';

export type ProviderName = 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu' | 'cpu';

export interface SessionFallback {
  /** The providers asked for, in order. */
  requested: string[];
  /** One line per provider that was skipped or failed to load. */
  reason: string;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The provider the session was created with (cpu also runs the ops that provider lacks). */
  provider: string;
  fallback?: SessionFallback;
}

export interface SessionOptions {
  intraOpThreads?: number;
  /** Override the providers onnxruntime-node reports as built in (tests, or a probe on another platform). */
  built?: readonly string[];
}

/** Providers worth trying first on a platform; cpu always closes the list. */
export function defaultProviders(platform: string = process.platform, arch: string = process.arch): string[] {
  if ((platform === 'linux' || platform === 'win32') && arch === 'x64') return platform === 'win32' ? ['cuda', 'dml', 'cpu'] : ['cuda', 'cpu'];
  if (platform === 'darwin' && arch === 'arm64') return ['coreml', 'cpu'];
  return ['cpu'];
}

/** The user's setting (a list of names) wins over the platform default; names are normalised and cpu is appended. */
export function resolveProviders(setting: readonly string[] | undefined, platform: string = process.platform, arch: string = process.arch): string[] {
  const list = setting?.length ? setting : defaultProviders(platform, arch);
  const out = [...new Set(list.map((p) => p.trim().toLowerCase()).filter(Boolean))];
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}

/** Providers compiled into this onnxruntime-node binary (cuda/tensorrt are listed but need separately installed libraries). */
export function builtProviders(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split('\n')[0].replace(/\s+/g, ' ').trim().slice(0, 300);

/** Why a provider failed, with a hint when it is the usual missing-library case. */
function explain(provider: string, err: unknown): string {
  const msg = firstLine(err);
  if ((provider === 'cuda' || provider === 'tensorrt') && /load shared library|providers_shared|cannot open shared object/i.test(msg)) {
    const hint = providerLibsPresent(provider)
      ? 'its libraries are installed but CUDA 12 / cuDNN 9 (or the GPU driver) could not be loaded'
      : 'onnxruntime-node was installed without the CUDA provider (install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 machine)';
    return `${provider}: ${msg} - ${hint}`;
  }
  return `${provider}: ${msg}`;
}

function providerLibsPresent(provider: string): boolean {
  try {
    const bin = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const ext = process.platform === 'win32' ? '.dll' : '.so';
    const prefix = process.platform === 'win32' ? 'onnxruntime_providers_' : 'libonnxruntime_providers_';
    return existsSync(join(bin, prefix + provider + ext));
  } catch {
    return false;
  }
}

let logLevelSet = false;

/**
 * Creates a session with the first provider of `providers` that loads. A provider that fails is dropped and the next is
 * tried; the last resort is cpu. Throws only when cpu fails too (then the model itself is the problem).
 */
export async function createSession(modelPath: string, providers: readonly string[], opts: SessionOptions = {}): Promise<CreatedSession> {
  if (!logLevelSet) {
    // A failed CUDA load prints errors on stderr from native code; the rejection already carries them.
    ort.env.logLevel = 'fatal';
    logLevelSet = true;
  }
  const requested = [...providers];
  const built = new Set(opts.built ?? builtProviders());
  const reasons: string[] = [];
  const queue: string[] = [];
  for (const p of resolveProviders(requested)) {
    if (p === 'cpu' || built.has(p)) queue.push(p);
    else reasons.push(`${p}: not built into onnxruntime-node for ${process.platform}-${process.arch}`);
  }
  let lastError: unknown;
  for (const provider of queue) {
    const eps = provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: eps,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 4, // failures arrive as exceptions; native error lines would only be noise on stderr
        ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}), // undefined is rejected
      });
      const fallback = provider !== requested[0] && reasons.length ? { requested, reason: reasons.join('; ') } : undefined;
      return { session, provider, fallback };
    } catch (e) {
      lastError = e;
      reasons.push(explain(provider, e));
    }
  }
  throw new RuntimeError('SESSION_FAILED', `Cannot load ${modelPath}: ${firstLine(lastError)}`, reasons);
}

export class RuntimeError extends CodedError {
  override readonly name = 'RuntimeError';
  constructor(code: string, message: string, readonly reasons: string[] = []) {
    super(code, message);
  }
}
