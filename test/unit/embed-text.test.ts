/**
 * `hlip embed-text`, run as a child process: token ids equal the Python WordPiece reference (test/oracles/wordpiece_ref.py),
 * embeddings equal the PyTorch reference (.cache/hlip-ref), class averages equal HLIP's, text-only checkpoints work,
 * and a missing vocabulary or text tower is a clear error.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { convertModel } from '../../src/hlip/convert/model-converter';
import { ModelCatalogue } from '../../src/hlip/models/model-catalogue';
import { fixText } from '../../src/hlip/text/text-clean';
import { readNpy } from '../../src/hlip/export/npy';
import { promptsFor, zeroShotSets } from '../../src/hlip/classify/zero-shot';
import { ROOT, SYSTEM_PYTHON, fixture } from '../fixtures';
import { numpyView, tempDir } from '../oracles';

const REF = join(ROOT, '.cache', 'hlip-ref');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const work = tempDir('embed-text');
const cache = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

interface Run { status: number; stdout: string; stderr: string }
const hlip = (...args: string[]) =>
  new Promise<Run>((res) => {
    execFile(process.execPath, ['--conditions=import', '--import', 'tsx', MAIN, ...args, '--cache', cache, '--ep', 'cpu', '--quiet'], { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });


/** Token ids of the independent Python WordPiece (the same call as tokenizer.test.ts). */
function referenceIds(texts: string[], vocabPath: string): number[][] {
  const req = join(tempDir('wp'), 'req.json');
  writeFileSync(req, JSON.stringify({ vocab: vocabPath, texts, context_length: 256 }));
  return JSON.parse(execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'wordpiece_ref.py'), req], { maxBuffer: 1 << 28 }).toString('utf8'));
}

const f32 = (p: string) => {
  const a = readNpy(p);
  assert.equal(a.dtype, 'float32', p);
  return { data: a.data as Float32Array, shape: a.shape };
};
const i64rows = (p: string): number[][] => {
  const a = readNpy(p);
  assert.equal(a.dtype, 'int64', p);
  const [n, L] = a.shape;
  const d = a.data as BigInt64Array;
  return Array.from({ length: n }, (_, r) => Array.from(d.subarray(r * L, (r + 1) * L), Number));
};
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const TEXT_ONLY = join(REF, 'text-only');
const refSentences = () => (JSON.parse(readFileSync(join(TEXT_ONLY, 'text_inputs.json'), 'utf8')) as { texts: (string | null)[] }).texts.slice(0, 3) as string[];
const figures: string[] = [];
after(() => figures.forEach((f) => console.log(`embed-text ${f}`)));

/** The reference sentences through embed-text: ids equal text_input_ids rows 0-2, embeddings within 1e-4. */
async function checkReference(caseDir: string, ckpt: string, tag: string): Promise<void> {
  const prompts = join(work, `${tag}-prompts.txt`);
  writeFileSync(prompts, `${refSentences().join('\n')}\n`);
  const out = join(work, tag);
  const r = await hlip('embed-text', '--model', ckpt, '--prompts', prompts, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const wantIds = i64rows(join(caseDir, 'text_input_ids.npy')).slice(0, 3);
  assert.deepEqual(i64rows(join(out, 'token_ids.npy')), wantIds, 'our tokenizer = the reference tokenizer on its sentences');
  assert.deepEqual(i64rows(join(out, 'attention_mask.npy')), i64rows(join(caseDir, 'text_attention_mask.npy')).slice(0, 3));
  const emb = f32(join(out, 'text_embedding.npy'));
  const E = emb.shape[1];
  const d = maxAbs(emb.data, f32(join(caseDir, 'expected_text_embedding.npy')).data.subarray(0, 3 * E));
  const dRaw = maxAbs(f32(join(out, 'text_embedding_raw.npy')).data, f32(join(caseDir, 'expected_text_embedding_raw.npy')).data.subarray(0, 3 * E));
  assert.ok(d <= 1e-4, `${tag}: text_embedding differs by ${d}`);
  assert.ok(dRaw <= 1e-4, `${tag}: text_embedding_raw differs by ${dRaw}`);
  figures.push(`${tag}: max |diff| embedding ${d.toExponential(1)}, raw ${dRaw.toExponential(1)}`);
  const np = numpyView(out, ['token_ids.npy', 'attention_mask.npy', 'text_embedding.npy', 'text_embedding_raw.npy']);
  assert.deepEqual(np['token_ids.npy'], { version: [1, 0], shape: [3, 256], dtype: '<i8', fortran: false, finite: true });
  assert.deepEqual(np['attention_mask.npy'], { version: [1, 0], shape: [3, 256], dtype: '<i8', fortran: false, finite: true });
  assert.deepEqual(np['text_embedding.npy'], { version: [1, 0], shape: [3, E], dtype: '<f4', fortran: false, finite: true });
  assert.deepEqual(np['text_embedding_raw.npy'], { version: [1, 0], shape: [3, E], dtype: '<f4', fortran: false, finite: true });
}

test('a text-only checkpoint (text.* keys), safetensors and .pt: ids and embeddings equal the PyTorch reference', async (t) => {
  if (!fixture(t, TEXT_ONLY, 'model.safetensors')) return;
  await checkReference(TEXT_ONLY, join(TEXT_ONLY, 'model.safetensors'), 'text-only-st');
  await checkReference(TEXT_ONLY, join(TEXT_ONLY, 'model.pt'), 'text-only-pt');
  await checkReference(TEXT_ONLY, join(TEXT_ONLY, 'model.safetensors'), 'text-only-cached'); // converted text tower reused
});

test('token ids equal the Python WordPiece reference on varied prompts (case, punctuation, entities, accents, scripts, > 256 tokens)', async (t) => {
  if (!fixture(t, TEXT_ONLY, 'vocab.txt')) return;
  // The case's 320-token vocabulary with its tail swapped for non-Latin pieces, so those prompts split into real
  // tokens instead of [UNK] (same size: the text tower's embedding table has 320 rows). Given with --vocab.
  const base = readFileSync(join(TEXT_ONLY, 'vocab.txt'), 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
  const extra = ['α', 'β', 'οδος', '##ος', 'σ', 'мозг', '##а', 'мо', '中', '文', '脑', 'ب', 'د', '😀', 'cafe', 'nino', 'uber', 'ß', 'hemo', '##rrhage', '°'];
  const vocab = [...base.slice(0, base.length - extra.length), ...extra];
  assert.equal(vocab.length, base.length);
  const vocabPath = join(work, 'varied-vocab.txt');
  writeFileSync(vocabPath, `${vocab.join('\n')}\n`);
  const prompts = [
    'THIS STUDY SHOWS: Acute Ischemic STROKE!!',
    'hemorrhage, (left) 5.5mm; p<0.05 & q>1 [sic] {a|b} ~x^y_z `q` $10 + 3% = @home #1 "quoted"',
    'Tom &amp; Jerry &lt;b&gt; it&#39;s &#x27;x&#x27; &amp;amp; double &copy 2024 &unknown;',
    'Café niño Über naïve résumé Ångström İstanbul',
    '“curly” ‘quotes’ — dash… ellipsis',
    'ΟΔΟΣ οδος Σίσυφος αβ',
    'мозг МОЗГА',
    '脑出血 中文text混合',
    'نزيف دماغي',
    'emoji 😀 inside😀word',
    'tab\there\u00a0nbsp\u2003em',
    '[MASK] is [CLS]ed; [mask] [UNK]x',
    'pneumo'.repeat(30),
    Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '),
  ];
  const file = join(work, 'varied.txt');
  writeFileSync(file, `${prompts.slice(0, 5).join('\r\n')}\n\n${prompts.slice(5).join('\n')}\n`); // CRLF, a blank line: skipped
  const out = join(work, 'varied');
  const r = await hlip('embed-text', '--model', join(TEXT_ONLY, 'model.safetensors'), '--vocab', vocabPath, '--prompts', file, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const ids = i64rows(join(out, 'token_ids.npy'));
  assert.equal(ids.length, prompts.length);
  // The Python reference has no ftfy (not installed): it gets the prompts after our ftfy step (fixText, checked on its
  // own in tokenizer.test.ts); the html/whitespace clean-up, normalisation and WordPiece are the reference's own.
  const want = referenceIds(prompts.map((p) => fixText(p)), vocabPath);
  assert.ok(prompts.filter((p) => fixText(p) === p).length >= 10, 'most prompts untouched by ftfy');
  prompts.forEach((p, i) => assert.deepEqual(ids[i], want[i], p));
  const unk = vocab.indexOf('[UNK]');
  assert.ok(ids[7].filter((x) => x !== unk && x > 4).length >= 4, 'the CJK prompt uses the added pieces');
  const mask = i64rows(join(out, 'attention_mask.npy'));
  ids.forEach((row, i) => assert.deepEqual(mask[i], row.map((x) => (x === 0 ? 0 : 1))));
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  assert.deepEqual(meta.texts, prompts);
  assert.deepEqual(meta.truncated, [prompts.length - 1], 'the 300-word prompt is cut to 256 tokens');
  assert.equal(ids[prompts.length - 1][255], vocab.indexOf('[SEP]'), '[SEP] kept last');
});

/** Class averages recomputed here (float64): each text embedding normalised, averaged per class, renormalised. */
function averages(emb: Float32Array, E: number, counts: number[]): Float64Array {
  const out = new Float64Array(counts.length * E);
  let row = 0;
  counts.forEach((n, c) => {
    for (let k = 0; k < n; k++, row++) {
      const v = emb.subarray(row * E, (row + 1) * E);
      const norm = Math.hypot(...v);
      for (let j = 0; j < E; j++) out[c * E + j] += v[j] / norm / n;
    }
    const norm = Math.hypot(...out.subarray(c * E, (c + 1) * E));
    for (let j = 0; j < E; j++) out[c * E + j] /= norm;
  });
  return out;
}

async function checkClasses(ckpt: string, tag: string, set = 'mri'): Promise<{ out: string; classEmb: Float32Array }> {
  const out = join(work, tag);
  const r = await hlip('embed-text', '--model', ckpt, '--classes', set, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const groups = promptsFor(zeroShotSets()[set]);
  const classes = JSON.parse(readFileSync(join(out, 'classes.json'), 'utf8'));
  assert.equal(classes.set, set);
  assert.equal(classes.classes.length, groups.length);
  assert.deepEqual(classes.classes.map((c: { className: string }) => c.className), groups.map((g) => g.className));
  assert.deepEqual(classes.classes.map((c: { texts: string[] }) => c.texts), groups.map((g) => g.texts));
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  assert.deepEqual(meta.texts, groups.flatMap((g) => g.texts), 'text_embedding rows follow classes.json order');
  classes.classes.forEach((c: { firstText: number; texts: string[] }, i: number) => assert.equal(meta.texts[c.firstText], groups[i].texts[0]));
  const emb = f32(join(out, 'text_embedding.npy'));
  const cls = f32(join(out, 'class_embeddings.npy'));
  const E = emb.shape[1];
  assert.deepEqual(cls.shape, [groups.length, E]);
  for (let c = 0; c < groups.length; c++) assert.ok(Math.abs(Math.hypot(...cls.data.subarray(c * E, (c + 1) * E)) - 1) < 1e-5, `row ${c} is unit norm`);
  const d = maxAbs(cls.data, averages(emb.data, E, groups.map((g) => g.texts.length)));
  assert.ok(d <= 1e-6, `class averages differ by ${d}`);
  const np = numpyView(out, ['class_embeddings.npy', 'token_ids.npy']);
  assert.deepEqual(np['class_embeddings.npy'], { version: [1, 0], shape: [groups.length, E], dtype: '<f4', fortran: false, finite: true });
  assert.deepEqual(np['token_ids.npy'].shape, [meta.texts.length, 256]);
  return { out, classEmb: cls.data };
}

test('--classes mri: 74 unit-norm class rows, the average of the text embeddings; pubbrain5: 5', async (t) => {
  if (!fixture(t, TEXT_ONLY, 'model.safetensors')) return;
  const { out } = await checkClasses(join(TEXT_ONLY, 'model.safetensors'), 'classes-mri');
  assert.equal(f32(join(out, 'class_embeddings.npy')).shape[0], 74);
  assert.equal(f32(join(out, 'text_embedding.npy')).shape[0], 74 * 18);
  await checkClasses(join(TEXT_ONLY, 'model.safetensors'), 'classes-pubbrain5', 'pubbrain5');
});

test('a full checkpoint (through the model store): reference embeddings, and class rows equal the ones classify scores with', async (t) => {
  const caseDir = join(REF, 'vit_base_multiscan_h2_token588');
  if (!fixture(t, caseDir, 'model.safetensors')) return;
  const ckpt = join(caseDir, 'model.safetensors');
  await checkReference(caseDir, ckpt, 'full'); // converts: both towers + the store's class embeddings
  const { classEmb } = await checkClasses(ckpt, 'full-mri');
  const store = new ModelCatalogue(cache);
  const entry = await convertModel(store, ckpt); // a cache hit: the entry the CLI converted
  const stored = store.classEmbeddings(entry).get('mri')!;
  const d = maxAbs(classEmb, stored);
  assert.ok(d <= 1e-6, `embed-text's mri rows differ from the store's by ${d}`);
});

test('no vocabulary, no text tower, a vocabulary too large, or bad flags: clear errors, nothing converted', async (t) => {
  if (!fixture(t, TEXT_ONLY, 'model.safetensors')) return;
  const prompts = join(work, 'err-prompts.txt');
  writeFileSync(prompts, 'This study shows: glioma.\n');
  const lone = join(work, 'lone');
  mkdirSync(lone, { recursive: true });
  copyFileSync(join(TEXT_ONLY, 'model.safetensors'), join(lone, 'model.safetensors'));
  const before = existsSync(cache) ? readdirSync(cache).length : 0;
  const noVocab = await hlip('embed-text', '--model', join(lone, 'model.safetensors'), '--prompts', prompts, '--out', join(work, 'e1'));
  assert.equal(noVocab.status, 1);
  assert.match(noVocab.stderr, /no vocab\.txt beside .*pass --vocab .*\[NO_VOCAB\]/);
  assert.doesNotMatch(noVocab.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(cache) ? readdirSync(cache).length : 0, before, 'failed before any conversion (no demo vocabulary fallback)');

  const visualOnly = join(REF, 'visual-only', 'model.safetensors');
  if (existsSync(visualOnly)) {
    const r = await hlip('embed-text', '--model', visualOnly, '--vocab', join(TEXT_ONLY, 'vocab.txt'), '--prompts', prompts, '--out', join(work, 'e2'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has no text tower .*\[NO_TEXT_TOWER\]/);
  }
  const big = join(work, 'big-vocab.txt');
  writeFileSync(big, `${[...readFileSync(join(TEXT_ONLY, 'vocab.txt'), 'utf8').trim().split('\n'), ...Array.from({ length: 50 }, (_, i) => `extra${i}`)].join('\n')}\n`);
  const tooBig = await hlip('embed-text', '--model', join(TEXT_ONLY, 'model.safetensors'), '--vocab', big, '--prompts', prompts, '--out', join(work, 'e3'));
  assert.equal(tooBig.status, 1);
  assert.match(tooBig.stderr, /370 tokens but the text tower's embedding table only 320.*\[VOCAB_MISMATCH\]/);
  for (const args of [['--classes', 'nope'], ['--classes', 'mri', '--prompts', prompts], []]) {
    const r = await hlip('embed-text', '--model', join(TEXT_ONLY, 'model.safetensors'), ...args, '--out', join(work, 'e4'));
    assert.equal(r.status, 2, `${args.join(' ')}: usage error`);
  }
  assert.ok(!['e1', 'e2', 'e3', 'e4'].some((d) => existsSync(join(work, d))), 'no output written');
});
