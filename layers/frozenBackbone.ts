/**
 * Wraps a pre-trained backbone (a LayersModel) so that it is frozen AND always runs in inference mode.
 *
 * Why: tfjs-layers' BatchNormalization picks batch statistics whenever the call gets
 * `kwargs.training === true` (as `model.fit` / `trainOnBatch` pass it down to every layer, nested
 * models included) and then updates its moving mean/variance — `trainable = false` does NOT stop
 * that (unlike Keras 2.x+). FDFtNet's backbone must stay exactly as pre-trained (paper §3: only the
 * FTT, MBblockV3 and classifier are fine-tuned), so this wrapper calls the backbone with
 * `training: false` whatever it is given, and exposes no trainable weight.
 */
import * as tf from '@tensorflow/tfjs';
import { type Kwargs, type LayerArgs, LayerInputError, type Shape } from './layerArgs.ts';

export interface FrozenBackboneArgs extends LayerArgs {
  /** The backbone: image → feature map. Its weights are shared, not copied. */
  backbone: tf.LayersModel;
}

type FromConfigFn = (
  cls: unknown,
  config: tf.serialization.ConfigDict,
  customObjects?: tf.serialization.ConfigDict,
  fastWeightInit?: boolean,
) => tf.LayersModel;

export class FrozenBackbone extends tf.layers.Layer {
  static className = 'FrozenBackbone';
  readonly backbone: tf.LayersModel;

  constructor(args: FrozenBackboneArgs) {
    super({ ...args, trainable: false });
    if (!(args.backbone instanceof tf.LayersModel)) {
      throw new LayerInputError('FrozenBackbone needs a tf.LayersModel as `backbone`');
    }
    this.backbone = args.backbone;
    this.backbone.trainable = false;
    this.built = true;
  }

  // Frozen for good: setting `trainable` (e.g. `model.trainable = true`) does not unfreeze it.
  override get trainable(): boolean {
    return false;
  }
  override set trainable(_value: boolean) {
    this.trainable_ = false;
  }

  override get trainableWeights(): tf.LayerVariable[] {
    return [];
  }
  override set trainableWeights(_w: tf.LayerVariable[]) {
    // Weights live in the wrapped backbone.
  }

  override get nonTrainableWeights(): tf.LayerVariable[] {
    return this.backbone?.weights ?? [];
  }
  override set nonTrainableWeights(_w: tf.LayerVariable[]) {
    // Weights live in the wrapped backbone.
  }

  override build(_inputShape: Shape | Shape[]): void {
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    // Inference mode always: BN uses its moving statistics and never updates them.
    return this.backbone.call(inputs, { ...kwargs, training: false });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return this.backbone.computeOutputShape(inputShape);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      backbone: { className: this.backbone.getClassName(), config: this.backbone.getConfig() },
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
    customObjects: tf.serialization.ConfigDict = {},
    fastWeightInit = false,
  ): T {
    const inner = config.backbone as { className: string; config: tf.serialization.ConfigDict } | undefined;
    if (!inner?.className) throw new LayerInputError('FrozenBackbone config has no `backbone` model');
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[inner.className];
    if (!entry) throw new LayerInputError(`unknown backbone class '${inner.className}' in FrozenBackbone config`);
    const [innerCls, innerFromConfig] = entry as unknown as [unknown, FromConfigFn];
    const backbone = innerFromConfig(innerCls, inner.config, customObjects, fastWeightInit);
    const { backbone: _omit, ...rest } = config;
    return new (cls as unknown as new (a: FrozenBackboneArgs) => T)({ ...(rest as LayerArgs), backbone });
  }
}
tf.serialization.registerClass(FrozenBackbone);
