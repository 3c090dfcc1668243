/** Reading a tfjs layer's weights (by name) and re-laying them out for ONNX. */
import type * as tf from '@tensorflow/tfjs';
import { OnnxExportError } from './errors.ts';

export interface Weight {
  data: Float32Array;
  shape: number[];
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
    out.set(key, { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape.slice() });
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

/** Transpose a row-major array of shape `shape` by `perm` (as numpy.transpose). */
export function permute(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const stridesInOutOrder = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * stridesInOutOrder[d]!;
    out[o] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}
