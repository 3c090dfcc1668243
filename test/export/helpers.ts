/** Shared by the ONNX export tests: random weights that keep activations O(1), and the agreement check. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { exportOnnx, type ExportOnnxOptions } from '../../src/export/onnx.ts';
import { compareOnnxWithTfjs } from '../../src/export/verify.ts';

/**
 * Overwrite the weights of `model` (nested models included) with seeded random values: He-uniform
 * kernels, non-zero biases, BN statistics far from the identity, SelfAttention γ ≠ 0 — so that every
 * parameter the exporter copies actually matters to the output. `keepKernels` leaves conv / dense
 * kernels as initialised (deep backbones: He kernels through dozens of residual adds would blow
 * activations up to 1e6, where float32 sums cannot agree to 1e-4).
 */
export function randomizeWeights(model: tf.LayersModel, seed = 7, opts: { keepKernels?: boolean } = {}): void {
  let s = seed;
  for (const w of model.weights) {
    const name = (w.originalName ?? w.name).split('/').pop()!;
    const shape = w.shape as number[];
    if (opts.keepKernels && shape.length >= 2) continue;
    let lo: number;
    let hi: number;
    if (name === 'moving_variance') [lo, hi] = [0.5, 1.5];
    else if (name === 'gamma' && shape.length === 1 && shape[0] === 1) [lo, hi] = [0.5, 1]; // SelfAttention γ
    else if (name === 'gamma') [lo, hi] = [0.6, 1.4];
    else if (name === 'moving_mean' || name === 'beta') [lo, hi] = [-0.4, 0.4];
    else if (shape.length <= 1) [lo, hi] = opts.keepKernels ? [-0.1, 0.1] : [-0.3, 0.3]; // biases
    else {
      const fanIn = name === 'depthwise_kernel' ? shape[0]! * shape[1]! : shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const a = Math.sqrt(6 / fanIn);
      [lo, hi] = [-a, a];
    }
    w.write(tf.randomUniform(shape, lo, hi, 'float32', s++));
  }
}

/**
 * Export `model`, run it with onnxruntime and with tfjs on the same random batch, and assert they
 * agree within 1e-4 (absolute, relative above magnitude 1). Returns the ONNX bytes.
 */
export async function assertOnnxMatchesTfjs(
  model: tf.LayersModel,
  opts: ExportOnnxOptions & { batch?: number; threads?: number; minMagnitude?: number } = {},
): Promise<Uint8Array> {
  const bytes = exportOnnx(model, opts);
  const r = await compareOnnxWithTfjs(model, bytes, { batch: opts.batch ?? 2, outputLayer: opts.outputLayer, threads: opts.threads });
  assert.ok(
    r.ok && r.maxRelDiff <= 1e-4,
    `ONNX vs tfjs: max abs diff ${r.maxAbsDiff}, max rel diff ${r.maxRelDiff} (largest value ${r.maxAbsValue})`,
  );
  // A comparison of all-zero outputs would prove nothing.
  assert.ok(r.maxAbsValue > (opts.minMagnitude ?? 0.05), `outputs too small to compare meaningfully: max |value| ${r.maxAbsValue}`);
  return bytes;
}

export type Sym = tf.SymbolicTensor;
export const call = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;
