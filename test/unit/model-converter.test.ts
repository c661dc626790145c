/**
 * Model conversion (convertModel into a ModelCatalogue) on real checkpoints (the demo model's HLIP architecture with seeded random weights): conversion to ONNX,
 * class embeddings through the inference worker, the cache across store instances, atomic cancel, vocab fallback.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadCheckpoint, writeSafetensors } from '../../src/hlip/checkpoint';
import { writeDemoModel } from '../../src/hlip/demo/demo-model';
import { CancelledError, HlipEngine } from '../../src/hlip/inference/engine';
import { convertModel } from '../../src/hlip/convert/model-converter';
import { CATALOGUE_VERSION, ModelCatalogue } from '../../src/hlip/models/model-catalogue';
import { zeroShotSets } from '../../src/hlip/classify/zero-shot';

const WORKER = join(__dirname, '../../src/hlip/inference/inference-worker.ts');

let dir: string;
let engine: HlipEngine;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hlip-store-'));
  engine = await HlipEngine.start({ workerScript: WORKER, providers: ['cpu'] });
});
after(async () => {
  await engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('model conversion into the catalogue', () => {
  const root = () => join(dir, 'models');

  test('converts a checkpoint folder: ONNX towers, vocab, class embeddings per set, manifest', async () => {
    const ckptDir = join(dir, 'demo');
    writeDemoModel(ckptDir);
    const stages: [string, number][] = [];
    const store = new ModelCatalogue(root());
    const e = await convertModel(store, ckptDir, { engine, onProgress: (s, f) => stages.push([s, f]) });
    const m = e.manifest;
    assert.equal(m.id.length, 16);
    assert.equal(e.dir, join(root(), m.id));
    assert.ok(statSync(e.visualPath).size > 0 && existsSync(e.visualPath + '.data'));
    assert.ok(e.textPath && existsSync(e.textPath));
    assert.ok(e.vocabPath && existsSync(e.vocabPath));
    assert.equal(m.vocab, 'checkpoint');
    assert.equal(m.untrained, true);
    assert.equal(m.name, 'demo');
    assert.ok(m.text && m.visual.projDim === m.text.projDim);
    assert.equal(typeof m.logitScale, 'number');
    const sets = zeroShotSets();
    assert.deepEqual(Object.keys(m.sets).sort(), Object.keys(sets).sort());
    const emb = store.classEmbeddings(e);
    for (const [id, s] of Object.entries(m.sets)) {
      assert.deepEqual(s.classes, sets[id].classnames);
      const v = emb.get(id)!;
      assert.equal(v.length, s.rows * s.dim);
      for (let r = 0; r < s.rows; r++) assert.ok(Math.abs(Math.hypot(...v.subarray(r * s.dim, (r + 1) * s.dim)) - 1) < 1e-4, `${id} row ${r} is unit length`);
    }
    // Progress: stages in order, fractions never go back, ends at 1.
    const fractions = stages.map(([, f]) => f);
    assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b));
    assert.equal(stages.at(-1)![1], 1);
    assert.ok(stages.some(([s]) => /Embedding/.test(s)));
    assert.deepEqual(readdirSync(root()).filter((n) => n.startsWith('.tmp')), [], 'no temp folder left');

    // A new store on the same folder (a later session) reuses it without converting.
    const stages2: string[] = [];
    const again = await convertModel(new ModelCatalogue(root()), join(ckptDir, 'model.safetensors'), { engine, onProgress: (s) => stages2.push(s) });
    assert.equal(again.manifest.id, m.id);
    assert.equal(again.manifest.created, m.created);
    assert.ok(!stages2.some((s) => /Building|Embedding/.test(s)), stages2.join(', '));
    // The weights' hash is remembered by path, size and mtime: the next cache check does not read 800 MB again.
    assert.ok(Object.values(JSON.parse(readFileSync(join(root(), '.hashes.json'), 'utf8'))).includes(m.sha256));
    assert.deepEqual((await store.list()).map((x) => x.manifest.id), [m.id]);
    assert.equal((await store.get(m.id))?.manifest.sha256, m.sha256);
    assert.equal(await store.get('../../etc'), undefined);
    assert.deepEqual(store.outdated(), []);

    // A model converted by an earlier version is left out of get/list, listed as outdated with its source, and
    // converted again from it under the same id (the extension does so for the active model).
    const manifestPath = join(e.dir, 'manifest.json');
    writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), version: 2 }));
    assert.equal(await store.get(m.id), undefined);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(store.outdated(), [{ id: m.id, name: 'demo', source: m.source }]);
    const renewed = await convertModel(store, m.source, { engine });
    assert.equal(renewed.manifest.id, m.id);
    assert.equal(renewed.manifest.version, CATALOGUE_VERSION);
    assert.deepEqual(store.outdated(), []);
    assert.deepEqual((await store.list()).map((x) => x.manifest.id), [m.id]);
  });

  test('cancel mid-conversion leaves nothing; a checkpoint without vocab.txt gets the demo vocab and a warning', async () => {
    const ckptDir = join(dir, 'novocab');
    writeDemoModel(ckptDir, 7);
    unlinkSync(join(ckptDir, 'vocab.txt'));
    const store = new ModelCatalogue(root());
    const before = readdirSync(root()).sort();
    const ac = new AbortController();
    await assert.rejects(
      convertModel(store, ckptDir, { engine, signal: ac.signal, onProgress: (s) => /Embedding/.test(s) && ac.abort() }),
      (e: unknown) => e instanceof CancelledError,
    );
    assert.deepEqual(readdirSync(root()).sort(), before, 'no entry and no temp folder');

    const e = await convertModel(store, ckptDir, { engine });
    assert.equal(e.manifest.vocab, 'demo');
    assert.ok(e.manifest.warnings.some((w) => /demo vocabulary/.test(w)));
    assert.equal((await store.list()).length, 2);
    // The engine the caller passed kept working (conversion used a sibling worker).
    assert.equal(await store.remove(e.manifest.id), true);
    assert.equal(await store.get(e.manifest.id), undefined);
    await store.clear();
    assert.deepEqual(await store.list(), []);
  });

  test('a trained checkpoint without vocab.txt converts without zero-shot sets (never a stand-in vocabulary); its head-CT windows come from its config', async () => {
    const ckptDir = join(dir, 'trained-novocab');
    writeDemoModel(ckptDir, 8);
    unlinkSync(join(ckptDir, 'vocab.txt'));
    // The same weights without the untrained marks (safetensors metadata and config flag): a "real" checkpoint.
    const weights = join(ckptDir, 'model.safetensors');
    writeSafetensors(weights, (await loadCheckpoint(weights)).tensors);
    const cfgPath = join(ckptDir, 'open_clip_config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    delete cfg.hlip_untrained;
    cfg.hlip_ct_windows = [{ name: 'brain', center: 35, width: 90 }, { name: 'bone', center: 500, width: 2000 }];
    writeFileSync(cfgPath, JSON.stringify(cfg));

    const e = await convertModel(new ModelCatalogue(root()), ckptDir, { engine });
    assert.equal(e.manifest.untrained, undefined);
    assert.equal(e.manifest.vocab, undefined);
    assert.deepEqual(e.manifest.sets, {});
    assert.equal(e.vocabPath, undefined);
    assert.ok(e.manifest.warnings.some((w) => /No vocab\.txt.*zero-shot scores are off/.test(w)), e.manifest.warnings.join('; '));
    // The model's own head-CT windows travel in its config (HLIP does not publish the ones it used).
    assert.deepEqual(e.manifest.ctWindows, [{ name: 'brain', center: 35, width: 90 }, { name: 'bone', center: 500, width: 2000 }]);
  });
});
