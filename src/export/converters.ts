/** Which converter handles which tfjs layer class (by `getClassName()`). */
import * as conv from './convLayers.ts';
import * as core from './coreLayers.ts';
import type { LayerConverter } from './converter.ts';
import * as fdft from './fdftLayers.ts';
import * as merge from './mergeLayers.ts';
import { batchNormalization } from './normalizationLayers.ts';
import * as pool from './poolingLayers.ts';

export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  Conv2D: conv.conv2d,
  DepthwiseConv2D: conv.depthwiseConv2d,
  SeparableConv2D: conv.separableConv2d,
  BatchNormalization: batchNormalization,
  Dense: core.dense,
  Flatten: core.flatten,
  Reshape: core.reshape,
  Permute: core.permuteLayer,
  Activation: core.activation,
  ReLU: core.relu,
  LeakyReLU: core.leakyRelu,
  ELU: core.elu,
  ThresholdedReLU: core.thresholdedRelu,
  Softmax: core.softmax,
  Dropout: core.dropout,
  SpatialDropout1D: core.identity,
  GaussianNoise: core.identity,
  GaussianDropout: core.identity,
  AlphaDropout: core.identity,
  MaxPooling2D: pool.maxPooling2d,
  AveragePooling2D: pool.averagePooling2d,
  GlobalAveragePooling2D: pool.globalAveragePooling2d,
  GlobalMaxPooling2D: pool.globalMaxPooling2d,
  ZeroPadding2D: pool.zeroPadding2d,
  Cropping2D: pool.cropping2d,
  Add: merge.add,
  Multiply: merge.multiply,
  Average: merge.average,
  Maximum: merge.maximum,
  Minimum: merge.minimum,
  Concatenate: merge.concatenate,
  HardSigmoid: fdft.hardSigmoid,
  HardSwish: fdft.hardSwish,
  SelfAttention: fdft.selfAttention,
  SelectInput: fdft.selectInput,
};

/** Layer classes the exporter supports (plus nested models and FrozenBackbone, which are inlined). */
export const SUPPORTED_LAYER_CLASSES: readonly string[] = [...Object.keys(LAYER_CONVERTERS), 'InputLayer', 'Functional/Sequential model', 'FrozenBackbone'];
