/** Reading a tfjs layer's weights (by name) and re-laying them out for ONNX. */
import type * as tf from '@tensorflow/tfjs';
import { OnnxExportError } from './errors.ts';

export interface Weight {
  data: Float32Array;
  shape: number[];
  /** The tfjs variable it was read from (absent for values the exporter computes, e.g. re-laid-out kernels). */
  variable?: tf.LayerVariable;
}

/**
 * A layer's weights keyed by their own name (the part after the last '/': 'kernel', 'bias',
 * 'depthwise_kernel', 'moving_mean', …). Values are copies.
 */
export function layerWeights(layer: tf.layers.Layer): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const w of layer.weights) {
    const full = (w as unknown as { originalName?: string }).originalName ?? w.name;
    const key = full.split('/').pop()!;
    const t = w.read();
    if (t.dtype !== 'float32') throw new OnnxExportError(`weight ${full} of layer '${layer.name}' is ${t.dtype}; only float32 is exported`);
    out.set(key, { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape.slice(), variable: w });
  }
  return out;
}

/** The named weight, or an error naming the layer. */
export function requireWeight(weights: Map<string, Weight>, key: string, layer: tf.layers.Layer): Weight {
  const w = weights.get(key);
  if (!w) {
    throw new OnnxExportError(
      `layer '${layer.name}' (${layer.getClassName()}) has no weight '${key}' (has: ${[...weights.keys()].join(', ') || 'none'})`,
    );
  }
  return w;
}

/** Transpose a row-major array of shape `shape` (rank ≤ 4) by `perm` (as numpy.transpose). */
export function permute(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  if (rank > 4 || perm.length !== rank) throw new OnnxExportError(`internal: cannot permute rank ${rank} by [${perm}]`);
  const outShape = perm.map((p) => shape[p]!);
  // Pad to rank 4 with leading 1s, then four plain loops (a generic index loop is ~10x slower on
  // Xception's 20M weights).
  const lead = 4 - rank;
  const dims = [...new Array<number>(lead).fill(1), ...shape];
  const p4 = [...Array.from({ length: lead }, (_, i) => i), ...perm.map((p) => p + lead)];
  const inStrides = [dims[1]! * dims[2]! * dims[3]!, dims[2]! * dims[3]!, dims[3]!, 1];
  const [s0, s1, s2, s3] = p4.map((p) => inStrides[p]!) as [number, number, number, number];
  const [n0, n1, n2, n3] = p4.map((p) => dims[p]!) as [number, number, number, number];
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        let src = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++, src += s3) out[o++] = data[src]!;
      }
    }
  }
  return { data: out, shape: outShape };
}
