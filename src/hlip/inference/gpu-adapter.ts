/**
 * The GPU adapter onnxruntime's WebGPU execution provider would get, found from platform facts without loading
 * onnxruntime: onnxruntime-node exposes no adapter information, and its Dawn is not reachable from JavaScript.
 *
 * Linux: Dawn uses Vulkan, so the adapter is what the Vulkan loader's drivers (ICD manifests) offer. Dawn prefers a
 * hardware GPU over a CPU implementation, so a hardware driver with a matching GPU device wins; with only software
 * drivers (SwiftShader, Mesa's lavapipe) the adapter is software, which runs HLIP several times slower than the CPU
 * execution provider. macOS: Metal on the Apple GPU. Windows: D3D12's default adapter (name not known here).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { isDirectory } from '../../shared/is-directory';

export interface GpuAdapter {
  /** A readable name ("NVIDIA H200", "SwiftShader"). */
  name: string;
  /** A CPU implementation of the graphics API: slower than onnxruntime's CPU provider. */
  software: boolean;
  api: 'vulkan' | 'metal' | 'd3d12';
  /** Linux: the driver library the adapter comes from. */
  driver?: string;
}

export interface AdapterProbe {
  adapter?: GpuAdapter;
  /** Why there is no adapter (one sentence). */
  problem?: string;
}

/** Where to look; tests point these at other folders. */
export interface ProbeContext {
  env?: NodeJS.ProcessEnv;
  platform?: string;
  /** Root for /sys, /proc, /dev and the standard library and manifest folders (default '/'). */
  root?: string;
}

const PCI_VENDORS: Record<string, string> = { '0x10de': 'NVIDIA', '0x1002': 'AMD', '0x8086': 'Intel', '0x1af4': 'virtio-gpu', '0x15ad': 'VMware', '0x5143': 'Qualcomm' };

interface DriverKind {
  pattern: RegExp;
  name: string;
  software?: boolean;
  /** The PCI vendor whose device this driver serves (hardware drivers). */
  vendor?: string;
}

// Matched against the manifest's library file name. Mesa installs all its drivers at once, so a driver file alone does
// not mean its GPU is present: hardware drivers count only with a device of their vendor.
const DRIVERS: DriverKind[] = [
  { pattern: /swiftshader/i, name: 'SwiftShader', software: true },
  { pattern: /lvp|lavapipe/i, name: 'lavapipe (llvmpipe)', software: true },
  { pattern: /mock_icd/i, name: 'Vulkan mock driver', software: true },
  { pattern: /nvidia/i, name: 'NVIDIA', vendor: '0x10de' },
  { pattern: /nouveau|nvk/i, name: 'NVIDIA (nvk)', vendor: '0x10de' },
  { pattern: /radeon|amdvlk|amdgpu/i, name: 'AMD', vendor: '0x1002' },
  { pattern: /intel/i, name: 'Intel', vendor: '0x8086' },
  { pattern: /virtio/i, name: 'virtio-gpu', vendor: '0x1af4' },
  { pattern: /freedreno/i, name: 'Qualcomm Adreno', vendor: '0x5143' },
];

/** Chromium's bundled SwiftShader Vulkan driver manifest (Debian's chromium, Google Chrome), for tests and benchmarks. */
export function findSwiftShaderIcd(root = '/'): string | undefined {
  const candidates = ['usr/lib/chromium', 'usr/lib/chromium-browser', 'opt/google/chrome', 'snap/chromium/current/usr/lib/chromium-browser'];
  return candidates.map((d) => join(root, d, 'vk_swiftshader_icd.json')).find((p) => existsSync(p));
}

export function probeGpuAdapter(ctx: ProbeContext = {}): AdapterProbe {
  const platform = ctx.platform ?? process.platform;
  if (platform === 'darwin') {
    const chip = cpus()[0]?.model ?? '';
    return { adapter: { name: /^Apple/.test(chip) ? `${chip} GPU` : 'Apple GPU', software: false, api: 'metal' } };
  }
  if (platform === 'win32') return { adapter: { name: 'default Direct3D 12 adapter', software: false, api: 'd3d12' } };
  if (platform !== 'linux') return { problem: `WebGPU is not available on ${platform}` };
  return probeVulkan(ctx.env ?? process.env, ctx.root ?? '/');
}

function probeVulkan(env: NodeJS.ProcessEnv, root: string): AdapterProbe {
  const at = (p: string) => join(root, p);
  if (!vulkanLoaderPresent(env, at)) return { problem: 'no Vulkan loader (libvulkan.so.1, Debian/Ubuntu package libvulkan1) is installed' };
  const manifests = icdManifests(env, at);
  const drivers = manifests.map(driverOf).filter((d): d is { kind: DriverKind; lib: string } => !!d);
  if (!drivers.length) return { problem: 'no Vulkan driver is installed (no ICD manifest found)' };
  const devices = gpuDevices(at);
  // Dawn's default (high-performance) choice: a discrete-class GPU first, so NVIDIA/AMD before the others.
  const rank = (v?: string) => (v === '0x10de' || v === '0x1002' ? 0 : 1);
  const hardware = drivers
    .filter((d) => !d.kind.software && devices.some((g) => g.vendor === d.kind.vendor))
    .sort((a, b) => rank(a.kind.vendor) - rank(b.kind.vendor))[0];
  if (hardware) {
    const dev = devices.find((g) => g.vendor === hardware.kind.vendor)!;
    return { adapter: { name: dev.model ?? `${hardware.kind.name} GPU ${dev.vendor}:${dev.device}`, software: false, api: 'vulkan', driver: hardware.lib } };
  }
  const soft = drivers.find((d) => d.kind.software && !/mock/i.test(d.kind.name));
  if (soft) return { adapter: { name: soft.kind.name, software: true, api: 'vulkan', driver: soft.lib } };
  return { problem: `no GPU for the installed Vulkan drivers (${drivers.map((d) => basename(d.lib)).join(', ')})` };
}

function vulkanLoaderPresent(env: NodeJS.ProcessEnv, at: (p: string) => string): boolean {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean),
    ...['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'usr/lib64', 'lib64', 'usr/lib', 'lib', 'usr/local/lib'].map(at),
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** The manifest files the Vulkan loader reads (VK_DRIVER_FILES / VK_ICD_FILENAMES replace the search; VK_ADD_DRIVER_FILES adds). */
function icdManifests(env: NodeJS.ProcessEnv, at: (p: string) => string): string[] {
  const expand = (list: string) => list.split(delimiter).filter(Boolean).flatMap((p) => (isDirectory(p) ? jsonFiles(p) : [p]));
  const override = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const extra = env.VK_ADD_DRIVER_FILES ? expand(env.VK_ADD_DRIVER_FILES) : [];
  if (override) return [...expand(override), ...extra];
  const home = env.HOME || homedir();
  const config = [env.XDG_CONFIG_HOME || join(home, '.config'), ...(env.XDG_CONFIG_DIRS || '/etc/xdg').split(delimiter), '/etc'];
  const data = [env.XDG_DATA_HOME || join(home, '.local/share'), ...(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(delimiter)];
  const dirs = [...config, ...data].filter(Boolean).map((d) => (d.startsWith(home) ? d : at(d)));
  return [...new Set(dirs)].flatMap((d) => jsonFiles(join(d, 'vulkan', 'icd.d'))).concat(extra);
}

function driverOf(manifest: string): { kind: DriverKind; lib: string } | undefined {
  let lib: string;
  try {
    lib = String((JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
  } catch {
    return undefined;
  }
  if (!lib) return undefined;
  const file = basename(lib);
  const kind = DRIVERS.find((k) => k.pattern.test(file)) ?? { pattern: /./, name: file, vendor: undefined };
  return { kind, lib };
}

interface GpuDevice {
  vendor: string;
  device: string;
  model?: string;
}

/** GPUs with a kernel driver: DRM render nodes (sysfs vendor/device ids) and NVIDIA's proprietary driver. */
function gpuDevices(at: (p: string) => string): GpuDevice[] {
  const out: GpuDevice[] = [];
  const drm = at('sys/class/drm');
  for (const n of safeList(drm).filter((x) => /^renderD\d+$/.test(x))) {
    const read = (f: string) => safeRead(join(drm, n, 'device', f));
    const vendor = read('vendor'), device = read('device');
    if (vendor) out.push({ vendor, device: device ?? '?', model: PCI_VENDORS[vendor] === 'NVIDIA' ? nvidiaModel(at) : undefined });
  }
  if (!out.some((d) => d.vendor === '0x10de')) {
    const model = nvidiaModel(at);
    if (model || existsSync(at('dev/nvidia0'))) out.push({ vendor: '0x10de', device: '?', model });
  }
  return out;
}

function nvidiaModel(at: (p: string) => string): string | undefined {
  const gpus = at('proc/driver/nvidia/gpus');
  for (const g of safeList(gpus)) {
    const m = /^Model:\s*(.+)$/m.exec(safeRead(join(gpus, g, 'information')) ?? '');
    if (m) return m[1].trim();
  }
  return undefined;
}

const jsonFiles = (d: string) => safeList(d).filter((f) => f.endsWith('.json')).sort().map((f) => join(d, f));
function safeList(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
function safeRead(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}
