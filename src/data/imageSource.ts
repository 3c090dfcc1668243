/**
 * What batches are drawn from: a fully decoded ImageSet, or an ImageLoader that is still
 * decoding (then `image(i)` may have to wait, and `prefetch` says what is needed next).
 */
import type { ImageSet, Label, Sample } from './types.ts';

export interface ImageSource {
  /** Side of the square images in px. */
  readonly size: number;
  /** Number of samples (including ones that may turn out to be skipped, for a loader). */
  readonly length: number;
  readonly samples: readonly Sample[];
  label(i: number): Label;
  /** RGB bytes (size*size*3) of sample i, or null when it was skipped. */
  image(i: number): Uint8Array | null | Promise<Uint8Array | null>;
  /** Hint: these indices are needed soon (decode them first). */
  prefetch?(indices: ArrayLike<number>): void;
}

export function isImageSet(x: ImageSet | ImageSource): x is ImageSet {
  return (x as ImageSet).images instanceof Uint8Array && (x as ImageSet).labels instanceof Uint8Array;
}

/** An ImageSet seen as an ImageSource (every image ready). */
export function imageSetSource(set: ImageSet): ImageSource {
  const bytes = set.size * set.size * 3;
  if (set.images.length !== set.samples.length * bytes || set.labels.length !== set.samples.length) {
    throw new RangeError(`ImageSet is inconsistent: ${set.samples.length} samples, ${set.labels.length} labels, ${set.images.length} bytes at ${set.size}px`);
  }
  return {
    size: set.size,
    length: set.samples.length,
    samples: set.samples,
    label: (i) => set.labels[i] as Label,
    image: (i) => set.images.subarray(i * bytes, (i + 1) * bytes),
  };
}

export function asImageSource(x: ImageSet | ImageSource): ImageSource {
  return isImageSet(x) ? imageSetSource(x) : x;
}
