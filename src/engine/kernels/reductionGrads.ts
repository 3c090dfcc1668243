/**
 * The gradients of Sum and Mean, without the ones tensor. tfjs-core's own (tfjs 4.22
 * `sumGradConfig`, `meanGradConfig`) compute dx = reshape(dy, expanded) · ones(x.shape) (Mean:
 * then / reduceSize); `ones` is built as a JavaScript typed array the size of x and uploaded,
 * then multiplied in: ~40 ms and a heap's worth of garbage per training step on FDFtNet's feature
 * maps. Here dx = broadcastTo(reshape(dy, expanded), x.shape) (Mean: dy / reduceSize first, on
 * the small tensor): the same values bit for bit (y · 1 = y, and the division is the same
 * float32 division of the same operands), one Tile and no upload.
 *
 * Dtypes as tfjs does: its `mul` by a float32 ones tensor makes the gradient float32, so an
 * int32 or bool dy is cast to float32 first; any other dtype (complex64) takes tfjs' own formula.
 * Registered for every backend (tfjs keeps one gradient per kernel name, not per backend).
 */
import * as tf from '@tensorflow/tfjs';

interface ReduceAttrs {
  axis: number | number[] | null;
}

/** dy reshaped to x's rank, with 1 on every reduced axis (works for keepDims either way). */
function expandedDy(dy: tf.Tensor, x: tf.Tensor, axes: number[]): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

/** dy as float32 when tfjs' `mul(dy, ones(float32))` would make it float32; null otherwise. */
function asFloat32(dy: tf.Tensor): tf.Tensor | null {
  if (dy.dtype === 'float32') return dy;
  if (dy.dtype === 'int32' || dy.dtype === 'bool') return tf.cast(dy, 'float32');
  return null;
}

/** The gradient config of Sum (mean = false) or Mean (mean = true): the same broadcast, Mean's scaled by 1/reduceSize. */
function broadcastGradient(kernelName: 'Sum' | 'Mean', mean: boolean): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as ReduceAttrs).axis as number[], x.shape);
      const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]);
      const scale = (t: tf.Tensor) => (mean ? tf.div(t, reduceSize) : t);
      return {
        x: () => {
          const g = expandedDy(asFloat32(dy as tf.Tensor) ?? (dy as tf.Tensor), x, axes);
          if (g.dtype !== 'float32') return scale(tf.mul(g, tf.ones(x.shape, 'float32'))); // tfjs-core's own
          return tf.broadcastTo(scale(g), x.shape);
        },
      };
    },
  };
}

export const sumGradientConfig = broadcastGradient('Sum', false);
export const meanGradientConfig = broadcastGradient('Mean', true);

export const REDUCTION_GRADIENTS: readonly tf.GradConfig[] = [sumGradientConfig, meanGradientConfig];
