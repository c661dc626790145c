/** Paths to the Debian test data unpacked by scripts/fetch-fixtures.sh; under CI a missing fixture fails the test. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

export const ROOT = resolve(__dirname, '..');
export const FIXTURES = join(ROOT, '.cache', 'fixtures');
export const PYDICOM = join(FIXTURES, 'pydicom');
export const NIBABEL = join(FIXTURES, 'nibabel', 'data');
export const NIBABEL_NICOM = join(FIXTURES, 'nibabel', 'nicom');

/** Returns the path, or skips the test (fails under CI=true) when the fixture is absent. */
export function fixture(t: TestContext, ...parts: string[]): string | undefined {
  const p = join(...parts);
  if (existsSync(p)) return p;
  const msg = `fixture missing: ${p} (run npm run fixtures)`;
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return undefined;
}

/** The system Python with Debian's numpy/nibabel/pydicom (the python3 first on PATH may lack them). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
