/**
 * A small driver for playwright UI tests against a real VS Code: code-server (from scripts/install-test-host.sh) +
 * headless Debian chromium, with the extension loaded as a development extension (the web workbench's
 * `extensionDevelopmentPath` payload: an --extensions-dir install would not pick up a development folder).
 *
 *   const ui = await launch({ folder });          // code-server on a free port, temp user data, workbench open
 *   await ui.runCommand('HLIP: Open Folder as Study');
 *   await ui.openFile('brain.nii.gz');
 *   const frame = await ui.findFrame('#viewport'); // webviews are two iframes deep
 *   await ui.screenshot('viewer');                 // test-results/viewer.png
 *   await ui.close();
 *
 * Environment: HLIP_EXTENSION_PATH (extension under test, default this repository), HLIP_WORKSPACE_TRUST=1,
 * HLIP_HOST_VERBOSE=1 (code-server output and page errors on stderr), and those of test/host/code-server.js.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser, BrowserContext, Frame, Locator, Page } from 'playwright-core';
import { prepareFixtures } from '../host/prepare-fixtures';

/** test/host/code-server.js (CommonJS, shared with the extension-host shim). */
interface CodeServer {
  authority: string;
  baseUrl: string;
  pid: number;
  trust: boolean;
  userDataDir: string;
  extensionsDir: string;
  exited: Promise<unknown>;
  url(o?: { folder?: string; payload?: [string, string][] }): string;
  remoteUri(p: string): string;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}
interface CodeServerModule {
  REPO: string;
  CODE_SERVER_BIN: string;
  CODE_SERVER_NODE: string;
  CHROMIUM_PATH: string;
  startCodeServer(o?: {
    extensionsDir?: string;
    trust?: boolean;
    settings?: Record<string, unknown>;
    env?: Record<string, string>;
    smokeTestDriver?: boolean;
    log?: (line: string) => void;
    userDataDir?: string;
    port?: number;
  }): Promise<CodeServer>;
  launchBrowser(o?: { headless?: boolean; args?: string[] }): Promise<Browser>;
  launchBrowser(o: { userDataDir: string; viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  freePort(): Promise<number>;
}
const cs = require('../host/code-server.js') as CodeServerModule;

export const REPO = cs.REPO;
export const RESULTS_DIR = join(REPO, 'test-results');
const verbose = /^(1|true|yes)$/.test(process.env.HLIP_HOST_VERBOSE || '');

/** Whether code-server and chromium are installed (`npm run setup:host`); tests skip or fail without them. */
export function hostInstalled(): boolean {
  return existsSync(cs.CODE_SERVER_BIN) && existsSync(cs.CODE_SERVER_NODE) && existsSync(cs.CHROMIUM_PATH);
}

export interface LaunchOptions {
  /** Folder (or .code-workspace) to open; default: an empty window. */
  folder?: string;
  /** Development extension(s) to load; default HLIP_EXTENSION_PATH or this repository; false: none. */
  extensionDevelopmentPath?: string | string[] | false;
  /** Extensions folder (e.g. one a .vsix was installed into); default: a fresh empty one. */
  extensionsDir?: string;
  /** Workspace trust ON (the folder opens in restricted mode); default HLIP_WORKSPACE_TRUST=1. */
  trust?: boolean;
  /** User settings over test/host/code-server.js's defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server (and so the extension host). */
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
  /** Wait for the workbench (and the explorer when a folder is open) before returning; default true. */
  waitForWorkbench?: boolean;
  /**
   * A returning user's VS Code: the user data (code-server) and browser profile kept in `dir` between launches, on a
   * fixed `port` (the webview service worker is kept per origin). Default: fresh ones, removed on close.
   */
  profile?: { dir: string; port: number };
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = '.quick-input-widget .quick-input-box input';
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Page-side expression: index of the quick-input row whose label (name + suffix, e.g. "a" + ".txt") is `want`, or -1.
 * A string, not a function: functions compiled by tsx may reference helpers that do not exist in the page.
 */
const rowIndex = (want: string) =>
  `[...document.querySelectorAll(${JSON.stringify(QUICK_ROWS)})].findIndex((r) => {
    const name = r.querySelector('.label-name')?.textContent?.trim() ?? '';
    const suffix = r.querySelector('.label-suffix')?.textContent?.trim() ?? '';
    return name === ${JSON.stringify(want)} || name + suffix === ${JSON.stringify(want)};
  })`;

export class VSCodeUI {
  /** Page errors, console errors and failed HTTP responses seen so far (known offline / code-server noise left out). */
  readonly errors: string[] = [];
  private folder: string | undefined;

  /**
   * The HLIP Runs view opened in the Explorer with the other sections folded (so its rows have the height); returns
   * the locator of a run's row by its exact name.
   */
  async openRunsView(): Promise<(name: string) => Locator> {
    const page = this.page;
    const header = page.locator('.pane-header', { hasText: 'HLIP Runs' });
    await header.waitFor({ timeout: 60_000 });
    for (const other of await page.locator('.sidebar .pane-header[aria-expanded="true"]').all()) {
      if (!((await other.textContent()) ?? '').includes('HLIP Runs')) await other.click();
    }
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return (name) => page.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${escape(name)}$`) }) }).first();
  }

  constructor(
    readonly server: CodeServer,
    private readonly browser: Browser | BrowserContext,
    readonly page: Page,
    private readonly payload: [string, string][],
  ) {
    page.on('pageerror', (e) => this.noteError(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // "Failed to load resource" names no URL: failed responses are noted below, with theirs
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) this.noteError(m.text());
    });
    page.on('response', (r) => {
      // code-server lacks Microsoft's proprietary vsda module: its 404s are expected
      if (r.status() >= 400 && !r.url().includes('/vsda/')) this.noteError(`HTTP ${r.status()} ${r.url()}`);
    });
  }

  private noteError(text: string): void {
    if (/open-vsx|marketplace|gallery|ENOTFOUND|ERR_NAME_NOT_RESOLVED/i.test(text)) return;
    this.errors.push(text);
    if (verbose) process.stderr.write(`[page] ${text.slice(0, 300)}\n`);
  }

  /** The URL of a workbench on `folder` (default: the current one) with this session's payload. */
  url(folder = this.folder): string {
    return this.server.url({ folder, payload: this.payload });
  }

  /** Opens `folder` (a reload of the window with the same development extension). */
  async open(folder?: string, { wait = true } = {}): Promise<void> {
    this.folder = folder ? resolve(folder) : undefined;
    await this.page.goto(this.url(), { waitUntil: 'domcontentloaded', timeout: 60000 });
    if (wait) await this.waitForWorkbench();
  }

  /** Waits for the workbench, its status bar and, with a folder open, the explorer's first row. */
  async waitForWorkbench(timeout = 90000): Promise<void> {
    const deadline = Date.now() + timeout;
    const left = () => Math.max(1000, deadline - Date.now());
    await this.page.waitForSelector('.monaco-workbench', { timeout: left() });
    await this.page.waitForSelector('.part.statusbar', { state: 'visible', timeout: left() });
    if (this.folder && !this.folder.endsWith('.code-workspace')) {
      await this.page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: left() });
    }
  }

  /** Opens the command palette (F1) or quick open (Control+P) and puts `text` in its box. */
  private async quickInput(keys: string, text: string): Promise<void> {
    const box = this.page.locator(QUICK_INPUT_BOX);
    for (let attempt = 0; ; attempt++) {
      await this.page.keyboard.press(keys);
      try {
        await box.waitFor({ state: 'visible', timeout: 5000 });
        // keep the palette's ">" prefix for commands; replace everything for quick open
        await box.fill(keys === 'F1' ? `>${text}` : text, { timeout: 5000 });
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
        // Focus may be outside the workbench, or a notification toast closing took the palette with it (its input
        // goes inert): close what is open, click a neutral spot (the status bar) and open it again.
        await this.page.keyboard.press('Escape').catch(() => {});
        await this.page.locator('.part.statusbar').click({ position: { x: 5, y: 5 } }).catch(() => {});
        await sleep(300);
      }
    }
  }

  private async rowLabels(): Promise<string[]> {
    return this.page.$$eval(QUICK_ROWS, (rows) =>
      rows.map((r) => (r.querySelector('.label-name')?.textContent || r.getAttribute('aria-label') || '').trim()),
    );
  }

  private async closeQuickInput(): Promise<void> {
    if (await this.page.locator(QUICK_INPUT).isVisible()) await this.page.keyboard.press('Escape');
    await this.page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
  }

  /**
   * Types `text` into the command palette until a row labelled exactly `title` shows (a development extension's
   * contributions arrive a moment after the workbench: the palette is reopened until then). Leaves the palette open.
   */
  private async paletteRow(title: string, text: string, timeout: number) {
    const deadline = Date.now() + timeout;
    let labels: string[] = [];
    while (Date.now() < deadline) {
      await this.quickInput('F1', text);
      try {
        await (await this.page.waitForFunction(`${rowIndex(title)} >= 0`, undefined, { timeout: 1500 })).dispose();
        return this.page.locator(QUICK_ROWS).nth(await this.page.evaluate<number>(rowIndex(title)));
      } catch {
        labels = await this.rowLabels();
        await this.closeQuickInput();
        await sleep(500);
      }
    }
    throw new Error(`command "${title}" not in the palette after ${timeout} ms (last rows: ${labels.join(' | ') || 'none'})`);
  }

  /** The palette rows shown for `text` (waits up to `timeout` for at least `expect` to be among them, if given). */
  async commandPaletteItems(text: string, { expect, timeout = 30000 }: { expect?: string; timeout?: number } = {}): Promise<string[]> {
    if (expect) await this.paletteRow(expect, text, timeout);
    else {
      await this.quickInput('F1', text);
      await sleep(500);
    }
    const labels = await this.rowLabels();
    await this.closeQuickInput();
    return labels;
  }

  /** Runs a command by its palette title ("Category: Title"), as a user would. */
  async runCommand(title: string, { timeout = 30000 } = {}): Promise<void> {
    const row = await this.paletteRow(title, title, timeout);
    await row.click();
    await this.page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
  }

  /** Opens a workspace file through quick open (Ctrl+P) and waits for its editor tab. */
  /** Opens a workspace file through quick open; resolves with the time (ms since epoch) of the click that opened it. */
  async openFile(relativePath: string, { timeout = 30000 } = {}): Promise<number> {
    const name = basename(relativePath);
    const deadline = Date.now() + timeout;
    while (true) {
      await this.quickInput('Control+P', relativePath);
      try {
        // quick open lists files once the search service has indexed the folder
        await (await this.page.waitForFunction(`${rowIndex(name)} >= 0`, undefined, { timeout: 2000 })).dispose();
        break;
      } catch (e) {
        await this.closeQuickInput();
        if (Date.now() > deadline) throw new Error(`quick open did not find ${relativePath}: ${(e as Error).message}`);
        await sleep(500);
      }
    }
    const row = this.page.locator(QUICK_ROWS).nth(await this.page.evaluate<number>(rowIndex(name)));
    const clickedAt = Date.now();
    await row.click();
    await this.editorTab(name).waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    return clickedAt;
  }

  /** The visible text of the active text editor (Monaco renders spaces as U+00A0: turned back into spaces). */
  async editorText(): Promise<string> {
    const lines = this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    await lines.waitFor({ state: 'visible', timeout: 15000 });
    return ((await lines.innerText()) ?? '').replace(/\u00a0/g, ' ');
  }

  /** The editor tab of a file (text or custom editor) by its file name. */
  editorTab(name: string) {
    return this.page.locator(`.tabs-container [role="tab"][data-resource-name=${JSON.stringify(name)}]`).first();
  }

  /** The frame that contains `selector`: webviews are two iframes deep (page > iframe.webview > #active-frame). */
  async findFrame(selector: string, { timeout = 30000 } = {}): Promise<Frame> {
    const deadline = Date.now() + timeout;
    while (true) {
      for (const f of this.page.frames()) {
        if (f === this.page.mainFrame() || f.isDetached()) continue;
        try {
          if (await f.$(selector)) return f;
        } catch {
          /* frame navigating or gone */
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no frame contains ${selector} after ${timeout} ms; frames:\n  ${this.page.frames().map((f) => f.url().slice(0, 120)).join('\n  ')}`);
      }
      await sleep(250);
    }
  }

  /**
   * The messages in the notification center (opened if needed; with the smoke-test driver on, the workbench shows no
   * toasts, every notification lands there).
   */
  async notifications(): Promise<string[]> {
    const center = this.page.locator('.notifications-center');
    if (!(await center.isVisible())) {
      await this.page.locator('[id="status.notifications"]').click();
      await center.waitFor({ state: 'visible', timeout: 5000 });
    }
    return this.page.$$eval('.notifications-center .notification-list-item-message, .notifications-toasts .notification-list-item-message', (els) =>
      els.map((e) => (e.textContent ?? '').trim()),
    );
  }

  /** Waits for a notification containing `text`; returns its message. Leaves the notification center closed. */
  async waitForNotification(text: string, { timeout = 15000 } = {}): Promise<string> {
    const deadline = Date.now() + timeout;
    let seen: string[] = [];
    try {
      while (Date.now() < deadline) {
        seen = await this.notifications();
        const hit = seen.find((m) => m.includes(text));
        if (hit !== undefined) return hit;
        await sleep(250);
      }
    } finally {
      if (await this.page.locator('.notifications-center').isVisible()) await this.page.keyboard.press('Escape');
    }
    throw new Error(`no notification containing "${text}" after ${timeout} ms (seen: ${seen.join(' | ') || 'none'})`);
  }

  /** Saves a screenshot of the page to test-results/<name>.png and returns the path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Closes the browser and stops code-server (its whole process group); safe to call twice. */
  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.stop();
  }
}

/** Whether code-server and chromium are here; without them the test is skipped (false), or fails under CI=true. */
export function hostAvailable(t: TestContext): boolean {
  if (hostInstalled()) return true;
  const msg = 'code-server / chromium missing: run `npm run setup:host`';
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}

/**
 * The test's VS Code on a fresh copy of the host-test fixtures (test/host/prepare-fixtures.ts). Without code-server and
 * chromium the test is skipped, or fails under CI=true; returns undefined then.
 */
export async function launchOnFixtures(t: TestContext, name: string): Promise<{ ui: VSCodeUI; workspace: string } | undefined> {
  if (!hostAvailable(t)) return undefined;
  const workspace = prepareFixtures(mkdtempSync(join(tmpdir(), `hlip-ui-${name}-`)));
  return { ui: await launch({ folder: workspace }), workspace };
}

/** A free 127.0.0.1 port (for LaunchOptions.profile). */
export const freePort = (): Promise<number> => cs.freePort();

/** Starts code-server and chromium and opens the workbench with the extension as a development extension. */
export async function launch(opts: LaunchOptions = {}): Promise<VSCodeUI> {
  if (!hostInstalled()) throw new Error('code-server / chromium are not installed: run `npm run setup:host`');
  const dev =
    opts.extensionDevelopmentPath === false
      ? []
      : ([] as string[]).concat(opts.extensionDevelopmentPath ?? process.env.HLIP_EXTENSION_PATH ?? REPO).map((p) => resolve(p));
  const server = await cs.startCodeServer({
    // The smoke-test driver must stay on: a built workbench ignores the `payload` (so the development extension)
    // without it. Side effect: no notification toasts (waitForNotification reads the notification center instead).
    smokeTestDriver: true,
    extensionsDir: opts.extensionsDir,
    trust: opts.trust,
    settings: opts.settings,
    env: opts.env,
    log: verbose ? (l) => process.stderr.write(`[code-server] ${l}\n`) : undefined,
    userDataDir: opts.profile && join(opts.profile.dir, 'code-server'),
    port: opts.profile?.port,
  });
  let browser: Browser | BrowserContext | undefined;
  try {
    const viewport = opts.viewport ?? { width: 1280, height: 800 };
    let page: Page;
    if (opts.profile) {
      const context = (browser = await cs.launchBrowser({ userDataDir: join(opts.profile.dir, 'chromium'), viewport }));
      page = context.pages()[0] ?? (await context.newPage());
    } else {
      page = await (browser = await cs.launchBrowser()).newPage({ viewport });
    }
    const ui = new VSCodeUI(
      server,
      browser,
      page,
      dev.map((d) => ['extensionDevelopmentPath', d]),
    );
    await ui.open(opts.folder, { wait: opts.waitForWorkbench ?? true });
    return ui;
  } catch (e) {
    await browser?.close().catch(() => {});
    const tail = server.logTail(20);
    await server.stop();
    throw new Error(`${(e as Error).message}\ncode-server log:\n${tail}`);
  }
}
