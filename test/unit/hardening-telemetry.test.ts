/**
 * onnxruntime-node 1.30 records usage telemetry unless ORT_DISABLE_TELEMETRY=1: an onnxruntime.db event queue and a
 * device id under $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime, mat-debug-<pid>.log files in $TMPDIR. Each
 * run below points HOME / XDG_CACHE_HOME / TMPDIR at fresh folders (with the variable unset) and looks for them:
 *  - onnxruntime loaded plainly: the files appear (so this test can fail);
 *  - the CLI end to end (`hlip embed-text`: the CLI, the conversion and the inference worker child processes);
 *  - the engine with a worker THREAD (whose process.env is a private copy: the parent must have set it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeModel, valueInfo } from '../../src/hlip/graph/onnx-proto';
import { ROOT } from '../fixtures';
import { tempDir } from '../oracles';

const work = tempDir('telemetry');
after(() => rmSync(work, { recursive: true, force: true }));

/** Every file under `dir` whose name is one of onnxruntime's telemetry files. */
function telemetryFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/^(onnxruntime\.db|deviceid|mat-debug-\d+\.log|\.ses)$/.test(n)) out.push(p.slice(dir.length + 1));
    }
  };
  walk(dir);
  return out.sort();
}

/** Runs node with a private home, cache and temp folder and no ORT_DISABLE_TELEMETRY; returns that folder's root. */
async function isolated(name: string, args: string[]): Promise<{ root: string; status: number | null; out: string }> {
  const root = join(work, name);
  for (const d of ['home', 'cache', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(root, 'home'), XDG_CACHE_HOME: join(root, 'cache'), TMPDIR: join(root, 'tmp') };
  delete env.ORT_DISABLE_TELEMETRY;
  // onnxruntime stays silent when it sees a CI build (CI=true on the CI machine): run as on a user's machine, where it
  // does record, so that both the control and the checks below mean something.
  for (const v of ['CI', 'CONTINUOUS_INTEGRATION', 'BUILD_ID', 'BUILD_NUMBER', 'RUN_ID', 'GITHUB_ACTIONS', 'TF_BUILD', 'GITLAB_CI', 'JENKINS_URL']) delete env[v];
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { env, cwd: ROOT });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('exit', (status) => resolve({ root, status, out: out.slice(-3000) }));
  });
}

const identityModel = join(work, 'identity.onnx');
writeFileSync(
  identityModel,
  encodeModel({
    irVersion: 8,
    producerName: 'telemetry-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', node: [{ name: 'id', opType: 'Identity', input: ['x'], output: ['y'], attribute: [] }], initializer: [], input: [valueInfo('x', 1, [2])], output: [valueInfo('y', 1, [2])] },
  }),
);
const runIdentity = `s.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) })`;

test('without the setting, onnxruntime writes its telemetry files (the check below can fail)', async () => {
  const r = await isolated('plain', ['-e', `const ort = require('onnxruntime-node'); ort.InferenceSession.create(${JSON.stringify(identityModel)}).then((s) => ${runIdentity}).then(() => console.log('ran'))`]);
  assert.equal(r.status, 0, r.out);
  const files = telemetryFiles(r.root);
  assert.ok(files.some((f) => f.endsWith('onnxruntime.db')), files.join(', '));
  assert.ok(files.some((f) => /mat-debug-\d+\.log$/.test(f)), files.join(', '));
});

test('the product session code: no telemetry files', async () => {
  const script = `require('tsx/cjs'); const { createSession } = require(${JSON.stringify(join(ROOT, 'src/hlip/inference/onnx-sessions.ts'))}); const ort = require('onnxruntime-node');
    createSession(${JSON.stringify(identityModel)}, ['cpu']).then(({ session: s }) => ${runIdentity}).then(() => console.log('ran'))`;
  const r = await isolated('sessions', ['-e', script]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /ran/);
  assert.deepEqual(telemetryFiles(r.root), []);
});

test('hlip embed-text end to end (CLI, conversion, inference worker): no telemetry files', async () => {
  const prompts = join(work, 'prompts.txt');
  writeFileSync(prompts, 'no acute intracranial abnormality\n');
  const model = join(ROOT, '.cache', 'hlip-ref', 'text-only');
  const r = await isolated('cli', [
    '--conditions=import', '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'embed-text', '--model', model, '--prompts', prompts,
    '--out', join(work, 'cli-out'), '--cache', join(work, 'cli', 'models'), '--ep', 'cpu', '--quiet',
  ]);
  assert.equal(r.status, 0, r.out);
  assert.ok(readdirSync(join(work, 'cli-out')).some((f) => f.startsWith('text_embedding')), 'the CLI ran inference');
  assert.deepEqual(telemetryFiles(r.root), []);
});

test('the engine with a worker thread: no telemetry files', async () => {
  const script = `require('tsx/cjs');
    const { HlipEngine } = require(${JSON.stringify(join(ROOT, 'src/hlip/inference/engine.ts'))});
    (async () => {
      const e = await HlipEngine.start({ workerScript: ${JSON.stringify(join(ROOT, 'src/hlip/inference/inference-worker.ts'))}, providers: ['cpu'], isolation: 'thread' });
      try { await e.load({ visualPath: ${JSON.stringify(identityModel)} }); } catch (err) { console.log('load:', err.message); }
      await e.dispose();
      console.log('ran');
    })();`;
  const r = await isolated('thread', ['-e', script]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /ran/);
  assert.deepEqual(telemetryFiles(r.root), []);
});
