/**
 * The data pipeline (import what you need from here, or from the single-concept files):
 * discovery and seeded splits, decoding with a cache, streaming loading on a worker thread,
 * the paper's augmentation, training batches, dataset summaries, the embedded synthetic set.
 * Importing this pulls in @tensorflow/tfjs (batches.ts); commands import it inside handlers.
 */
export * from './types.ts';
export * from './errors.ts';
export { discoverDataset, type DiscoverOptions } from './discover.ts';
export { splitSamples, splitTargets, balancedSubset, DEFAULT_SPLIT, type SplitSpec } from './split.ts';
export { listImageFiles, IMAGE_EXTENSIONS, type FileListing } from './walk.ts';
export { decodeImage, DEFAULT_DECODE, type DecodeOptions } from './decode.ts';
export { DecodedImageCache, decodeCached, DEFAULT_CACHE_DIR } from './cache.ts';
export { ImageLoader, loadImages, assertBothClasses, type LoadOptions } from './loader.ts';
export { asImageSource, imageSetSource, type ImageSource } from './imageSource.ts';
export {
  Augmenter,
  PAPER_AUGMENTATION,
  NO_AUGMENTATION,
  applyTransform,
  sampleTransform,
  sampleCutout,
  rescaleInto,
  expectedCutoutFraction,
  type AugmentOptions,
  type ImageTransform,
  type CutBox,
} from './augment.ts';
export { batchIterator, batchIndices, batchesPerPass, stepsPerEpoch, imageSetTensors, type Batch, type BatchOptions } from './batches.ts';
export { summarizeDataset, formatDatasetSummary, writeDatasetSummary, countSamples } from './summary.ts';
export { contactSheetPng, contactSheetRgb, type ContactSheetOptions } from './contactSheet.ts';
export { rngFor, permutation, shuffleInPlace } from './random.ts';
export { synthesizeDataset, renderSyntheticSample, SYNTHETIC_VERSION, type SynthesizeOptions } from './synthetic/synthesize.ts';
export { defaultDatasetDir, defaultDatasetPath, type DefaultDatasetOptions } from './synthetic/defaultDataset.ts';
