/**
 * A tiny test runner for the extension host (no mocha): suite files register tests with `test(name, fn)`; `run()`
 * (called by VS Code for extensionTestsPath) imports the suite files named in HLIP_HOST_SUITES, runs the tests one
 * after another with a per-test timeout, prints TAP-like lines through console.log (the shim copies them to stdout),
 * and rejects when any failed (the extension host then exits 1).
 *
 * Bundled by test/host/run.ts into out/host-tests/index.js (vscode external). Environment (set by run.ts):
 *   HLIP_HOST_SUITES            comma-separated suite names relative to this folder, without `.test.ts` (e.g. `smoke`)
 *   HLIP_HOST_GREP              only tests whose "suite: name" matches this regular expression
 *   HLIP_HOST_TEST_TIMEOUT_MS   default per-test timeout (30000)
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

export type TestFn = () => unknown | Promise<unknown>;
export interface TestOptions {
  /** Per-test limit in ms (default HLIP_HOST_TEST_TIMEOUT_MS or 30000). */
  timeout?: number;
  skip?: boolean | string;
}
interface Registered extends TestOptions {
  suite: string;
  name: string;
  fn: TestFn;
}

// On globalThis rather than a module-level const: suite files import `test` from here, and a circular import must
// never see an uninitialised registry.
function registry(): { tests: Registered[]; suite: string } {
  const g = globalThis as { __hlipHostTests?: { tests: Registered[]; suite: string } };
  return (g.__hlipHostTests ??= { tests: [], suite: '' });
}

/** Registers a test; tests run in registration order, one at a time. */
export function test(name: string, fn: TestFn, options: TestOptions = {}): void {
  const r = registry();
  r.tests.push({ suite: r.suite, name, fn, ...options });
}
/** Registers a test that is reported as skipped. */
test.skip = (name: string, fn: TestFn, options: TestOptions = {}): void => test(name, fn, { ...options, skip: options.skip || true });

/** Runs `after` once the test's body settles, pass or fail (small cleanup helper for suites). */
export async function withCleanup<T>(body: () => Promise<T>, after: () => unknown): Promise<T> {
  try {
    return await body();
  } finally {
    await after();
  }
}

function timeoutAfter(ms: number, name: string): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${name}`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Maps bundle positions in a stack back to the .ts sources. The loader written by run.ts turns Node's source maps on
 * before the bundle loads, but the extension host replaces Error.prepareStackTrace, so stacks are mapped here.
 */
function mapStack(stack: string): string {
  return stack.replace(/((?:file:\/\/)?\/[^\s():]+\.js):(\d+):(\d+)/g, (whole, file: string, line: string, col: string) => {
    try {
      const entry = findSourceMap(file.startsWith('file:') ? fileURLToPath(file) : file)?.findEntry(Number(line) - 1, Number(col) - 1);
      if (entry && 'originalSource' in entry && entry.originalSource) {
        const src = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
        return `${src}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
      }
    } catch {
      /* leave the frame as it is */
    }
    return whole;
  });
}

function describeError(e: unknown): string {
  if (e instanceof Error) return mapStack(e.stack || `${e.name}: ${e.message}`).replace(/\n/g, '\n    ');
  return String(e);
}

export async function run(): Promise<void> {
  const suites = (process.env.HLIP_HOST_SUITES || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (suites.length === 0) throw new Error('HLIP_HOST_SUITES names no suite (run the tests through test/host/run.ts)');
  const reg = registry();
  for (const s of suites) {
    reg.suite = s;
    // esbuild bundles every ./**/*.test.ts for this pattern; the name picks one at run time.
    await import(`./${s}.test.ts`);
  }
  const grep = process.env.HLIP_HOST_GREP ? new RegExp(process.env.HLIP_HOST_GREP) : undefined;
  const defaultTimeout = Number(process.env.HLIP_HOST_TEST_TIMEOUT_MS) || 30000;
  const tests = reg.tests.filter((t) => !grep || grep.test(`${t.suite}: ${t.name}`));

  console.log('TAP version 13');
  console.log(`1..${tests.length}`);
  let pass = 0;
  let fail = 0;
  let skip = 0;
  const failed: string[] = [];
  const t0 = Date.now();
  for (const [i, t] of tests.entries()) {
    const title = `${t.suite}: ${t.name}`;
    if (t.skip) {
      skip++;
      console.log(`ok ${i + 1} - ${title} # SKIP${typeof t.skip === 'string' ? ` ${t.skip}` : ''}`);
      continue;
    }
    const start = Date.now();
    const limit = t.timeout ?? defaultTimeout;
    const timer = timeoutAfter(limit, title);
    try {
      await Promise.race([Promise.resolve().then(t.fn), timer.promise]);
      pass++;
      console.log(`ok ${i + 1} - ${title} (${Date.now() - start} ms)`);
    } catch (e) {
      fail++;
      failed.push(title);
      console.log(`not ok ${i + 1} - ${title} (${Date.now() - start} ms)`);
      console.log(`  ---\n    ${describeError(e)}\n  ...`);
    } finally {
      timer.cancel();
    }
  }
  console.log(`# tests ${tests.length}, pass ${pass}, fail ${fail}, skip ${skip}, ${Date.now() - t0} ms`);
  if (tests.length === 0) throw new Error(`no test matched (suites: ${suites.join(', ')}${grep ? `, grep: ${grep}` : ''})`);
  if (fail > 0) throw new Error(`${fail} of ${tests.length} extension-host tests failed:\n  ${failed.join('\n  ')}`);
}
