/**
 * Runtime (provider choice + fallback) and the inference worker/engine, on stub ONNX models with the contract's input and
 * output names (the real graphs are tested with the graph builders). The stub visual model's cost grows with its input,
 * so a large input gives a run long enough to cancel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { CancelledError, EngineError, HlipEngine } from '../../src/hlip/inference/engine';
import { createSession, defaultProviders, resolveProviders, RuntimeError } from '../../src/hlip/inference/onnx-sessions';
import { listsWebgpu } from '../../src/hlip/inference/provider-order';
import { providerLibsPresent } from '../../src/hlip/inference/provider-libs';

const WORKER = join(__dirname, '../../src/hlip/inference/inference-worker.ts');

// --- a minimal ONNX writer (the subset of onnx.proto a stub needs) ---
const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });
const one = (type: string, id: number) => ({ type, id });
const Model = protobuf.Root.fromJSON({
  nested: {
    M: { fields: { irVersion: one('int64', 1), graph: one('G', 7), opsetImport: rep('O', 8) } },
    O: { fields: { domain: one('string', 1), version: one('int64', 2) } },
    G: { fields: { node: rep('N', 1), name: one('string', 2), initializer: rep('T', 5), input: rep('V', 11), output: rep('V', 12) } },
    N: { fields: { input: rep('string', 1), output: rep('string', 2), opType: one('string', 4), attribute: rep('A', 5) } },
    A: { fields: { name: one('string', 1), i: one('int64', 3), ints: rep('int64', 8), type: one('int32', 20) } },
    T: { fields: { dims: rep('int64', 1), dataType: one('int32', 2), name: one('string', 8), rawData: one('bytes', 9) } },
    V: { fields: { name: one('string', 1), type: one('TP', 2) } },
    TP: { fields: { tensorType: one('TT', 1) } },
    TT: { fields: { elemType: one('int32', 1), shape: one('S', 2) } },
    S: { fields: { dim: rep('D', 1) } },
    D: { fields: { dimValue: one('int64', 1), dimParam: one('string', 2) } },
  },
}).lookupType('M');

class Stub {
  nodes: object[] = [];
  inits: object[] = [];
  inputs: object[] = [];
  outputs: object[] = [];
  private n = 0;
  private seed = 7;
  op(opType: string, input: string[], attrs: Record<string, number | number[]> = {}, output = `t${this.n++}`): string {
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, ints: v, type: 7 } : { name, i: v, type: 2 }));
    this.nodes.push({ opType, input, output: [output], attribute });
    return output;
  }
  const(dims: number[], data: Float32Array | BigInt64Array): string {
    const name = `c${this.n++}`;
    this.inits.push({ name, dims, dataType: data instanceof BigInt64Array ? 7 : 1, rawData: new Uint8Array(data.buffer) });
    return name;
  }
  random(dims: number[], std: number): string {
    const d = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < d.length; i++) d[i] = ((((this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5) * 2 * std);
    return this.const(dims, d);
  }
  io(list: object[], name: string, elemType: number, dims: (number | string)[]) {
    list.push({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } });
  }
  save(path: string) {
    writeFileSync(path, Model.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'stub', node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs } }).finish());
  }
}

const K = 256; // stub visual width; the image's element count must be a multiple of it
const E = 16; // stub text embedding size

function stubVisual(path: string, layers = 24) {
  const g = new Stub();
  g.io(g.inputs, 'image', 1, [1, 'N', 1, 'D', 'H', 'W']);
  let x = g.op('Reshape', ['image', g.const([2], BigInt64Array.of(-1n, BigInt(K)))]);
  const w = g.random([K, K], 1.7 / Math.sqrt(K));
  for (let i = 0; i < layers; i++) x = g.op('Tanh', [g.op('MatMul', [x, w])]);
  const raw = g.op('Reshape', [g.op('ReduceMean', [x], { axes: [0], keepdims: 1 }), g.const([3], BigInt64Array.of(1n, 1n, BigInt(K)))], {}, 'embedding_raw');
  g.op('LpNormalization', [raw], { axis: -1, p: 2 }, 'embedding');
  const rows = g.op('ReduceMean', [x], { axes: [1], keepdims: 0 });
  g.op('Softmax', [g.op('Reshape', [rows, g.const([3], BigInt64Array.of(1n, 1n, -1n))])], { axis: -1 }, 'cls_attn');
  g.io(g.outputs, 'embedding_raw', 1, [1, 1, K]);
  g.io(g.outputs, 'embedding', 1, [1, 1, K]);
  g.io(g.outputs, 'cls_attn', 1, [1, 1, 'T']);
  g.save(path);
}

function stubText(path: string, L: number) {
  const g = new Stub();
  g.io(g.inputs, 'input_ids', 7, ['n', L]);
  g.io(g.inputs, 'attention_mask', 7, ['n', L]);
  const x = g.op('Cast', [g.op('Mul', ['input_ids', 'attention_mask'])], { to: 1 });
  const raw = g.op('MatMul', [x, g.random([L, E], 0.1)], {}, 'text_embedding_raw');
  g.op('LpNormalization', [raw], { axis: -1, p: 2 }, 'text_embedding');
  g.io(g.outputs, 'text_embedding_raw', 1, ['n', E]);
  g.io(g.outputs, 'text_embedding', 1, ['n', E]);
  g.save(path);
}

const image = (n: number, seed = 1) => {
  const d = new Float32Array(n * 8 * 32 * 32);
  for (let i = 0; i < d.length; i++) d[i] = Math.sin(i * 0.37 + seed);
  return { data: d, shape: [1, n, 1, 8, 32, 32] };
};
const norm = (a: Float32Array) => Math.hypot(...a);

let dir: string;
let visualPath: string;
let textPath: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hlip-runtime-'));
  visualPath = join(dir, 'visual.onnx');
  textPath = join(dir, 'text.onnx');
  stubVisual(visualPath);
  stubText(textPath, 8);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('execution providers', () => {
  test('defaults per platform: cuda only where its libraries are installed, webgpu where onnxruntime-node ships it', () => {
    assert.deepEqual(defaultProviders('linux', 'x64', false), ['webgpu', 'cpu']);
    assert.deepEqual(defaultProviders('linux', 'x64', true), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(defaultProviders('win32', 'x64', false), ['dml', 'webgpu', 'cpu']);
    assert.deepEqual(defaultProviders('darwin', 'arm64'), ['webgpu', 'coreml', 'cpu']);
    assert.deepEqual(defaultProviders('linux', 'arm64'), ['cpu']);
    assert.deepEqual(defaultProviders('darwin', 'x64'), ['cpu']);
    // This install: a plain npm install has no CUDA provider files.
    assert.equal(defaultProviders().includes('cuda'), providerLibsPresent('cuda'));
  });

  test('a user setting overrides the default; cpu closes the list', () => {
    assert.deepEqual(resolveProviders(['WebGPU', ' cuda ', 'webgpu'], 'linux', 'x64'), ['webgpu', 'cuda', 'cpu']);
    assert.deepEqual(resolveProviders([], 'darwin', 'arm64'), ['webgpu', 'coreml', 'cpu']);
    assert.deepEqual(resolveProviders(undefined, 'linux', 'arm64'), ['cpu']);
    assert.equal(listsWebgpu([' WebGPU ']), true);
    assert.equal(listsWebgpu(undefined), false);
  });

  test('cuda that cannot load falls back to a working cpu session and says why', async () => {
    const r = await createSession(visualPath, ['cuda']);
    assert.equal(r.provider, 'cpu');
    assert.ok(r.fallback, 'a fallback is reported');
    assert.deepEqual(r.fallback.requested, ['cuda']);
    assert.match(r.fallback.reason, /cuda/i);
    const ort = await import('onnxruntime-node');
    const { data, shape } = image(1);
    const out = await r.session.run({ image: new ort.Tensor('float32', data, shape) });
    assert.ok(Math.abs(norm(out.embedding.data as Float32Array) - 1) < 1e-5);
    await r.session.release();
  });

  test('a provider not built for this platform is reported as such', async () => {
    const r = await createSession(visualPath, ['dml', 'cpu'], { built: ['cpu'] });
    assert.equal(r.provider, 'cpu');
    assert.match(r.fallback!.reason, /dml: not built into onnxruntime-node/);
    await r.session.release();
  });

  test('plain cpu: no fallback', async () => {
    const r = await createSession(visualPath, ['cpu']);
    assert.equal(r.provider, 'cpu');
    assert.equal(r.fallback, undefined);
    await r.session.release();
  });

  test('a broken model fails with the reasons of every provider', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await assert.rejects(createSession(bad, ['cuda', 'cpu']), (e: unknown) => {
      assert.ok(e instanceof RuntimeError);
      assert.equal(e.code, 'SESSION_FAILED');
      assert.equal(e.reasons.length, 2);
      return true;
    });
  });
});

for (const isolation of ['process', 'thread'] as const) describe(`engine (${isolation})`, () => {
  let engine: HlipEngine;
  before(async () => {
    engine = await HlipEngine.start({ workerScript: WORKER, providers: ['cuda', 'cpu'], intraOpThreads: 2, isolation });
  });
  after(() => engine.dispose());

  test('loads both towers, reports the provider and the fallback, progress per stage', async () => {
    const stages: string[] = [];
    const r = await engine.load({ visualPath, textPath }, { onProgress: (s, f) => stages.push(`${s}:${f}`) });
    assert.equal(r.visual?.provider, 'cpu');
    assert.deepEqual(r.visual?.inputs, ['image']);
    assert.equal(engine.info.provider, 'cpu');
    assert.match(engine.info.fallback!.reason, /cuda/);
    assert.deepEqual(stages, ['visual:0', 'visual:1', 'text:0', 'text:1']);
  });

  test('encodeImage transfers the input and returns the outputs', async () => {
    const { data, shape } = image(2);
    const r = await engine.encodeImage(data, shape);
    if (isolation === 'thread') assert.equal(data.length, 0, 'the input buffer was transferred');
    assert.deepEqual(r.embedding.dims, [1, 1, K]);
    assert.deepEqual(r.embeddingRaw.dims, [1, 1, K]);
    assert.deepEqual(r.clsAttn.dims, [1, 1, (2 * 8 * 32 * 32) / K]);
    assert.equal(r.patchProj, undefined);
    assert.ok(Math.abs(norm(r.embedding.data) - 1) < 1e-5);
    assert.ok(r.timings.runMs > 0);
  });

  test('encodeText', async () => {
    const n = 3, L = 8;
    const ids = BigInt64Array.from({ length: n * L }, (_, i) => BigInt(i % 7));
    const mask = BigInt64Array.from({ length: n * L }, (_, i) => (i % L < 5 ? 1n : 0n));
    const r = await engine.encodeText({ ids, mask, n, L });
    assert.deepEqual(r.embedding.dims, [n, E]);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(norm(r.embedding.data.subarray(i * E, (i + 1) * E)) - 1) < 1e-5);
  });

  test('errors cross as {code, message} and the engine keeps working', async () => {
    await assert.rejects(engine.encodeImage(new Float32Array(10), [1, 1, 1, 1, 2, 5]), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'INFERENCE_FAILED');
      return true;
    });
    await assert.rejects(engine.encodeText({ ids: new BigInt64Array(3), mask: new BigInt64Array(3), n: 1, L: 8 }), { code: 'BAD_INPUT' });
    const { data, shape } = image(1);
    assert.deepEqual((await engine.encodeImage(data, shape)).embedding.dims, [1, 1, K]);
  });

  test('cancel during a long run rejects promptly; the next call restarts the worker and reloads', async () => {
    const small = image(1);
    const before = await engine.encodeImage(small.data, small.shape, { copy: true });
    // Size a run to take several seconds from the small one's time.
    const n = Math.max(8, Math.ceil(4000 / Math.max(before.timings.runMs, 1)));
    const big = image(Math.min(n, 2000));
    const ac = new AbortController();
    const run = engine.encodeImage(big.data, big.shape, { signal: ac.signal });
    const queued = engine.encodeImage(small.data, small.shape, { copy: true });
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    ac.abort();
    await assert.rejects(run, (e: unknown) => e instanceof CancelledError);
    const took = performance.now() - t0;
    assert.ok(took < 1000, `cancel took ${took.toFixed(0)} ms`);
    // The call queued behind the cancelled one was not lost: it runs on a fresh worker with the models reloaded.
    const again = await queued;
    assert.deepEqual(Array.from(again.embedding.data), Array.from(before.embedding.data));
    assert.equal(engine.info.provider, 'cpu');
  });

  test('a call aborted while queued never reaches the worker', async () => {
    const a = image(1), b = image(1, 2);
    const ac = new AbortController();
    const first = engine.encodeImage(a.data, a.shape);
    const second = engine.encodeImage(b.data, b.shape, { signal: ac.signal });
    ac.abort();
    await assert.rejects(second, (e: unknown) => e instanceof CancelledError);
    assert.deepEqual((await first).embedding.dims, [1, 1, K]);
  });

  test('an already aborted signal rejects at once', async () => {
    const a = image(1);
    await assert.rejects(engine.encodeImage(a.data, a.shape, { signal: AbortSignal.abort() }), (e: unknown) => e instanceof CancelledError);
  });
});
