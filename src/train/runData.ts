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
import type { ScoredSet } from './scoring.ts';
import type { EpochBatches } from './loop.ts';

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

/** Discovers and splits the dataset a config names; each of `splits` must hold files. */
async function discoverRunDataset(
  config: Pick<TrainConfig, 'data' | 'seed' | 'groupBy'>,
  splits: readonly SplitName[],
  log: (m: string) => void,
): Promise<{ root: string; index: DatasetIndex }> {
  const { discoverDataset } = await import('../data/discover.ts');
  const root = await resolveDataRoot(config.data, log);
  const index = await discoverDataset(root, { seed: config.seed, groupBy: config.groupBy });
  for (const split of splits) {
    if (index.splits[split].length === 0) throw new DatasetError(`the ${split} split of ${root} is empty`);
  }
  return { root, index };
}

function loadOptions(config: Pick<TrainConfig, 'inputSize' | 'fit'>, cacheDir: string | undefined) {
  return { size: config.inputSize, fit: config.fit, cacheDir: cacheDir ?? join(process.cwd(), DEFAULT_CACHE_DIR) };
}

/** Decodes `splits` completely before returning (evaluation); training uses `openTrainingData`. */
export async function loadRunData(
  config: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit'>,
  splits: SplitName[],
  opts: { cacheDir?: string; log?: (m: string) => void; summaryPath?: string } = {},
): Promise<RunData> {
  const log = opts.log ?? (() => {});
  const { loadImages, assertBothClasses } = await import('../data/loader.ts');
  const { summarizeDataset, writeDatasetSummary, formatDatasetSummary } = await import('../data/summary.ts');
  const { root, index } = await discoverRunDataset(config, splits, log);
  const sets: Partial<Record<SplitName, ImageSet>> = {};
  for (const split of splits) {
    const set = await loadImages(index.splits[split], loadOptions(config, opts.cacheDir));
    assertBothClasses(set, index.splits[split], `the ${split} split of ${root}`);
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
   * image (DatasetError naming the folder), or undefined (see dataLoopOptions).
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
  const { ImageLoader, assertBothClasses } = await import('../data/loader.ts');
  const { summarizeDataset, writeDatasetSummary, formatDatasetSummary } = await import('../data/summary.ts');
  const splits = [trainSplit, 'val', 'test'] as const;
  const { root, index } = await discoverRunDataset(config, splits, log);
  log(formatDatasetSummary(summarizeDataset(index), { maxSkipped: 5 }));
  const loader = (split: SplitName) => new ImageLoader(index.splits[split], loadOptions(config, opts.cacheDir));
  const train = loader(trainSplit);
  const val = loader('val');
  const test = loader('test');
  const checked = <T extends Pick<ImageSet, 'labels' | 'skipped'>>(split: SplitName, p: Promise<T>): Promise<T> => {
    const out = p.then((set) => {
      assertBothClasses(set, index.splits[split], `the ${split} split of ${root}`);
      return set;
    });
    // Handled where it is awaited (set(), complete()); this keeps an early failure from being an
    // unhandled rejection, which tfjs-backend-wasm's emscripten handler turns into a crash.
    out.catch(() => {});
    return out;
  };
  // The training split is served by its loader: its outcome (no pixel copy) is enough for the checks.
  const trainOutcome = checked(trainSplit, train.outcome());
  const evalSets = { val: checked('val', val.result()), test: checked('test', test.result()) };
  let trainFailure: Error | undefined;
  trainOutcome.catch((e: Error) => (trainFailure = e));
  let completed: Promise<void> | undefined;
  return {
    root,
    index,
    train,
    set: (split) => evalSets[split],
    failure: () => trainFailure,
    complete: () =>
      (completed ??= (async () => {
        const [t, v, te] = await Promise.all([trainOutcome, evalSets.val, evalSets.test]);
        const summary = summarizeDataset(index, { [trainSplit]: t, val: v, test: te });
        if (opts.summaryPath) await writeDatasetSummary(opts.summaryPath, summary);
        const decodeSkips = summary.skipped.total - index.summary.skipped.total;
        log(`decoded every split${decodeSkips ? `; ${decodeSkips} file(s) could not be decoded and were skipped:\n${formatDatasetSummary(summary, { maxSkipped: 5 })}` : ' (no undecodable file)'}`);
      })()),
    close: async () => {
      await Promise.all([train, val, test].map((l) => l.close()));
    },
  };
}

/** `openTrainingData` for a run: its decode cache, its log, and dataset-summary.json in its directory. */
export function openRunTrainingData(
  runDir: string,
  config: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit'>,
  trainSplit: 'train' | 'finetune',
  opts: { cacheDir?: string; reporter: { log(m: string): void } },
): Promise<TrainingData> {
  return openTrainingData(config, trainSplit, {
    cacheDir: opts.cacheDir,
    log: (m) => opts.reporter.log(m),
    summaryPath: join(runDir, 'dataset-summary.json'),
  });
}

/**
 * The epoch's batches, stopped with the data's failure (e.g. a class found undecodable while the
 * run was already training) at the next batch.
 */
function stopOnFailure(batches: EpochBatches, failure: () => Error | undefined): EpochBatches {
  return async function* (epoch, fromStep) {
    for await (const batch of batches(epoch, fromStep)) {
      const e = failure();
      if (e) {
        batch.xs.dispose();
        batch.ys.dispose();
        throw e;
      }
      yield batch;
    }
  };
}

/**
 * The `trainLoop` options a run's data provides: the epoch's augmented batches (stopped if decoding
 * finds a class unusable), steps per epoch, validation scoring (`scoreSet` on the validation split:
 * the whole model, or fine-tuning's heads on cached feature maps) and the precise-BN batches.
 */
export async function dataLoopOptions(data: TrainingData, config: TrainConfig, scoreSet: (set: ImageSet) => Promise<ScoredSet>) {
  const { makeEpochBatches, makePreciseBnBatches, stepsPerEpochFor } = await import('./epochBatches.ts');
  return {
    batches: stopOnFailure(makeEpochBatches(data.train, config), data.failure),
    stepsPerEpoch: stepsPerEpochFor(data.train, config),
    validation: { score: async () => scoreSet(await data.set('val')) },
    preciseBn: makePreciseBnBatches(data.train, config),
  };
}
