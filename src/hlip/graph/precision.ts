/**
 * Reduced-precision towers (docs/hlip-model.md, "Precision"). `int8`: the transformer blocks' Linear weights are
 * quantised per output channel (symmetric, zero point 0) when the graph is built, activations per tensor at run time
 * (com.microsoft.DynamicQuantizeMatMul: uint8 x int8 GEMM, float out, bias fused). Everything else (patch embedding,
 * attention, softmax, LayerNorm, GELU, the head) stays float32.
 *
 * bf16 is not offered: onnxruntime's CPU execution provider has no bfloat16 MatMul/Gemm kernel on x86-64 (a bfloat16
 * MatMul fails to load with "Could not find an implementation for MatMul(13)"; its bf16 "fastmath" GEMM option is
 * arm64-only), so a bf16 graph could only cast back to float32 around every GEMM and run slower than fp32.
 */
import { readFileSync } from 'node:fs';

export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const isPrecision = (s: unknown): s is Precision => (PRECISIONS as readonly unknown[]).includes(s);

/** The file of a tower at a precision, beside the fp32 one: visual.onnx -> visual.int8.onnx (fp32 keeps its name). */
export function precisionFile(fp32File: string, precision: Precision): string {
  return precision === 'fp32' ? fp32File : fp32File.replace(/\.onnx$/, `.${precision}.onnx`);
}

/** The precision a tower file was built at, from its name (see precisionFile). */
export function precisionOfFile(path: string): Precision {
  const m = /\.(\w+)\.onnx$/.exec(path);
  return m && isPrecision(m[1]) ? m[1] : 'fp32';
}

/**
 * Largest int8 weight magnitude. x86 CPUs without VNNI run onnxruntime's uint8 x int8 GEMM with VPMADDUBSW, whose
 * pairwise int16 sums saturate for |w| near 127 (onnxruntime's quantisation notes); 7-bit weights (63) cannot
 * saturate. VNNI (avx512_vnni / avx_vnni) and arm64 dot-product kernels accumulate in int32 and take the full range.
 */
export function int8WeightRange(platform: string = process.platform, arch: string = process.arch, cpuinfo?: string): 127 | 63 {
  if (arch === 'arm64') return 127;
  if (arch !== 'x64') return 63;
  let flags = cpuinfo;
  if (flags === undefined && platform === 'linux') {
    try {
      flags = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      flags = '';
    }
  }
  return flags && /\b(avx512_vnni|avx_vnni)\b/.test(flags) ? 127 : 63;
}

/**
 * Symmetric per-column quantisation of a MatMul weight [inDim, outDim] (row-major): column j gets
 * scale_j = max|w[:, j]| / qmax and q = round(w / scale_j), so every output channel keeps its own range.
 */
export function quantizeColumns(w: Float32Array, inDim: number, outDim: number, qmax = 127): { q: Int8Array; scale: Float32Array } {
  if (w.length !== inDim * outDim) throw new Error(`quantizeColumns: ${w.length} != ${inDim}x${outDim}`);
  const scale = new Float32Array(outDim);
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) scale[j] = Math.max(scale[j], Math.abs(w[row + j]));
  }
  for (let j = 0; j < outDim; j++) scale[j] = scale[j] > 0 ? scale[j] / qmax : 1; // an all-zero column: any scale
  const q = new Int8Array(w.length);
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) q[row + j] = Math.max(-qmax, Math.min(qmax, Math.round(w[row + j] / scale[j])));
  }
  return { q, scale };
}
