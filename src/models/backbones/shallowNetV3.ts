/**
 * ShallowNetV3 (Tariq et al. 2018, "Detecting both machine and human created fake face images in
 * the wild"), as the FDFtNet authors' notebooks build it (Deepfake-/CelebA-ShallowNetv3.ipynb):
 *
 *   conv 5x5 32 'valid' · conv 1x1 32 · conv 1x1 32 · max-pool 2
 *   conv 3x3 64 'valid' · conv 1x1 64 · conv 1x1 64 · max-pool 2
 *   conv 3x3 128 'valid' · conv 1x1 32                       (each conv: bias, ReLU, L2 1e-4)
 *   → `features` 12x12x32 at 64x64 (8 conv layers, 109,344 parameters)
 *   top: flatten 4,608 → dense 1,024 (L2 1e-4), ReLU, BN, dropout 0.25 → dense 2 (4,725,762 parameters)
 *
 * The FDFtNet paper (Table 1) gives 8 layers, 115,490 conv and 4,725,762 FC parameters: the FC count
 * and the layer count match exactly; the conv count is 6,146 lower here — see README "Models".
 * The notebooks end with a 2-way sigmoid; we use softmax like every other fdft classifier.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeedSequence } from '../../../layers/seeds.ts';
import { type Sym, apply, conv, relu } from './builders.ts';

const L2 = 1e-4;

export function shallowNetV3Features(input: Sym, seeds: SeedSequence): Sym {
  const c = (x: Sym, name: string, filters: number, kernelSize: number, actName?: string) =>
    apply(relu(actName ?? `${name}_relu`), apply(conv(name, { filters, kernelSize, padding: 'valid', l2: L2 }, seeds), x));
  let x = c(input, 'conv1', 32, 5);
  x = c(x, 'conv2', 32, 1);
  x = c(x, 'conv3', 32, 1);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }), x);
  x = c(x, 'conv4', 64, 3);
  x = c(x, 'conv5', 64, 1);
  x = c(x, 'conv6', 64, 1);
  x = apply(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }), x);
  x = c(x, 'conv7', 128, 3);
  return c(x, 'conv8', 32, 1, 'features');
}

/** ShallowNetV3's own fully connected classifier (its "FC parameters"). */
export function shallowNetV3Top(features: Sym, seeds: SeedSequence): Sym {
  let x = apply(tf.layers.flatten({ name: 'top_flatten' }), features);
  x = apply(
    tf.layers.dense({ name: 'top_fc1', units: 1024, kernelInitializer: seeds.glorotUniform(), kernelRegularizer: tf.regularizers.l2({ l2: L2 }) }),
    x,
  );
  x = apply(relu('top_fc1_relu'), x);
  x = apply(tf.layers.batchNormalization({ name: 'top_fc1_bn' }), x);
  x = apply(tf.layers.dropout({ name: 'top_dropout', rate: 0.25 }), x);
  return apply(tf.layers.dense({ name: 'top_dense', units: 2, activation: 'softmax', kernelInitializer: seeds.glorotUniform() }), x);
}
