/**
 * A typed ONNX graph builder. Weights are streamed to an external-data file as they are added, so building an
 * 88M-parameter model never holds more than one transposed tensor besides the caller's TensorMap.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import {
  AttrType, AttributeProto, DataType, Dim, encodeModel, NodeProto, TensorProto, ValueInfoProto, valueInfo,
} from './onnx-proto';
import { type Precision, quantizeColumns } from './precision';

export type Attr = number | number[] | string | { float: number } | { floats: number[] };
/** Attribute values: integers and integer lists as plain numbers; floats wrapped ({float}) so 1 and 1.0 differ. */
export type Attrs = Record<string, Attr>;

export const MS_DOMAIN = 'com.microsoft';

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === 'number') return { name, type: AttrType.INT, i: v };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

const bytesOf = (a: TensorData): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Tensors under this size stay inline (constants, biases of tiny models); larger ones go to the data file. */
const INLINE_MAX = 1024;
/** Offsets of large tensors are page-aligned so onnxruntime can map them. */
const ALIGN_BIG = 4096;
const ALIGN_SMALL = 64;

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly domains = new Set<string>();
  private n = 0;
  private fd: number | undefined;
  private offset = 0;
  private readonly location: string;
  /** Number of float parameters stored (weights only, not shape constants). */
  params = 0;
  private readonly i64Cache = new Map<string, string>();

  /**
   * `opset`: the default-domain opset the graph is written for (some ops changed form at 18). `precision`: how
   * `dense` writes the towers' Linear layers (precision.ts); `int8Range`: the largest int8 weight there.
   */
  constructor(private readonly modelPath: string, readonly opset = 17, readonly precision: Precision = 'fp32', private readonly int8Range = 127) {
    if (opset < 17) throw new Error(`opset ${opset}: LayerNormalization needs opset 17 or later`);
    this.location = basename(modelPath) + '.data';
  }

  private uid(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  /** Adds one node; returns its output names (one unless `outputs` > 1 or names are given). */
  op(opType: string, inputs: string[], attrs: Attrs = {}, o: { domain?: string; out?: string } = {}): string {
    return this.opN(opType, inputs, attrs, { ...o, outputs: [o.out ?? this.uid(opType)] })[0];
  }

  opN(opType: string, inputs: string[], attrs: Attrs, o: { domain?: string; outputs: number | string[] }): string[] {
    const outputs = typeof o.outputs === 'number' ? Array.from({ length: o.outputs }, () => this.uid(opType)) : o.outputs;
    if (o.domain) this.domains.add(o.domain);
    this.nodes.push({
      opType, input: inputs, output: outputs, name: this.uid(`n_${opType}`), domain: o.domain ?? '',
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** A float32 weight; data is written out at once (external file when large). */
  weight(name: string, dims: number[], data: Float32Array): string {
    this.params += data.length;
    return this.tensor(name, dims, DataType.FLOAT, data);
  }

  /** A float32 constant derived from the config rather than the checkpoint (tables); not counted in `params`. */
  constant(name: string, dims: number[], data: Float32Array): string {
    return this.tensor(name, dims, DataType.FLOAT, data);
  }

  /** An int64 constant (shapes, axes, indices), deduplicated. */
  i64(vals: number[]): string {
    const key = vals.join(',');
    let n = this.i64Cache.get(key);
    if (!n) {
      n = this.tensor(this.uid('i64'), [vals.length], DataType.INT64, BigInt64Array.from(vals.map(BigInt)));
      this.i64Cache.set(key, n);
    }
    return n;
  }

  /** A float32 scalar constant. */
  scalar(v: number): string {
    return this.tensor(this.uid('f32'), [], DataType.FLOAT, Float32Array.of(v));
  }

  /** A tensor of any element type (quantised weights: int8 / uint8, bfloat16 as uint16 bits); not counted in `params`. */
  raw(name: string, dims: number[], dataType: number, data: TensorData): string {
    return this.tensor(name, dims, dataType, data);
  }

  private tensor(name: string, dims: number[], dataType: number, data: TensorData): string {
    const raw = bytesOf(data);
    if (raw.byteLength < INLINE_MAX) {
      this.inits.push({ name, dims, dataType, rawData: raw.slice() });
      return name;
    }
    this.fd ??= openSync(this.modelPath + '.data', 'w');
    const align = raw.byteLength >= ALIGN_BIG ? ALIGN_BIG : ALIGN_SMALL;
    const start = Math.ceil(this.offset / align) * align;
    if (start > this.offset) writeSync(this.fd, new Uint8Array(start - this.offset));
    for (let pos = 0; pos < raw.byteLength;) pos += writeSync(this.fd, raw, pos, raw.byteLength - pos);
    this.offset = start + raw.byteLength;
    this.inits.push({
      name, dims, dataType, dataLocation: 1,
      externalData: [
        { key: 'location', value: this.location },
        { key: 'offset', value: String(start) },
        { key: 'length', value: String(raw.byteLength) },
      ],
    });
    return name;
  }

  input(name: string, elemType: number, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /** Declares a graph output, renaming the value through Identity so the name is exact. */
  output(name: string, value: string, shape: readonly Dim[], elemType: number = DataType.FLOAT): void {
    this.op('Identity', [value], {}, { out: name });
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  /** Encodes the model (graph only; weights are already in the data file). */
  encode(producer = 'hlip-viewer'): Uint8Array {
    const opset = this.opset;
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    const msOpset = [...this.domains].map((domain) => ({ domain, version: 1 }));
    return encodeModel({
      irVersion: opset >= 21 ? 10 : 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }, ...msOpset],
      graph: { name: 'main', node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
  }

  /** Closes the data file without encoding (on error). */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  // ---- small helpers shared by the towers ----

  /** Slice along one axis [start, end). */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.i64([start]), this.i64([end]), this.i64([axis])]);
  }

  reshape(x: string, shape: number[] | string): string {
    return this.op('Reshape', [x, typeof shape === 'string' ? shape : this.i64(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }

  /** Shape(x)[start:end] as an int64 vector. */
  dims(x: string, start: number, end: number): string {
    return this.op('Shape', [x], { start, end });
  }

  concat(xs: string[], axis: number): string {
    return this.op('Concat', xs, { axis });
  }

  /** ReduceMean over one axis (axes an attribute up to opset 17, an input from 18). */
  mean(x: string, axis: number, keepdims = 1): string {
    return this.opset >= 18
      ? this.op('ReduceMean', [x, this.i64([axis])], { keepdims })
      : this.op('ReduceMean', [x], { axes: [axis], keepdims });
  }

  layerNorm(x: string, gamma: string, beta: string, eps: number): string {
    return this.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { float: eps } });
  }

  /**
   * A Linear layer from its weight values [inDim, outDim] (already transposed): x @ W (+ b) in float32, or at int8
   * one DynamicQuantizeMatMul with W quantised per output column (x is quantised per tensor at run time, bias fused).
   */
  dense(x: string, name: string, wT: Float32Array, inDim: number, outDim: number, b?: string): string {
    if (this.precision === 'fp32') return this.linear(x, this.weight(name, [inDim, outDim], wT), b);
    const { q, scale } = quantizeColumns(wT, inDim, outDim, this.int8Range);
    this.params += wT.length;
    const inputs = [x, this.raw(`${name}.int8`, [inDim, outDim], DataType.INT8, q), this.constant(`${name}.scale`, [outDim], scale),
      this.raw(`${name}.zero_point`, [outDim], DataType.INT8, new Int8Array(outDim))];
    if (b) inputs.push(b);
    return this.op('DynamicQuantizeMatMul', inputs, {}, { domain: MS_DOMAIN });
  }

  /** x @ W (+ b); W already [in, out]. */
  linear(x: string, w: string, b?: string): string {
    const y = this.op('MatMul', [x, w]);
    return b ? this.op('Add', [y, b]) : y;
  }
}

/** PyTorch Linear weight [out, in] -> [in, out] for MatMul (a new array; written out and dropped at once). */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  if (w.length !== rows * cols) throw new Error(`transpose2d: ${w.length} != ${rows}x${cols}`);
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[base + c];
  }
  return out;
}
