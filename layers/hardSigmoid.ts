/**
 * Hard sigmoid of MobileNetV3 / FDFtNet eq. 4: ReLU6(x + 3) / 6. (tfjs' built-in 'hardSigmoid'
 * activation is Keras' different 0.2·x + 0.5 clip, hence this layer.)
 */
import * as tf from '@tensorflow/tfjs';
import { type Kwargs, type LayerArgs, type Shape, singleTensor } from './layerArgs.ts';

/**
 * With a hand-written gradient (1/6 on (-3, 3], else 0, as autograd of the formula gives): the
 * forward pass keeps only x for the backward pass, not the formula's three intermediates — these
 * activations sit on 576-channel maps, and tfjs holds every kept tensor until the step ends.
 */
const hardSigmoidOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return {
    value: tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const xs = saved[0]!;
        const inside = tf.logicalAnd(tf.greater(xs, -3), tf.lessEqual(xs, 3));
        return tf.where(inside, tf.div(dy, 6), tf.zerosLike(dy));
      }),
  };
});

export function hardSigmoid(x: tf.Tensor): tf.Tensor {
  return hardSigmoidOp(x);
}

export class HardSigmoid extends tf.layers.Layer {
  static className = 'HardSigmoid';

  constructor(args: LayerArgs = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return hardSigmoid(singleTensor(inputs));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig() };
  }
}
tf.serialization.registerClass(HardSigmoid);
