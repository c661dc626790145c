/**
 * onnxruntime-node's provider libraries on disk, found without loading its native module (the extension host asks too).
 * cuda and tensorrt are listed by onnxruntime-node on linux-x64 but their libraries are a separate download at install
 * time (ONNXRUNTIME_NODE_INSTALL=cuda12), absent from a plain install.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding this platform's onnxruntime binaries, or undefined when onnxruntime-node is not installed. */
export function onnxruntimeBinDir(platform: string = process.platform, arch: string = process.arch): string | undefined {
  try {
    const dir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', platform, arch);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

export function providerLibsPresent(provider: string, platform: string = process.platform, arch: string = process.arch): boolean {
  const bin = onnxruntimeBinDir(platform, arch);
  if (!bin) return false;
  const file = platform === 'win32' ? `onnxruntime_providers_${provider}.dll` : `libonnxruntime_providers_${provider}.so`;
  return existsSync(join(bin, file));
}
