import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/train/loop.ts';

/** A fixed batch of n random 64x64 RGB images in [0, 1], labelled real/fake alternately (a step costs the same whatever the images). */
export function fixedBatch(n: number): Batch {
  return tf.tidy(() => ({
    xs: tf.randomUniform([n, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
    ys: tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32'), 2).toFloat() as tf.Tensor2D,
  }));
}
