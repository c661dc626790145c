/**
 * npm run bench:fuzz [-- --cases N --seed S]: the long mutation campaign of test/unit/fuzz.test.ts (default 20,000
 * mutants over NIfTI, every DICOM transfer syntax in the fixtures and both checkpoint formats, fixed seed) plus the
 * hostile checkpoint corpus. Prints mutants per second and the outcome table (ok / typed / untyped / hang / memory /
 * crash); exits 1 when anything but ok or typed was seen. Each case runs in a child judged from outside: 10 s, 1 GiB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SEED_FILES, runCampaign } from '../test/fuzz/campaign';
import { writeHostileCorpus } from '../test/fuzz/hostile';
import { CasePool, OUTCOMES } from '../test/fuzz/pool';

async function main() {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '20000' }, seed: { type: 'string', default: '20261201' } } });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const cache = mkdtempSync(join(tmpdir(), 'hlip-bench-fuzz-'));
  const limits = { timeoutMs: 10_000, maxRssBytes: 2 ** 30 };
  try {
    const corpus = writeHostileCorpus(join(cache, 'corpus'));
    const pool = new CasePool({ cacheDir: cache, ...limits });
    let expected = 0;
    const wrong: string[] = [];
    for (const c of corpus) {
      const r = await pool.run('checkpoint', c.path);
      if (r.outcome === 'typed' && c.codes.includes(r.code!)) expected++;
      else wrong.push(`  ${c.name}: ${r.outcome} ${r.code ?? ''} ${r.message ?? ''}`);
    }
    pool.close();
    console.log(`hostile checkpoints: ${expected}/${corpus.length} gave their expected typed error`);
    for (const w of wrong) console.log(w);

    console.log(`mutation campaign: ${cases} mutants of ${SEED_FILES.length} files, seed ${seed}`);
    const report = await runCampaign({
      seeds: SEED_FILES, seed, cacheDir: cache, maxCases: cases, ...limits,
      onProgress: (r) => process.stderr.write(`  ${r.cases} mutants, ${(r.cases / (r.ms / 1000)).toFixed(1)}/s, ${JSON.stringify(r.table)}\n`),
    });
    const rate = report.cases / (report.ms / 1000);
    console.log(`\n${report.cases} mutants in ${(report.ms / 1000).toFixed(0)} s: ${rate.toFixed(1)} mutants/s (one child, cases in sequence)`);
    console.log('\n| outcome | count |\n|---|---|');
    for (const k of OUTCOMES) console.log(`| ${k} | ${report.table[k]} |`);
    console.log(`\ntyped error codes: ${Object.entries(report.codes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`slowest case ${report.slowestMs} ms; peak resident ${(report.peakRss / 2 ** 20).toFixed(0)} MiB`);
    for (const b of report.bad) console.log(`  ${b.file} #${b.index} ${b.mutation}: ${b.outcome} ${b.message ?? ''}`);
    if (wrong.length || report.bad.length) process.exitCode = 1;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
