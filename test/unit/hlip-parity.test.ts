/**
 * Parity of the ONNX graphs with the PyTorch reference (tools/hlip_ref, fixtures in .cache/hlip-ref): every variant's
 * small random checkpoint is read as safetensors and as an open_clip .pt through loadCheckpoint + detectModelSpec, both
 * towers are built and run with onnxruntime-node, and the outputs are compared with the reference's.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { detectModelSpec, loadCheckpoint } from '../../src/hlip/checkpoint';
import { buildTextOnnx, buildVisualOnnx } from '../../src/hlip/graph';
import { readNpy } from '../../src/hlip/export/npy';
import { fixture, ROOT } from '../fixtures';
import { minCosine } from '../oracles';

const REF = join(ROOT, '.cache', 'hlip-ref');
const dir = mkdtempSync(join(tmpdir(), 'hlip-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Case { case: string; variant: string; unsupported: string | null; checkpoint_keys: 'full' | 'visual' | 'text'; num_scans: number[] }

/** Worst figures per case, printed at the end (the report's parity table). */
const worst = new Map<string, Record<string, number>>();
function record(name: string, key: string, v: number): void {
  const r = worst.get(name) ?? {};
  r[key] = Math.max(r[key] ?? v, v);
  worst.set(name, r);
}
after(() => {
  for (const [k, v] of worst) {
    const s = Object.entries(v).map(([m, x]) => `${m}=${x.toExponential(1)}`).join(' ');
    console.log(`parity ${k}: ${s}`);
  }
});

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const maxOf = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
interface F32Array { data: Float32Array; shape: number[] }
const npyF32 = (p: string): F32Array => {
  const a = readNpy(p);
  assert.equal(a.dtype, 'float32', p);
  return { data: a.data as Float32Array, shape: a.shape };
};

const indexPath = join(REF, 'index.json');
const cases: Case[] = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { cases: Case[] }).cases : [];

test('parity fixtures are present', (t) => {
  fixture(t, indexPath); // fails under CI=true, skips otherwise (bash scripts/make-hlip-fixtures.sh)
  if (existsSync(indexPath)) assert.ok(cases.length > 0);
});

for (const c of cases) {
  for (const file of ['model.safetensors', 'model.pt']) {
    test(`${c.case} (${file})`, async (t) => {
      const caseDir = fixture(t, REF, c.case, file) ? join(REF, c.case) : undefined;
      if (!caseDir) return;
      const ckpt = await loadCheckpoint(join(caseDir, file));
      const spec = detectModelSpec(ckpt);
      const tag = `${c.case}`;

      if (c.checkpoint_keys !== 'text') {
        const vcfg = spec.visual;
        assert.ok(vcfg, 'visual tower inferred');
        const path = join(dir, `${c.case}-${file}.visual.onnx`);
        // RoPE leaves no trace in the weights: only the config's model name tells (the fixture names the variant).
        assert.equal(vcfg.rope, c.variant.startsWith('ablate_rope_'), 'RoPE follows the named variant');
        assert.equal(c.unsupported, null, 'every variant has reference outputs');
        buildVisualOnnx(ckpt.tensors, vcfg, path);
        const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
        for (const N of c.num_scans) {
          const input = npyF32(join(caseDir, `input_${N}.npy`));
          const out = await s.run({ image: new ort.Tensor('float32', input.data, input.shape) });
          const exp = (name: string): F32Array => npyF32(join(caseDir, `expected_${N}_${name}.npy`));
          const E = vcfg.projDim;
          const emb = exp('embedding'), raw = exp('embedding_raw'), attn = exp('cls_attn');
          assert.deepEqual(out.embedding.dims, emb.shape);
          assert.deepEqual(out.cls_attn.dims, attn.shape);
          const cos = minCosine(out.embedding_raw.data as Float32Array, raw.data, E);
          const dEmb = maxAbs(out.embedding.data as Float32Array, emb.data);
          const dRaw = maxAbs(out.embedding_raw.data as Float32Array, raw.data) / maxOf(raw.data);
          const dAttn = maxAbs(out.cls_attn.data as Float32Array, attn.data);
          record(tag, '1-cos', 1 - cos);
          record(tag, 'emb', dEmb);
          record(tag, 'raw_rel', dRaw);
          record(tag, 'cls_attn', dAttn);
          assert.ok(cos >= 0.9999, `N=${N} embedding cosine ${cos}`);
          assert.ok(dRaw <= 1e-4, `N=${N} embedding_raw relative ${dRaw}`);
          assert.ok(dAttn <= 1e-4, `N=${N} cls_attn ${dAttn}`);
          if (vcfg.pool === 'dinotxt') {
            const pp = exp('patch_proj');
            assert.deepEqual(out.patch_proj.dims, pp.shape);
            const dPP = maxAbs(out.patch_proj.data as Float32Array, pp.data) / maxOf(pp.data);
            record(tag, 'patch_proj_rel', dPP);
            assert.ok(dPP <= 1e-4, `N=${N} patch_proj relative ${dPP}`);
          } else {
            assert.equal(out.patch_proj, undefined);
          }
        }
        if (vcfg.rope && file === 'model.safetensors') {
          // The comparison notices RoPE: the same weights without it land far from the reference.
          buildVisualOnnx(ckpt.tensors, { ...vcfg, rope: false }, path + '.norope.onnx');
          const s2 = await ort.InferenceSession.create(path + '.norope.onnx', { intraOpNumThreads: 2 });
          const N = c.num_scans[c.num_scans.length - 1], input = npyF32(join(caseDir, `input_${N}.npy`));
          const out = await s2.run({ image: new ort.Tensor('float32', input.data, input.shape) });
          const raw = npyF32(join(caseDir, `expected_${N}_embedding_raw.npy`));
          const d = maxAbs(out.embedding_raw.data as Float32Array, raw.data) / maxOf(raw.data);
          assert.ok(d > 1e-2, `without RoPE embedding_raw relative ${d}`);
        }
      }

      if (c.checkpoint_keys !== 'visual') {
        const tcfg = spec.text;
        assert.ok(tcfg, 'text tower inferred');
        const path = join(dir, `${c.case}-${file}.text.onnx`);
        buildTextOnnx(ckpt.tensors, tcfg, path);
        const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
        const ids = readNpy(join(caseDir, 'text_input_ids.npy')), mask = readNpy(join(caseDir, 'text_attention_mask.npy'));
        const out = await s.run({
          input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, ids.shape),
          attention_mask: new ort.Tensor('int64', mask.data as BigInt64Array, mask.shape),
        });
        const emb = npyF32(join(caseDir, 'expected_text_embedding.npy')), raw = npyF32(join(caseDir, 'expected_text_embedding_raw.npy'));
        assert.deepEqual(out.text_embedding.dims, emb.shape);
        const dEmb = maxAbs(out.text_embedding.data as Float32Array, emb.data);
        const dRaw = maxAbs(out.text_embedding_raw.data as Float32Array, raw.data) / maxOf(raw.data);
        record(tag, 'text_emb', dEmb);
        record(tag, 'text_raw_rel', dRaw);
        assert.ok(dEmb <= 1e-4, `text_embedding ${dEmb}`);
        assert.ok(dRaw <= 1e-4, `text_embedding_raw relative ${dRaw}`);
      }
    });
  }
}
