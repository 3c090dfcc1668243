/** Hard swish, FDFtNet eq. 4 (from MobileNetV3): h-swish(x) = x · ReLU6(x + 3) / 6. */
import * as tf from '@tensorflow/tfjs';
import { hardSigmoid } from './hardSigmoid.ts';
import { type Kwargs, type LayerArgs, type Shape, singleTensor } from './layerArgs.ts';

export function hardSwish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, hardSigmoid(x)));
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
