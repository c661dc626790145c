/**
 * Which execution providers to try, in order: the user's list or the platform's default, always closed by cpu. Kept
 * apart from onnx-sessions.ts so the extension host can decide without loading onnxruntime's native module.
 */
import { providerLibsPresent } from './provider-libs';

export type ProviderName = 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu' | 'cpu';
/** Every provider this project knows how to use (the setting's enum), in the order a report lists them. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'cpu'];

/**
 * Providers worth trying first on a platform; cpu always closes the list (README, "GPU set-up", says why this order).
 * cuda only where its provider libraries were installed (a plain install has none: trying it would only add a failure
 * to every load). webgpu comes with onnxruntime-node on linux-x64, win32-x64 and darwin-arm64 and needs no install; on
 * a software adapter onnx-sessions.ts skips it (slower than cpu) unless the user listed it. Apple silicon: webgpu before
 * coreml, since CoreML has no com.microsoft MultiHeadAttention and would leave every attention block on the CPU.
 */
export function defaultProviders(
  platform: string = process.platform,
  arch: string = process.arch,
  cudaInstalled: boolean = providerLibsPresent('cuda', platform, arch),
): string[] {
  const cuda = cudaInstalled ? ['cuda'] : [];
  if (platform === 'linux' && arch === 'x64') return [...cuda, 'webgpu', 'cpu'];
  if (platform === 'win32' && arch === 'x64') return [...cuda, 'dml', 'webgpu', 'cpu'];
  if (platform === 'darwin' && arch === 'arm64') return ['webgpu', 'coreml', 'cpu'];
  return ['cpu'];
}

/** The user named webgpu: then a software adapter is acceptable (tests, or a machine whose only Vulkan is software). */
export function listsWebgpu(setting: readonly string[] | undefined): boolean {
  return !!setting?.some((p) => p.trim().toLowerCase() === 'webgpu');
}

/** The user's setting (a list of names) wins over the platform default; names are normalised and cpu is appended. */
export function resolveProviders(setting: readonly string[] | undefined, platform: string = process.platform, arch: string = process.arch): string[] {
  const list = setting?.length ? setting : defaultProviders(platform, arch);
  const out = [...new Set(list.map((p) => p.trim().toLowerCase()).filter(Boolean))];
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}
