/**
 * fdft's layers. Importing this module registers every custom layer class with tfjs'
 * serialization map, so saved FDFtNet models reload (`src/io/fileSystem.ts` imports it).
 */
export { HardSigmoid, hardSigmoid } from './hardSigmoid.ts';
export { HardSwish, hardSwish } from './hardSwish.ts';
export { SelfAttention, type SelfAttentionArgs } from './selfAttention.ts';
export { attention, attentionReference, chunkSizes } from './attentionCore.ts';
export { SelectInput, type SelectInputArgs } from './selectInput.ts';
export { FrozenBackbone, type FrozenBackboneArgs } from './frozenBackbone.ts';
export { FineTuneTransformer, type FineTuneTransformerOptions } from './fineTuneTransformer.ts';
export { MBBlockV3, type MBBlockV3Options } from './mbBlockV3.ts';
export { MBHead, type MBHeadOptions } from './mbHead.ts';
export { DepthwiseConv2D, depthwiseConv2d } from './depthwiseConv2d.ts';
export { SeedSequence, l2Regularizer } from './seeds.ts';
export { LayerInputError } from './layerArgs.ts';
