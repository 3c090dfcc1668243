/**
 * The data side of a run: resolve the dataset (the embedded synthetic set when none is given),
 * discover and split it with the run's seed, decode the splits a run needs (cached), and write
 * the dataset summary beside the run.
 */
import { join, resolve } from 'node:path';
import type { TrainConfig } from './config.ts';
import type { DatasetIndex, ImageSet, SplitName } from '../data/types.ts';
import { DatasetError } from '../data/errors.ts';

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
