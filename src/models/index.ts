/** Model registry: backbones and the FDFtNet assembly. */
export {
  BACKBONE_NAMES,
  type BackboneName,
  type BackboneOptions,
  FEATURES_LAYER,
  createBackbone,
  featureExtractor,
  isBackboneName,
} from './backbones/index.ts';
export {
  FDFT_LAYER_NAMES,
  FDFT_WIDTH,
  type FdftNet,
  type FdftNetOptions,
  type ParamCounts,
  createFdftNet,
  fdftNetFromModel,
  paramCounts,
  regularizationLoss,
} from './fdftnet.ts';
export { ModelConfigError } from './errors.ts';
export { DEFAULT_BN_MOMENTUM, setBatchNormMomentum } from './batchNormMomentum.ts';
