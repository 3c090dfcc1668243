/**
 * Learning-rate schedules, evaluated per optimizer step (global step, 0-based).
 *
 * FDFtNet fine-tuning (Jeon et al. 2020, §4.1): SGD with momentum 0.9, initial learning rate 0.3,
 * annealed with a cosine (SGDR without restarts, Loshchilov & Hutter 2017, eq. 5) to 0 over the run:
 *
 *   lr(t) = lrMin + (lr0 − lrMin) · ½ · (1 + cos(π · t / T))
 *
 * with t the step after warm-up and T the number of post-warm-up steps. Per-step (not per-epoch)
 * annealing so the rate decreases smoothly within an epoch, as `CosineDecay` in Keras does.
 */
import type * as tf from '@tensorflow/tfjs';

/** step (0-based global step) → learning rate for that step. */
export type LearningRateSchedule = (step: number) => number;

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export interface CosineAnnealingOptions {
  /** Peak learning rate (paper: 0.3). */
  lr0: number;
  /** Steps of the whole run: epochs × steps per epoch. lr reaches lrMin at this step and stays there. */
  totalSteps: number;
  /** Floor of the cosine (default 0). */
  lrMin?: number;
  /** Linear warm-up steps: lr0·(step+1)/warmupSteps for step < warmupSteps (default 0: none). */
  warmupSteps?: number;
}

function checkNumber(name: string, v: number, { integer = false, min = 0 } = {}): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new ScheduleError(`${name} must be a finite ${integer ? 'integer' : 'number'} ≥ ${min}, got ${v}`);
  }
}

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new ScheduleError(`step must be an integer ≥ 0, got ${step}`);
}

/** Cosine annealing from lr0 to lrMin over totalSteps, with optional linear warm-up (see file header). */
export function cosineAnnealing({ lr0, totalSteps, lrMin = 0, warmupSteps = 0 }: CosineAnnealingOptions): LearningRateSchedule {
  checkNumber('lr0', lr0);
  checkNumber('lrMin', lrMin);
  checkNumber('totalSteps', totalSteps, { integer: true, min: 1 });
  checkNumber('warmupSteps', warmupSteps, { integer: true });
  if (lrMin > lr0) throw new ScheduleError(`lrMin (${lrMin}) must not exceed lr0 (${lr0})`);
  if (warmupSteps >= totalSteps) {
    throw new ScheduleError(`warmupSteps (${warmupSteps}) must be smaller than totalSteps (${totalSteps})`);
  }
  const decaySteps = totalSteps - warmupSteps;
  return (step: number) => {
    checkStep(step);
    if (step < warmupSteps) return (lr0 * (step + 1)) / warmupSteps;
    const t = Math.min(step - warmupSteps, decaySteps) / decaySteps;
    return lrMin + (lr0 - lrMin) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/** The same learning rate at every step (e.g. Adam 1e-3 for backbone pre-training). */
export function constantLr(lr: number): LearningRateSchedule {
  checkNumber('lr', lr);
  return (step: number) => {
    checkStep(step);
    return lr;
  };
}

/**
 * Set the learning rate of a tfjs optimizer in place, keeping its slot variables (momentum, Adam
 * moments). SGD/Momentum have `setLearningRate` (it rebuilds their cached −lr scalar); Adam, RMSProp,
 * Adagrad, Adadelta and Adamax read their `learningRate` field at every `applyGradients`.
 */
export function setOptimizerLearningRate(optimizer: tf.Optimizer, lr: number): void {
  checkNumber('lr', lr);
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate?: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else if (typeof o.learningRate === 'number') o.learningRate = lr;
  else throw new ScheduleError(`cannot set the learning rate of optimizer ${optimizer.getClassName()}`);
}

/** Current learning rate of a tfjs optimizer (for logging), or undefined if it has none. */
export function getOptimizerLearningRate(optimizer: tf.Optimizer): number | undefined {
  const lr = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  return typeof lr === 'number' ? lr : undefined;
}
