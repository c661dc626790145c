// Types of scripts/package.mjs for the tests that import it.
export const ROOT: string;
export const TARGETS: string[];
export const DEFAULT_OUT: string;
export function nativeFolder(target: string): string;
export function ignoreFileFor(target: string, dir?: string, base?: string): string;
export function packageFiles(target: string, o?: { dir?: string; base?: string }): Promise<string[]>;
export function build(production: boolean): void;
export function packageTarget(target: string, dir?: string): string;
