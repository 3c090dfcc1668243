/** Named errors of the classical (frozen features + classical classifier) pipeline. */

/** A classifier got bad parameters or bad data, or was used before `fit`. */
export class ClassifierError extends Error {
  override name = 'ClassifierError';
}

/** A feature file is missing, truncated, or its header and payload disagree. */
export class FeatureFileError extends Error {
  override name = 'FeatureFileError';
}

/** Cross-validation cannot be set up (too few groups or samples of a class, bad k …). */
export class CrossValidationError extends Error {
  override name = 'CrossValidationError';
}

/**
 * The extractor was trained on images that are also in the data being cross-validated: its
 * features are memorised there, and every classifier scores ~perfectly (see README, leakage guard).
 */
export class LeakageError extends Error {
  override name = 'LeakageError';
}

/** A feature extractor (backbone checkpoint or tfjs model) cannot be loaded or used. */
export class ExtractorError extends Error {
  override name = 'ExtractorError';
}
