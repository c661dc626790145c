/**
 * What this machine's onnxruntime can run: every execution provider named in provider-order.ts, whether this
 * onnxruntime-node binary has it, and whether a session really loads with it (each probed alone on a one-node model
 * through createSession, so the reasons are the ones a model load would give, WebGPU adapter checks included). Then the
 * requested order decides the provider in use. Loads onnxruntime's native module: call it from a child process (the CLI's
 * `hlip runtime`), never on the extension host.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, valueInfo } from '../graph/onnx-proto';
import { builtProviders, createSession } from './onnx-sessions';
import { probeGpuAdapter } from './gpu-adapter';
import { listsWebgpu, PROVIDER_NAMES, resolveProviders } from './provider-order';
import type { ProviderProbe, RuntimeInfo } from './runtime-report';

/** y = x + x on float[1,4]: every provider has Add. */
function tinyModel(dir: string): string {
  const path = join(dir, 'probe.onnx');
  const bytes = encodeModel({
    irVersion: 8,
    producerName: 'hlip-runtime-probe',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'probe',
      node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'], name: 'add', attribute: [] }],
      initializer: [],
      input: [valueInfo('x', DataType.FLOAT, [1, 4])],
      output: [valueInfo('y', DataType.FLOAT, [1, 4])],
    },
  });
  writeFileSync(path, bytes);
  return path;
}

async function probe(model: string, name: string, built: boolean, softwareGpu: boolean): Promise<ProviderProbe> {
  if (!built) return { name, built, loads: false, note: `not built into onnxruntime-node for ${process.platform}-${process.arch}` };
  try {
    const s = await createSession(model, [name], { softwareGpu });
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
    const y = (await s.session.run({ x })).y.data as Float32Array;
    await s.session.release();
    if (s.provider !== name) return { name, built, loads: false, note: s.fallback?.reason ?? `${name}: did not load` };
    if (y[3] !== 8) return { name, built, loads: false, note: `${name}: loads but computed ${y[3]} for 4 + 4` };
    return { name, built, loads: true, note: s.adapter ? `${s.adapter.name}${s.adapter.software ? ' (software adapter)' : ''}` : undefined };
  } catch (e) {
    return { name, built, loads: false, note: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}

/**
 * Probes every known provider and resolves `setting` (the user's list; empty: the platform default) against them.
 * webgpu on a software adapter counts only when the user listed it, as for a model load.
 */
export async function runtimeInfo(setting: readonly string[] | undefined): Promise<RuntimeInfo> {
  const requested = resolveProviders(setting);
  const built = new Set(builtProviders());
  const softwareGpu = listsWebgpu(setting);
  const dir = mkdtempSync(join(tmpdir(), 'hlip-probe-'));
  const providers: ProviderProbe[] = [];
  try {
    const model = tinyModel(dir);
    const names = [...new Set([...PROVIDER_NAMES, ...requested])];
    for (const name of names) providers.push(await probe(model, name, name === 'cpu' || built.has(name), softwareGpu));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const byName = new Map(providers.map((p) => [p.name, p]));
  const inUse = requested.find((n) => byName.get(n)?.loads) ?? 'cpu';
  const skipped = requested.slice(0, requested.indexOf(inUse)).map((name) => ({ name, why: byName.get(name)?.note ?? 'unknown provider' }));
  const versions = ort.env.versions as { node?: string; common?: string } | undefined;
  return {
    onnxruntime: versions?.node ?? versions?.common ?? 'unknown',
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    requested,
    inUse,
    skipped,
    providers,
    gpuAdapter: gpuAdapterLine(),
  };
}

/** The GPU adapter webgpu finds here (gpu-adapter.ts), or why there is none. */
function gpuAdapterLine(): string {
  const p = probeGpuAdapter();
  if (!p.adapter) return `none: ${p.problem}`;
  const api = { vulkan: 'Vulkan', metal: 'Metal', d3d12: 'Direct3D 12' }[p.adapter.api];
  return `${p.adapter.name} (${api}${p.adapter.software ? ', software: slower than cpu, used only when webgpu is listed' : ''})`;
}
