/**
 * The training loop shared by `fdft pretrain` and `fdft train`: a custom loop rather than
 * `model.fit` because the paper's schedule needs per-step cosine learning rates, the frozen
 * backbone must run in inference mode outside the gradient tape, and every epoch must be
 * checkpointed (weights + optimizer slots + early-stopping state) so that a killed run resumes
 * bit-for-bit.
 *
 * Determinism: every random choice of epoch e (shuffle, augmentation) is derived from
 * (seed, e) by the data pipeline, so resuming at the start of epoch e replays exactly the
 * batches an uninterrupted run would have seen.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { TrainConfig } from './config.ts';
import { cosineAnnealing, constantLr, setOptimizerLearningRate } from './schedule.ts';
import { EarlyStopping, type EarlyStoppingState } from './earlyStopping.ts';
import { assertFiniteLoss } from './nanGuard.ts';
import { withSeededMathRandom } from './determinism.ts';
import type { ProgressReporter } from './progress.ts';
import type { TensorBoardWriter } from './tensorboard.ts';
import { saveCheckpoint, loadCheckpoint, saveBest, hasCheckpoint, type CheckpointState } from './checkpoint.ts';
import { appendLine, writeFileAtomic } from '../util/atomic.ts';
import { auroc } from '../eval/metrics.ts';
import { recomputeBatchNormStatistics } from './preciseBatchNorm.ts';

/**
 * Image batch → the train model's inputs (finetune: [xs, frozen feature map]). May be async (the
 * frozen backbone on onnxruntime). Tensors it creates, other than xs, are disposed by the caller.
 */
export type InputsFn = (xs: tf.Tensor4D) => tf.Tensor | tf.Tensor[] | Promise<tf.Tensor | tf.Tensor[]>;

/** One mini-batch: float images in [0,1] and one-hot labels (column 1 = fake). */
export interface Batch {
  xs: tf.Tensor4D;
  ys: tf.Tensor2D;
}

/** A source of batches for one epoch; owns nothing after `return`. */
/** Batches of an epoch from a step on (resume inside an epoch); pure in (epoch, step). */
export type EpochBatches = (epoch: number, fromStep?: number) => Iterable<Batch> | AsyncIterable<Batch>;

/**
 * Loss, number of correct predictions and gradients (one per trainable variable, in the order of
 * `trainModel.trainableWeights`) of one batch. The default computes them on this thread; a
 * data-parallel executor may compute them on workers and return their exact average.
 * `randomKey` seeds every random draw of the step (dropout), see determinism.ts.
 */
export type GradientFn = (batch: Batch, randomKey: string) => Promise<{ loss: number; correct: number; grads: tf.NamedTensorMap }>;

/**
 * A training step that applies the update itself, keeping the trainable weights and the optimizer's
 * slots in host arrays between steps (the onnx engine, src/train/onnx/onnxGradients.ts, with
 * hostOptimizer.ts): no copies in and out of tfjs per step. The tfjs model and optimizer are then
 * stale during an epoch: trainLoop calls `pull` before its first step (after a resume too) and
 * `push` before anything reads them (precise BN, validation, checkpoints).
 */
export interface HostStep {
  /** One step at learning rate `lr`: loss (with L2) and correct predictions, as a GradientFn gives. */
  step(batch: Batch, randomKey: string, lr: number): Promise<{ loss: number; correct: number }>;
  /** Take the weights from the train model and the step count and slots from `optimizer`. */
  pull(optimizer: tf.Optimizer): Promise<void>;
  /**
   * Write the weights (and the BN moving statistics the steps updated) into the train model and
   * the step count and slots into `optimizer`. Moving statistics changed in the model after a push
   * (precise BN) are what the next step updates.
   */
  push(optimizer: tf.Optimizer): Promise<void>;
}

/** The in-thread GradientFn: forward in training mode, cross-entropy + L2, tf.variableGrads. */
export function localGradients(
  trainModel: tf.LayersModel,
  inputsFor: InputsFn,
  l2: number,
): GradientFn {
  const vars = trainModel.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  return async (batch, randomKey) => {
    // Inputs first, outside the tape: the frozen backbone may run on onnxruntime (async).
    const inputs = await inputsFor(batch.xs);
    const { loss, correct, grads } = withSeededMathRandom(randomKey, () =>
      tf.tidy(() => {
        let right: tf.Scalar | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const probs = trainModel.apply(inputs, { training: true }) as tf.Tensor2D;
          // Kept: variableGrads disposes everything else its function created.
          right = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), tf.argMax(batch.ys, -1)), 'float32')) as tf.Scalar);
          return tf.add(crossEntropy(batch.ys, probs), l2Penalty(vars, l2)) as tf.Scalar;
        }, vars);
        return { loss: value, correct: right!, grads };
      }),
    );
    const [l, c] = [(await loss.data())[0]!, (await correct.data())[0]!];
    tf.dispose([loss, correct, ...[inputs].flat().filter((t) => t !== batch.xs)]);
    return { loss: l, correct: c, grads };
  };
}

export interface ValidationSet {
  /** Returns fake-probability scores and labels for the whole validation split. */
  score: () => Promise<{ scores: Float32Array; labels: Uint8Array; loss: number }>;
}

export interface EpochRecord {
  epoch: number;
  steps: number;
  lr: number;
  loss: number;
  acc: number;
  valLoss: number;
  valAcc: number;
  valAuroc: number;
  seconds: number;
  imagesPerSec: number;
  [extra: string]: number;
}

export interface TrainLoopOptions {
  config: TrainConfig;
  runDir: string;
  /** Model whose trainable weights are optimised. */
  trainModel: tf.LayersModel;
  /** The run's artefact, checkpointed every epoch (finetune: the whole FDFtNet incl. frozen backbone). */
  artefact: tf.LayersModel;
  /** Turns an image batch into trainModel's inputs (finetune: [xs, frozen feature map]). */
  inputsFor: InputsFn;
  batches: EpochBatches;
  /** Steps in one epoch (for the schedule and the progress bar). */
  stepsPerEpoch: number;
  validation: ValidationSet;
  reporter: ProgressReporter;
  tensorboard?: TensorBoardWriter;
  /** Extra per-epoch scalars (e.g. the FTT attention gammas). */
  extraScalars?: () => Record<string, number> | Promise<Record<string, number>>;
  /** Returns true when the user asked to stop (Ctrl-C): finish the step, checkpoint, stop. */
  interrupted?: () => boolean;
  /** Continue from the run's checkpoint if one exists. */
  resume?: boolean;
  /** Gradient executor (default: localGradients on this thread). */
  gradients?: GradientFn;
  /** A step that applies the update itself (the onnx engine); replaces `gradients` + the tfjs optimizer's update. */
  hostStep?: HostStep;
  /** Precise-BN batches of an epoch (makePreciseBnBatches); the BN statistics are recomputed before validation. */
  preciseBn?: EpochBatches;
  /** Precise BN's training-mode forward pass, when the gradient executor has its own (the onnx engine). */
  batchStatistics?: (batch: Batch, randomKey: string) => Promise<void>;
}

export interface TrainLoopResult {
  epochsCompleted: number;
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  interrupted: boolean;
  history: EpochRecord[];
}

/** Checkpoint-resident loop state (state.json). */
interface LoopState extends CheckpointState {
  /** Epochs completed. */
  epoch: number;
  globalStep: number;
  earlyStopping: EarlyStoppingState;
  history: EpochRecord[];
  finished: boolean;
  /** Set when a run was interrupted mid-epoch (Ctrl-C): where to continue inside that epoch. */
  partial?: { epoch: number; step: number; lossSum: number; accSum: number; seen: number; seconds: number };
}

export function createOptimizer(config: TrainConfig): tf.Optimizer {
  if (config.optimizer === 'sgd') return tf.train.momentum(config.lr, config.momentum);
  if (config.optimizer === 'adam') return tf.train.adam(config.lr);
  throw new Error(`unknown optimizer '${config.optimizer as string}' (use sgd or adam)`);
}

/** Whether `l2Penalty` decays a weight: conv / dense / depthwise / pointwise kernels, not biases, BN or γ. */
export function isDecayed(name: string): boolean {
  return /kernel/i.test(name);
}

/**
 * L2 weight decay on the trainable conv/dense kernels (Keras `l2(λ)`: λ·Σw²). Computed here
 * explicitly because a custom loop does not collect tfjs-layers' regularizer losses.
 */
export function l2Penalty(vars: tf.Variable[], l2: number): tf.Scalar {
  const kernels = vars.filter((v) => isDecayed(v.name));
  if (l2 === 0 || kernels.length === 0) return tf.scalar(0);
  return tf.mul(l2, tf.addN(kernels.map((v) => tf.sum(tf.square(v))))) as tf.Scalar;
}

/** Mean categorical cross-entropy of softmax outputs (clipped like Keras). */
export function crossEntropy(ys: tf.Tensor2D, probs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(p)), -1))) as tf.Scalar;
  });
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainLoopResult> {
  const { config, trainModel, reporter } = o;
  const totalSteps = config.epochs * o.stepsPerEpoch;
  const lrAt =
    config.schedule === 'cosine' ? cosineAnnealing({ lr0: config.lr, totalSteps }) : constantLr(config.lr);
  const optimizer = createOptimizer(config);
  const gradients = o.gradients ?? localGradients(trainModel, o.inputsFor, config.l2);
  const monitor = config.monitor ?? 'val_loss'; // run.json files from before --monitor
  const monitored = (r: EpochRecord) => (monitor === 'val_auroc' ? r.valAuroc : r.valLoss);
  let early = new EarlyStopping({ patience: config.patience, mode: monitor === 'val_auroc' ? 'max' : 'min' });

  let state: LoopState = {
    epoch: 0,
    globalStep: 0,
    earlyStopping: early.toJSON(),
    history: [],
    finished: false,
  };
  if (o.resume && (await hasCheckpoint(o.runDir))) {
    state = (await loadCheckpoint(o.runDir, o.artefact, optimizer)) as LoopState;
    early = EarlyStopping.fromJSON(state.earlyStopping);
    // A kill between the checkpoint and the history append, or after epochs that were never
    // checkpointed, leaves history.jsonl out of step: rewrite it from the checkpoint's own copy.
    await writeFileAtomic(join(o.runDir, 'history.jsonl'), state.history.map((h) => JSON.stringify(h) + '\n').join(''));
    // TensorBoard: mark the restart so epochs logged by the killed process after its checkpoint are superseded.
    o.tensorboard?.startSession(state.epoch + 1);
    reporter.log(`resuming ${o.runDir} after epoch ${state.epoch} (step ${state.globalStep})`);
  }
  await o.hostStep?.pull(optimizer);
  const history = state.history;
  let interrupted = false;
  let stoppedEarly = state.finished && state.epoch < config.epochs;

  for (let epoch = state.epoch; epoch < config.epochs && !state.finished; epoch++) {
    const t0 = performance.now();
    reporter.startEpoch(epoch + 1, config.epochs, o.stepsPerEpoch);
    const partial = state.partial?.epoch === epoch ? state.partial : undefined;
    let lossSum = partial?.lossSum ?? 0;
    let accSum = partial?.accSum ?? 0;
    let seen = partial?.seen ?? 0;
    let step = partial?.step ?? 0;
    const priorSeconds = partial?.seconds ?? 0;
    let lr = lrAt(state.globalStep);
    for await (const batch of o.batches(epoch, step)) {
      lr = lrAt(state.globalStep);
      setOptimizerLearningRate(optimizer, lr); // the host step's too: checkpoints record the optimizer's config
      const n = batch.xs.shape[0];
      const key = `${config.seed}:step:${epoch}:${step}`;
      let lossVal: number;
      let correctVal: number;
      if (o.hostStep) {
        ({ loss: lossVal, correct: correctVal } = await o.hostStep.step(batch, key, lr));
        tf.dispose([batch.xs, batch.ys]);
      } else {
        const r = await gradients(batch, key);
        optimizer.applyGradients(r.grads);
        tf.dispose([r.grads as unknown as tf.Tensor[], batch.xs, batch.ys].flat());
        ({ loss: lossVal, correct: correctVal } = r);
      }
      assertFiniteLoss(lossVal, epoch + 1, step + 1);
      lossSum += lossVal * n;
      accSum += correctVal;
      seen += n;
      step++;
      state.globalStep++;
      const secs = priorSeconds + (performance.now() - t0) / 1000;
      reporter.step({ step, loss: lossSum / seen, acc: accSum / seen, imagesPerSec: seen / secs });
      if (o.interrupted?.()) {
        interrupted = true;
        break;
      }
    }
    // The model and optimizer are read from here on (precise BN, validation, checkpoints).
    await o.hostStep?.push(optimizer);
    if (interrupted) {
      // Ctrl-C: checkpoint mid-epoch. The epoch's batches are a pure function of (seed, epoch),
      // so a resume skips the `step` batches already trained on and continues identically.
      state = {
        ...state,
        earlyStopping: early.toJSON(),
        partial: { epoch, step, lossSum, accSum, seen, seconds: priorSeconds + (performance.now() - t0) / 1000 },
      };
      await saveCheckpoint(o.runDir, { model: o.artefact, optimizer, state });
      // The command prints how to continue (train / pretrain --resume, or re-running an experiment).
      reporter.log(`interrupted in epoch ${epoch + 1} after step ${step}; checkpoint written to ${o.runDir}`);
      break;
    }
    const trainSeconds = priorSeconds + (performance.now() - t0) / 1000;
    if (o.preciseBn) await recomputeBatchNormStatistics(trainModel, o.inputsFor, o.preciseBn(epoch), `${config.seed}:precise-bn:${epoch}`, o.batchStatistics);
    const val = await o.validation.score();
    const seconds = priorSeconds + (performance.now() - t0) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1,
      steps: step,
      lr,
      loss: lossSum / Math.max(1, seen),
      acc: accSum / Math.max(1, seen),
      valLoss: val.loss,
      valAcc: accuracyAtHalf(val.scores, val.labels),
      valAuroc: safeAuroc(val.scores, val.labels),
      seconds,
      imagesPerSec: seen / trainSeconds,
      ...((await o.extraScalars?.()) ?? {}),
    };
    assertFiniteLoss(record.valLoss, epoch + 1, step);
    const { improved, stop } = early.update(epoch + 1, monitored(record));
    history.push(record);
    state = {
      epoch: epoch + 1,
      globalStep: state.globalStep,
      earlyStopping: early.toJSON(),
      history,
      finished: stop || epoch + 1 === config.epochs,
    };
    if (improved) await saveBest(o.runDir, o.artefact, { epoch: epoch + 1, valLoss: record.valLoss, valAuroc: record.valAuroc });
    await saveCheckpoint(o.runDir, { model: o.artefact, optimizer, state });
    await appendLine(join(o.runDir, 'history.jsonl'), JSON.stringify(record));
    if (o.tensorboard) {
      for (const [k, v] of Object.entries(record)) {
        if (k === 'epoch') continue;
        o.tensorboard.scalar(tagFor(k), v, epoch + 1);
      }
      o.tensorboard.flush();
    }
    reporter.endEpoch({ ...record, epochs: config.epochs, improved });
    if (stop) {
      stoppedEarly = true;
      reporter.log(
        `early stopping after epoch ${epoch + 1}: ${monitor === 'val_auroc' ? 'val AUROC' : 'val loss'} has not improved for ${config.patience} epochs (best ${early.bestValue?.toFixed(4)} at epoch ${early.bestEpoch})`,
      );
    }
    if (o.interrupted?.()) {
      interrupted = true;
      break;
    }
  }
  optimizer.dispose();
  return {
    epochsCompleted: state.epoch,
    bestEpoch: early.bestEpoch ?? 0,
    // The best epoch's val loss, whichever value chose it.
    bestValLoss: early.bestEpoch ? history[early.bestEpoch - 1]?.valLoss ?? Number.NaN : Number.NaN,
    stoppedEarly,
    interrupted,
    history,
  };
}

function tagFor(key: string): string {
  const map: Record<string, string> = {
    loss: 'train/loss',
    acc: 'train/accuracy',
    valLoss: 'val/loss',
    valAcc: 'val/accuracy',
    valAuroc: 'val/auroc',
    lr: 'train/learning_rate',
    seconds: 'time/epoch_seconds',
    imagesPerSec: 'time/images_per_sec',
    steps: 'train/steps',
  };
  return map[key] ?? key;
}

function accuracyAtHalf(scores: Float32Array, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i]! >= 0.5 ? 1 : 0) === labels[i]) right++;
  return right / Math.max(1, scores.length);
}

function safeAuroc(scores: Float32Array, labels: Uint8Array): number {
  try {
    return auroc(scores, labels);
  } catch {
    return Number.NaN; // one class only (tiny validation split): AUROC undefined
  }
}
