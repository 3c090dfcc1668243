/**
 * BatchNormalization momentum of every BN layer in a model (nested models included).
 *
 * Why it is a run option: the moving statistics that inference uses are an exponential average of
 * batch statistics, m ← momentum·m + (1 − momentum)·batch. With Keras' default 0.99 (what the paper's
 * authors ran, over hundreds of epochs) they need ~500 steps to forget their initial values (mean 0,
 * variance 1); a short run of 50 steps leaves them 60 % at the initial values and inference collapses
 * to one class. A lower momentum (0.9) forgets faster; the training loop's precise-BN pass
 * (src/train/preciseBatchNorm.ts) recomputes the statistics outright.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelConfigError } from './errors.ts';

/** The Keras / tfjs default, which the paper's schedule used. */
export const DEFAULT_BN_MOMENTUM = 0.99;

/** Every BatchNormalization layer inside `layer` (nested models and FrozenBackbone included), once each. */
export function batchNormLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  return [...new Set(collect(layer, []))];
}

function collect(layer: tf.layers.Layer, out: tf.layers.Layer[]): tf.layers.Layer[] {
  if (layer.getClassName() === 'BatchNormalization') out.push(layer);
  const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  if (Array.isArray(inner)) for (const l of inner) collect(l, out);
  const wrapped = (layer as unknown as { backbone?: tf.layers.Layer }).backbone;
  if (wrapped instanceof tf.LayersModel) collect(wrapped, out);
  return out;
}

/** Sets the momentum of every BatchNormalization layer in `model`; returns how many were set. */
export function setBatchNormMomentum(model: tf.LayersModel, momentum: number): number {
  if (!(momentum >= 0 && momentum < 1)) throw new ModelConfigError(`BatchNorm momentum must be in [0, 1), got ${momentum}`);
  const layers = batchNormLayers(model);
  // tfjs-layers keeps momentum in a (TypeScript-)private field that `call` and `getConfig` read.
  for (const l of layers) (l as unknown as { momentum: number }).momentum = momentum;
  return layers.length;
}
