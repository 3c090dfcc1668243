/**
 * Returns one of its inputs unchanged. FDFtNet uses it when the FTT is switched off (Table 6
 * ablation) so that the head keeps its agreed [image, featureMap] signature: an input that no layer
 * consumes is dropped from a saved tfjs model.json, and the model would not reload.
 */
import * as tf from '@tensorflow/tfjs';
import { type Kwargs, type LayerArgs, LayerInputError, type Shape } from './layerArgs.ts';

export interface SelectInputArgs extends LayerArgs {
  /** Which input to return (0-based). */
  index: number;
}

export class SelectInput extends tf.layers.Layer {
  static className = 'SelectInput';
  readonly index: number;

  constructor(args: SelectInputArgs) {
    super(args);
    if (!Number.isInteger(args.index) || args.index < 0) throw new LayerInputError(`SelectInput index must be >= 0, got ${args.index}`);
    this.index = args.index;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const t = list[this.index];
    if (!t) throw new LayerInputError(`SelectInput(${this.index}) called with ${list.length} input(s)`);
    return tf.clone(t);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
    const s = shapes[this.index];
    if (!s) throw new LayerInputError(`SelectInput(${this.index}) given ${shapes.length} input shape(s)`);
    return s;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), index: this.index };
  }
}
tf.serialization.registerClass(SelectInput);
