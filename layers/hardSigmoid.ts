/**
 * Hard sigmoid of MobileNetV3 / FDFtNet eq. 4: ReLU6(x + 3) / 6. (tfjs' built-in 'hardSigmoid'
 * activation is Keras' different 0.2·x + 0.5 clip, hence this layer.)
 */
import * as tf from '@tensorflow/tfjs';
import { type Kwargs, type LayerArgs, type Shape, singleTensor } from './layerArgs.ts';

export function hardSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
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
