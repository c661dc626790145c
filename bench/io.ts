/**
 * npm run bench:io — load time and peak memory of our readers next to peers measured in the same run.
 *
 * Inputs (generated once into .cache/bench/, reused): a 512x512x300 int16 .nii.gz (scl_slope 1, scl_inter -1024,
 * bench/gen_nifti.py) and the same phantom as a 300-file explicit-VR-LE CT series (test/oracles/make_series.py).
 * Every run is a fresh child process (warm-up run discarded, then BENCH_REPS runs, default 5; median reported), so
 * its peak RSS (ru_maxrss) belongs to that load alone; "net" subtracts a child of the same kind that loaded nothing.
 * Prints ratios and PASS/MISS against targets; never fails on a MISS. Results also go to bench/results/io.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const CACHE = join(ROOT, '.cache', 'bench');
const NII = join(CACHE, 'ct-512x512x300.nii.gz');
const SERIES = join(CACHE, 'ct-512x512x300-series');
const SLICES = 300;
const PY = '/usr/bin/python3';
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 5));
const VOLUME_BYTES = 512 * 512 * 300 * 2; // decoded int16 voxels: 150 MiB
const MEM_TARGET = 1.5;
const MiB = 2 ** 20;

// ---------- inputs ----------

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

function ensureInputs(): void {
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(NII)) {
    console.log(`generating ${NII} (nibabel) ...`);
    sh(PY, [join(ROOT, 'bench', 'gen_nifti.py'), `${NII}.tmp.nii.gz`]);
    renameSync(`${NII}.tmp.nii.gz`, NII);
  }
  if (!existsSync(SERIES) || readdirSync(SERIES).length !== SLICES) {
    console.log(`generating ${SERIES} (pydicom, ${SLICES} files) ...`);
    const tmp = `${SERIES}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    rmSync(SERIES, { recursive: true, force: true });
    sh(PY, [join(ROOT, 'test', 'oracles', 'make_series.py'), tmp, '--shape', '512', '512', `${SLICES}`, '--spacing', '0.5', '0.5', '1', '--scramble']);
    const n = readdirSync(tmp).length;
    if (n !== SLICES) throw new Error(`make_series.py wrote ${n} files, expected ${SLICES}`);
    renameSync(tmp, SERIES);
  }
}

// ---------- one run = one fresh process ----------

interface Sample {
  ms: number; // the measured operation (see each tool)
  peakKiB: number; // ru_maxrss of the process
  info: Record<string, unknown>; // whatever the child reported
}

type Runner = () => Sample;

/** Runs a child that prints one JSON line (last line of stdout) and returns it. */
function jsonChild(cmd: string, args: string[]): Record<string, any> {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) {
    const why = (r.stderr || String(r.error ?? '')).trim().split('\n').filter(Boolean);
    throw new Error(why.find((l) => /^\w*Error\b/.test(l)) ?? why.pop() ?? `exit ${r.status}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Our children run with this process's node flags (package.json: --conditions=import for ESM-only nifti-reader-js, tsx). */
const NODE_ARGS = process.execArgv.includes('tsx') ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
const ours = (...args: string[]) => jsonChild(process.execPath, [...NODE_ARGS, join(ROOT, 'bench', 'child-load.ts'), ...args]);
const py = (...args: string[]) => jsonChild(PY, [join(ROOT, 'bench', 'peer_nibabel.py'), ...args]);

/** Wall time and peak RSS of an external program: /usr/bin/time -v when installed, else a Python RUSAGE_CHILDREN wrapper. */
function external(cmd: string, args: string[]): { ms: number; peakKiB: number } {
  if (existsSync('/usr/bin/time')) {
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 * MiB });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(-400)}`);
    const peak = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    return { ms, peakKiB: peak ? Number(peak[1]) : NaN };
  }
  const wrapper =
    'import json,resource,subprocess,sys,time\n' +
    't=time.perf_counter(); p=subprocess.run(sys.argv[1:], capture_output=True, text=True); ms=(time.perf_counter()-t)*1000\n' +
    'sys.stderr.write(p.stdout); print(json.dumps({"ms":ms,"rc":p.returncode,"peakKiB":resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))';
  const r = jsonChild(PY, ['-c', wrapper, cmd, ...args]);
  if (r.rc !== 0) throw new Error(`${cmd} exited ${r.rc}`);
  return { ms: r.ms, peakKiB: r.peakKiB };
}

const SHM = readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === '/dev/shm' && l.split(' ')[2] === 'tmpfs');
const OUT_BASE = SHM ? '/dev/shm' : tmpdir();

function dcm2niix(): Sample {
  const out = mkdtempSync(join(OUT_BASE, 'hlip-bench-d2n-'));
  try {
    const r = external('dcm2niix', ['-z', 'n', '-b', 'n', '-o', out, SERIES]);
    const nii = readdirSync(out).filter((f) => f.endsWith('.nii'));
    if (nii.length !== 1) throw new Error(`dcm2niix wrote ${nii.length} .nii files`);
    return { ms: r.ms, peakKiB: r.peakKiB, info: { bytesWritten: statSync(join(out, nii[0])).size } };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---------- measuring ----------

interface Row {
  input: 'NIfTI .nii.gz' | 'DICOM series';
  tool: string;
  computes: string;
  samples: Sample[];
  baselineKiB: number;
  error?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Tool {
  row: Row;
  run: Runner;
  twin?: Row; // a second row filled from the same child runs (ours: load + toFloat32)
}

/**
 * Warm-up once per tool (page cache, tsx compile cache; discarded), then REPS rounds that run every tool once each,
 * interleaved, so a busy machine slows every tool alike instead of whichever happened to run during the noise.
 */
function measureAll(tools: Tool[]): void {
  const fail = (t: Tool, e: unknown) => {
    t.row.error = (e instanceof Error ? e.message : String(e)).replace(/^Error: /, '');
    if (t.twin) t.twin.error = t.row.error;
    console.log(`  ${t.row.input}: ${t.row.tool}: ERROR ${t.row.error}`);
  };
  for (const t of tools) {
    try {
      t.run();
    } catch (e) {
      fail(t, e);
    }
  }
  for (let i = 0; i < REPS; i++) {
    process.stdout.write(`  round ${i + 1}/${REPS}:`);
    for (const t of tools.filter((t) => !t.row.error)) {
      try {
        const s = t.run();
        t.row.samples.push(s);
        process.stdout.write(` ${t.row.tool.split(' ').slice(0, 2).join(' ')} ${s.ms.toFixed(0)} ms;`);
      } catch (e) {
        fail(t, e);
      }
    }
    process.stdout.write('\n');
  }
  for (const t of tools) {
    if (t.row.error) t.row.samples = [];
    if (t.twin) t.twin.samples = t.row.samples.map((s) => fromOurs(s.info, 'loadPlusFloat'));
  }
}

function baseline(run: () => number, label: string): number {
  try {
    return median(Array.from({ length: 3 }, run));
  } catch (e) {
    console.log(`  ${label} baseline: ERROR ${e instanceof Error ? e.message : e}`);
    return NaN;
  }
}

const fromOurs = (r: Record<string, any>, key: 'loadMs' | 'loadPlusFloat'): Sample => ({
  ms: key === 'loadMs' ? r.loadMs : r.loadMs + r.floatMs,
  peakKiB: key === 'loadMs' ? r.peakLoadKiB : r.peakFloatKiB,
  info: r,
});
const fromPy = (r: Record<string, any>): Sample => ({ ms: r.loadMs, peakKiB: r.peakLoadKiB, info: r });

function main() {
  ensureInputs();
  const pyVersions = sh(PY, ['-c', 'import nibabel,numpy,pydicom;print(nibabel.__version__,numpy.__version__,pydicom.__version__)']).trim().split(' ');
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    nibabel: pyVersions[0],
    numpy: pyVersions[1],
    pydicom: pyVersions[2],
    dcm2niix: (spawnSync('dcm2niix', ['--version'], { encoding: 'utf8' }).stdout || '?').trim().split('\n').pop(),
    peakRss: existsSync('/usr/bin/time') ? '/usr/bin/time -v for dcm2niix, ru_maxrss in-process otherwise' : 'ru_maxrss (RUSAGE_SELF / RUSAGE_CHILDREN)',
    loadAvgStart: loadavg()[0],
    loadAvgEnd: NaN,
    nodeChildArgs: NODE_ARGS.join(' '),
    dcm2niixOutput: SHM ? '/dev/shm (tmpfs)' : `${OUT_BASE} (not tmpfs: includes disk write)`,
  };
  console.log(`bench:io  ${machine.cpus} x ${machine.cpuModel}, ${machine.memGiB} GiB, node ${machine.node}, nibabel ${machine.nibabel}, numpy ${machine.numpy}, ${machine.dcm2niix}`);
  console.log(`load average ${machine.loadAvgStart.toFixed(1)} at start (other processes share the ${machine.cpus} cpus: tools run interleaved, medians reported)`);
  console.log(`inputs: ${NII} (${(statSync(NII).size / MiB).toFixed(1)} MiB), ${SERIES} (${SLICES} files); ${REPS} runs each after 1 warm-up\n`);

  const nodeBase = baseline(() => ours('baseline').peakLoadKiB, 'node');
  const pyBase = baseline(() => py('baseline').peakLoadKiB, 'python');
  const d2nBase = baseline(() => external('dcm2niix', ['-h']).peakKiB, 'dcm2niix');

  const row = (input: Row['input'], tool: string, computes: string, baselineKiB: number): Row => ({ input, tool, computes, baselineKiB, samples: [] });
  const oursTool = (input: Row['input'], mode: string, path: string, fn: string): Tool => ({
    row: row(input, `ours ${fn}`, 'int16 voxels + lazy rescale', nodeBase),
    twin: row(input, `ours ${fn} + toFloat32()`, 'float32 real values', nodeBase),
    run: () => fromOurs(ours(mode, path), 'loadMs'),
  });
  const tools: Tool[] = [
    oursTool('NIfTI .nii.gz', 'nifti', NII, 'readNifti'),
    { row: row('NIfTI .nii.gz', 'nibabel np.asanyarray(dataobj)', 'scaled array (float64 here)', pyBase), run: () => fromPy(py('dataobj', NII)) },
    { row: row('NIfTI .nii.gz', 'nibabel get_fdata()', 'float64 scaled', pyBase), run: () => fromPy(py('fdata', NII)) },
    oursTool('DICOM series', 'dicom', SERIES, 'openStudy'),
    { row: row('DICOM series', `dcm2niix -z n (writes to ${SHM ? '/dev/shm' : 'tmp'})`, 'int16 .nii written', d2nBase), run: dcm2niix },
    { row: row('DICOM series', 'pydicom dcmread + np.stack', 'int16 stored values', pyBase), run: () => fromPy(py('pydicom', SERIES)) },
  ];
  measureAll(tools);
  machine.loadAvgEnd = loadavg()[0];
  const rows = tools.flatMap((t) => (t.twin ? [t.row, t.twin] : [t.row]));

  // ---------- report ----------
  const stat = (r: Row) => {
    if (!r.samples.length) return undefined;
    const ms = r.samples.map((s) => s.ms);
    const peak = median(r.samples.map((s) => s.peakKiB)) / 1024;
    const net = peak - r.baselineKiB / 1024;
    return { medianMs: median(ms), minMs: Math.min(...ms), peakMiB: peak, netMiB: net, peakPerVolume: (net * MiB) / VOLUME_BYTES };
  };
  const find = (tool: string) => rows.find((r) => r.tool === tool);
  const med = (tool: string) => { const r = find(tool); return r && stat(r)?.medianMs; };
  const oursNifti = med('ours readNifti'), oursNiftiF = med('ours readNifti + toFloat32()'), oursDicom = med('ours openStudy');
  const ratioFor = (r: Row): string => {
    const s = stat(r);
    if (!s || r.tool.startsWith('ours')) return '';
    const mine = r.input.startsWith('NIfTI') ? oursNifti : oursDicom;
    if (mine === undefined) return 'n/a';
    let t = `${(mine / s.medianMs).toFixed(2)}`;
    if (r.tool.includes('get_fdata') && oursNiftiF !== undefined) t += ` (+f32: ${(oursNiftiF / s.medianMs).toFixed(2)})`;
    return t;
  };

  const header = ['input', 'tool', 'computes', 'median ms', 'min ms', 'peak MiB', 'net MiB', 'peak/volume', 'ours/peer time'];
  const table = rows.map((r) => {
    const s = stat(r);
    if (!s) return [r.input, r.tool, r.computes, `ERROR: ${r.error?.slice(0, 60)}`, '', '', '', '', ''];
    return [r.input, r.tool, r.computes, s.medianMs.toFixed(0), s.minMs.toFixed(0), s.peakMiB.toFixed(0), s.netMiB.toFixed(0), `${s.peakPerVolume.toFixed(2)}x`, ratioFor(r)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  table.forEach((row) => console.log(line(row)));

  const extra = (tool: string, key: string) => { const r = find(tool); return r?.samples.length ? median(r.samples.map((s) => s.info[key] as number)) : NaN; };
  console.log(`\nours, timed separately: range() ${extra('ours readNifti', 'rangeMs').toFixed(0)} ms (NIfTI), ${extra('ours openStudy', 'rangeMs').toFixed(0)} ms (DICOM); toFloat32() ${extra('ours readNifti', 'floatMs').toFixed(0)} ms (NIfTI), ${extra('ours openStudy', 'floatMs').toFixed(0)} ms (DICOM)`);
  console.log(`load average ${machine.loadAvgStart.toFixed(1)} -> ${machine.loadAvgEnd.toFixed(1)} on ${machine.cpus} cpus${machine.loadAvgEnd > machine.cpus ? ' (busy machine: times are noisy, compare ratios)' : ''}`);
  console.log(`volume = 512x512x300 int16 = ${VOLUME_BYTES / MiB} MiB; net = peak RSS - RSS of the same kind of process that loaded nothing (node+readers ${(nodeBase / 1024).toFixed(0)} MiB, python+numpy+nibabel+pydicom ${(pyBase / 1024).toFixed(0)} MiB, dcm2niix -h ${(d2nBase / 1024).toFixed(1)} MiB)`);
  console.log('times: ours and Python peers are timed inside the child around the load only (no interpreter start-up); dcm2niix is the whole process wall time, including writing the .nii' + (SHM ? ' to tmpfs' : ''));

  // Same voxels everywhere? (a sanity check, not a target): real values, except pydicom (stored = real + 1024)
  const ranges = rows.filter((r) => r.samples[0]?.info.range && !r.tool.includes('toFloat32')).map((r) => `${r.tool} [${(r.samples[0].info.range as number[]).join(', ')}]`);
  console.log(`value ranges: ${ranges.join('; ')}`);

  const targets = [
    // nibabel's faster path of the two (here get_fdata, oddly faster than dataobj, which is float64 too): the stricter peer
    { name: 'NIfTI time: ours readNifti <= nibabel (faster of dataobj / get_fdata)', ratio: (oursNifti ?? NaN) / Math.min(med('nibabel np.asanyarray(dataobj)') ?? NaN, med('nibabel get_fdata()') ?? NaN), max: 1 },
    { name: 'DICOM time: ours openStudy <= dcm2niix', ratio: (oursDicom ?? NaN) / (med(rows.find((r) => r.tool.startsWith('dcm2niix'))!.tool) ?? NaN), max: 1 },
    { name: `NIfTI memory: ours net peak <= ${MEM_TARGET}x volume`, ratio: stat(find('ours readNifti')!)?.peakPerVolume ?? NaN, max: MEM_TARGET },
    { name: `DICOM memory: ours net peak <= ${MEM_TARGET}x volume`, ratio: stat(find('ours openStudy')!)?.peakPerVolume ?? NaN, max: MEM_TARGET },
  ].map((t) => ({ ...t, verdict: Number.isNaN(t.ratio) ? 'N/A' : t.ratio <= t.max ? 'PASS' : 'MISS' }));
  console.log('\ntargets');
  for (const t of targets) console.log(`  ${t.verdict.padEnd(4)}  ${t.name}: ${Number.isNaN(t.ratio) ? 'not measured' : `${t.ratio.toFixed(2)}${t.max === 1 ? ' (time ratio)' : 'x'}`}`);

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const json = {
    date: new Date().toISOString(), machine, reps: REPS, volumeBytes: VOLUME_BYTES,
    inputs: { nifti: NII, series: SERIES },
    baselinesKiB: { node: nodeBase, python: pyBase, dcm2niix: d2nBase },
    rows: rows.map((r) => ({ ...r, stats: stat(r) ?? null })),
    targets,
  };
  writeFileSync(join(resultsDir, 'io.json'), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwrote ${join('bench', 'results', 'io.json')}`);
}

main();
