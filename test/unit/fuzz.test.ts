/**
 * Hostile and damaged inputs, each opened in a child process that is judged from outside (test/fuzz/pool.ts): every case
 * must end in a result or a typed CodedError, within 10 s and under 1 GiB resident, writing nothing outside its temp
 * cache (the child runs under Node's permission model with writes allowed there only).
 *  - a corpus of hand-made hostile checkpoints (test/fuzz/hostile.ts), each with the error code it must give;
 *  - a seeded, time-bounded mutation campaign over real NIfTI, DICOM (every transfer syntax in the fixtures) and
 *    checkpoint files (FUZZ_MS, default 45 s; FUZZ_SEED). The long run is `npm run bench:fuzz`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SEED_FILES, runCampaign } from '../fuzz/campaign';
import { writeHostileCorpus } from '../fuzz/hostile';
import { CasePool } from '../fuzz/pool';
import { fixture } from '../fixtures';

const cache = mkdtempSync(join(tmpdir(), 'hlip-fuzz-'));
after(() => rmSync(cache, { recursive: true, force: true }));
const LIMITS = { timeoutMs: 10_000, maxRssBytes: 2 ** 30 };

test('hostile checkpoints: each attack ends in its typed error, fast, in bounded memory, and runs nothing', async () => {
  const corpus = writeHostileCorpus(join(cache, 'corpus'));
  const pool = new CasePool({ cacheDir: cache, ...LIMITS });
  const wrong: string[] = [];
  let slowest = 0;
  try {
    for (const c of corpus) {
      const r = await pool.run('checkpoint', c.path);
      slowest = Math.max(slowest, r.ms);
      if (r.outcome !== 'typed' || !c.codes.includes(r.code!)) wrong.push(`${c.name}: ${r.outcome} ${r.code ?? ''} ${r.message ?? ''}`);
    }
  } finally {
    pool.close();
  }
  assert.deepEqual(wrong, [], wrong.join('\n'));
  assert.ok(corpus.length >= 40, `${corpus.length} cases`);
  // The payloads would have left these behind; the path-traversal entries would have been written here.
  for (const p of ['/tmp/hlip-pwned', '/tmp/hlip-fuzz-evil', '/tmp/hlip-fuzz-evil-abs']) assert.ok(!existsSync(p), `${p} exists`);
  assert.ok(slowest < 5000, `slowest case ${slowest} ms`);
});

test('the pool catches what it must: a hang and a memory blow-up are counted, not fatal', async (t) => {
  // The judge itself must be able to fail: a worker that never answers and one that allocates without bound.
  const pool = new CasePool({ cacheDir: cache, timeoutMs: 1500, maxRssBytes: 400 * 2 ** 20 });
  try {
    const fifo = join(cache, 'never.fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]); // reading a FIFO nobody writes blocks forever
    const hang = await pool.run('volume', fifo);
    assert.equal(hang.outcome, 'hang', JSON.stringify(hang));
    const big = await pool.run('grow-memory', '');
    assert.equal(big.outcome, 'memory', JSON.stringify(big));
    assert.ok(big.peakRss > 400 * 2 ** 20);
    const ok = await pool.run('volume', fixture(t, SEED_FILES[0].path) ?? SEED_FILES[0].path);
    assert.equal(ok.outcome, 'ok', 'a fresh worker replaces the killed one');
  } finally {
    pool.close();
  }
});

test(`mutation fuzzing over ${SEED_FILES.length} real files: results or typed errors only`, async (t) => {
  const seeds = SEED_FILES.filter((s) => fixture(t, s.path));
  if (seeds.length === 0) return;
  const seed = Number(process.env.FUZZ_SEED ?? 20261201);
  const report = await runCampaign({ seeds, seed, cacheDir: cache, maxMs: Number(process.env.FUZZ_MS ?? 45_000), ...LIMITS });
  t.diagnostic(`seed ${seed}: ${report.cases} mutants in ${(report.ms / 1000).toFixed(1)} s; ${JSON.stringify(report.table)}; codes ${JSON.stringify(report.codes)}; slowest ${report.slowestMs} ms; peak ${(report.peakRss / 2 ** 20).toFixed(0)} MiB`);
  assert.deepEqual(report.bad, [], report.bad.map((b) => `${b.file} #${b.index} ${b.mutation}: ${b.outcome} ${b.message}`).join('\n'));
  assert.ok(report.cases >= seeds.length * 6, `only ${report.cases} cases ran`);
  assert.ok(report.table.ok > 0 && report.table.typed > 0, 'mutants should both load and fail');
  // Everything the children wrote stayed in the cache (the permission model refuses other writes outright).
  assert.deepEqual(readdirSync(cache).filter((n) => !['corpus', 'mutants', 'never.fifo'].includes(n) && !n.startsWith('tsx-')), []);
});
