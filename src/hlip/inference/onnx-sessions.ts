/**
 * ONNX Runtime sessions: execution-provider choice and fallback.
 * onnxruntime-node does not fall back on its own: `create(path, {executionProviders: ['cuda', 'cpu']})` REJECTS when the
 * CUDA libraries cannot load, and silently drops providers that are not built for the platform. So we try one provider
 * at a time (with cpu behind it for ops it lacks), drop the one that fails, and say why.
 */
import './ort-env'; // before onnxruntime-node: no telemetry
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../shared/coded-error';
import { type GpuAdapter, probeGpuAdapter } from './gpu-adapter';
import { providerLibsPresent } from './provider-libs';
import { prepareGpuEnvironment, webgpuCpuNodes } from './webgpu-support';

import { resolveProviders } from './provider-order';

export { type ProviderName, defaultProviders, resolveProviders } from './provider-order';


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
  /** webgpu: the adapter found for it, and the nodes left to the CPU provider (see webgpu-support.ts). */
  adapter?: GpuAdapter;
  cpuNodes?: string[];
}

export interface SessionOptions {
  intraOpThreads?: number;
  /** Override the providers onnxruntime-node reports as built in (tests, or a probe on another platform). */
  built?: readonly string[];
  /**
   * The user listed webgpu (provider-order.ts listsWebgpu): it is tried even on a software adapter (SwiftShader, lavapipe;
   * slower than the cpu provider) or where no adapter was found. Otherwise webgpu is skipped there, the reason shown.
   */
  softwareGpu?: boolean;
  /** false: pin no node to the CPU on webgpu (tests: a kernel that fails at run time). */
  pinCpuNodes?: boolean;
  /** Extra session options (profiling in tests and benchmarks). */
  extra?: ort.InferenceSession.SessionOptions;
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
function explain(provider: string, err: unknown, gpuProblem?: string): string {
  const msg = firstLine(err);
  if (provider === 'webgpu') {
    // Dawn's message comes after a source path and a failed check: keep the sentence.
    const full = String(err instanceof Error ? err.message : err).replace(/\s+/g, ' ');
    const what = /(Failed to get a WebGPU adapter[^.]*|Failed to (create|request) (a )?(WebGPU )?device[^.]*)/i.exec(full)?.[1] ?? msg;
    return `webgpu: ${what.trim()}${gpuProblem ? ` - ${gpuProblem}` : ''}`;
  }
  if ((provider === 'cuda' || provider === 'tensorrt') && /load shared library|providers_shared|cannot open shared object/i.test(msg)) {
    const hint = providerLibsPresent(provider)
      ? 'its libraries are installed but CUDA 12 / cuDNN 9 (or the GPU driver) could not be loaded'
      : 'onnxruntime-node was installed without the CUDA provider (install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 machine)';
    return `${provider}: ${msg} - ${hint}`;
  }
  return `${provider}: ${msg}`;
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
    let eps: ort.InferenceSession.ExecutionProviderConfig[] = provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
    let gpu: { adapter?: GpuAdapter; problem?: string; cpuNodes: string[] } | undefined;
    if (provider === 'webgpu') {
      const probe = probeGpuAdapter();
      if (probe.adapter?.software && !opts.softwareGpu) {
        reasons.push(`webgpu: software GPU adapter (${probe.adapter.name}, Vulkan on the CPU), slower than the cpu provider; list webgpu in the execution providers to use it anyway`);
        continue;
      }
      // Nothing to find (no Vulkan loader or driver) and webgpu only came with the default order: say so without
      // asking Dawn, which would print its own warnings on stderr. A listed webgpu is always tried.
      if (probe.problem && !opts.softwareGpu) {
        reasons.push(`webgpu: no GPU adapter - ${probe.problem}`);
        continue;
      }
      prepareGpuEnvironment();
      // A file that does not parse is left to onnxruntime, whose error then says why for every provider.
      const pinned = (() => {
        try {
          return opts.pinCpuNodes === false ? { names: [], why: [] } : webgpuCpuNodes(modelPath, !!probe.adapter?.software);
        } catch {
          return { names: [], why: [] };
        }
      })();
      gpu = { ...probe, cpuNodes: pinned.why };
      eps = [{ name: 'webgpu', ...(pinned.names.length ? { forceCpuNodeNames: pinned.names } : {}) }, 'cpu'];
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: eps,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 4, // failures arrive as exceptions; native error lines would only be noise on stderr
        ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}), // undefined is rejected
        ...opts.extra,
      });
      const fallback = provider !== requested[0] && reasons.length ? { requested, reason: reasons.join('; ') } : undefined;
      return { session, provider, fallback, ...(gpu ? { adapter: gpu.adapter, cpuNodes: gpu.cpuNodes } : {}) };
    } catch (e) {
      lastError = e;
      reasons.push(explain(provider, e, gpu?.problem));
    }
  }
  throw new RuntimeError('SESSION_FAILED', `Cannot load ${modelPath}: ${firstLine(lastError)}`, reasons);
}

/** How to make a session again: what createSession was called with. */
export interface SessionRecipe {
  modelPath: string;
  providers: readonly string[];
  opts?: SessionOptions;
}

/**
 * Runs `s`. A provider other than cpu can fail during a run although it loaded (out of GPU memory on a large study, a
 * kernel that rejects these inputs): then the session is made again on the providers after it and the run repeated
 * there, as createSession would have done at load. Returns the outputs, and the new session when that happened (its
 * fallback says why; the caller keeps it and releases nothing: the failed session is released here).
 */
export async function runWithFallback(
  s: CreatedSession,
  feeds: ort.InferenceSession.FeedsType,
  recipe: SessionRecipe,
): Promise<{ outputs: ort.InferenceSession.OnnxValueMapType; replaced?: CreatedSession }> {
  try {
    return { outputs: await s.session.run(feeds) };
  } catch (e) {
    if (s.provider === 'cpu') throw e;
    const order = resolveProviders(recipe.providers);
    const after = order.slice(order.indexOf(s.provider) + 1);
    await s.session.release().catch(() => undefined);
    const next = await createSession(recipe.modelPath, after.length ? after : ['cpu'], recipe.opts);
    const why = `${s.provider}: failed while running (${firstLine(e)})`;
    const reason = [s.fallback?.reason, why, next.fallback?.reason].filter(Boolean).join('; ');
    const replaced: CreatedSession = { ...next, fallback: { requested: [...recipe.providers], reason } };
    return { outputs: await replaced.session.run(feeds), replaced };
  }
}

export class RuntimeError extends CodedError {
  override readonly name = 'RuntimeError';
  constructor(code: string, message: string, readonly reasons: string[] = []) {
    super(code, message);
  }
}
