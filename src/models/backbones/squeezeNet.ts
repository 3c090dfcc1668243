/**
 * SqueezeNet (Iandola et al. 2016) as in the FDFtNet authors' code (network/SqueezeNet.py): 3x3
 * conv 64 stride 2 'valid' + ReLU, 3x3/2 max-pool, fire modules 2–9 (squeeze 16/16/32/32/48/48/64/64,
 * expand 64/64/128/128/192/192/256/256 per branch) with 3x3/2 max-pools after fire 3 and fire 5.
 * Fire 9's concatenation is `features` (3x3x512 at 64x64). Convs have biases, no BN.
 * (The stem and pool placement are those of SqueezeNet v1.1, which is what the authors' code builds.)
 */
import * as tf from '@tensorflow/tfjs';
import type { SeedSequence } from '../../../layers/seeds.ts';
import { type Sym, apply, conv, relu } from './builders.ts';

function fire(x: Sym, id: number, squeeze: number, expand: number, seeds: SeedSequence, outName?: string): Sym {
  const p = `fire${id}`;
  const s = apply(relu(`${p}_relu_squeeze1x1`), apply(conv(`${p}_squeeze1x1`, { filters: squeeze, kernelSize: 1, padding: 'valid' }, seeds), x));
  const left = apply(relu(`${p}_relu_expand1x1`), apply(conv(`${p}_expand1x1`, { filters: expand, kernelSize: 1, padding: 'valid' }, seeds), s));
  const right = apply(relu(`${p}_relu_expand3x3`), apply(conv(`${p}_expand3x3`, { filters: expand, kernelSize: 3, padding: 'same' }, seeds), s));
  return apply(tf.layers.concatenate({ name: outName ?? `${p}_concat`, axis: -1 }), [left, right]);
}

export function squeezeNetFeatures(input: Sym, seeds: SeedSequence): Sym {
  let x = apply(conv('conv1', { filters: 64, kernelSize: 3, strides: 2, padding: 'valid' }, seeds), input);
  x = apply(relu('relu_conv1'), x);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 3, strides: 2 }), x);
  x = fire(x, 2, 16, 64, seeds);
  x = fire(x, 3, 16, 64, seeds);
  x = apply(tf.layers.maxPooling2d({ name: 'pool3', poolSize: 3, strides: 2 }), x);
  x = fire(x, 4, 32, 128, seeds);
  x = fire(x, 5, 32, 128, seeds);
  x = apply(tf.layers.maxPooling2d({ name: 'pool5', poolSize: 3, strides: 2 }), x);
  x = fire(x, 6, 48, 192, seeds);
  x = fire(x, 7, 48, 192, seeds);
  x = fire(x, 8, 64, 256, seeds);
  return fire(x, 9, 64, 256, seeds, 'features');
}
