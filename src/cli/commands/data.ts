import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';
import { resolveTrainConfig } from '../trainOptions.ts';

interface DataArgs extends GlobalOptions {
  data?: string;
  seed: number;
  groupBy?: string;
  val?: number;
  test?: number;
  finetune?: number;
  finetuneMax?: number;
  decode: boolean;
  size: number;
  fit: 'squash' | 'crop';
  cacheDir: string;
  out?: string;
}

export const command: CommandModule<object, DataArgs> = {
  command: 'data',
  describe: 'Discover a dataset (layout, seeded split, skipped files with reasons) and print its summary; --decode also decodes every image (fills the cache)',
  builder: (y) =>
    y
      .option('data', { type: 'string', describe: 'Dataset root: ROOT/{real,fake}/ (flat) or ROOT/{train,val,test,finetune}/{real,fake}/ (pre-split); default: the embedded synthetic set' })
      // train's and pretrain's own default (resolved as they resolve it), so the summary shows the split runs use.
      .option('seed', { type: 'number', default: resolveTrainConfig('train', {}).seed, describe: 'Seed of the flat-layout split (the default is fdft train\'s)' })
      .option('group-by', { type: 'string', describe: 'Identity regex: the first capture group of the path under ROOT; one identity never spans two splits' })
      .option('val', { type: 'number', describe: 'Validation size per class: a fraction (< 1) or a count (default 0.1)' })
      .option('test', { type: 'number', describe: 'Test size per class: a fraction (< 1) or a count (default 0.1)' })
      .option('finetune', { type: 'number', describe: 'Fine-tune size per class (balanced): a fraction (< 1) or a count (default 0.2)' })
      .option('finetune-max', { type: 'number', describe: 'Largest fine-tune set per class (default 1000, the paper’s 1000 + 1000)' })
      .option('decode', { type: 'boolean', default: false, describe: 'Decode every image too: reports undecodable files and fills the cache' })
      .option('size', { type: 'number', default: 64, describe: 'Decoded image side in px (with --decode)' })
      .option('fit', { type: 'string', choices: ['squash', 'crop'] as const, default: 'squash' as const, describe: "Resize: 'squash' the whole image or 'crop' the centred square (with --decode)" })
      .option('cache-dir', { type: 'string', default: '.cache/fdft-images', describe: 'Decoded-image cache directory (with --decode)' })
      .option('out', { type: 'string', describe: 'Also write the summary as JSON to this file' }) as never,
  handler: async (argv) => {
    const { discoverDataset } = await import('../../data/discover.ts');
    const { loadImages } = await import('../../data/loader.ts');
    const { formatDatasetSummary, summarizeDataset, writeDatasetSummary } = await import('../../data/summary.ts');
    const { SPLIT_NAMES } = await import('../../data/types.ts');
    const log = argv.quiet || argv.json ? () => {} : (m: string) => process.stderr.write(m + '\n');
    let root = argv.data;
    if (!root) {
      const { defaultDatasetDir } = await import('../../data/synthetic/defaultDataset.ts');
      root = await defaultDatasetDir({ log });
    }
    const index = await discoverDataset(root, {
      seed: argv.seed,
      groupBy: argv.groupBy,
      split: { val: argv.val, test: argv.test, finetune: argv.finetune, finetuneMax: argv.finetuneMax },
    });
    let summary = index.summary;
    if (argv.decode) {
      // Decode each distinct file once (a sampled fine-tune set repeats train files).
      const t0 = performance.now();
      const seen = new Set<string>();
      const all = SPLIT_NAMES.flatMap((n) => index.splits[n]).filter((s) => !seen.has(s.path) && seen.add(s.path));
      const set = await loadImages(all, { size: argv.size, fit: argv.fit, cacheDir: argv.cacheDir });
      const ok = new Set(set.samples.map((s) => s.path));
      const bad = new Map(set.skipped.map((s) => [s.path, s]));
      const perSplit = Object.fromEntries(
        SPLIT_NAMES.map((n) => {
          const samples = index.splits[n].filter((s) => ok.has(s.path));
          const skipped = index.splits[n].filter((s) => bad.has(s.path)).map((s) => bad.get(s.path)!);
          return [n, { size: argv.size, images: new Uint8Array(0), labels: Uint8Array.from(samples, (s) => s.label), samples, skipped }];
        }),
      );
      summary = summarizeDataset(index, perSplit);
      log(`decoded ${set.samples.length} image(s), skipped ${set.skipped.length}, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (argv.out) await writeDatasetSummary(argv.out, summary);
    if (argv.json) console.log(JSON.stringify(summary));
    else console.log(formatDatasetSummary(summary, { fileTraits: true }));
  },
};
