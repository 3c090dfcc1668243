/** Small helpers shared by the backbone definitions: named, seeded standard layers. */
import * as tf from '@tensorflow/tfjs';
import type { SeedSequence } from '../../../layers/seeds.ts';

export type Sym = tf.SymbolicTensor;

export function apply(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

export interface ConvSpec {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'same' | 'valid';
  useBias?: boolean;
  l2?: number;
}

export function conv(name: string, s: ConvSpec, seeds: SeedSequence) {
  return tf.layers.conv2d({
    name,
    filters: s.filters,
    kernelSize: s.kernelSize,
    strides: s.strides ?? 1,
    padding: s.padding ?? 'same',
    useBias: s.useBias ?? true,
    kernelInitializer: seeds.glorotUniform(),
    kernelRegularizer: s.l2 ? tf.regularizers.l2({ l2: s.l2 }) : undefined,
  });
}

/** Separable conv; both kernels get their own seeded initialiser (see fineTuneTransformer.ts). */
export function sepConv(name: string, filters: number, seeds: SeedSequence) {
  const layer = tf.layers.separableConv2d({
    name,
    filters,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
    depthwiseInitializer: seeds.glorotUniform(),
  });
  (layer as unknown as { pointwiseInitializer: unknown }).pointwiseInitializer = seeds.glorotUniform();
  return layer;
}

export function bn(name: string, epsilon?: number) {
  return tf.layers.batchNormalization({ name, ...(epsilon !== undefined ? { epsilon } : {}) });
}

export function relu(name: string) {
  return tf.layers.activation({ name, activation: 'relu' });
}
