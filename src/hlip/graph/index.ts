/** ONNX graphs of the HLIP towers, written from a checkpoint's TensorMap (docs/hlip-model.md). */
export { buildVisualOnnx } from './visual';
export type { BuildOptions, BuildResult } from './visual';
export { buildTextOnnx } from './text';
export type { AttentionImpl } from './attention';
export { PRECISIONS, isPrecision, precisionFile, precisionOfFile } from './precision';
export type { Precision } from './precision';
