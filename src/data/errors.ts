/**
 * Named errors of the data pipeline. Bad individual files never throw out of the pipeline (they
 * become `SkippedFile`s); these are for problems that make a whole dataset unusable.
 */

/** The dataset folder is missing, has no recognisable layout, or a class has no usable image. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** Invalid options (split sizes, batch size, augmentation ranges …). */
export class DataOptionsError extends Error {
  override name = 'DataOptionsError';
}

/** One image could not be used; `reason` is the SkippedFile reason. Caught inside the pipeline. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
