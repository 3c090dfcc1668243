/**
 * The data side of a run: resolve the dataset (the embedded synthetic set when none is given),
 * discover and split it with the run's seed, decode the splits a run needs (cached), and write
 * the dataset summary beside the run.
 */
import { join, resolve } from 'node:path';
import type { TrainConfig } from './config.ts';
import type { DatasetIndex, ImageSet, SplitName } from '../data/types.ts';
import { DatasetError } from '../data/errors.ts';
import type { ImageLoader } from '../data/loader.ts';
import type { PredictFn } from './scoring.ts';

export interface RunData {
  root: string;
  index: DatasetIndex;
  sets: Partial<Record<SplitName, ImageSet>>;
}

export const DEFAULT_CACHE_DIR = '.cache/fdft-images';

/** The directory of the dataset a config names ('synthetic' → the generated default set). */
export async function resolveDataRoot(data: string, log: (m: string) => void = () => {}): Promise<string> {
  if (data !== 'synthetic') return resolve(data);
  const { defaultDatasetDir } = await import('../data/synthetic/defaultDataset.ts');
  return defaultDatasetDir({ log });
}

export async function loadRunData(
  config: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit'>,
  splits: SplitName[],
  opts: { cacheDir?: string; log?: (m: string) => void; summaryPath?: string } = {},
): Promise<RunData> {
  const log = opts.log ?? (() => {});
  const { discoverDataset } = await import('../data/discover.ts');
  const { loadImages } = await import('../data/loader.ts');
  const { summarizeDataset, writeDatasetSummary, formatDatasetSummary } = await import('../data/summary.ts');
  const root = await resolveDataRoot(config.data, log);
  const index = await discoverDataset(root, { seed: config.seed, groupBy: config.groupBy });
  const sets: Partial<Record<SplitName, ImageSet>> = {};
  for (const split of splits) {
    const samples = index.splits[split];
    if (samples.length === 0) throw new DatasetError(`the ${split} split of ${root} is empty`);
    const set = await loadImages(samples, {
      size: config.inputSize,
      fit: config.fit,
      cacheDir: opts.cacheDir ?? join(process.cwd(), DEFAULT_CACHE_DIR),
    });
    for (const label of [0, 1] as const) {
      if (!set.labels.some((l) => l === label)) {
        throw new DatasetError(
          `no usable ${label === 0 ? 'real' : 'fake'} image in the ${split} split of ${root} (${set.skipped.length} skipped: see the dataset summary)`,
        );
      }
    }
    sets[split] = set;
  }
  const summary = summarizeDataset(index, sets);
  if (opts.summaryPath) await writeDatasetSummary(opts.summaryPath, summary);
  log(formatDatasetSummary(summary, { maxSkipped: 5 }));
  return { root, index, sets };
}

/**
 * The data of a training run, decoding in the background: the training split streams through an
 * `ImageLoader` (a worker thread decodes, the batches it needs next first) so the first step runs
 * as soon as its 32–128 images are ready instead of after the whole split; val and test decode
 * alongside and are awaited only when first scored. Later runs read the decode cache.
 */
export interface TrainingData {
  root: string;
  index: DatasetIndex;
  /** The training split (train or finetune) as a streaming source for `makeEpochBatches`. */
  train: ImageLoader;
  /** A fully decoded evaluation split (resolves when its decoding has finished). */
  set(split: 'val' | 'test'): Promise<ImageSet>;
  /**
   * The error that stops the run when decoding left a class of the training split with no usable
   * image (DatasetError naming the folder), or undefined. Checked before every batch.
   */
  failure(): Error | undefined;
  /** Resolves when every split is decoded and the dataset summary is written and logged. */
  complete(): Promise<void>;
  /** Stops any decoding still running (interrupted or failed runs). */
  close(): Promise<void>;
}

export async function openTrainingData(
  config: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit'>,
  trainSplit: 'train' | 'finetune',
  opts: { cacheDir?: string; log?: (m: string) => void; summaryPath?: string } = {},
): Promise<TrainingData> {
  const log = opts.log ?? (() => {});
  const { discoverDataset } = await import('../data/discover.ts');
  const { ImageLoader, assertBothClasses } = await import('../data/loader.ts');
  const { summarizeDataset, writeDatasetSummary, formatDatasetSummary } = await import('../data/summary.ts');
  const root = await resolveDataRoot(config.data, log);
  const index = await discoverDataset(root, { seed: config.seed, groupBy: config.groupBy });
  log(formatDatasetSummary(summarizeDataset(index), { maxSkipped: 5 }));
  const splits = [trainSplit, 'val', 'test'] as const;
  for (const split of splits) {
    if (index.splits[split].length === 0) throw new DatasetError(`the ${split} split of ${root} is empty`);
  }
  const loadOpts = { size: config.inputSize, fit: config.fit, cacheDir: opts.cacheDir ?? join(process.cwd(), DEFAULT_CACHE_DIR) };
  const loaders = {
    [trainSplit]: new ImageLoader(index.splits[trainSplit], loadOpts),
    val: new ImageLoader(index.splits.val, loadOpts),
    test: new ImageLoader(index.splits.test, loadOpts),
  } as Record<(typeof splits)[number], ImageLoader>;
  // Each split once decoded, checked to hold both classes.
  const decoded = {} as Record<(typeof splits)[number], Promise<ImageSet>>;
  for (const split of splits) {
    decoded[split] = loaders[split].result().then((set) => {
      assertBothClasses(set, index.splits[split], `the ${split} split of ${root}`);
      return set;
    });
    // Handled where it is awaited (set(), complete()); this keeps an early failure from being an
    // unhandled rejection, which tfjs-backend-wasm's emscripten handler turns into a crash.
    decoded[split].catch(() => {});
  }
  let trainFailure: Error | undefined;
  decoded[trainSplit].catch((e: Error) => (trainFailure = e));
  let completed: Promise<void> | undefined;
  return {
    root,
    index,
    train: loaders[trainSplit],
    set: (split) => decoded[split],
    failure: () => trainFailure,
    complete: () =>
      (completed ??= (async () => {
        const sets = Object.fromEntries(await Promise.all(splits.map(async (s) => [s, await decoded[s]] as const)));
        const summary = summarizeDataset(index, sets);
        if (opts.summaryPath) await writeDatasetSummary(opts.summaryPath, summary);
        const decodeSkips = summary.skipped.total - index.summary.skipped.total;
        log(`decoded every split${decodeSkips ? `; ${decodeSkips} file(s) could not be decoded and were skipped:\n${formatDatasetSummary(summary, { maxSkipped: 5 })}` : ' (no undecodable file)'}`);
      })()),
    close: async () => {
      await Promise.all(splits.map((s) => loaders[s].close()));
    },
  };
}

/**
 * The `trainLoop` options a run's data provides: the epoch's augmented batches, steps per epoch,
 * validation scoring, the precise-BN batches and the per-step check that decoding found both classes.
 */
export async function dataLoopOptions(data: TrainingData, config: TrainConfig, predict: PredictFn) {
  const { makeEpochBatches, makePreciseBnBatches, stepsPerEpochFor } = await import('./epochBatches.ts');
  const { scoreImageSet } = await import('./scoring.ts');
  return {
    batches: makeEpochBatches(data.train, config),
    stepsPerEpoch: stepsPerEpochFor(data.train, config),
    validation: { score: async () => scoreImageSet(predict, await data.set('val'), config.batch) },
    preciseBn: makePreciseBnBatches(data.train, config),
    checkData: () => {
      const failure = data.failure();
      if (failure) throw failure;
    },
  };
}
