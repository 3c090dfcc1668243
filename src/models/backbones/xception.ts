/**
 * The 64x64 Xception of the FDFtNet authors' code (network/Xception.py), after Chollet 2017:
 *   entry flow: 3x3 conv 32 stride 2 'valid', 3x3 conv 64 'valid', then three residual blocks of two
 *     separable convs (128, 256, 728) with a 3x3 stride-2 max-pool and a 1x1 stride-2 conv shortcut;
 *   middle flow: 8 residual blocks of 3 × (ReLU, separable conv 728, BN);
 *   exit flow: ReLU-sepconv 728-BN, ReLU-sepconv 1024-BN, max-pool + 1x1 conv 1024 shortcut,
 *     then sepconv 1536-BN-ReLU and sepconv 2048-BN-ReLU (→ `features`, 2x2x2048 at 64x64).
 * As in the authors' code (and unlike keras.applications), the second separable conv of each entry
 * block has no BN before its max-pool. Layer names follow keras.applications.Xception.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeedSequence } from '../../../layers/seeds.ts';
import { type Sym, apply, bn, conv, relu, sepConv } from './builders.ts';

export function xceptionFeatures(input: Sym, seeds: SeedSequence): Sym {
  let x = apply(conv('block1_conv1', { filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }, seeds), input);
  x = apply(relu('block1_conv1_act'), apply(bn('block1_conv1_bn'), x));
  x = apply(conv('block1_conv2', { filters: 64, kernelSize: 3, padding: 'valid', useBias: false }, seeds), x);
  x = apply(relu('block1_conv2_act'), apply(bn('block1_conv2_bn'), x));

  // Entry flow: blocks 2–4.
  ([128, 256, 728] as const).forEach((filters, i) => {
    const b = `block${i + 2}`;
    let res = apply(conv(`${b}_res_conv`, { filters, kernelSize: 1, strides: 2, useBias: false }, seeds), x);
    res = apply(bn(`${b}_res_bn`), res);
    if (i > 0) x = apply(relu(`${b}_sepconv1_act`), x); // block 2 follows a ReLU already
    x = apply(bn(`${b}_sepconv1_bn`), apply(sepConv(`${b}_sepconv1`, filters, seeds), x));
    x = apply(relu(`${b}_sepconv2_act`), x);
    x = apply(sepConv(`${b}_sepconv2`, filters, seeds), x);
    x = apply(tf.layers.maxPooling2d({ name: `${b}_pool`, poolSize: 3, strides: 2, padding: 'same' }), x);
    x = apply(tf.layers.add({ name: `${b}_add` }), [x, res]);
  });

  // Middle flow: blocks 5–12.
  for (let i = 5; i <= 12; i++) {
    const res = x;
    for (let j = 1; j <= 3; j++) {
      x = apply(relu(`block${i}_sepconv${j}_act`), x);
      x = apply(bn(`block${i}_sepconv${j}_bn`), apply(sepConv(`block${i}_sepconv${j}`, 728, seeds), x));
    }
    x = apply(tf.layers.add({ name: `block${i}_add` }), [x, res]);
  }

  // Exit flow.
  let res = apply(conv('block13_res_conv', { filters: 1024, kernelSize: 1, strides: 2, useBias: false }, seeds), x);
  res = apply(bn('block13_res_bn'), res);
  x = apply(relu('block13_sepconv1_act'), x);
  x = apply(bn('block13_sepconv1_bn'), apply(sepConv('block13_sepconv1', 728, seeds), x));
  x = apply(relu('block13_sepconv2_act'), x);
  x = apply(bn('block13_sepconv2_bn'), apply(sepConv('block13_sepconv2', 1024, seeds), x));
  x = apply(tf.layers.maxPooling2d({ name: 'block13_pool', poolSize: 3, strides: 2, padding: 'same' }), x);
  x = apply(tf.layers.add({ name: 'block13_add' }), [x, res]);
  x = apply(bn('block14_sepconv1_bn'), apply(sepConv('block14_sepconv1', 1536, seeds), x));
  x = apply(relu('block14_sepconv1_act'), x);
  x = apply(bn('block14_sepconv2_bn'), apply(sepConv('block14_sepconv2', 2048, seeds), x));
  return apply(relu('features'), x);
}
