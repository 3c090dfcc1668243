/**
 * Training batches: `{ xs: [B, size, size, 3] float32 in [0, 1], ys: [B, 2] one-hot }`, shuffled
 * per epoch with the seed and augmented per image per epoch, like a Keras generator.
 *
 * Every random choice is a pure function of (seed, epoch, step): the order of pass p is
 * permutation(seed, 'shuffle', p) and the augmentation of a batch uses rng(seed, 'augment', epoch,
 * step), so a run resumed at the start of epoch e sees exactly the batches an uninterrupted run
 * would. With `stepsPerEpoch`, the data is one endless stream of passes (as a Keras generator
 * that keeps going across epochs): global step g = epoch·stepsPerEpoch + step is batch
 * g mod batchesPerPass of pass ⌊g / batchesPerPass⌋.
 *
 * Nothing is dropped silently: the last partial batch is kept (`remainder: 'keep'`, default)
 * or dropped only when asked (`remainder: 'drop'`).
 */
import * as tf from '@tensorflow/tfjs';
import { Augmenter, rescaleInto, type AugmentOptions } from './augment.ts';
import { DataOptionsError } from './errors.ts';
import { asImageSource, type ImageSource } from './imageSource.ts';
import { permutation, rngFor } from './random.ts';
import type { ImageSet } from './types.ts';

export interface BatchOptions {
  batchSize: number;
  /** Seed of shuffling and augmentation. Default 0. */
  seed?: number;
  /** Epoch number (0-based): selects the shuffle and the augmentation. Default 0. */
  epoch?: number;
  /** Shuffle each pass (training). Default true. */
  shuffle?: boolean;
  /** Augmentation options (or an Augmenter); false = rescale only (validation / test). Default false. */
  augment?: AugmentOptions | Augmenter | false;
  /** The last partial batch of a pass: 'keep' (default) or 'drop'. */
  remainder?: 'keep' | 'drop';
  /** Keras-style steps per epoch; default one pass over the data. */
  stepsPerEpoch?: number;
  /** First step to yield (resume inside an epoch). Default 0. */
  fromStep?: number;
  /** Batches ahead whose images are requested from a streaming source. Default 2. */
  prefetchBatches?: number;
}

export interface Batch {
  xs: tf.Tensor4D;
  ys: tf.Tensor2D;
  /** Labels of the batch (0 real, 1 fake). */
  labels: Uint8Array;
  /** Source indices of the batch's images. */
  indices: number[];
  epoch: number;
  step: number;
  /** Images of this batch slot that the loader had skipped (bad files), hence missing from xs. */
  missing: number;
}

/** Batches in one pass over n items. */
export function batchesPerPass(n: number, batchSize: number, remainder: 'keep' | 'drop' = 'keep'): number {
  return remainder === 'drop' ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Steps of one epoch for these options. */
export function stepsPerEpoch(n: number, opts: Pick<BatchOptions, 'batchSize' | 'remainder' | 'stepsPerEpoch'>): number {
  return opts.stepsPerEpoch ?? batchesPerPass(n, opts.batchSize, opts.remainder);
}

/** The source indices of (epoch, step): a pure function of its arguments. */
export function batchIndices(n: number, opts: BatchOptions, epoch: number, step: number, permCache?: Map<number, Uint32Array>): number[] {
  const B = opts.batchSize;
  const perPass = batchesPerPass(n, B, opts.remainder);
  const g = opts.stepsPerEpoch !== undefined ? epoch * opts.stepsPerEpoch + step : epoch * perPass + step;
  const pass = opts.stepsPerEpoch !== undefined ? Math.floor(g / perPass) : epoch;
  const within = opts.stepsPerEpoch !== undefined ? g % perPass : step;
  let perm: Uint32Array | undefined;
  if (opts.shuffle !== false) {
    perm = permCache?.get(pass);
    if (!perm) {
      perm = permutation(n, rngFor(opts.seed ?? 0, 'shuffle', pass));
      permCache?.set(pass, perm);
    }
  }
  const out: number[] = [];
  for (let k = within * B, end = Math.min(n, (within + 1) * B); k < end; k++) out.push(perm ? perm[k]! : k);
  return out;
}

function validate(n: number, opts: BatchOptions): void {
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new DataOptionsError(`batch size must be an integer ≥ 1 (got ${opts.batchSize})`);
  if (opts.stepsPerEpoch !== undefined && !(Number.isInteger(opts.stepsPerEpoch) && opts.stepsPerEpoch >= 1)) {
    throw new DataOptionsError(`stepsPerEpoch must be an integer ≥ 1 (got ${opts.stepsPerEpoch})`);
  }
  if (n === 0) throw new DataOptionsError('no images to make batches from');
  if (batchesPerPass(n, opts.batchSize, opts.remainder) === 0) {
    throw new DataOptionsError(`remainder 'drop' with ${n} images and batch size ${opts.batchSize} leaves no batch`);
  }
}

/** The batches of one epoch (async: a streaming source may still be decoding). */
export async function* batchIterator(data: ImageSet | ImageSource, opts: BatchOptions): AsyncGenerator<Batch> {
  const source = asImageSource(data);
  const n = source.length;
  validate(n, opts);
  const epoch = opts.epoch ?? 0;
  const seed = opts.seed ?? 0;
  const steps = stepsPerEpoch(n, opts);
  const augmenter = opts.augment === false || opts.augment === undefined ? undefined : opts.augment instanceof Augmenter ? opts.augment : new Augmenter(opts.augment);
  const size = source.size;
  const bytes = size * size * 3;
  const perms = new Map<number, Uint32Array>();
  const ahead = opts.prefetchBatches ?? 2;

  for (let step = opts.fromStep ?? 0; step < steps; step++) {
    if (source.prefetch) {
      const want: number[] = [];
      for (let s = step; s < Math.min(steps, step + 1 + ahead); s++) want.push(...batchIndices(n, opts, epoch, s, perms));
      source.prefetch(want);
    }
    if (perms.size > 3) perms.delete(Math.min(...perms.keys()));
    const slot = batchIndices(n, opts, epoch, step, perms);
    const images: Uint8Array[] = [];
    const indices: number[] = [];
    for (const i of slot) {
      const img = await source.image(i);
      if (img) {
        images.push(img);
        indices.push(i);
      }
    }
    if (images.length === 0) continue; // every image of this slot was a skipped file
    const B = images.length;
    const xs = new Float32Array(B * bytes);
    if (augmenter) augmenter.augmentBatch(images, size, rngFor(seed, 'augment', epoch, step), xs);
    else images.forEach((img, b) => rescaleInto(img, 0, bytes, xs, b * bytes));
    const labels = Uint8Array.from(indices, (i) => source.label(i));
    const ys = new Float32Array(B * 2);
    labels.forEach((l, b) => (ys[b * 2 + l] = 1));
    yield {
      xs: tf.tensor4d(xs, [B, size, size, 3], 'float32'),
      ys: tf.tensor2d(ys, [B, 2], 'float32'),
      labels,
      indices,
      epoch,
      step,
      missing: slot.length - B,
    };
  }
}

/** Images [start, end) of a set as tensors, rescaled only (evaluation, prediction). */
export function imageSetTensors(set: ImageSet, start = 0, end = set.samples.length): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const s = set.size;
  const bytes = s * s * 3;
  const B = Math.max(0, Math.min(end, set.samples.length) - start);
  const xs = new Float32Array(B * bytes);
  rescaleInto(set.images, start * bytes, B * bytes, xs, 0);
  const ys = new Float32Array(B * 2);
  for (let b = 0; b < B; b++) ys[b * 2 + set.labels[start + b]!] = 1;
  return { xs: tf.tensor4d(xs, [B, s, s, 3], 'float32'), ys: tf.tensor2d(ys, [B, 2], 'float32') };
}
