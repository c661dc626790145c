/**
 * Runs the extension-host tests (test/host/suite/*.test.ts) inside a real VS Code: code-server + headless chromium,
 * through @vscode/test-electron's runTests with test/host/code-shim.js as the "VS Code executable".
 *
 *   node --import tsx test/host/run.ts [suite ...] [--fixtures DIR] [--extension DIR] [--grep REGEX]     (npm run test:host)
 *
 * Builds nothing but the test bundle: the extension itself must be built (`npm run build` -> dist/extension.js).
 *   suite          names (`smoke`) or paths of suite files; default: every test/host/suite/**\/*.test.ts
 *   --fixtures     a folder copied to a temporary workspace that VS Code opens (env HLIP_HOST_FIXTURES); default: empty
 *   --extension    the extension under test (env HLIP_EXTENSION_PATH); default: this repository
 *   --grep         only tests whose "suite: name" matches (env HLIP_HOST_GREP)
 * Environment for the run: HLIP_HOST_TIMEOUT_MS (whole run, default 600000), HLIP_HOST_TEST_TIMEOUT_MS (per test),
 * HLIP_WORKSPACE_TRUST=1 (restricted mode), HLIP_HOST_VERBOSE=1, HLIP_KEEP_TEMP=1, HLIP_HOST_RETRIES (default 1: a run
 * that failed for an infrastructure reason, shim exit 75, is retried; failing tests are never retried).
 * The tests see HLIP_REPO (this repository) and HLIP_HOST_WORKSPACE (the temporary workspace folder).
 */
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const REPO = resolve(__dirname, '..', '..');
const SUITE_DIR = join(REPO, 'test', 'host', 'suite');
const OUT_DIR = join(REPO, 'out', 'host-tests');
const SHIM = join(REPO, 'test', 'host', 'code-shim.js');
const INFRA_FAILURE = 75; // code-shim.js: code-server / browser trouble, not a test result

function suiteFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.replace(/\\/g, '/'))
    .sort();
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      fixtures: { type: 'string' },
      extension: { type: 'string' },
      grep: { type: 'string' },
    },
  });
  const extensionPath = resolve(values.extension ?? process.env.HLIP_EXTENSION_PATH ?? REPO);
  const fixtures = values.fixtures ?? process.env.HLIP_HOST_FIXTURES;
  const grep = values.grep ?? process.env.HLIP_HOST_GREP;

  // The extension must be built already.
  const manifest = JSON.parse(readFileSync(join(extensionPath, 'package.json'), 'utf8')) as { main?: string };
  if (manifest.main && !existsSync(join(extensionPath, manifest.main)) && !existsSync(join(extensionPath, `${manifest.main}.js`))) {
    console.error(`test:host: ${relative(process.cwd(), join(extensionPath, manifest.main))} is missing: run \`npm run build\` first`);
    return 1;
  }

  // The test host must be installed (scripts/install-test-host.sh).
  const host = require('./code-server.js') as { CODE_SERVER_BIN: string; CODE_SERVER_NODE: string; CHROMIUM_PATH: string };
  const missing = [host.CODE_SERVER_BIN, host.CODE_SERVER_NODE, host.CHROMIUM_PATH].filter((p) => !existsSync(p));
  if (missing.length) {
    console.error(`test:host: the test host is not installed (missing ${missing.join(', ')}): run \`npm run setup:host\``);
    return 1;
  }

  // Which suites.
  const all = suiteFiles(SUITE_DIR).map((f) => f.slice(0, -'.test.ts'.length));
  const wanted = positionals.map((p) => {
    const name = (p.includes('/') || p.endsWith('.ts') ? relative(SUITE_DIR, resolve(p)) : p).replace(/\.test\.ts$/, '');
    if (!all.includes(name)) throw new Error(`no suite ${p} (have: ${all.join(', ')})`);
    return name;
  });
  const suites = wanted.length ? wanted : all;

  // The test bundle: the runner plus every suite (vscode comes from the extension host).
  const tb = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const testsEntry = join(OUT_DIR, 'index.js');
  await esbuild.build({
    entryPoints: [join(SUITE_DIR, 'index.ts')],
    outfile: testsEntry,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    external: ['vscode', 'onnxruntime-node'],
    logLevel: 'warning',
  });
  // The entry VS Code loads: turns on source maps before the bundle is read, so stacks point into the .ts files.
  const loader = join(OUT_DIR, 'main.js');
  writeFileSync(loader, "'use strict';\nprocess.setSourceMapsEnabled(true);\nmodule.exports = require('./index.js');\n");
  console.log(`test:host: bundled ${suites.length} suite(s) into ${relative(process.cwd(), testsEntry)} in ${Date.now() - tb} ms`);

  const retries = Number(process.env.HLIP_HOST_RETRIES ?? 1);
  let code = 1;
  for (let attempt = 0; attempt <= retries; attempt++) {
    // A fresh workspace, user data and extensions folder for every attempt.
    const temp = mkdtempSync(join(tmpdir(), 'hlip-host-tests-'));
    const workspace = join(temp, 'workspace');
    if (fixtures) cpSync(resolve(fixtures), workspace, { recursive: true });
    else mkdirSync(workspace);
    try {
      const tr = Date.now();
      code = await runTests({
        vscodeExecutablePath: SHIM,
        extensionDevelopmentPath: extensionPath,
        extensionTestsPath: loader,
        launchArgs: [workspace, `--user-data-dir=${join(temp, 'user-data')}`, `--extensions-dir=${join(temp, 'extensions')}`],
        extensionTestsEnv: {
          HLIP_HOST_SUITES: suites.join(','),
          HLIP_REPO: REPO,
          HLIP_HOST_WORKSPACE: workspace,
          ...(grep ? { HLIP_HOST_GREP: grep } : {}),
        },
      }).then(
        () => 0,
        (e: { code?: number; signal?: string; message?: string }) => {
          if (typeof e?.code !== 'number') console.error('test:host:', e?.message ?? e);
          return typeof e?.code === 'number' ? e.code : 1;
        },
      );
      console.log(`test:host: VS Code run ${Date.now() - tr} ms, exit ${code}`);
    } finally {
      if (process.env.HLIP_KEEP_TEMP === '1') console.log(`test:host: kept ${temp}`);
      else rmSync(temp, { recursive: true, force: true, maxRetries: 3 });
    }
    if (code !== INFRA_FAILURE || attempt === retries) break;
    console.log(`test:host: the test host failed to run (exit ${INFRA_FAILURE}); retrying (${attempt + 1}/${retries})`);
  }
  console.log(`test:host: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error('test:host:', e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
