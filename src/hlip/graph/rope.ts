/**
 * HLIP's 3D rotary position embedding (HLIPAttentionRope, ablate_rope_* models) as constant tables for the ONNX graph.
 *
 * Per head of width hd, three blocks of a = 2 * floor(floor(hd / 3) / 2) dims (64 -> 20) rotate by the patch's depth,
 * row and column inside its scan; the remaining hd - 3a dims and the prefix tokens (CLS, registers) are left alone.
 * Within a block, consecutive pairs (x[2i], x[2i+1]) rotate by pos * 10000^(-i / (a/2)) (V-JEPA 2's
 * rotate_queries_or_keys, fixed form). As an elementwise formula over the full width C:
 *   rope(x) = x * cos + x[perm] * sin,   perm swaps each rotated pair, sin carries the sign (-sin on the even member).
 */
import { gridOf, VisualConfig } from '../model-config';

export interface RopeTables {
  /** Rotated dims per axis (a above); 0 means the heads are too narrow to rotate anything. */
  axisDim: number;
  /** [P + L, C]: prefix rows 1, then one row per patch token of a scan in (z, y, x) order. */
  cos: Float32Array;
  /** [P + L, C]: prefix rows 0; signed as in the formula above. */
  sin: Float32Array;
  /** [C]: partner index of each channel (itself where not rotated). */
  perm: number[];
}

export const ropeAxisDim = (headDim: number): number => 2 * Math.floor(Math.floor(headDim / 3) / 2);

export function ropeTables(cfg: Pick<VisualConfig, 'imgSize' | 'patchSize' | 'embedDim' | 'numHeads'>, prefix: number): RopeTables {
  const C = cfg.embedDim, hd = C / cfg.numHeads, a = ropeAxisDim(hd), half = a / 2;
  const [d, h, w] = gridOf(cfg), L = d * h * w, rows = prefix + L;
  const cos = new Float32Array(rows * C).fill(1), sin = new Float32Array(rows * C);
  const perm = Array.from({ length: C }, (_, c) => c);
  const omega = Array.from({ length: half }, (_, i) => 10000 ** (-i / half));
  for (let head = 0; head < cfg.numHeads; head++) {
    for (let j = head * hd; j < head * hd + 3 * a; j += 2) { perm[j] = j + 1; perm[j + 1] = j; }
  }
  for (let l = 0; l < L; l++) {
    const pos = [Math.floor(l / (h * w)), Math.floor(l / w) % h, l % w], row = (prefix + l) * C;
    for (let head = 0; head < cfg.numHeads; head++) {
      for (let ax = 0; ax < 3; ax++) {
        for (let i = 0; i < half; i++) {
          const j = row + head * hd + ax * a + 2 * i, ang = pos[ax] * omega[i];
          cos[j] = cos[j + 1] = Math.cos(ang);
          sin[j] = -Math.sin(ang);
          sin[j + 1] = Math.sin(ang);
        }
      }
    }
  }
  return { axisDim: a, cos, sin, perm };
}
