/** Types shared by fdft's custom layers (tfjs does not re-export them from its root). */
import type * as tf from '@tensorflow/tfjs';

/** The options every tfjs layer takes (name, trainable, inputShape, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
export type Kwargs = Record<string, unknown>;
export type Shape = Array<number | null>;

/** The one tensor of a single-input layer call. */
export function singleTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new LayerInputError(`expected exactly one input tensor, got ${inputs.length}`);
    return inputs[0]!;
  }
  return inputs;
}

/** A layer called with inputs it cannot take. */
export class LayerInputError extends Error {
  override name = 'LayerInputError';
}
