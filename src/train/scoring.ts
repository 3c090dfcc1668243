/**
 * Batched inference over a decoded image set: fake probabilities, labels and the mean
 * cross-entropy, without holding more than one batch of float tensors at a time.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.ts';

/**
 * image batch (float32 in [0,1], [B,S,S,3]) → softmax probabilities [B,2] (may be async:
 * onnxruntime). `scoreImageSet` also says which images of the set the batch holds, [start, end),
 * for predictors that keep something per image (cached frozen feature maps, featureMapCache.ts).
 */
export type PredictFn = (xs: tf.Tensor4D, images?: { start: number; end: number }) => tf.Tensor2D | Promise<tf.Tensor2D>;

export interface ScoredSet {
  /** P(fake) per image. */
  scores: Float32Array;
  labels: Uint8Array;
  /** Mean categorical cross-entropy (clipped at 1e-7 like Keras). */
  loss: number;
}

/** Uint8 HWC images [start, end) of a set as a float32 tensor scaled by 1/255. */
export function imagesToTensor(set: ImageSet, start: number, end: number): tf.Tensor4D {
  const s = set.size;
  const px = s * s * 3;
  const bytes = set.images.subarray(start * px, end * px);
  const f = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) f[i] = bytes[i]! / 255;
  return tf.tensor4d(f, [end - start, s, s, 3]);
}

export async function scoreImageSet(predict: PredictFn, set: ImageSet, batch = 128): Promise<ScoredSet> {
  const n = set.labels.length;
  const scores = new Float32Array(n);
  let lossSum = 0;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const xs = imagesToTensor(set, start, end);
    const probs = await predict(xs, { start, end });
    const p = (await probs.data()) as Float32Array;
    tf.dispose([xs, probs]);
    for (let i = 0; i < end - start; i++) {
      const fake = p[2 * i + 1]!;
      scores[start + i] = fake;
      const y = set.labels[start + i]!;
      const pTrue = Math.min(1 - 1e-7, Math.max(1e-7, y === 1 ? fake : p[2 * i]!));
      lossSum -= Math.log(pTrue);
    }
  }
  return { scores, labels: set.labels, loss: n ? lossSum / n : Number.NaN };
}
