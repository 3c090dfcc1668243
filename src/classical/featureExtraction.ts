/**
 * `fdft features`: discover a dataset, embed every image of a split (or all) with a frozen
 * extractor, and write the feature file (matrix + labels, paths, identity groups, content hashes,
 * extractor description incl. what it was trained on).
 */
import { resolve } from 'node:path';
import type { Sample, SplitName } from '../data/types.ts';
import { type ExtractorSpec, extractFeatures, loadExtractor } from './extractor.ts';
import { type FeatureHeader, writeFeatureFile } from './featureFile.ts';
import { hashImageFiles } from './imageHash.ts';

export interface FeatureExtractionOptions extends ExtractorSpec {
  data: string;
  out: string;
  split: SplitName | 'all';
  /** Dataset split seed and identity rule; default: the extractor run's own when it is an fdft run, else 1 / none. */
  seed?: number;
  groupBy?: string;
  batch?: number;
  cacheDir?: string;
  log?: (m: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface FeatureExtractionResult {
  out: string;
  rows: number;
  cols: number;
  skipped: number;
  seconds: number;
  header: Omit<FeatureHeader, 'format' | 'version' | 'dtype' | 'byteOrder' | 'rows' | 'cols'>;
}

export async function extractFeatureFile(opts: FeatureExtractionOptions): Promise<FeatureExtractionResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const { resolveDataRoot } = await import('../train/runData.ts');
  const { discoverDataset } = await import('../data/discover.ts');
  const ex = await loadExtractor(opts);
  try {
    let seed = opts.seed;
    let groupBy = opts.groupBy;
    if (ex.info.trainedOn.runConfig && (seed === undefined || groupBy === undefined)) {
      // Same seed and identity rule as the extractor's run: its test split is then really unseen.
      const { readRunInfo } = await import('../train/runDir.ts');
      const { dirname } = await import('node:path');
      const cfg = (await readRunInfo(dirname(ex.info.trainedOn.runConfig))).config as { seed?: number; groupBy?: string };
      seed ??= cfg.seed;
      groupBy ??= cfg.groupBy;
    }
    seed ??= 1;
    const root = await resolveDataRoot(opts.data);
    const index = await discoverDataset(root, { seed, groupBy });
    let samples: Sample[];
    if (opts.split === 'all') {
      // A fine-tune set sampled from train repeats train images: keep each path once.
      const seen = new Set<string>();
      samples = Object.values(index.splits)
        .flat()
        .filter((s) => (seen.has(s.path) ? false : (seen.add(s.path), true)));
    } else samples = index.splits[opts.split];
    log(`extractor: ${ex.info.kind} ${ex.info.source} → ${ex.dim} features (${ex.info.pooling === 'gap' ? 'global average pooled ' : ''}${ex.info.layer ?? 'output'}, ${ex.info.inputSize}px, preprocess ${ex.info.preprocess})`);
    log(`data: ${root}, split ${opts.split}: ${samples.length} images`);
    const feats = await extractFeatures(ex, samples, { batch: opts.batch, cacheDir: opts.cacheDir, onProgress: opts.onProgress });
    const hashes = await hashImageFiles(feats.samples.map((s) => s.path));
    const header = {
      labels: feats.samples.map((s) => s.label),
      paths: feats.samples.map((s) => s.path),
      groups: feats.samples.map((s) => s.group ?? null),
      hashes,
      dataRoot: root,
      split: opts.split,
      ...(groupBy ? { groupBy } : {}),
      extractor: ex.info,
      createdAt: new Date().toISOString(),
      skipped: feats.skipped.map((s) => ({ path: s.path, reason: s.reason })),
      extra: { seed, seconds: (performance.now() - t0) / 1000 },
    };
    await writeFeatureFile(resolve(opts.out), header, feats);
    return { out: resolve(opts.out), rows: feats.nRows, cols: feats.nCols, skipped: feats.skipped.length, seconds: (performance.now() - t0) / 1000, header };
  } finally {
    ex.dispose();
  }
}
