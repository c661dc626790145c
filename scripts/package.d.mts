// Types of scripts/package.mjs for the tests that import it.
export const ROOT: string;
export const TARGETS: string[];
export const DEFAULT_OUT: string;
export function nativeFolder(target: string): string;
export function ignoreFileFor(target: string, dir?: string, base?: string): string;
export function stage(dir?: string, o?: { production?: boolean }): string;
export function packageFiles(target: string, o?: { dir?: string; base?: string; staged?: string }): Promise<string[]>;
export function packageTarget(target: string, staged: string, dir?: string): string;
