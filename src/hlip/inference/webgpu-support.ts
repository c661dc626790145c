/**
 * What onnxruntime's WebGPU execution provider (1.30) needs around it: the environment Dawn's Vulkan drivers read, and
 * the nodes it registers but cannot run correctly, which are pinned to the CPU provider (its `forceCpuNodeNames`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { decodeModel } from '../graph/onnx-proto';

/**
 * Mesa's Vulkan drivers complain (and some window-system paths fail) without XDG_RUNTIME_DIR, which a service or a
 * container often lacks: give this process a private one. Only the main thread's environment reaches native code (a
 * worker thread's process.env is a copy), so this must run in the process that loads onnxruntime, before the first
 * WebGPU session. Returns the folder set, or undefined when one was already there.
 */
export function prepareGpuEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_RUNTIME_DIR || !isMainThread || process.platform !== 'linux') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'hlip-xdg-')); // created 0700, as the variable requires
  env.XDG_RUNTIME_DIR = dir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CpuPinned {
  names: string[];
  /** One line per kind of node pinned, for the session's report. */
  why: string[];
}

/**
 * Nodes of `modelPath` the WebGPU provider must leave to the CPU provider:
 * - MultiHeadAttention with a key padding mask (the text tower): the WebGPU kernel throws "not implemented" at run time,
 *   after the session was created, where no fallback is possible any more;
 * - on a software adapter, every MultiHeadAttention: measured on SwiftShader, the WebGPU kernel is off by up to 6% of
 *   the output's range for head sizes divisible by 4 and 32 tokens or more (its flash-attention path assumes at least
 *   8-lane subgroups; SwiftShader's have 4). Explicit MatMul/Softmax attention on the same adapter agrees to 1e-6.
 */
export function webgpuCpuNodes(modelPath: string, softwareAdapter: boolean): CpuPinned {
  const graph = decodeModel(readFileSync(modelPath)).graph;
  const mha = graph.node.filter((n) => n.opType === 'MultiHeadAttention');
  const masked = mha.filter((n) => !!n.input[4]);
  const names = softwareAdapter ? mha.map((n) => n.name) : masked.map((n) => n.name);
  const why: string[] = [];
  if (masked.length) why.push(`${masked.length} masked MultiHeadAttention (no WebGPU kernel for key padding masks)`);
  if (softwareAdapter && mha.length > masked.length) why.push(`${mha.length - masked.length} MultiHeadAttention (wrong on software adapters)`);
  return { names, why };
}
