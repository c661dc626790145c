/**
 * Checkpoint readers against real files: torch.save (torch 1.13, Debian) writes every case in
 * test/oracles/make_checkpoints.py together with the exact bytes of each tensor; ours must be bit-identical. Malicious
 * pickles must be refused without running anything; damaged files must fail with CORRUPT and a useful sentence.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KNOWN_VARIANTS } from '../../src/hlip/model-config';
import {
  CheckpointError,
  detectModelSpec,
  loadCheckpoint,
  parseSafetensors,
  readSafetensors,
  readTorchZip,
  writeSafetensors,
  type CheckpointErrorCode,
} from '../../src/hlip/checkpoint';
import { numel, toFloat32, type DType, type HostTensor, type TensorMap } from '../../src/hlip/checkpoint/tensor';
import { ROOT, SYSTEM_PYTHON } from '../fixtures';
import { tempDir } from '../oracles';

const dir = tempDir('ckpt');
const made = JSON.parse(
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_checkpoints.py'), dir], { stdio: ['ignore', 'pipe', 'pipe'] }).toString(),
) as { marker: string; proof: string };
const f = (name: string) => join(dir, name);

const bytesOf = (t: HostTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Every reference tensor is present with the same dtype, shape and bytes. */
function assertSameAsTorch(tensors: TensorMap, ref: string): void {
  const index = JSON.parse(readFileSync(f(`${ref}.ref.json`), 'utf8')) as Record<string, { dtype: DType; shape: number[]; offset: number; nbytes: number }>;
  const blob = readFileSync(f(`${ref}.ref.bin`));
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(index).sort(), 'tensor names');
  for (const [k, r] of Object.entries(index)) {
    const t = tensors.get(k)!;
    assert.equal(t.dtype, r.dtype, `${k} dtype`);
    assert.deepEqual(t.shape, r.shape, `${k} shape`);
    assert.equal(t.data.length, numel(r.shape), `${k} length`);
    assert.ok(bytesOf(t).equals(blob.subarray(r.offset, r.offset + r.nbytes)), `${k} values differ from torch`);
  }
}

async function rejects(p: Promise<unknown>, code: CheckpointErrorCode, message?: RegExp): Promise<CheckpointError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const asMap = (v: unknown) => v as Map<unknown, unknown>;
const tensorsOf = (v: unknown): TensorMap => new Map([...asMap(v)].map(([k, x]) => [String(k), x as HostTensor]));

describe('PyTorch zip checkpoints written by torch.save', () => {
  test('a full state dict (nn.Module.state_dict with _metadata) equals torch bit for bit', async () => {
    const c = await loadCheckpoint(f('full.pt'));
    assert.equal(c.format, 'torch-zip');
    assertSameAsTorch(c.tensors, 'full');
    assert.deepEqual(c.files, [f('full.pt')]);
    assert.equal(c.sha256, execFileSync('sha256sum', [f('full.pt')]).toString().split(' ')[0]);
  });

  test('an open_clip training checkpoint: state_dict unwrapped, module. stripped, optimizer ignored', async () => {
    const c = await loadCheckpoint(f('train.pt'));
    assertSameAsTorch(c.tensors, 'train');
    // The rest of the object graph is plain data, read without evaluating anything.
    const root = asMap(await readTorchZip(f('train.pt')));
    assert.equal(root.get('epoch'), 5);
    assert.equal(root.get('name'), 'hlip-run');
    assert.equal(root.get('big'), 2n ** 70n);
    assert.equal(root.get('neg'), -3);
    assert.deepEqual(root.get('flags'), [true, false, null, 1.5, Uint8Array.of(0x61, 0x62)]);
    const opt = asMap(root.get('optimizer'));
    const group = asMap((opt.get('param_groups') as unknown[])[0]);
    assert.deepEqual(group.get('betas'), [0.9, 0.98]);
    assert.equal(group.get('weight_decay'), 0.2);
    const s0 = asMap(asMap(opt.get('state')).get(0));
    assert.equal((s0.get('exp_avg') as HostTensor).dtype, 'float32');
    assert.equal(asMap(root.get('scaler')).get('scale'), 65536);
  });

  test('a visual-only checkpoint of nn.Parameters under "model"', async () => {
    const c = await loadCheckpoint(f('visual_only.pt'));
    assertSameAsTorch(c.tensors, 'visual_only');
    const spec = detectModelSpec(c);
    assert.equal(spec.text, undefined);
    assert.equal(spec.visual?.pool, 'token');
    assert.deepEqual(spec.visual?.patchSize, [8, 16, 16]);
    assert.equal(spec.visual?.maxNumScans, 40);
  });

  test('float16, bfloat16, float64, integer and bool tensors, scalars and empty tensors', async () => {
    const tensors = tensorsOf(await readTorchZip(f('dtypes.pt')));
    assertSameAsTorch(tensors, 'dtypes');
    assert.ok(tensors.get('bf16')!.data instanceof Uint16Array);
    assert.equal(toFloat32(tensors.get('scalar')!)[0], 3.5);
    assert.equal(tensors.get('i64')!.data[0], -(2n ** 62n));
  });

  test('non-contiguous views (transpose, slices, expand, permute) come out in C order; shared storage is read once', async () => {
    const tensors = tensorsOf(await readTorchZip(f('views.pt')));
    assertSameAsTorch(tensors, 'views');
    // A contiguous slice of a shared storage is a view of the same buffer, not a copy.
    assert.equal(tensors.get('row')!.data.buffer, tensors.get('base')!.data.buffer);
  });

  test('ZIP64 and deflated archives read the same as the stored original', async () => {
    for (const name of ['zip64.pt', 'deflate.pt']) assertSameAsTorch((await loadCheckpoint(f(name))).tensors, 'full');
  });

  test('legacy (non-zip) torch.save is UNSUPPORTED with the way out', async () => {
    await rejects(loadCheckpoint(f('legacy.pt')), 'UNSUPPORTED', /re-save it with torch>=1\.6.*safetensors/);
  });
});

describe('the restricted unpickler', () => {
  test('the payloads are live: unrestricted torch.load ran one', () => assert.ok(existsSync(made.proof)));

  for (const [file, global] of [
    ['evil-system.pt', /posix\.system|os\.system/],
    ['evil-eval.pt', /(__builtin__|builtins)\.eval/],
    ['evil-popen.pt', /subprocess\.Popen/],
    ['evil-deflate.pt', /posix\.system|os\.system/],
  ] as const) {
    test(`${file} is refused (UNSAFE_PICKLE naming the global) and nothing runs`, async () => {
      const e = await rejects(loadCheckpoint(f(file)), 'UNSAFE_PICKLE', global);
      assert.match(e.message, /could run code/);
      await rejects(readTorchZip(f(file)), 'UNSAFE_PICKLE');
      assert.equal(existsSync(made.marker), false, 'the payload ran');
    });
  }
});

describe('safetensors', () => {
  test('written from the spec by Python (unpadded header: unaligned data) equals torch', async () => {
    const s = await readSafetensors(f('py.safetensors'));
    assertSameAsTorch(s.tensors, 'py');
    assert.deepEqual(s.metadata, { format: 'pt', who: 'make_checkpoints.py' });
    // In memory, unaligned tensors are copied, aligned ones viewed; values are the same either way.
    assertSameAsTorch(parseSafetensors(readFileSync(f('py.safetensors'))).tensors, 'py');
  });

  test('our writer round-trips every dtype, and torch-side names load from an HF-layout folder', async () => {
    const tensors = tensorsOf(await readTorchZip(f('dtypes.pt')));
    const out = join(tempDir('st'), 'x.safetensors');
    writeSafetensors(out, tensors, { hlip_untrained: 'true' });
    const back = await readSafetensors(out);
    assertSameAsTorch(back.tensors, 'dtypes');
    assert.deepEqual(back.metadata, { hlip_untrained: 'true' });
    assert.equal((8 + readFileSync(out).readUInt32LE(0)) % 8, 0, 'data aligned to 8 bytes');
    const c = await loadCheckpoint(f('hf'));
    assert.equal(c.format, 'safetensors');
    assertSameAsTorch(c.tensors, 'full');
  });

  test('a model folder: open_clip_config.json (HF layout) and vocab.txt are picked up; a broken config is a warning', async () => {
    const model = tempDir('hf-folder');
    copyFileSync(f('hf/model.safetensors'), join(model, 'model.safetensors'));
    copyFileSync(f('full.pt'), join(model, 'pytorch_model.bin')); // model.safetensors is preferred
    writeFileSync(join(model, 'vocab.txt'), '[PAD]\n[UNK]\n');
    const config = { model_cfg: { embed_dim: 24, vision_cfg: { timm_model_name: 'x' }, text_cfg: { context_length: 64 } }, preprocess_cfg: { mean: 0.449 } };
    writeFileSync(join(model, 'open_clip_config.json'), JSON.stringify(config));
    const c = await loadCheckpoint(model);
    assert.equal(c.path, join(model, 'model.safetensors'));
    assert.deepEqual(c.files, [join(model, 'model.safetensors'), join(model, 'open_clip_config.json')]);
    assert.deepEqual(c.openClipConfig?.modelCfg, config.model_cfg);
    assert.deepEqual(c.openClipConfig?.preprocessCfg, config.preprocess_cfg);
    assert.equal(c.vocabPath, join(model, 'vocab.txt'));
    assert.equal(detectModelSpec(c).text!.contextLength, 64);
    writeFileSync(join(model, 'open_clip_config.json'), '{"model_cfg": ');
    const broken = await loadCheckpoint(model);
    assert.equal(broken.openClipConfig, undefined);
    assert.match(broken.warnings.join('\n'), /open_clip_config\.json is not valid JSON/);
  });
});

describe('damaged files are CORRUPT with a sentence that says what is wrong', () => {
  const bad = tempDir('bad');
  const cut = (src: string, name: string, keep: (size: number) => number) => {
    const p = join(bad, name);
    copyFileSync(src, p);
    truncateSync(p, keep(readFileSync(p).length));
    return p;
  };
  const stHeader = (header: string, data = Buffer.alloc(16)) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
    const p = join(bad, `h${Math.random().toString(36).slice(2)}.safetensors`);
    writeFileSync(p, Buffer.concat([len, Buffer.from(header), data]));
    return p;
  };

  test('truncated zip', async () => {
    await rejects(loadCheckpoint(cut(f('full.pt'), 'cut.pt', (n) => Math.floor(n / 2))), 'CORRUPT', /end-of-archive record.*truncated/);
  });
  test('zip whose central directory is intact but whose data is cut short', async () => {
    // Keep the end record but drop bytes in the middle: offsets now point past the data.
    const b = readFileSync(f('full.pt'));
    const p = join(bad, 'hole.pt');
    writeFileSync(p, Buffer.concat([b.subarray(0, 1000), b.subarray(b.length - 22)]));
    await rejects(loadCheckpoint(p), 'CORRUPT');
  });
  test('truncated safetensors', async () => {
    await rejects(loadCheckpoint(cut(f('hf/model.safetensors'), 'cut.safetensors', (n) => n - 100)), 'CORRUPT', /ends at byte .* truncated/);
  });
  test('header cut off', async () => {
    await rejects(readSafetensors(cut(f('hf/model.safetensors'), 'cut2.safetensors', () => 100)), 'CORRUPT', /header claims \d+ bytes/);
  });
  test('header that is not JSON', async () => {
    await rejects(readSafetensors(stHeader('{"a": {"dtype": "F32", ')), 'CORRUPT', /not JSON/);
  });
  test('offsets past the end, wrong byte counts, overlaps', async () => {
    await rejects(readSafetensors(stHeader('{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}')), 'CORRUPT', /ends at byte 32 .* only 16 bytes/);
    await rejects(readSafetensors(stHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}')), 'CORRUPT', /needs 12 bytes/);
    await rejects(
      readSafetensors(stHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}')),
      'CORRUPT',
      /overlap/,
    );
    await rejects(readSafetensors(stHeader('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}')), 'UNSUPPORTED', /C64/);
  });
  test('random byte damage gives a CheckpointError or a load, never a raw exception', async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (const name of ['views.pt', 'dtypes.pt', 'py.safetensors']) {
      const orig = readFileSync(f(name));
      for (let i = 0; i < 100; i++) {
        const b = Buffer.from(orig);
        for (let k = 1 + Math.floor(rnd() * 8); k > 0; k--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        const p = join(bad, `fuzz-${name}`);
        writeFileSync(p, b);
        await loadCheckpoint(p).catch((e: unknown) => assert.ok(e instanceof CheckpointError, `${name} mutant ${i}: ${e}`));
      }
    }
  });
  test('neither format, and missing paths', async () => {
    const p = join(bad, 'text.bin');
    writeFileSync(p, 'hello, this is not a model at all');
    await rejects(loadCheckpoint(p), 'CORRUPT', /neither safetensors nor a PyTorch/);
    await rejects(loadCheckpoint(join(bad, 'nope.pt')), 'NOT_FOUND');
    const empty = join(bad, 'empty-dir');
    mkdirSync(empty);
    await rejects(loadCheckpoint(empty), 'NOT_FOUND', /no weights file/);
  });
});

// ---- variant inference on synthetic state dicts (shapes as HLIP's; one zero buffer per size keeps them cheap) ----

interface Synth {
  C?: number;
  depth?: number;
  patch?: number[];
  grid?: number[];
  pool?: 'token' | 'dinotxt';
  reg?: number;
  seq?: number;
  text?: boolean;
}

function synth(o: Synth): TensorMap {
  const { C = 768, depth = 12, patch = [6, 16, 16], grid = [8, 14, 14], pool = 'dinotxt', reg = 0, seq = 0, text = true } = o;
  const buffers = new Map<number, Float32Array>();
  const t: TensorMap = new Map();
  const put = (name: string, shape: number[]) => {
    const n = numel(shape);
    if (!buffers.has(n)) buffers.set(n, new Float32Array(n));
    t.set(name, { dtype: 'float32', shape, data: buffers.get(n)! });
  };
  put('visual.trunk.cls_token', [1, 1, C]);
  if (reg) put('visual.trunk.reg_token', [1, reg, C]);
  put('visual.trunk.spatial_posemb', [1, ...grid, C]);
  if (seq) put('visual.trunk.sequential_posemb', [1, seq, C]);
  put('visual.trunk.patch_embed.proj.weight', [C, 1, ...patch]);
  put('visual.trunk.patch_embed.proj.bias', [C]);
  for (let b = 0; b < depth; b++) {
    for (const [n, shape] of [['norm1', [C]], ['attn.qkv', [3 * C, C]], ['attn.proj', [C, C]], ['norm2', [C]], ['mlp.fc1', [4 * C, C]], ['mlp.fc2', [C, 4 * C]]] as const) {
      put(`visual.trunk.blocks.${b}.${n}.weight`, [...shape]);
      put(`visual.trunk.blocks.${b}.${n}.bias`, [shape[0]]);
    }
  }
  put('visual.trunk.norm.weight', [C]);
  put('visual.trunk.norm.bias', [C]);
  const E = pool === 'dinotxt' ? 768 : 512;
  put('visual.head.proj.weight', [E, pool === 'dinotxt' ? 2 * C : C]);
  if (text) {
    const H = 64;
    const e = 'text.transformer.embeddings';
    put(`${e}.word_embeddings.weight`, [100, H]);
    put(`${e}.position_embeddings.weight`, [512, H]);
    put(`${e}.token_type_embeddings.weight`, [2, H]);
    put(`${e}.LayerNorm.weight`, [H]);
    put(`${e}.LayerNorm.bias`, [H]);
    for (let l = 0; l < 3; l++) {
      const p = `text.transformer.encoder.layer.${l}`;
      for (const q of ['query', 'key', 'value']) (put(`${p}.attention.self.${q}.weight`, [H, H]), put(`${p}.attention.self.${q}.bias`, [H]));
      put(`${p}.attention.output.dense.weight`, [H, H]);
      put(`${p}.attention.output.dense.bias`, [H]);
      put(`${p}.intermediate.dense.weight`, [256, H]);
      put(`${p}.intermediate.dense.bias`, [256]);
      put(`${p}.output.dense.weight`, [H, 256]);
      put(`${p}.output.dense.bias`, [H]);
      for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) (put(`${p}.${n}.weight`, [H]), put(`${p}.${n}.bias`, [H]));
    }
    put('text.proj.weight', [E, H]);
  }
  t.set('logit_scale', { dtype: 'float32', shape: [], data: Float32Array.of(Math.log(100)) });
  if (reg) t.set('logit_bias', { dtype: 'float32', shape: [], data: Float32Array.of(-10) });
  return t;
}

const cfg = (model: string, extra: Record<string, unknown> = {}) => ({
  path: 'open_clip_config.json',
  modelCfg: { embed_dim: 768, vision_cfg: { timm_model_name: model }, text_cfg: { context_length: 256 }, ...extra },
  raw: {},
});

describe('detectModelSpec', () => {
  test('HF hlip-2025-10-08: DINO.txt, patch 6, no sequence embedding, named in the config', () => {
    const spec = detectModelSpec({ tensors: synth({}), openClipConfig: cfg('ablate_seqposemb_clip_vit_base_multiscan_h2_dinotxt1568') });
    const v = spec.visual!;
    assert.equal(v.pool, 'dinotxt');
    assert.deepEqual(v.patchSize, [6, 16, 16]);
    assert.deepEqual(v.imgSize, [48, 224, 224]);
    assert.equal(v.maxNumScans, 0);
    assert.equal(v.numHeads, 12);
    assert.equal(v.projDim, 768);
    assert.equal(v.name, 'ablate_seqposemb_clip_vit_base_multiscan_h2_dinotxt1568');
    assert.deepEqual(v.schedule, ['scan', 'scan', 'study', 'scan', 'scan', 'study', 'scan', 'scan', 'study', 'scan', 'scan', 'study']);
    assert.deepEqual(spec.warnings, []);
    assert.deepEqual(spec.text, { vocabSize: 100, hidden: 64, layers: 3, heads: 1, intermediate: 256, maxPositions: 512, typeVocab: 2, projDim: 768, contextLength: 256, layerNormEps: 1e-12 });
    assert.ok(Math.abs(spec.logitScale! - Math.log(100)) < 1e-6, 'raw log-scale kept');
  });

  test('token pool, patch 8, sequence embedding, no config: matched by structure (h2 over h3, with a warning)', () => {
    const spec = detectModelSpec({ tensors: synth({ pool: 'token', patch: [8, 16, 16], grid: [6, 14, 14], seq: 40 }) });
    const v = spec.visual!;
    assert.equal(v.name, 'vit_base_multiscan_h2_token1176');
    assert.equal(v.maxNumScans, 40);
    assert.equal(v.projDim, 512);
    assert.match(spec.warnings.join('\n'), /vit_base_multiscan_h3_token1176.*differ in attention schedule/);
  });

  test('patch 16 token588 and the chest-CT singlescan model by structure', () => {
    assert.equal(detectModelSpec({ tensors: synth({ pool: 'token', patch: [16, 16, 16], grid: [3, 14, 14], seq: 40 }) }).visual!.name, 'vit_base_multiscan_h2_token588');
    const ct = detectModelSpec({ tensors: synth({ pool: 'token', patch: [8, 24, 24], grid: [14, 14, 14], text: false }) }).visual!;
    assert.equal(ct.name, 'vit_base_singlescan_h2_token2744');
    assert.deepEqual(ct.imgSize, [112, 336, 336]);
    assert.deepEqual(ct.schedule.slice(0, 3), ['slice', 'slice', 'scan']);
  });

  test('dual DINO.txt ViT-L: register token, logit_bias, 16 heads', () => {
    const spec = detectModelSpec({ tensors: synth({ C: 1024, depth: 24, reg: 1 }) });
    const v = spec.visual!;
    assert.equal(v.name, 'ablate_seqposemb_vit_large_multiscan_h2_dualdinotxt1568');
    assert.equal(v.regTokens, 1);
    assert.equal(v.numHeads, 16);
    assert.equal(v.schedule[5], 'study');
    assert.equal(spec.logitBias, -10);
  });

  test('unknown structure: default schedule, 64-d heads, warnings; config num_heads wins', () => {
    const spec = detectModelSpec({ tensors: synth({ C: 128, depth: 4, text: false }) });
    assert.equal(spec.visual!.name, 'custom');
    assert.deepEqual(spec.visual!.schedule, ['scan', 'scan', 'study', 'scan']);
    assert.equal(spec.visual!.numHeads, 2);
    assert.match(spec.warnings.join('\n'), /matches no known HLIP variant/);
    const demo = detectModelSpec({ tensors: synth({ C: 96 }), openClipConfig: cfg('ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568', { hlip_visual: { num_heads: 4 } }) });
    assert.equal(demo.visual!.numHeads, 4);
    assert.equal(demo.visual!.schedule[2], 'study');
  });

  test('a config naming the RoPE variant is followed (no warning: the builder supports it); weights alone mean no RoPE, with a warning', () => {
    const spec = detectModelSpec({ tensors: synth({}), openClipConfig: cfg('ablate_rope_vit_base_multiscan_h2_dinotxt1568') });
    assert.equal(spec.visual!.rope, true);
    assert.doesNotMatch(spec.warnings.join('\n'), /RoPE/);
    const bare = detectModelSpec({ tensors: synth({}) });
    assert.equal(bare.visual!.rope, false);
    assert.match(bare.warnings.join('\n'), /ablate_rope_vit_base_multiscan_h2_dinotxt1568 has exactly these weights/, 'the user is told RoPE cannot be seen');
  });

  test('NOT_HLIP for a ResNet, naming what was expected', async () => {
    const c = await loadCheckpoint(f('resnet.pt'));
    assert.throws(() => detectModelSpec(c), (e: unknown) => e instanceof CheckpointError && e.code === 'NOT_HLIP' && /visual\.trunk\.patch_embed.*conv1\.weight/.test(e.message));
  });

  test('real checkpoint end to end: the torch-written state dict infers as DINO.txt patch 6 with both towers', async () => {
    const spec = detectModelSpec(await loadCheckpoint(f('full.pt')));
    assert.equal(spec.visual!.depth, 3);
    assert.equal(spec.visual!.pool, 'dinotxt');
    assert.equal(spec.text!.layers, 2);
    assert.ok(Math.abs(spec.logitScale! - 2.6592) < 1e-6);
  });

  test('every known variant is recognised from its own structure', () => {
    for (const [name, v] of Object.entries(KNOWN_VARIANTS)) {
      const spec = detectModelSpec({
        tensors: synth({ C: v.embed_dim, depth: v.depth, patch: v.patch_size, grid: v.img_size.map((s, i) => s / v.patch_size[i]), pool: v.pool === 'dinotxt' ? 'dinotxt' : 'token', reg: v.reg_tokens, seq: v.max_num_scans > 1 ? v.max_num_scans : 0, text: false }),
        openClipConfig: cfg(name),
      });
      assert.equal(spec.visual!.name, name);
      assert.equal(spec.visual!.numHeads, v.num_heads);
      assert.deepEqual(spec.warnings, [], name);
    }
  });
});
