/** Hard swish, FDFtNet eq. 4 (from MobileNetV3): h-swish(x) = x · ReLU6(x + 3) / 6. */
import * as tf from '@tensorflow/tfjs';
import { type Kwargs, type LayerArgs, type Shape, singleTensor } from './layerArgs.ts';

/**
 * With a hand-written gradient — 0 for x ≤ -3, (2x + 3)/6 on (-3, 3], 1 above, exactly what autograd
 * of the formula gives — so the backward pass keeps x only (see hardSigmoid.ts for why that matters).
 */
const hardSwishOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return {
    value: tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const xs = saved[0]!;
        const slope = tf.where(tf.greater(xs, 3), tf.onesLike(xs), tf.div(tf.add(tf.mul(xs, 2), 3), 6));
        return tf.mul(dy, tf.where(tf.lessEqual(xs, -3), tf.zerosLike(xs), slope));
      }),
  };
});

export function hardSwish(x: tf.Tensor): tf.Tensor {
  return hardSwishOp(x);
}

export class HardSwish extends tf.layers.Layer {
  static className = 'HardSwish';

  constructor(args: LayerArgs = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return hardSwish(singleTensor(inputs));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig() };
  }
}
tf.serialization.registerClass(HardSwish);
