/**
 * The resolved configuration of a run: every hyper-parameter and the seed, written to the run's
 * `run.json` so a run can be reproduced and resumed. Defaults follow the FDFtNet paper §4.1.
 */
import type { FdftNetOptions } from '../models/fdftnet.ts';

export type OptimizerName = 'sgd' | 'adam';
export type ScheduleName = 'cosine' | 'constant';

export interface AugmentConfig {
  /** Random translation in ±px with 'nearest' fill (paper: 2). */
  translate: number;
  /** Rotation range in degrees, Keras `rotation_range` (the paper's value 0.2 is passed to Keras as is). */
  rotation: number;
  /** Zoom range (paper 0.2 → scale in [0.8, 1.2]). */
  zoom: number;
  /** Horizontal flip with p = 0.5. */
  hflip: boolean;
  /** Cutout: number of cuts uniform in [0, alpha] (paper 3). */
  cutoutAlpha: number;
  /** Cutout: each cut a square of side 4·k, k uniform in [1, beta] (paper 5; 10 for Deepfake/Face2Face). */
  cutoutBeta: number;
}

export interface TrainConfig {
  command: 'pretrain' | 'train';
  backbone: string;
  /** FTT stages (paper M = 3). */
  M: number;
  /** MBblockV3 blocks (paper N = 4). */
  N: number;
  /** false = the Table 6 ablation without the Fine-Tune Transformer. */
  useFtt: boolean;
  /** Self-attention bottleneck b (paper 8). */
  bottleneck: number;
  /** L2 weight decay on the heads' conv/dense kernels (paper 1e-5). */
  l2: number;
  /** Dataset root, or 'synthetic' for the embedded default. */
  data: string;
  datasetName: string;
  /** Identity regex for splits (first capture group). */
  groupBy?: string;
  inputSize: number;
  fit: 'squash' | 'crop';
  split: 'train' | 'finetune';
  epochs: number;
  /** Steps per epoch (Keras generators); null = one pass over the split. */
  stepsPerEpoch: number | null;
  batch: number;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  schedule: ScheduleName;
  /** Early stopping: epochs without improvement of `monitor` (paper 20). */
  patience: number;
  /**
   * What early stopping watches and the best epoch is chosen by: validation loss (the paper's) or
   * validation AUROC (Keras' `EarlyStopping(monitor=...)`). Absent in older run.json files = val_loss.
   */
  monitor: Monitor;
  /**
   * BatchNormalization momentum of the trained layers (Keras' 0.99, which the paper ran). It only
   * matters with `preciseBn: 0`: otherwise the statistics are recomputed before each validation.
   * Absent in run.json files written before it existed = 0.99.
   */
  bnMomentum: number;
  /**
   * Precise BatchNorm: training images whose batch statistics replace the BN moving statistics
   * before each validation (src/train/preciseBatchNorm.ts); 0 turns it off (Keras' behaviour).
   * Absent in older run.json files = 0.
   */
  preciseBn: number;
  augment: AugmentConfig;
  seed: number;
  /** Pretrained backbone checkpoint (train only). */
  backboneWeights?: string;
}

export type Monitor = 'val_loss' | 'val_auroc';
export const MONITORS: readonly Monitor[] = ['val_loss', 'val_auroc'];

export const PAPER_AUGMENT: AugmentConfig = {
  translate: 2,
  rotation: 0.2,
  zoom: 0.2,
  hflip: true,
  cutoutAlpha: 3,
  cutoutBeta: 5,
};

/** Paper §4.1 fine-tuning defaults. */
export const PAPER_TRAIN = {
  M: 3,
  N: 4,
  useFtt: true,
  bottleneck: 8,
  l2: 1e-5,
  epochs: 300,
  stepsPerEpoch: null,
  batch: 128,
  optimizer: 'sgd',
  lr: 0.3,
  momentum: 0.9,
  schedule: 'cosine',
  patience: 20,
  bnMomentum: 0.99,
  preciseBn: 1024,
} as const;

/** Backbone pre-training defaults (the authors used Adam, lr 1e-3). */
export const PAPER_PRETRAIN = {
  epochs: 100,
  stepsPerEpoch: null,
  batch: 64,
  optimizer: 'adam',
  lr: 1e-3,
  momentum: 0.9,
  schedule: 'constant',
  patience: 10,
  bnMomentum: 0.99,
  preciseBn: 1024,
} as const;

/**
 * `--preset quick`: the README's main job on the embedded synthetic data, sized to finish in
 * minutes on 2 cores. Explicit options still win.
 */
export const QUICK_PRETRAIN = { epochs: 3, stepsPerEpoch: 20, batch: 32, patience: 3, preciseBn: 256 } as const;
export const QUICK_TRAIN = { epochs: 5, stepsPerEpoch: 10, batch: 32, patience: 5, lr: 0.05, preciseBn: 256 } as const;

/**
 * The FDFtNet head options a run config stands for (everything but the backbone and the seed):
 * `--bottleneck` is the FTT's attention reduction b; the MB blocks keep createFdftNet's projection
 * width, which no flag sets. `fdft train` builds from this, `fdft summary` describes it.
 */
export function fdftNetHeadOptions(config: TrainConfig): Omit<FdftNetOptions, 'backbone' | 'seed'> {
  return { M: config.M, N: config.N, useFtt: config.useFtt, l2: config.l2, attentionReduction: config.bottleneck, inputSize: config.inputSize };
}
