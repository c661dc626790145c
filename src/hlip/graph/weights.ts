/** Checked access to a TensorMap by canonical key: shape validated, values as float32. */
import { HostTensor, TensorMap, toFloat32 } from '../checkpoint/tensor';

export class Weights {
  constructor(private readonly tensors: TensorMap) {}

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  tensor(key: string): HostTensor {
    const t = this.tensors.get(key);
    if (!t) throw new Error(`checkpoint lacks ${key}`);
    return t;
  }

  shape(key: string): number[] {
    return this.tensor(key).shape;
  }

  /** Values as float32 (a view for float32 tensors, a widened copy for half / bfloat16); `shape` is checked when given. */
  f32(key: string, shape?: readonly number[]): Float32Array {
    const t = this.tensor(key);
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new Error(`${key}: shape [${t.shape}] where [${shape}] was expected`);
    }
    return toFloat32(t);
  }
}
