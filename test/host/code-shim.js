#!/usr/bin/env node
'use strict';
/**
 * A "VS Code executable" for @vscode/test-electron's runTests({ vscodeExecutablePath }) (or @vscode/test-cli's
 * useInstallation.fromPath): instead of Electron it starts code-server (real VS Code: workbench + Node extension host)
 * and opens the workbench in headless chromium with the tests as the web workbench's `payload`. The extension host
 * runs extensionTestsPath's run(); its console output (codeAutomationLog) is copied to stdout and its exit code
 * (codeAutomationExit) becomes this process's exit code.
 *
 * Understood arguments (others, e.g. --no-sandbox, --skip-welcome, are ignored):
 *   --extensionDevelopmentPath=P (repeatable)  --extensionTestsPath=P  --user-data-dir=D  --extensions-dir=D
 *   --disable-workspace-trust                  a positional folder or .code-workspace file to open
 * Exit status: the tests' (0 pass, 1 fail), 124 timeout, 75 the host itself failed (code-server / browser; retryable).
 * Environment:
 *   HLIP_HOST_TIMEOUT_MS   whole-run limit after code-server is up (default 600000); exit 124 when it is reached
 *   HLIP_WORKSPACE_TRUST=1 workspace trust ON (restricted mode) even though runTests always passes --disable-workspace-trust
 *   HLIP_HOST_VERBOSE=1    also code-server's own output and the page's console errors
 *   plus those of test/host/code-server.js (VSCODE_HOST_DIR, CHROMIUM_PATH, HLIP_KEEP_TEMP, ...)
 * On timeout or failure a screenshot goes to test-results/host-<time>.png.
 */
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { startCodeServer, launchBrowser, REPO } = require('./code-server.js');

function parseArgs(argv) {
  const a = { dev: [], tests: undefined, userDataDir: undefined, extensionsDir: undefined, folder: undefined, disableTrust: false };
  const valued = {
    '--extensionDevelopmentPath': (v) => a.dev.push(path.resolve(v)),
    '--extensionTestsPath': (v) => (a.tests = path.resolve(v)),
    '--user-data-dir': (v) => (a.userDataDir = path.resolve(v)),
    '--extensions-dir': (v) => (a.extensionsDir = path.resolve(v)),
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const eq = x.indexOf('=');
    const key = eq > 0 ? x.slice(0, eq) : x;
    if (valued[key]) valued[key](eq > 0 ? x.slice(eq + 1) : argv[++i]);
    else if (x === '--disable-workspace-trust') a.disableTrust = true;
    else if (!x.startsWith('-')) a.folder = path.resolve(x);
  }
  return a;
}

/** The workbench's own start-up lines that share the channel with the extension host's console (shown with HLIP_HOST_VERBOSE=1). */
const WORKBENCH_CHATTER =
  /^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|Ignoring fetching additional builtin extensions|Updating additional builtin extensions cache|\[Service Worker\]|\[AgentHost:|\[AccountPolicyGate\]|Canceled: Canceled)/;

/** Exit status when the host itself failed (code-server, browser), as opposed to a test result: callers may retry. */
const INFRA_FAILURE = 75;

const say = (...m) => process.stderr.write(`[code-shim] ${util.format(...m)}\n`);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.tests) say('no --extensionTestsPath: the workbench opens but nothing will end the run except the timeout');
  const timeoutMs = Number(process.env.HLIP_HOST_TIMEOUT_MS || 600000);
  const verbose = /^(1|true|yes)$/.test(process.env.HLIP_HOST_VERBOSE || '');
  const trust = /^(1|true|yes)$/.test(process.env.HLIP_WORKSPACE_TRUST || '');
  const t0 = Date.now();

  let server;
  let browser;
  let page;
  let code = 1;
  let cleaning;
  const cleanup = async () => {
    cleaning ??= (async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop().catch((e) => say('stopping code-server:', e.message));
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, async () => {
      say(`${sig}: stopping`);
      await cleanup();
      process.exit(130);
    });
  }

  try {
    server = await startCodeServer({
      userDataDir: args.userDataDir,
      extensionsDir: args.extensionsDir,
      trust,
      log: verbose ? (l) => say(l) : undefined,
    });
    const payload = [
      ...args.dev.map((d) => ['extensionDevelopmentPath', d]),
      ...(args.tests ? [['extensionTestsPath', args.tests]] : []),
    ];
    const url = server.url({ folder: args.folder, payload });
    if (verbose) say('opening', url);

    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    let finish;
    const finished = new Promise((r) => (finish = r));
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      const line = Array.isArray(logArgs) ? util.format(...logArgs) : String(logArgs ?? '');
      if (!verbose && WORKBENCH_CHATTER.test(line)) return;
      process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (exitCode) => finish({ code: Number(exitCode) || 0, why: 'tests' }));
    if (verbose) {
      page.on('console', (m) => {
        if (m.type() === 'error') say('[page error]', m.text().slice(0, 300));
      });
    }
    page.on('crash', () => finish({ code: INFRA_FAILURE, why: 'the page crashed' }));
    server.exited.then((c) => finish({ code: INFRA_FAILURE, why: `code-server exited (${c})` }));
    const timer = setTimeout(() => finish({ code: 124, why: `timeout after ${timeoutMs} ms (HLIP_HOST_TIMEOUT_MS)` }), timeoutMs);

    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
    const r = await finished;
    clearTimeout(timer);
    code = r.code;
    if (r.why !== 'tests') {
      say(r.why);
      say('code-server log:\n' + server.logTail(25));
    }
  } catch (e) {
    say('failed:', e && e.stack ? e.stack : e);
    if (server) say('code-server log:\n' + server.logTail(25));
    code = INFRA_FAILURE;
  }
  if (code !== 0 && page) {
    try {
      const dir = path.join(REPO, 'test-results');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `host-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
      await page.screenshot({ path: file, timeout: 10000 });
      say('screenshot:', path.relative(process.cwd(), file));
    } catch {
      /* page gone */
    }
  }
  await cleanup();
  if (verbose) say(`done in ${Date.now() - t0} ms, exit ${code}`);
  process.exit(code);
}

main();
