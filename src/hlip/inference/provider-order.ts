/**
 * Which execution providers to try, in order: the user's list or the platform's default, always closed by cpu. Kept
 * apart from onnx-sessions.ts so the extension host can decide without loading onnxruntime's native module.
 */
export type ProviderName = 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu' | 'cpu';
/** Every provider this project knows how to use (the setting's enum), in the order a report lists them. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'cpu'];

/** Providers worth trying first on a platform; cpu always closes the list. */
export function defaultProviders(platform: string = process.platform, arch: string = process.arch): string[] {
  if ((platform === 'linux' || platform === 'win32') && arch === 'x64') return platform === 'win32' ? ['cuda', 'dml', 'cpu'] : ['cuda', 'cpu'];
  if (platform === 'darwin' && arch === 'arm64') return ['coreml', 'cpu'];
  return ['cpu'];
}

/** The user's setting (a list of names) wins over the platform default; names are normalised and cpu is appended. */
export function resolveProviders(setting: readonly string[] | undefined, platform: string = process.platform, arch: string = process.arch): string[] {
  const list = setting?.length ? setting : defaultProviders(platform, arch);
  const out = [...new Set(list.map((p) => p.trim().toLowerCase()).filter(Boolean))];
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}
