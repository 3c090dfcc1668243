import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface FeaturesArgs extends GlobalOptions {
  extractor: string;
  data: string;
  out: string;
  split: string;
  layer?: string;
  inputSize?: number;
  preprocess?: string;
  fit?: string;
  groupBy?: string;
  seed?: number;
  trainedOn?: string;
  batch: number;
  cacheDir?: string;
  checkpoints: string;
}

export const command: CommandModule<object, FeaturesArgs> = {
  command: 'features',
  describe: 'Frozen-CNN feature vectors of every image of a dataset split, for fdft classical (binary matrix + JSON header)',
  builder: (y) =>
    y
      .option('extractor', {
        type: 'string',
        demandOption: true,
        describe: 'fdft pretrain run (dir or name; its GAP-pooled "features" layer), a tfjs model.json (LayersModel or GraphModel) or its folder, or backbone:NAME (untrained, for tests)',
      })
      .option('data', { type: 'string', demandOption: true, describe: "Dataset root: ROOT/{real,fake} or ROOT/{train,val,test,finetune}/{real,fake}, or 'synthetic'" })
      .option('out', { type: 'string', demandOption: true, describe: 'Feature file to write (e.g. features/gan-xception.feat)' })
      .option('split', { type: 'string', choices: ['all', 'train', 'val', 'test', 'finetune'], default: 'all', describe: 'Which split of the dataset to embed' })
      .option('layer', { type: 'string', describe: "Layer (LayersModel) or node (GraphModel) whose output is the feature; default: 'features' for fdft runs, else the model output" })
      .option('input-size', { type: 'number', describe: 'Input size in px for models that do not fix one (the paper: 224)' })
      .option('preprocess', { type: 'string', choices: ['unit', 'tf', 'torch', 'caffe'], describe: 'Input scaling: unit x/255 (fdft backbones, default), tf [-1,1], torch ImageNet mean/std, caffe BGR minus means' })
      .option('fit', { type: 'string', choices: ['squash', 'crop'], describe: "Resize by squashing or centre-cropping (default: the run's, else squash)" })
      .option('group-by', { type: 'string', describe: "Identity regex (first capture group of the path under --data), stored per image for grouped CV; default: the extractor run's" })
      .option('seed', { type: 'number', describe: "Split seed for flat datasets (default: the extractor run's seed, so --split test is its held-out test split; else 1)" })
      .option('trained-on', { type: 'string', describe: 'For non-fdft extractors: the run dir or dataset folder the model was trained on (enables the leakage guard)' })
      .option('batch', { type: 'number', default: 32, describe: 'Images per inference batch' })
      .option('cache-dir', { type: 'string', describe: 'Decoded-image cache directory (default .cache/fdft-images)' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories (to resolve run names)' }) as never,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const { extractFeatureFile } = await import('../../classical/featureExtraction.ts');
    const { DEFAULT_CACHE_DIR } = await import('../../train/runData.ts');
    const { join } = await import('node:path');
    const log = argv.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
    await initEngine(argv.backend, log);
    let last = 0;
    const r = await extractFeatureFile({
      source: argv.extractor,
      data: argv.data,
      out: argv.out,
      split: argv.split as never,
      layer: argv.layer,
      inputSize: argv.inputSize,
      preprocess: argv.preprocess as never,
      fit: argv.fit as never,
      groupBy: argv.groupBy,
      seed: argv.seed,
      trainedOn: argv.trainedOn,
      batch: argv.batch,
      checkpointsRoot: argv.checkpoints,
      cacheDir: argv.cacheDir ?? join(process.cwd(), DEFAULT_CACHE_DIR),
      log,
      onProgress: (done, total) => {
        if (!argv.quiet && (done === total || performance.now() - last > 2000)) {
          last = performance.now();
          process.stderr.write(`embedded ${done}/${total}\n`);
        }
      },
    });
    const t = r.header.extractor.trainedOn;
    const trained = t.hashes ? `${t.hashes.length} training images recorded (${t.source}${t.note ? ': ' + t.note : ''})` : `training images unknown (${t.note ?? t.source})`;
    if (argv.json) console.log(JSON.stringify({ out: r.out, rows: r.rows, cols: r.cols, skipped: r.skipped, seconds: r.seconds, extractor: { ...r.header.extractor, trainedOn: { source: t.source, count: t.hashes?.length, note: t.note } } }));
    else console.log(`${r.out}: ${r.rows} images × ${r.cols} features (${r.skipped} skipped) in ${r.seconds.toFixed(1)} s; ${trained}`);
  },
};
