/**
 * The learnable γ of each FTT self-attention stage (paper eq. 3: y = γ·o + x, γ starts at 0).
 * Logged per epoch: it shows how much the attention path contributes as training goes on.
 * Read asynchronously: the webgpu backend has no synchronous read in Node.
 */
import type * as tf from '@tensorflow/tfjs';

export async function attentionGammas(model: tf.LayersModel): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let k = 0;
  for (const w of model.weights) {
    if (/gamma/i.test(w.name) && /attention/i.test(w.name) && w.shape.length <= 1 && (w.shape.length === 0 || w.shape[0] === 1)) {
      k++;
      out[`ftt/gamma_${k}`] = ((await w.read().data()) as Float32Array)[0]!;
    }
  }
  return out;
}
