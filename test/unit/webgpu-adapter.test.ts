/**
 * The GPU adapter probe (gpu-adapter.ts) on made-up machines: folders laid out as Linux lays out the Vulkan loader, its
 * driver manifests, /sys/class/drm and NVIDIA's /proc files. The real machine is probed in webgpu.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { probeGpuAdapter } from '../../src/hlip/inference/gpu-adapter';
import { prepareGpuEnvironment } from '../../src/hlip/inference/webgpu-support';

const base = mkdtempSync(join(tmpdir(), 'hlip-adapter-'));
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A machine root with the given files (path -> content). */
function machine(files: Record<string, string>): string {
  const root = join(base, String(n++));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
const LOADER = { 'usr/lib/x86_64-linux-gnu/libvulkan.so.1': '' };
const icd = (lib: string) => JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } });
const MESA = {
  'usr/share/vulkan/icd.d/lvp_icd.x86_64.json': icd('libvulkan_lvp.so'),
  'usr/share/vulkan/icd.d/radeon_icd.x86_64.json': icd('libvulkan_radeon.so'),
  'usr/share/vulkan/icd.d/intel_icd.x86_64.json': icd('libvulkan_intel.so'),
};
const env = { HOME: '/nonexistent' };
const probe = (root: string, extra: NodeJS.ProcessEnv = {}) => probeGpuAdapter({ platform: 'linux', root, env: { ...env, ...extra } });

test('no Vulkan loader, no driver: no adapter, and why', () => {
  assert.match(probe(machine({}))?.problem ?? '', /no Vulkan loader.*libvulkan1/);
  assert.match(probe(machine({ ...LOADER }))?.problem ?? '', /no Vulkan driver/);
});

test("Mesa's drivers on a machine without a GPU: the adapter is lavapipe, a software one", () => {
  const r = probe(machine({ ...LOADER, ...MESA }));
  assert.deepEqual(r.adapter, { name: 'lavapipe (llvmpipe)', software: true, api: 'vulkan', driver: 'libvulkan_lvp.so' });
});

test('an AMD GPU with the Mesa drivers: the hardware adapter wins over lavapipe', () => {
  const r = probe(machine({ ...LOADER, ...MESA, 'sys/class/drm/renderD128/device/vendor': '0x1002\n', 'sys/class/drm/renderD128/device/device': '0x73bf\n' }));
  assert.equal(r.adapter?.software, false);
  assert.equal(r.adapter?.name, 'AMD GPU 0x1002:0x73bf');
  assert.equal(r.adapter?.driver, 'libvulkan_radeon.so');
});

test("NVIDIA's driver: named from /proc, preferred over an Intel iGPU", () => {
  const r = probe(machine({
    ...LOADER, ...MESA,
    'etc/vulkan/icd.d/nvidia_icd.json': icd('libGLX_nvidia.so.0'),
    'sys/class/drm/renderD128/device/vendor': '0x8086', 'sys/class/drm/renderD128/device/device': '0x9a49',
    'proc/driver/nvidia/gpus/0000:01:00.0/information': 'Model: \t\t NVIDIA H200\nIRQ: 42\n',
  }));
  assert.equal(r.adapter?.name, 'NVIDIA H200');
  assert.equal(r.adapter?.software, false);
});

test('VK_ICD_FILENAMES replaces the search: SwiftShader only, even beside a GPU', () => {
  const root = machine({ ...LOADER, ...MESA, 'sys/class/drm/renderD128/device/vendor': '0x1002', 'chromium/vk_swiftshader_icd.json': icd('./libvk_swiftshader.so') });
  const r = probe(root, { VK_ICD_FILENAMES: join(root, 'chromium/vk_swiftshader_icd.json') });
  assert.deepEqual(r.adapter, { name: 'SwiftShader', software: true, api: 'vulkan', driver: './libvk_swiftshader.so' });
});

test('a driver whose GPU is absent does not count', () => {
  const r = probe(machine({ ...LOADER, 'etc/vulkan/icd.d/nvidia_icd.json': icd('libGLX_nvidia.so.0') }));
  assert.match(r.problem ?? '', /no GPU for the installed Vulkan drivers \(libGLX_nvidia\.so\.0\)/);
});

test('macOS and Windows: the platform GPU API', () => {
  assert.equal(probeGpuAdapter({ platform: 'darwin' }).adapter?.api, 'metal');
  assert.equal(probeGpuAdapter({ platform: 'win32' }).adapter?.api, 'd3d12');
});

test('XDG_RUNTIME_DIR: a private folder when unset, left alone when set', () => {
  const e: NodeJS.ProcessEnv = {};
  const dir = prepareGpuEnvironment(e);
  assert.ok(dir && e.XDG_RUNTIME_DIR === dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(prepareGpuEnvironment({ XDG_RUNTIME_DIR: '/run/user/1000' }), undefined);
});
