/**
 * Messages between the main thread and a gradient worker (see workerPool.ts).
 *
 *   start:  workerData = WorkerInit; the worker loads the model and posts `ready` with its layout.
 *   attach: the main thread posts the shared buffers (same layout as `ready` described).
 *   step:   the main thread has written the current weights into `weights`; the worker copies them
 *           into its replica, computes its slice's gradients, writes n·grad and its BatchNormalization
 *           statistics into `out`, and posts `done` with loss·n, correct and n.
 */
import type { VariableSpec } from './weightLayout.ts';

export type ReplicaKind = 'pretrain' | 'finetune';

export interface WorkerInit {
  kind: ReplicaKind;
  modelDir: string;
  /** The main thread's tfjs backend ('wasm', 'cpu', 'tensorflow'). */
  backend: string;
  index: number;
}

export interface ReadyMessage {
  type: 'ready';
  /** trainModel.trainableWeights. */
  trainable: VariableSpec[];
  /** trainModel.nonTrainableWeights (BatchNormalization statistics and anything frozen). */
  state: VariableSpec[];
}

export interface AttachMessage {
  type: 'attach';
  /** Written by the main thread only: [trainable weights | state], Float32. */
  weights: SharedArrayBuffer;
  /** Written by this worker only: [n·gradients | state after the step], Float32. */
  out: SharedArrayBuffer;
}

export interface StepMessage {
  type: 'step';
  id: number;
  /** The slice's images, NHWC float32, n·h·w·c values (transferred). */
  xs: Float32Array;
  /** The slice's one-hot labels, n·2 values. */
  ys: Float32Array;
  n: number;
  /** [h, w, c] of one image. */
  imageShape: [number, number, number];
  /** 'finetune' with main-thread feature maps: the slice's frozen feature maps (transferred) and the shape of one. */
  featureMap?: Float32Array;
  featureShape?: number[];
  randomKey: string;
}

export interface DoneMessage {
  type: 'done';
  id: number;
  /** Slice loss (mean cross-entropy + L2) times n. */
  lossTimesN: number;
  correct: number;
  n: number;
  /** tf.memory().numTensors in the worker after the step (leak check). */
  numTensors: number;
  /** CPU time of the worker thread during the step, ms (Linux; see threadCpu.ts). */
  cpuMs?: number;
}

export interface ErrorMessage {
  type: 'error';
  id?: number;
  name: string;
  message: string;
  stack?: string;
}

export type FromWorker = ReadyMessage | DoneMessage | ErrorMessage;
export type ToWorker = AttachMessage | StepMessage;

/** BatchNormalization moving statistics: the state variables a training step changes. */
export const MOVING_STATISTIC = /(^|\/)moving_(mean|variance)(_\d+)?$/;
