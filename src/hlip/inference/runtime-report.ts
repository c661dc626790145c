/**
 * The runtime report ("HLIP: Show Runtime Info", `hlip runtime`): its shape and its text. No onnxruntime here, so the
 * extension host can format a report that a child process (runtime-info.ts, through the CLI) measured.
 */

/** One execution provider as probed on this machine. */
export interface ProviderProbe {
  name: string;
  /** Compiled into this onnxruntime-node binary (cuda / tensorrt also need libraries installed separately). */
  built: boolean;
  /** A session was created with it (probed on a one-node model). */
  loads: boolean;
  /** Why it does not load, or what it runs on (the GPU adapter). */
  note?: string;
}

export interface RuntimeInfo {
  onnxruntime: string;
  platform: string;
  arch: string;
  node: string;
  /** The providers tried, in order (setting or platform default, cpu last). */
  requested: string[];
  /** The first requested provider that loads: the one models run on. */
  inUse: string;
  /** The requested providers before it, each with the reason it is not used. */
  skipped: { name: string; why: string }[];
  providers: ProviderProbe[];
  /** The GPU adapter webgpu finds on this machine, or "none: <why>". */
  gpuAdapter?: string;
  cache?: { dir: string; bytes: number; models: number };
}

const size = (n: number) => (n < 2 ** 20 ? `${(n / 1024).toFixed(0)} KB` : n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MB` : `${(n / 2 ** 30).toFixed(2)} GB`);

/** A Markdown report (also readable as plain text). */
export function formatRuntimeInfo(r: RuntimeInfo): string {
  const lines = [
    '# HLIP runtime',
    '',
    `- onnxruntime-node ${r.onnxruntime} on ${r.platform}-${r.arch}, Node ${r.node}`,
    `- Providers tried, in order: ${r.requested.join(', ')}`,
    `- **In use: ${r.inUse}**`,
    ...r.skipped.map((s) => `- not used: ${s.why.startsWith(`${s.name}:`) ? s.why : `${s.name}: ${s.why}`}`),
    ...(r.gpuAdapter ? [`- GPU adapter (webgpu): ${r.gpuAdapter}`] : []),
    '',
    '| provider | in this build | loads here | note |',
    '| --- | --- | --- | --- |',
    ...r.providers.map((p) => `| ${p.name} | ${p.built ? 'yes' : 'no'} | ${p.loads ? 'yes' : 'no'} | ${(p.note ?? '').replace(/\|/g, '/')} |`),
    '',
  ];
  if (r.cache) lines.push(`Model cache: \`${r.cache.dir}\`, ${size(r.cache.bytes)} in ${r.cache.models} converted model(s).`, '');
  lines.push('Order: setting `hlip.executionProviders` (CLI: `--ep`). GPU set-up: see the README, "GPU set-up".');
  return lines.join('\n') + '\n';
}
