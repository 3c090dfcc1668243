/**
 * The backbone registry: `createBackbone(name, { inputSize: 64, includeTop })`.
 *
 * Without top: image → feature map; the layer giving it is named `features` (FDFtNet's MB head
 * input). With top (the paper's "baseline" classifiers): image → softmax(2), via GAP + Dense(2) —
 * except ShallowNetV3, which keeps its own fully connected classifier (flatten → 1024 → 2), the
 * part the paper counts as its "FC parameters". Inputs are float32 NHWC images scaled to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { SeedSequence } from '../../../layers/seeds.ts';
import { ModelConfigError } from '../errors.ts';
import { type Sym, apply } from './builders.ts';
import { resnetV2Features } from './resnetV2.ts';
import { shallowNetV3Features, shallowNetV3Top } from './shallowNetV3.ts';
import { squeezeNetFeatures } from './squeezeNet.ts';
import { xceptionFeatures } from './xception.ts';

export const BACKBONE_NAMES = ['xception', 'resnetv2', 'squeezenet', 'shallownetv3'] as const;
export type BackboneName = (typeof BACKBONE_NAMES)[number];

export interface BackboneOptions {
  /** Square input size in pixels (default 64, the paper's). */
  inputSize?: number;
  /** Add the classification top (image → softmax(2)). Default false. */
  includeTop?: boolean;
  /** Seed for reproducible initial weights. */
  seed?: number;
}

/** The layer that gives the feature map, in every backbone. */
export const FEATURES_LAYER = 'features';

const FEATURES: Record<BackboneName, (input: Sym, seeds: SeedSequence) => Sym> = {
  xception: xceptionFeatures,
  resnetv2: resnetV2Features,
  squeezenet: squeezeNetFeatures,
  shallownetv3: shallowNetV3Features,
};

export function isBackboneName(name: string): name is BackboneName {
  return (BACKBONE_NAMES as readonly string[]).includes(name);
}

export function createBackbone(name: BackboneName | string, opts: BackboneOptions = {}): tf.LayersModel {
  const key = name.toLowerCase();
  if (!isBackboneName(key)) {
    throw new ModelConfigError(`unknown backbone '${name}': use one of ${BACKBONE_NAMES.join(', ')}`);
  }
  const size = opts.inputSize ?? 64;
  if (!Number.isInteger(size) || size < 1) throw new ModelConfigError(`inputSize must be a positive integer, got ${opts.inputSize}`);
  const seeds = new SeedSequence(opts.seed);
  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  let features: Sym;
  try {
    features = FEATURES[key](input, seeds);
  } catch (e) {
    // tfjs reports impossible shapes (input too small) as a ValueError; anything else is not ours to rename.
    if ((e as Error).name !== 'ValueError') throw e;
    throw new ModelConfigError(`backbone '${key}' cannot be built for ${size}x${size} inputs: ${(e as Error).message}`);
  }
  const shape = features.shape;
  if (shape.slice(1).some((d) => d == null || d < 1)) {
    throw new ModelConfigError(`backbone '${key}' gives an empty feature map [${shape.join(', ')}] for ${size}x${size} inputs`);
  }
  if (!opts.includeTop) return tf.model({ inputs: input, outputs: features, name: `${key}_features` });
  let out: Sym;
  if (key === 'shallownetv3') {
    out = shallowNetV3Top(features, seeds);
  } else {
    const pooled = apply(tf.layers.globalAveragePooling2d({ name: 'top_gap' }), features);
    out = apply(tf.layers.dense({ name: 'top_dense', units: 2, activation: 'softmax', kernelInitializer: seeds.glorotUniform() }), pooled);
  }
  return tf.model({ inputs: input, outputs: out, name: key });
}

/**
 * The feature extractor of a backbone classifier (or feature model): image → output of the layer
 * named `features`. Shares its layers and weights with `model` (nothing is copied).
 */
export function featureExtractor(model: tf.LayersModel, name = `${model.name}_features`): tf.LayersModel {
  let layer: tf.layers.Layer | undefined;
  try {
    layer = model.getLayer(FEATURES_LAYER);
  } catch {
    layer = undefined;
  }
  if (layer) {
    if (model.outputs.length === 1 && model.outputs[0] === layer.output) return model;
    return tf.model({ inputs: model.inputs, outputs: layer.output as Sym, name });
  }
  const out = model.outputs[0];
  if (model.outputs.length === 1 && out && out.shape.length === 4) return model;
  throw new ModelConfigError(
    `model '${model.name}' has no layer named '${FEATURES_LAYER}' and does not output a feature map; build it with createBackbone()`,
  );
}
