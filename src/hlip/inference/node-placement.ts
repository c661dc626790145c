/**
 * Which execution provider ran each node: onnxruntime-node has no API for the node-to-provider assignment (its verbose
 * log prints it on native stderr), but a profiled run records every kernel with its provider. Used by the WebGPU tests
 * and bench:hlip.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';

export interface NodePlacement {
  /** Kernels run per provider ("WebGpuExecutionProvider", "CPUExecutionProvider") and op type. */
  byProvider: Record<string, Record<string, number>>;
  /** Kernel time per provider, microseconds. */
  microsByProvider: Record<string, number>;
  /** Kernel time per op type (all providers), microseconds. */
  microsByOp: Record<string, number>;
  /** Nodes run, copies between devices (Memcpy*) excluded. */
  nodes: number;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; provider?: string };
}

/** Reads a profile written by `session.endProfiling()`. */
export function placementFromProfile(file: string): NodePlacement {
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  const byProvider: Record<string, Record<string, number>> = {};
  const microsByProvider: Record<string, number> = {};
  const microsByOp: Record<string, number> = {};
  let nodes = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.provider || !e.args.op_name) continue;
    const p = e.args.provider, op = e.args.op_name;
    (byProvider[p] ??= {})[op] = (byProvider[p][op] ?? 0) + 1;
    microsByProvider[p] = (microsByProvider[p] ?? 0) + (e.dur ?? 0);
    microsByOp[op] = (microsByOp[op] ?? 0) + (e.dur ?? 0);
    if (!op.startsWith('Memcpy')) nodes++;
  }
  return { byProvider, microsByProvider, microsByOp, nodes };
}

/** Share of the nodes run (Memcpy excluded) that ran on `provider`. */
export function fractionOn(p: NodePlacement, provider: string): number {
  const ops = Object.entries(p.byProvider[provider] ?? {}).filter(([op]) => !op.startsWith('Memcpy'));
  return p.nodes ? ops.reduce((s, [, n]) => s + n, 0) / p.nodes : 0;
}

/** Op types that ran on `provider` (Memcpy excluded). */
export function opsOn(p: NodePlacement, provider: string): string[] {
  return Object.keys(p.byProvider[provider] ?? {}).filter((op) => !op.startsWith('Memcpy')).sort();
}

/** Session options that make a session record its kernels: pass to create, then call profiledRun with the same prefix. */
export function profilingOptions(): { enableProfiling: true; profileFilePrefix: string } {
  return { enableProfiling: true, profileFilePrefix: join(mkdtempSync(join(tmpdir(), 'hlip-profile-')), 'ort') };
}

/**
 * Runs a session created with profilingOptions() and returns its outputs and where its nodes ran (counted over every run
 * since the session was created). The profile is deleted and profiling ends: later runs are not recorded.
 */
export async function profiledRun(
  session: ort.InferenceSession,
  feeds: ort.InferenceSession.FeedsType,
  profileFilePrefix: string,
): Promise<{ outputs: ort.InferenceSession.OnnxValueMapType; placement: NodePlacement }> {
  const outputs = await session.run(feeds);
  session.endProfiling(); // writes <prefix>_<date>.json; onnxruntime-node does not return the name
  const dir = dirname(profileFilePrefix);
  try {
    const file = readdirSync(dir).find((f) => f.startsWith(basename(profileFilePrefix)) && f.endsWith('.json'));
    if (!file) throw new Error(`no profile written under ${dir}`);
    return { outputs, placement: placementFromProfile(join(dir, file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
