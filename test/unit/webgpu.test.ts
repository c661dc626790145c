/**
 * onnxruntime-node's WebGPU execution provider for real, on SwiftShader's Vulkan (the software driver Debian's chromium
 * ships; the test host installs chromium): every variant's small parity model (.cache/hlip-ref) runs on webgpu and is
 * compared with the cpu provider and the PyTorch fixtures, the node-to-provider assignment is read from a profiled run,
 * and the provider rules are checked (a software adapter is skipped unless webgpu is listed; no driver -> cpu, reason
 * shown). The product's graph is run as converted (fused attention).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import * as ort from 'onnxruntime-node';
import { detectModelSpec, loadCheckpoint } from '../../src/hlip/checkpoint';
import { readNpy } from '../../src/hlip/export/npy';
import { buildTextOnnx, buildVisualOnnx } from '../../src/hlip/graph';
import { selfAttention } from '../../src/hlip/graph/attention';
import { GraphBuilder } from '../../src/hlip/graph/builder';
import { DataType } from '../../src/hlip/graph/onnx-proto';
import { findSwiftShaderIcd, probeGpuAdapter } from '../../src/hlip/inference/gpu-adapter';
import { fractionOn, type NodePlacement, opsOn, profiledRun, profilingOptions } from '../../src/hlip/inference/node-placement';
import { HlipEngine } from '../../src/hlip/inference/engine';
import { createSession, runWithFallback } from '../../src/hlip/inference/onnx-sessions';
import { runtimeInfo } from '../../src/hlip/inference/runtime-info';
import { formatRuntimeInfo } from '../../src/hlip/inference/runtime-report';
import { ROOT } from '../fixtures';

const REF = join(ROOT, '.cache', 'hlip-ref');
const GPU = 'WebGpuExecutionProvider';
const TOL = 1e-4;
/** Ops that must run on the GPU wherever the graph has them (ORT's fusions included). */
const HEAVY = ['MatMul', 'FusedMatMul', 'LayerNormalization', 'Gelu', 'BiasGelu', 'Softmax', 'Conv'];
/** Ops allowed on the CPU: MultiHeadAttention is pinned there on software adapters (webgpu-support.ts); ORT keeps a few shape computations on the CPU. */
const CPU_OK = new Set(['MultiHeadAttention', 'Concat', 'Shape', 'Gather', 'Unsqueeze', 'Slice', 'Cast', 'Expand']);

/** SwiftShader's manifest: set before the first WebGPU session (the Vulkan loader reads it then). */
const icd = process.env.VK_ICD_FILENAMES ?? findSwiftShaderIcd();
function needSwiftShader(t: TestContext): boolean {
  if (icd && existsSync(icd)) return true;
  const msg = "SwiftShader's Vulkan driver is not installed (Debian's chromium ships it: bash scripts/install-test-host.sh)";
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}
if (icd) process.env.VK_ICD_FILENAMES = icd;

const dir = mkdtempSync(join(tmpdir(), 'hlip-webgpu-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const maxOf = (a: ArrayLike<number>) => maxAbs(a, new Float32Array(a.length));
const npy = (p: string) => readNpy(p) as { data: Float32Array | BigInt64Array; shape: number[] };

interface Case { case: string; variant: string; checkpoint_keys: 'full' | 'visual' | 'text'; num_scans: number[] }
const indexPath = join(REF, 'index.json');
const cases: Case[] = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { cases: Case[] }).cases : [];

/** Worst figures per case and where the nodes ran, printed at the end (the report's table). */
const report: string[] = [];
after(() => report.forEach((l) => console.log(l)));

function checkPlacement(p: NodePlacement, what: string): void {
  const onCpu = opsOn(p, 'CPUExecutionProvider');
  const gpuOps = new Set(opsOn(p, GPU));
  assert.deepEqual(onCpu.filter((op) => !CPU_OK.has(op)), [], `${what}: ops on the CPU`);
  for (const op of HEAVY) assert.ok(!onCpu.includes(op) || gpuOps.has(op), `${what}: ${op} ran on the CPU`);
  assert.ok(['MatMul', 'FusedMatMul'].some((op) => gpuOps.has(op)), `${what}: no MatMul on the GPU`);
  assert.ok(gpuOps.has('LayerNormalization'), `${what}: LayerNormalization on the GPU`);
}

const placementLine = (p: NodePlacement) =>
  `${(100 * fractionOn(p, GPU)).toFixed(0)}% of ${p.nodes} kernels on the GPU; on the CPU: ${opsOn(p, 'CPUExecutionProvider').join(', ') || 'none'}`;

describe('WebGPU through SwiftShader', () => {
  before(() => {
    // The probe sees what the Vulkan loader will load.
    if (icd) assert.equal(probeGpuAdapter().adapter?.name, 'SwiftShader');
  });

  test('a software adapter is skipped unless webgpu is listed; the reason is shown', async (t) => {
    if (!needSwiftShader(t)) return;
    const c = cases.find((x) => x.checkpoint_keys !== 'text');
    if (!c) return t.skip('parity fixtures missing (hlip-parity.test.ts reports it)');
    const ckpt = await loadCheckpoint(join(REF, c.case, 'model.safetensors'));
    const path = join(dir, 'rules.visual.onnx');
    buildVisualOnnx(ckpt.tensors, detectModelSpec(ckpt).visual!, path);
    const implicit = await createSession(path, ['webgpu', 'cpu']);
    assert.equal(implicit.provider, 'cpu');
    assert.match(implicit.fallback!.reason, /webgpu: software GPU adapter \(SwiftShader/);
    await implicit.session.release();
    const listed = await createSession(path, ['webgpu', 'cpu'], { softwareGpu: true });
    assert.equal(listed.provider, 'webgpu');
    assert.equal(listed.adapter?.software, true);
    assert.deepEqual(listed.cpuNodes, [`${detectModelSpec(ckpt).visual!.depth} MultiHeadAttention (wrong on software adapters)`]);
    await listed.session.release();
  });

  test('through the inference worker: the listed webgpu loads and names its adapter; the default order skips it', async (t) => {
    if (!needSwiftShader(t)) return;
    const path = join(dir, 'rules.visual.onnx'); // built by the test above
    if (!existsSync(path)) return t.skip('needs the model of the previous test');
    const workerScript = join(ROOT, 'src/hlip/inference/inference-worker.ts');
    const listed = await HlipEngine.start({ workerScript, providers: ['webgpu', 'cpu'], softwareGpu: true });
    const implicit = await HlipEngine.start({ workerScript, providers: ['webgpu', 'cpu'] });
    try {
      const a = await listed.load({ visualPath: path });
      assert.equal(a.visual?.provider, 'webgpu');
      assert.equal(a.visual?.adapter, 'SwiftShader (software)');
      const b = await implicit.load({ visualPath: path });
      assert.equal(b.visual?.provider, 'cpu');
      assert.match(b.visual?.fallback?.reason ?? '', /software GPU adapter/);
    } finally {
      await listed.dispose();
      await implicit.dispose();
    }
  });

  test('a broken model fails with every provider\'s reason, webgpu included', async (t) => {
    if (!needSwiftShader(t)) return;
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await assert.rejects(createSession(bad, ['webgpu', 'cpu'], { softwareGpu: true }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'SESSION_FAILED');
      assert.match(String((e as { reasons: string[] }).reasons[0]), /^webgpu: /);
      return true;
    });
  });

  test('a provider that fails during a run hands over to the next one, which reruns it', async (t) => {
    if (!needSwiftShader(t)) return;
    const c = cases.find((x) => x.checkpoint_keys === 'text');
    if (!c) return t.skip('parity fixtures missing (hlip-parity.test.ts reports it)');
    const caseDir = join(REF, c.case);
    const ckpt = await loadCheckpoint(join(caseDir, 'model.safetensors'));
    const path = join(dir, 'failing.text.onnx');
    buildTextOnnx(ckpt.tensors, detectModelSpec(ckpt).text!, path);
    // Unpinned, the masked MultiHeadAttention loads on webgpu and throws at run time: a real mid-run failure.
    const recipe = { modelPath: path, providers: ['webgpu', 'cpu'], opts: { softwareGpu: true, pinCpuNodes: false } };
    const s = await createSession(path, recipe.providers, recipe.opts);
    assert.equal(s.provider, 'webgpu');
    const ids = npy(join(caseDir, 'text_input_ids.npy')), mask = npy(join(caseDir, 'text_attention_mask.npy'));
    const { outputs, replaced } = await runWithFallback(s, {
      input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, ids.shape),
      attention_mask: new ort.Tensor('int64', mask.data as BigInt64Array, mask.shape),
    }, recipe);
    assert.equal(replaced?.provider, 'cpu');
    assert.match(replaced!.fallback!.reason, /^webgpu: failed while running \(.*key_padding_mask/);
    const d = maxAbs(outputs.text_embedding.data as Float32Array, npy(join(caseDir, 'expected_text_embedding.npy')).data as Float32Array);
    assert.ok(d <= TOL, `text embedding after the hand-over ${d}`);
    await replaced!.session.release();
  });

  test('runtime info names the adapter; webgpu is in use only when listed', async (t) => {
    if (!needSwiftShader(t)) return;
    const byDefault = await runtimeInfo(undefined);
    assert.match(byDefault.gpuAdapter ?? '', /^SwiftShader \(Vulkan, software/);
    assert.notEqual(byDefault.inUse, 'webgpu');
    assert.match(byDefault.skipped.find((s) => s.name === 'webgpu')?.why ?? '', /software GPU adapter \(SwiftShader/);
    const listed = await runtimeInfo(['webgpu']);
    assert.equal(listed.inUse, 'webgpu');
    assert.equal(listed.providers.find((p) => p.name === 'webgpu')?.note, 'SwiftShader (software adapter)');
    assert.match(formatRuntimeInfo(listed), /- GPU adapter \(webgpu\): SwiftShader \(Vulkan, software/);
  });

  test('no Vulkan driver: webgpu falls back to cpu with the reason', (t) => {
    // In a child process: the Vulkan instance is made once per process.
    const script = join(dir, 'no-driver.ts');
    writeFileSync(script, [
      `import { createSession } from ${JSON.stringify(join(ROOT, 'src/hlip/inference/onnx-sessions'))};`,
      `const show = (r: { provider: string; fallback?: { reason: string } }) => ({ provider: r.provider, reason: r.fallback?.reason });`,
      `(async () => console.log(JSON.stringify([show(await createSession(process.argv[2], ['webgpu'])), show(await createSession(process.argv[2], ['webgpu'], { softwareGpu: true }))])))();`,
    ].join('\n'));
    const model = join(dir, 'tiny.onnx');
    const g = new GraphBuilder(model);
    g.input('x', DataType.FLOAT, [2, 2]);
    g.output('y', g.op('Relu', ['x']), [2, 2]);
    writeFileSync(model, g.encode());
    const r = spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', script, model], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: join(dir, 'absent_icd.json') },
    });
    assert.equal(r.status, 0, r.stderr);
    const [implicit, listed] = JSON.parse(r.stdout.trim().split('\n').pop()!) as { provider: string; reason: string }[];
    // From the default order: skipped on the probe's word, Dawn not asked.
    assert.equal(implicit.provider, 'cpu');
    assert.equal(implicit.reason, 'webgpu: no GPU adapter - no Vulkan driver is installed (no ICD manifest found)');
    // Listed: Dawn is asked, fails, and the probe's finding explains it.
    assert.equal(listed.provider, 'cpu');
    assert.match(listed.reason, /^webgpu: Failed to get a WebGPU adapter.* - no Vulkan driver is installed/);
    void t;
  });

  test("ORT's WebGPU MultiHeadAttention on this adapter: why it is pinned to the CPU here", async (t) => {
    if (!needSwiftShader(t)) return;
    // q/k/v [1, 33, 48], 4 heads of 12: the smallest models' study-level shape.
    const [T, C, heads] = [33, 48, 4];
    const path = join(dir, 'mha.onnx');
    const g = new GraphBuilder(path);
    for (const n of ['q', 'k', 'v']) g.input(n, DataType.FLOAT, [1, T, C]);
    g.output('fused', selfAttention(g, 'fused', { q: 'q', k: 'k', v: 'v', heads, dim: C }), [1, T, C]);
    g.output('explicit', selfAttention(g, 'explicit', { q: 'q', k: 'k', v: 'v', heads, dim: C }), [1, T, C]);
    writeFileSync(path, g.encode());
    const feed = (s: number) => new ort.Tensor('float32', Float32Array.from({ length: T * C }, (_, i) => 2 * Math.sin(1.37 * i + s)), [1, T, C]);
    const feeds = { q: feed(0), k: feed(1), v: feed(2) };
    const cpu = await (await ort.InferenceSession.create(path, { executionProviders: ['cpu'] })).run(feeds);
    const raw = await ort.InferenceSession.create(path, { executionProviders: ['webgpu', 'cpu'], logSeverityLevel: 3 });
    const gpu = await raw.run(feeds);
    const dFused = maxAbs(gpu.fused.data as Float32Array, cpu.fused.data as Float32Array);
    const dExplicit = maxAbs(gpu.explicit.data as Float32Array, cpu.explicit.data as Float32Array);
    report.push(`webgpu MultiHeadAttention kernel vs cpu on SwiftShader: ${dFused.toExponential(1)} (values up to ${maxOf(cpu.fused.data as Float32Array).toFixed(1)}); explicit MatMul/Softmax: ${dExplicit.toExponential(1)}`);
    assert.ok(dExplicit < 1e-5, `explicit attention on webgpu ${dExplicit}`);
    // Pinned, as createSession does on a software adapter: the same graph agrees.
    const pinned = await createSession(path, ['webgpu'], { softwareGpu: true });
    const out = await pinned.session.run(feeds);
    assert.ok(maxAbs(out.fused.data as Float32Array, cpu.fused.data as Float32Array) < 1e-5);
    await pinned.session.release();
    await raw.release();
  });

  for (const c of cases) {
    test(`${c.case}: webgpu vs cpu vs PyTorch`, async (t) => {
      if (!needSwiftShader(t)) return;
      const caseDir = join(REF, c.case);
      const ckpt = await loadCheckpoint(join(caseDir, 'model.safetensors'));
      const spec = detectModelSpec(ckpt);
      const figures: Record<string, number> = {};
      const note = (k: string, v: number) => (figures[k] = Math.max(figures[k] ?? 0, v));
      let where = '';

      if (c.checkpoint_keys !== 'text') {
        const path = join(dir, `${c.case}.visual.onnx`);
        buildVisualOnnx(ckpt.tensors, spec.visual!, path);
        const prof = profilingOptions();
        const gpu = await createSession(path, ['webgpu'], { softwareGpu: true, extra: prof });
        assert.equal(gpu.provider, 'webgpu');
        const cpu = await createSession(path, ['cpu']);
        // One scan count per case (SwiftShader is slow, and compiles its shaders per session): several scans where the
        // graph lays things out per scan (RoPE tables, two pooled heads), one elsewhere.
        const N = /rope|dual/.test(c.case) ? c.num_scans[c.num_scans.length - 1] : c.num_scans[0];
        const input = npy(join(caseDir, `input_${N}.npy`));
        const feeds = { image: new ort.Tensor('float32', input.data as Float32Array, input.shape) };
        const { outputs: g, placement } = await profiledRun(gpu.session, feeds, prof.profileFilePrefix);
        checkPlacement(placement, `${c.case} visual`);
        where = placementLine(placement);
        const k = await cpu.session.run(feeds);
        const exp = (name: string) => npy(join(caseDir, `expected_${N}_${name}.npy`)).data as Float32Array;
        const f32 = (o: ort.InferenceSession.OnnxValueMapType, name: string) => o[name].data as Float32Array;
        note('emb_vs_cpu', maxAbs(f32(g, 'embedding'), f32(k, 'embedding')));
        note('emb_vs_torch', maxAbs(f32(g, 'embedding'), exp('embedding')));
        note('raw_rel_vs_torch', maxAbs(f32(g, 'embedding_raw'), exp('embedding_raw')) / maxOf(exp('embedding_raw')));
        note('cls_attn_vs_torch', maxAbs(f32(g, 'cls_attn'), exp('cls_attn')));
        note('maps_vs_cpu', maxAbs(f32(g, 'cls_attn_maps'), f32(k, 'cls_attn_maps')));
        if (spec.visual!.pool === 'dinotxt') note('patch_proj_rel_vs_torch', maxAbs(f32(g, 'patch_proj'), exp('patch_proj')) / maxOf(exp('patch_proj')));
        await gpu.session.release();
        await cpu.session.release();
      }

      // Every fixture shares one small text tower: run on webgpu for the text-only case and the first full one.
      if (c.checkpoint_keys === 'text' || (c.checkpoint_keys === 'full' && c === cases.find((x) => x.checkpoint_keys === 'full'))) {
        const path = join(dir, `${c.case}.text.onnx`);
        buildTextOnnx(ckpt.tensors, spec.text!, path);
        // The masked attention has no WebGPU kernel: pinned to the CPU on any adapter, the rest on the GPU.
        const gpu = await createSession(path, ['webgpu'], { softwareGpu: true });
        assert.equal(gpu.provider, 'webgpu');
        assert.match(gpu.cpuNodes!.join(';'), /masked MultiHeadAttention/);
        const ids = npy(join(caseDir, 'text_input_ids.npy')), mask = npy(join(caseDir, 'text_attention_mask.npy'));
        const o = await gpu.session.run({
          input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, ids.shape),
          attention_mask: new ort.Tensor('int64', mask.data as BigInt64Array, mask.shape),
        });
        note('text_emb_vs_torch', maxAbs(o.text_embedding.data as Float32Array, npy(join(caseDir, 'expected_text_embedding.npy')).data as Float32Array));
        await gpu.session.release();
      }

      report.push(`webgpu ${c.case}: ${Object.entries(figures).map(([k, v]) => `${k}=${v.toExponential(1)}`).join(' ')}${where ? `; ${where}` : ''}`);
      for (const [k, v] of Object.entries(figures)) assert.ok(v <= TOL, `${k} ${v}`);
    });
  }
});
