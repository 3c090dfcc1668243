/**
 * ResNet50V2 (He et al. 2016, "Identity mappings"; keras.applications.ResNet50V2): pre-activation
 * bottleneck blocks, stacks of 3-4-6-3 blocks with 64/128/256/512 bottleneck widths (×4 out), the
 * stride on the LAST block of stacks 2–4, then post BN + ReLU (→ `features`).
 *
 * At 64x64 the Keras stem (7x7/2 conv, 3x3/2 max-pool) gives 16x16 into stack 1 and a 2x2x2048
 * feature map, the same geometry as the 64x64 Xception; the architecture needs no other change.
 * (The authors' code calls keras' ResNet152 — v1 — under the name "resNetV2"; the FDFtNet paper
 * names ResNetV2, which we follow with the 50-layer depth of the issue.) Layer names follow Keras.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeedSequence } from '../../../layers/seeds.ts';
import { type Sym, apply, bn, conv, relu } from './builders.ts';

const EPS = 1.001e-5; // keras.applications.resnet_v2

function block(x: Sym, filters: number, name: string, stride: number, convShortcut: boolean, seeds: SeedSequence): Sym {
  const preact = apply(relu(`${name}_preact_relu`), apply(bn(`${name}_preact_bn`, EPS), x));
  let shortcut: Sym;
  if (convShortcut) {
    shortcut = apply(conv(`${name}_0_conv`, { filters: 4 * filters, kernelSize: 1, strides: stride }, seeds), preact);
  } else if (stride > 1) {
    shortcut = apply(tf.layers.maxPooling2d({ name: `${name}_0_pool`, poolSize: 1, strides: stride }), x);
  } else {
    shortcut = x;
  }
  let y = apply(conv(`${name}_1_conv`, { filters, kernelSize: 1, useBias: false }, seeds), preact);
  y = apply(relu(`${name}_1_relu`), apply(bn(`${name}_1_bn`, EPS), y));
  y = apply(tf.layers.zeroPadding2d({ name: `${name}_2_pad`, padding: [[1, 1], [1, 1]] }), y);
  y = apply(conv(`${name}_2_conv`, { filters, kernelSize: 3, strides: stride, padding: 'valid', useBias: false }, seeds), y);
  y = apply(relu(`${name}_2_relu`), apply(bn(`${name}_2_bn`, EPS), y));
  y = apply(conv(`${name}_3_conv`, { filters: 4 * filters, kernelSize: 1 }, seeds), y);
  return apply(tf.layers.add({ name: `${name}_out` }), [shortcut, y]);
}

function stack(x: Sym, filters: number, blocks: number, stride: number, name: string, seeds: SeedSequence): Sym {
  x = block(x, filters, `${name}_block1`, 1, true, seeds);
  for (let i = 2; i < blocks; i++) x = block(x, filters, `${name}_block${i}`, 1, false, seeds);
  return block(x, filters, `${name}_block${blocks}`, stride, false, seeds);
}

export function resnetV2Features(input: Sym, seeds: SeedSequence): Sym {
  let x = apply(tf.layers.zeroPadding2d({ name: 'conv1_pad', padding: [[3, 3], [3, 3]] }), input);
  x = apply(conv('conv1_conv', { filters: 64, kernelSize: 7, strides: 2, padding: 'valid' }, seeds), x);
  x = apply(tf.layers.zeroPadding2d({ name: 'pool1_pad', padding: [[1, 1], [1, 1]] }), x);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 2 }), x);
  x = stack(x, 64, 3, 2, 'conv2', seeds);
  x = stack(x, 128, 4, 2, 'conv3', seeds);
  x = stack(x, 256, 6, 2, 'conv4', seeds);
  x = stack(x, 512, 3, 1, 'conv5', seeds);
  x = apply(bn('post_bn', EPS), x);
  return apply(relu('features'), x);
}
