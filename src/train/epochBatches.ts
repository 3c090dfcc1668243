/**
 * Glue between a run's config and the data pipeline's batch iterator: the paper's augmentation
 * (translation, rotation, zoom, flip, Cutout) on the training split, shuffled per epoch with the
 * run's seed. Batches are a pure function of (seed, epoch, step), which makes resume exact.
 */
import type { AugmentConfig, TrainConfig } from './config.ts';
import type { EpochBatches } from './loop.ts';
import type { ImageSet } from '../data/types.ts';
import type { ImageSource } from '../data/imageSource.ts';
import { asImageSource } from '../data/imageSource.ts';
import { batchIterator, stepsPerEpoch } from '../data/batches.ts';
import { Augmenter } from '../data/augment.ts';

export function stepsPerEpochFor(set: ImageSet | ImageSource, config: Pick<TrainConfig, 'batch' | 'stepsPerEpoch'>): number {
  return stepsPerEpoch(asImageSource(set).length, { batchSize: config.batch, stepsPerEpoch: config.stepsPerEpoch ?? undefined });
}

/** Whether `a` changes any image (else every epoch's training batches hold the images as decoded). */
export function augments(a: AugmentConfig): boolean {
  return a.translate > 0 || a.rotation > 0 || a.zoom > 0 || a.hflip || a.cutoutAlpha > 0;
}

export function makeEpochBatches(set: ImageSet | ImageSource, config: Pick<TrainConfig, 'batch' | 'stepsPerEpoch' | 'seed' | 'augment'>): EpochBatches {
  const a = config.augment;
  const augmenter = augments(a) ? new Augmenter({ ...a }) : undefined;
  return (epoch, fromStep = 0) =>
    batchIterator(set, {
      batchSize: config.batch,
      seed: config.seed,
      epoch,
      shuffle: true,
      augment: augmenter ?? false,
      stepsPerEpoch: config.stepsPerEpoch ?? undefined,
      fromStep,
    });
}

/**
 * The precise-BN batches of an epoch (see preciseBatchNorm.ts): `config.preciseBn` training images,
 * not augmented, in an order of their own drawn from (seed, epoch); undefined when it is off.
 */
export function makePreciseBnBatches(
  set: ImageSet | ImageSource,
  config: Pick<TrainConfig, 'batch' | 'seed' | 'preciseBn'>,
): EpochBatches | undefined {
  const images = config.preciseBn ?? 0;
  if (images <= 0) return undefined;
  const n = asImageSource(set).length;
  const batchSize = Math.min(config.batch, images, n);
  return (epoch) =>
    batchIterator(set, {
      batchSize,
      seed: config.seed + 0x5eed,
      epoch,
      shuffle: true,
      augment: false,
      stepsPerEpoch: Math.ceil(Math.min(images, n) / batchSize),
    });
}
