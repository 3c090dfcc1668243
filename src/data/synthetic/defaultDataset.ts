/**
 * The embedded default dataset: commands given no `--data` use a synthetic set generated once
 * and cached under `datasets/synthetic-v<version>-<count>x2-seed<seed>-<size>px/` (the folder is
 * `FDFT_DATASETS` or `./datasets`).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SYNTHETIC_MANIFEST, SYNTHETIC_VERSION, synthesizeDataset } from './synthesize.ts';

export interface DefaultDatasetOptions {
  /** Images per class. Default 1500 (the default flat split then gives 900/150/150/300 per class). */
  count?: number;
  seed?: number;
  size?: number;
  /** Parent folder. Default $FDFT_DATASETS or ./datasets. */
  root?: string;
  /** Told when the set has to be generated (it takes a few seconds). */
  log?: (msg: string) => void;
}

export function defaultDatasetPath(opts: DefaultDatasetOptions = {}): string {
  const count = opts.count ?? 1500;
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 64;
  const root = resolve(opts.root ?? process.env.FDFT_DATASETS ?? 'datasets');
  return join(root, `synthetic-v${SYNTHETIC_VERSION}-${count}x2-seed${seed}-${size}px`);
}

/** The default dataset's folder, generating it first when it is not there yet. */
export async function defaultDatasetDir(opts: DefaultDatasetOptions = {}): Promise<string> {
  const dir = defaultDatasetPath(opts);
  if (await stat(join(dir, SYNTHETIC_MANIFEST)).catch(() => undefined)) return dir;
  opts.log?.(`[fdft] generating the embedded synthetic dataset in ${dir} …`);
  const r = await synthesizeDataset({ out: dir, count: opts.count, seed: opts.seed, size: opts.size, overwrite: true });
  opts.log?.(`[fdft] ${2 * r.count} synthetic images in ${(r.ms / 1000).toFixed(1)} s`);
  return dir;
}
