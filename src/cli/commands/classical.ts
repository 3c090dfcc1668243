import type { Argv, CommandModule } from 'yargs';
import type { ClassicalCommandArgs } from '../../classical/command.ts';
import type { GlobalOptions } from '../globalOptions.ts';

/** The handler's arguments (src/classical/command.ts), with the options that have defaults here made required. */
type ClassicalArgs = GlobalOptions & ClassicalCommandArgs & { split: string; checkpoints: string };

interface PredictArgs extends GlobalOptions {
  model: string;
  images: string[];
  threshold: string;
  batch: number;
  checkpoints: string;
}

const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict <images..>',
  describe: 'Apply a saved extractor + classifier (a model-*.json written by fdft classical) to image files or folders',
  builder: (y) =>
    y
      .positional('images', { type: 'string', array: true, describe: 'Image files or directories' })
      .option('model', { type: 'string', demandOption: true, describe: 'Classical model file written by fdft classical (model-<features>-<classifier>.json)' })
      .option('threshold', { type: 'string', default: 'tuned', describe: "Decision threshold: 'tuned' (from threshold tuning), 'default' (decision value 0) or a number" })
      .option('batch', { type: 'number', default: 32, describe: 'Images per inference batch' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' }) as never,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const { formatClassicalPredictions, predictClassical } = await import('../../classical/predict.ts');
    const { countSkippedOrThrow } = await import('../../eval/scoredInputs.ts');
    const log = argv.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
    await initEngine(argv.backend, log);
    const r = await predictClassical(argv.model, argv.images, { threshold: argv.threshold, batch: argv.batch, checkpointsRoot: argv.checkpoints });
    console.log(argv.json ? JSON.stringify(r) : formatClassicalPredictions(r));
    // As fdft predict: nothing scored exits non-zero; skipped files beside scored ones are reported.
    const skipped = countSkippedOrThrow(r.predictions, argv.images);
    if (skipped && !argv.quiet) process.stderr.write(`${skipped} of ${r.predictions.length} file(s) could not be used\n`);
  },
};

export const command: CommandModule<object, ClassicalArgs> = {
  command: 'classical',
  describe: 'Classical baseline on frozen features: LR / SVC / random forest / XGBoost, grid search in grouped K-fold CV, threshold tuning',
  builder: (y: Argv<object>) =>
    y
      .command(predictCommand as CommandModule<object, any>)
      .option('features', { type: 'string', array: true, describe: 'Feature file(s) from fdft features; repeat for an extractors × classifiers grid' })
      .option('extractor', { type: 'string', array: true, describe: 'Instead of --features: extractor(s) as in fdft features (repeatable), embedding --data first (features saved in --out)' })
      .option('data', { type: 'string', describe: 'Dataset to embed with each --extractor' })
      .option('split', { type: 'string', choices: ['all', 'train', 'val', 'test', 'finetune'], default: 'all', describe: 'Split of --data to embed with --extractor' })
      .option('cache-dir', { type: 'string', describe: 'Decoded-image cache directory for --extractor (default .cache/fdft-images)' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories (to resolve --extractor run names)' })
      .option('classifiers', { type: 'string', default: 'lr,svc,rf,xgb', describe: 'Comma-separated: lr (logistic regression), svc (linear + RBF), rf (random forest), xgb (XGBoost)' })
      .option('folds', { type: 'number', default: 5, describe: 'K of the grouped, stratified K-fold cross-validation' })
      .option('group-by', { type: 'string', describe: "Identity regex (first capture group of each path under the features' data root); default: the groups stored by fdft features" })
      .option('scoring', { type: 'string', choices: ['f1', 'auc', 'accuracy', 'balancedAccuracy', 'recall', 'precision'], default: 'f1', describe: 'Grid-search criterion (mean over folds)' })
      .option('grid', { type: 'string', describe: 'JSON (or a .json file) replacing grids, e.g. {"lr":{"C":[0.01,1]},"xgb":{"nEstimators":[100],"maxDepth":[3,6]}}' })
      .option('holdout', { type: 'number', default: 0.2, describe: 'Fraction of identity groups held out for the final evaluation and threshold check (0: none, report out-of-fold)' })
      .option('test-features', { type: 'string', describe: 'Evaluate on this feature file instead of a held-out part (same extractor)' })
      .option('criterion', { type: 'string', default: 'f1', describe: 'Threshold-tuning criterion: f1, balanced-accuracy, or recall=0.95 (highest threshold reaching that recall)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the held-out split, the folds and the tree models' })
      .option('allow-leak', { type: 'boolean', default: false, describe: 'Run even when the extractor was trained on some of these images (loud warning instead of an error)' })
      .option('out', { type: 'string', default: 'reports/classical', describe: 'Output directory: results.md/json, ROC and threshold PNGs, model-*.json' })
      .option('charts', { type: 'boolean', default: true, describe: 'Write the PNG charts (--no-charts skips them)' }) as never,
  handler: async (argv) => {
    const { runClassicalCommand } = await import('../../classical/command.ts');
    if (argv.extractor?.length) {
      const { initEngine } = await import('../../engine/index.ts');
      await initEngine(argv.backend, argv.quiet ? () => {} : (m) => process.stderr.write(m + '\n'));
    }
    await runClassicalCommand(argv);
  },
};
