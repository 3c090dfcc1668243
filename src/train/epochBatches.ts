/**
 * Glue between a run's config and the data pipeline's batch iterator: the paper's augmentation
 * (translation, rotation, zoom, flip, Cutout) on the training split, shuffled per epoch with the
 * run's seed. Batches are a pure function of (seed, epoch, step), which makes resume exact.
 */
import type { TrainConfig } from './config.ts';
import type { EpochBatches } from './loop.ts';
import type { ImageSet } from '../data/types.ts';
import { batchIterator, stepsPerEpoch } from '../data/batches.ts';
import { Augmenter } from '../data/augment.ts';

export function stepsPerEpochFor(set: ImageSet, config: Pick<TrainConfig, 'batch' | 'stepsPerEpoch'>): number {
  return stepsPerEpoch(set.labels.length, { batchSize: config.batch, stepsPerEpoch: config.stepsPerEpoch ?? undefined });
}

export function makeEpochBatches(set: ImageSet, config: Pick<TrainConfig, 'batch' | 'stepsPerEpoch' | 'seed' | 'augment'>): EpochBatches {
  const a = config.augment;
  const anyAugment = a.translate > 0 || a.rotation > 0 || a.zoom > 0 || a.hflip || a.cutoutAlpha > 0;
  const augmenter = anyAugment ? new Augmenter({ ...a }) : undefined;
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
