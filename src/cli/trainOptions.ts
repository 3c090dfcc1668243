/**
 * Options shared by `fdft pretrain` and `fdft train`, and their resolution into a `TrainConfig`:
 * command line (or --config file) > --preset > the paper's defaults. No yargs defaults are set on
 * the tunables, so that a preset can tell an explicit value from an unset one.
 */
import type { Argv } from 'yargs';
import { basename, resolve } from 'node:path';
import {
  PAPER_AUGMENT,
  PAPER_PRETRAIN,
  PAPER_TRAIN,
  QUICK_PRETRAIN,
  QUICK_TRAIN,
  MONITORS,
  type TrainConfig,
} from '../train/config.ts';
import { DEFAULT_CACHE_DIR } from '../train/runData.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The model size option of every command that builds a model. */
export const INPUT_SIZE_OPTION = { type: 'number', describe: 'Model input size in px (paper: 64)' } as const;

export function addBackboneOption<T>(y: Argv<T>) {
  return y.option('backbone', {
    type: 'string',
    choices: ['xception', 'resnetv2', 'squeezenet', 'shallownetv3'] as const,
    default: 'xception',
    describe: 'Backbone CNN',
  });
}

/** FDFtNet's head options (fdft train; fdft summary takes the same, so it describes what train builds). */
export function addHeadOptions<T>(y: Argv<T>) {
  return y
    .option('M', { type: 'number', describe: 'Fine-Tune Transformer stages (paper: 3)' })
    .option('N', { type: 'number', describe: 'MBblockV3 blocks (paper: 4)' })
    .option('ftt', { type: 'boolean', describe: 'Use the Fine-Tune Transformer (--no-ftt: the Table 6 ablation)' })
    .option('bottleneck', { type: 'number', describe: 'Self-attention bottleneck b (paper: 8)' })
    .option('l2', { type: 'number', describe: 'L2 weight decay of the heads (paper: 1e-5)' });
}

export function addDataOptions<T>(y: Argv<T>) {
  return y
    .option('data', {
      type: 'string',
      describe: 'Dataset root: ROOT/{train,val,test,finetune}/{real,fake} or ROOT/{real,fake}. Default: the embedded synthetic set',
    })
    .option('group-by', { type: 'string', describe: 'Regex whose first capture group of a file path is its identity: no identity spans two splits' })
    .option('input-size', INPUT_SIZE_OPTION)
    .option('fit', { type: 'string', choices: ['squash', 'crop'] as const, describe: 'Resize by squashing the whole image or center-cropping to square' })
    .option('cache-dir', { type: 'string', describe: `Decoded-image cache directory (default: ${DEFAULT_CACHE_DIR})` });
}

export function addTrainOptions<T>(y: Argv<T>, command: 'pretrain' | 'train') {
  let a = addBackboneOption(addDataOptions(y))
    .option('preset', { type: 'string', choices: ['paper', 'quick'] as const, describe: 'paper: §4.1 schedule (default); quick: a few-minute run on 2 cores' })
    .option('epochs', { type: 'number', describe: `Maximum epochs (paper: ${command === 'train' ? PAPER_TRAIN.epochs : PAPER_PRETRAIN.epochs})` })
    .option('steps-per-epoch', { type: 'number', describe: 'Steps per epoch (default: one pass over the split)' })
    .option('batch', { type: 'number', describe: `Batch size (paper: ${command === 'train' ? PAPER_TRAIN.batch : PAPER_PRETRAIN.batch})` })
    .option('lr', { type: 'number', describe: `Initial learning rate (paper: ${command === 'train' ? PAPER_TRAIN.lr : PAPER_PRETRAIN.lr})` })
    .option('optimizer', { type: 'string', choices: ['sgd', 'adam'] as const, describe: `Optimizer (paper: ${command === 'train' ? 'sgd, momentum 0.9' : 'adam'})` })
    .option('momentum', { type: 'number', describe: 'SGD momentum (paper: 0.9)' })
    .option('schedule', { type: 'string', choices: ['cosine', 'constant'] as const, describe: `Learning-rate schedule (paper: ${command === 'train' ? 'cosine to 0' : 'constant'})` })
    .option('patience', { type: 'number', describe: `Early stopping: epochs without improvement of --monitor (paper: ${command === 'train' ? 20 : PAPER_PRETRAIN.patience})` })
    .option('monitor', {
      type: 'string',
      choices: MONITORS,
      describe: 'What early stopping and the best-epoch choice watch: val_loss (the paper) or val_auroc (ranks only: in short runs on small validation sets the loss can rise with over-confidence while the AUROC still improves)',
    })
    .option('bn-momentum', { type: 'number', describe: 'BatchNormalization momentum of the trained layers (paper/Keras: 0.99); matters only with --precise-bn 0' })
    .option('precise-bn', { type: 'number', describe: 'Precise BatchNorm: recompute BN statistics from this many training images before each validation (default 1024; quick preset 256; 0 = off, as Keras)' })
    .option('seed', { type: 'number', describe: 'Seed of splits, initialisation, shuffling and augmentation (default 1)' })
    .option('augment', { type: 'boolean', describe: 'Data augmentation (--no-augment turns it off)' })
    .option('translate', { type: 'number', describe: 'Random translation ±px (paper: 2)' })
    .option('rotation', { type: 'number', describe: 'Rotation range (paper: 0.2)' })
    .option('zoom', { type: 'number', describe: 'Zoom range (paper: 0.2)' })
    .option('hflip', { type: 'boolean', describe: 'Random horizontal flip (default on)' })
    .option('cutout-alpha', { type: 'number', describe: 'Cutout: max number of cuts α (paper: 3)' })
    .option('cutout-beta', { type: 'number', describe: 'Cutout: max size factor β, side 4·k px (paper: 5; 10 for Deepfake/Face2Face)' })
    .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' })
    .option('resume', { type: 'string', describe: 'Continue the interrupted run in this directory' })
    .option('tensorboard', { type: 'boolean', default: true, describe: 'Write TensorBoard event files into the run directory' })
    .option('engine', {
      type: 'string',
      choices: ['auto', 'onnx', 'tfjs'] as const,
      default: 'auto',
      describe: "Engine of the frozen backbone's forward pass (fine-tuning, eval, predict): onnxruntime-node's native convolutions when it loads (auto), or tfjs",
    })
    .option('train-engine', {
      type: 'string',
      choices: ['auto', 'onnx', 'tfjs'] as const,
      default: 'auto',
      describe:
        "Engine of the training step: the model's training graph (forward, loss, gradients) on onnxruntime-node's native multi-threaded kernels (onnx), or tfjs with --workers; auto = onnx when onnxruntime loads and the model has a training graph, unless --workers is given. Not part of the config hash",
    })
    .option('workers', {
      type: 'number',
      describe:
        'tfjs engine only: data-parallel gradient worker threads, each with its own engine and model replica (1 = in-thread; default: one per core, at most 8, ≥ 16 images per slice; 1 with --backend tensorflow). Not part of the config hash: BN layers then normalise per slice',
    });
  if (command === 'train') {
    a = addHeadOptions(a)
      .option('backbone-weights', { type: 'string', describe: 'Pretrained backbone run directory (default: reuse a finished pretrain of this backbone and dataset, or run one)' })
      .option('pretrain-epochs', { type: 'number', describe: 'Epochs of the automatic pretrain when none exists' });
  }
  return a;
}

/** Raw argv as yargs gives it (camel-cased keys present). */
export type RawArgs = Record<string, unknown>;

function pick<T>(argv: RawArgs, key: string, ...fallbacks: (T | undefined)[]): T {
  const v = argv[key];
  if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isNaN(v))) return v as T;
  for (const f of fallbacks) if (f !== undefined) return f;
  throw new ConfigError(`no value for --${key}`);
}

export function datasetNameOf(data: string | undefined): string {
  if (!data || data === 'synthetic') return 'synthetic';
  return basename(resolve(data)).replace(/[^A-Za-z0-9_.-]+/g, '_') || 'data';
}

export function resolveTrainConfig(command: 'pretrain' | 'train', argv: RawArgs): TrainConfig {
  const quick = argv.preset === 'quick';
  const base = command === 'train' ? PAPER_TRAIN : PAPER_PRETRAIN;
  const preset: Partial<Record<string, unknown>> = quick ? (command === 'train' ? QUICK_TRAIN : QUICK_PRETRAIN) : {};
  const p = <T>(key: string, dflt: T): T => pick<T>(argv, key, preset[key] as T | undefined, dflt);
  const augmentOn = argv.augment !== false;
  const cfg: TrainConfig = {
    command,
    backbone: String(argv.backbone ?? 'xception'),
    M: p('M', PAPER_TRAIN.M),
    N: p('N', PAPER_TRAIN.N),
    useFtt: p('ftt', PAPER_TRAIN.useFtt),
    bottleneck: p('bottleneck', PAPER_TRAIN.bottleneck),
    l2: p('l2', command === 'train' ? PAPER_TRAIN.l2 : 0),
    data: argv.data && argv.data !== 'synthetic' ? resolve(String(argv.data)) : 'synthetic',
    datasetName: datasetNameOf(argv.data as string | undefined),
    groupBy: argv.groupBy as string | undefined,
    inputSize: p('inputSize', 64),
    fit: p('fit', 'squash'),
    split: command === 'train' ? 'finetune' : 'train',
    epochs: p('epochs', base.epochs),
    stepsPerEpoch: p<number | null>('stepsPerEpoch', base.stepsPerEpoch),
    batch: p('batch', base.batch),
    optimizer: p('optimizer', base.optimizer),
    lr: p('lr', base.lr),
    momentum: p('momentum', base.momentum),
    schedule: p('schedule', base.schedule),
    patience: p('patience', base.patience),
    monitor: p('monitor', 'val_loss'),
    bnMomentum: p('bnMomentum', base.bnMomentum),
    preciseBn: p('preciseBn', base.preciseBn),
    augment: augmentOn
      ? {
          translate: p('translate', PAPER_AUGMENT.translate),
          rotation: p('rotation', PAPER_AUGMENT.rotation),
          zoom: p('zoom', PAPER_AUGMENT.zoom),
          hflip: p('hflip', PAPER_AUGMENT.hflip),
          cutoutAlpha: p('cutoutAlpha', command === 'train' ? PAPER_AUGMENT.cutoutAlpha : 0),
          cutoutBeta: p('cutoutBeta', PAPER_AUGMENT.cutoutBeta),
        }
      : { translate: 0, rotation: 0, zoom: 0, hflip: false, cutoutAlpha: 0, cutoutBeta: 1 },
    seed: p('seed', 1),
    backboneWeights: argv.backboneWeights ? resolve(String(argv.backboneWeights)) : undefined,
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: TrainConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`--${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs', c.epochs);
  positiveInt('batch', c.batch);
  positiveInt('input-size', c.inputSize);
  if (c.stepsPerEpoch !== null) positiveInt('steps-per-epoch', c.stepsPerEpoch);
  if (c.command === 'train') {
    if (!Number.isInteger(c.M) || c.M < 1 || c.M > 3) throw new ConfigError(`--M must be 1, 2 or 3 (FTT stages), got ${c.M}`);
    positiveInt('N', c.N);
  }
  if (!(c.lr > 0)) throw new ConfigError(`--lr must be > 0, got ${c.lr}`);
  if (!(c.bnMomentum >= 0 && c.bnMomentum < 1)) throw new ConfigError(`--bn-momentum must be in [0, 1), got ${c.bnMomentum}`);
  if (!(Number.isInteger(c.preciseBn) && c.preciseBn >= 0)) throw new ConfigError(`--precise-bn must be a whole number of images ≥ 0, got ${c.preciseBn}`);
  if (!(c.patience >= 1)) throw new ConfigError(`--patience must be ≥ 1, got ${c.patience}`);
  if (!MONITORS.includes(c.monitor)) throw new ConfigError(`--monitor must be one of ${MONITORS.join(', ')}, got '${String(c.monitor)}'`);
  if (c.groupBy) {
    try {
      new RegExp(c.groupBy);
    } catch (e) {
      throw new ConfigError(`--group-by is not a valid regular expression: ${(e as Error).message}`);
    }
  }
}
