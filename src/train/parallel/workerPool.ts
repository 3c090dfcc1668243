/**
 * Data-parallel gradients over worker_threads (GitHub issue 9, lever 1). tfjs' wasm backend runs
 * on one thread, so training on several cores means several engines: each worker thread runs its
 * own tfjs + wasm and holds a replica of the model. Per step the main thread
 *
 *   1. writes its current trainable weights and BatchNormalization statistics into shared memory,
 *   2. cuts the batch into contiguous slices, one per worker (slice i has n_i images),
 *   3. lets every worker compute loss_i, correct_i and grad_i of its slice (mean cross-entropy
 *      over the slice) with the same `localGradients` as in-thread training, without the L2 penalty,
 *   4. takes back n_i·loss_i, correct_i and n_i·grad_i, divides their sums by N = Σ n_i, and adds
 *      the L2 penalty λ·Σw² and its gradient 2λ·w, in the same pass over the flat gradient.
 *
 * The mean cross-entropy and its gradient are sums over images divided by N, and the L2 term
 * belongs to the whole batch once, so this is EXACTLY the whole batch's loss and gradient (up to
 * float rounding): the optimizer, applied once on the main thread, sees the same update as with
 * one thread. (The L2 term is added here rather than by every worker's tape because there it cost
 * five element-wise tfjs ops per kernel per worker — a quarter of a no-FTT head step, whose
 * 2048→576 expand kernel has 1.2 M weights; here it is one JavaScript loop over weights the main
 * thread has just written to shared memory anyway.)
 *
 * BatchNormalization in training mode is the exception (like PyTorch DDP without SyncBN): each
 * worker normalises with its own slice's mean and variance, and updates its moving statistics
 * from them. After the step the main model's moving mean / variance are set to the average of the
 * workers' (weighted by slice size) and sent to every worker with the next step's weights. So a
 * net with BN in its trained part (FDFtNet's MBblockV3 heads, the backbones in pretraining) trains
 * slightly differently with W workers than with one; nets without it match to rounding.
 *
 * Randomness (dropout): worker i runs its slice under `withSeededMathRandom('<step key>:i')`.
 *
 * Fine-tuning: each worker runs the frozen backbone (inference mode) on its slice, unless
 * `featureMaps` is given: then the main thread computes the whole batch's feature maps (onnxruntime)
 * and ships each worker its slice with the images.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { engineInfo } from '../../engine/index.ts';
import { type Batch, type GradientFn, isDecayed } from '../loop.ts';
import { ParallelTrainingError } from './errors.ts';
import { MOVING_STATISTIC, type DoneMessage, type FromWorker, type ReadyMessage, type ReplicaKind, type StepMessage, type ToWorker, type WorkerInit } from './protocol.ts';
import { assertSameLayout, layoutOf, readInto, specsOf, variableOf, type WeightLayout } from './weightLayout.ts';

export interface DataParallelOptions {
  /** Worker threads (≥ 1; each holds a replica and its own tfjs engine). */
  workers: number;
  /** 'pretrain': the saved model is the trained model. 'finetune': it is a whole FDFtNet, whose head is trained. */
  kind: ReplicaKind;
  /** Folder written by `saveModel` (src/io/fileSystem.ts) holding the model to replicate. */
  modelDir: string;
  /** L2 factor of `l2Penalty` (config.l2). */
  l2: number;
  /** tfjs backend of the workers (default: the main thread's). */
  backend?: string;
  /**
   * 'finetune' only: computes the frozen feature maps of the whole batch on the main thread (e.g.
   * on onnxruntime, which is several times faster than wasm and uses every core itself); each
   * worker then gets its slice of them and runs only the heads. Without it every worker runs the
   * tfjs backbone on its own slice. The returned tensor is disposed here.
   */
  featureMaps?: (xs: tf.Tensor4D) => Promise<tf.Tensor>;
}

export interface DataParallelGradients {
  /** The GradientFn for `trainLoop` (`gradients` option). Needs `sync` first. */
  gradients: GradientFn;
  /**
   * Binds `model` — the main thread's trainModel (FDFtNet: its `head`) — as the source of the weights
   * and checks that it matches the workers' replica. Its trainable weights and BN statistics are
   * then sent before every step, so changing them between steps (resume, reloading) needs no other call.
   */
  sync(model: tf.LayersModel): Promise<void>;
  /** Terminates the workers. Idempotent. */
  close(): Promise<void>;
  readonly workers: number;
  /** Per worker, after its last step: tensors alive (leak check) and the step's thread CPU time (Linux). */
  workerStats(): WorkerStepStats[];
}

export interface WorkerStepStats {
  numTensors: number;
  cpuMs?: number;
}

/** A reply awaited from a worker: `ready` after start-up, then `done` for step `id`. */
type Pending =
  | { kind: 'ready'; resolve: (m: ReadyMessage) => void; reject: (e: Error) => void }
  | { kind: 'step'; id: number; resolve: (m: DoneMessage) => void; reject: (e: Error) => void };

/** One worker thread and its reply bookkeeping. */
class GradientWorker {
  readonly thread: Worker;
  readonly ready: Promise<ReadyMessage>;
  private pending: Pending | undefined;
  private failure: Error | undefined;
  private closing = false;
  stats: WorkerStepStats = { numTensors: 0 };

  constructor(readonly index: number, init: WorkerInit) {
    this.thread = new Worker(new URL('./gradientWorker.mjs', import.meta.url), { workerData: init });
    this.ready = new Promise<ReadyMessage>((resolve, reject) => {
      this.pending = { kind: 'ready', resolve, reject };
    });
    this.ready.catch(() => {}); // observed by createDataParallelGradients
    this.thread.on('message', (m: FromWorker) => this.onMessage(m));
    this.thread.on('error', (e) => this.fail(new ParallelTrainingError(`gradient worker ${index} crashed: ${e.message}`)));
    this.thread.on('exit', (code) => {
      if (!this.closing) this.fail(new ParallelTrainingError(`gradient worker ${index} exited unexpectedly (code ${code})`));
    });
  }

  private onMessage(m: FromWorker): void {
    const p = this.pending;
    if (m.type === 'error') {
      const e = new ParallelTrainingError(`gradient worker ${this.index}: ${m.name}: ${m.message}`);
      if (m.stack) e.stack = `${e.name}: ${e.message}\n--- in the worker ---\n${m.stack}`;
      this.fail(e);
      return;
    }
    if (!p) return;
    if (m.type === 'ready' && p.kind === 'ready') {
      this.pending = undefined;
      p.resolve(m);
    } else if (m.type === 'done' && p.kind === 'step' && m.id === p.id) {
      this.pending = undefined;
      this.stats = { numTensors: m.numTensors, cpuMs: m.cpuMs };
      p.resolve(m);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.thread.postMessage(m, transfer);
  }

  /** Posts a step and resolves with the worker's reply. */
  step(m: StepMessage): Promise<DoneMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<DoneMessage>((resolve, reject) => {
      this.pending = { kind: 'step', id: m.id, resolve, reject };
      const transfer = [m.xs.buffer, m.ys.buffer, ...(m.featureMap ? [m.featureMap.buffer] : [])] as ArrayBuffer[];
      this.post(m, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.closing = true;
    this.fail(new ParallelTrainingError('the gradient worker pool was closed'));
    await this.thread.terminate();
  }
}

/**
 * (parts[0] + parts[1] + … ) / n, elementwise, into `into` (or a new Float32Array): the same
 * float32 values as summing in that order from 0 and then dividing by n, in as few passes as
 * possible (the first part copied, the middle ones added, the last added and divided in one loop).
 * Used on the whole flat gradient (millions of floats) every step, so the loops are kept tight.
 */
export function sumDividedBy(parts: Float32Array[], n: number, into?: Float32Array): Float32Array {
  const first = parts[0];
  if (!first) throw new ParallelTrainingError('no worker gradients to sum');
  const len = first.length;
  if (parts.some((p) => p.length !== len) || (into && into.length !== len)) {
    throw new ParallelTrainingError('worker gradients of different lengths');
  }
  const sum = into ?? new Float32Array(len);
  sum.set(first);
  const last = parts.length > 1 ? parts[parts.length - 1]! : undefined;
  for (let p = 1; p < parts.length - 1; p++) {
    const part = parts[p]!;
    for (let j = 0; j < len; j++) sum[j]! += part[j]!;
  }
  if (last) {
    // fround: the float32 sum that the two-step version stores, then the same division.
    for (let j = 0; j < len; j++) sum[j] = Math.fround(sum[j]! + last[j]!) / n;
  } else {
    for (let j = 0; j < len; j++) sum[j]! /= n;
  }
  return sum;
}

/** [start, end) of every weight `l2Penalty` decays, in the flat layout. */
export function decayedRanges(layout: WeightLayout): Array<[number, number]> {
  return layout.specs.flatMap((s, k) => (isDecayed(s.name) ? [[layout.offsets[k]!, layout.offsets[k + 1]!] as [number, number]] : []));
}

/**
 * The L2 term of `l2Penalty` on flat arrays: adds 2λ·w to `grad` over `ranges` (float32, as tfjs
 * stores it) and returns λ·Σw² (summed in float64).
 */
export function addL2(grad: Float32Array, weights: Float32Array, ranges: Array<[number, number]>, l2: number): number {
  const twice = 2 * l2;
  let squares = 0;
  for (const [from, to] of ranges) {
    for (let j = from; j < to; j++) {
      const w = weights[j]!;
      grad[j]! += twice * w;
      squares += w * w;
    }
  }
  return l2 * squares;
}

/** Sizes of `workers` contiguous slices of `n` items, as equal as possible (larger ones first). */
export function sliceSizes(n: number, workers: number): number[] {
  const base = Math.floor(n / workers);
  return Array.from({ length: workers }, (_, i) => base + (i < n % workers ? 1 : 0));
}

export async function createDataParallelGradients(o: DataParallelOptions): Promise<DataParallelGradients> {
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new ParallelTrainingError(`workers must be a positive integer, got ${o.workers}`);
  if (o.kind !== 'pretrain' && o.kind !== 'finetune') throw new ParallelTrainingError(`kind must be 'pretrain' or 'finetune', got '${o.kind as string}'`);
  if (o.featureMaps && o.kind !== 'finetune') throw new ParallelTrainingError("featureMaps needs kind 'finetune' (a frozen backbone)");
  const backend = o.backend ?? engineInfo()?.backend ?? tf.getBackend();
  const pool = Array.from(
    { length: o.workers },
    (_, index) => new GradientWorker(index, { kind: o.kind, modelDir: o.modelDir, backend, index }),
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(pool.map((w) => w.terminate()));
  };

  let trainLayout: WeightLayout;
  let stateLayout: WeightLayout;
  let weights: Float32Array;
  let outs: Float32Array[];
  try {
    const ready = await Promise.all(pool.map((w) => w.ready));
    trainLayout = layoutOf(ready[0]!.trainable);
    stateLayout = layoutOf(ready[0]!.state);
    if (trainLayout.total === 0) throw new ParallelTrainingError(`the model in ${o.modelDir} has no trainable weights`);
    const size = 4 * (trainLayout.total + stateLayout.total);
    const weightsBuffer = new SharedArrayBuffer(size);
    weights = new Float32Array(weightsBuffer);
    outs = pool.map((w) => {
      const out = new SharedArrayBuffer(size);
      w.post({ type: 'attach', weights: weightsBuffer, out });
      return new Float32Array(out);
    });
  } catch (e) {
    await close();
    throw e;
  }
  // Idle workers must not keep the process alive; a step in flight does (see `gradients`).
  const setRef = (on: boolean) => pool.forEach((w) => (on ? w.thread.ref() : w.thread.unref()));
  setRef(false);

  const P = trainLayout.total;
  const decayed = decayedRanges(trainLayout);
  // Which state variables a step changes and the main thread averages: BN moving statistics.
  const averaged = stateLayout.specs.map((s, i) => (MOVING_STATISTIC.test(s.name) ? i : -1)).filter((i) => i >= 0);
  let trainVars: tf.Variable[] | undefined;
  let gradientSum: Float32Array | undefined; // see `gradients`
  let stateVars: tf.Variable[] = [];
  let stepId = 0;
  let busy = false;

  const sync = async (model: tf.LayersModel) => {
    const hint = o.kind === 'finetune' ? " (fine-tuning: pass the FDFtNet's head)" : '';
    assertSameLayout(trainLayout.specs, specsOf(model.trainableWeights), `sync(): the trainable weights of '${model.name}'${hint}`);
    assertSameLayout(stateLayout.specs, specsOf(model.nonTrainableWeights), `sync(): the non-trainable weights of '${model.name}'${hint}`);
    trainVars = model.trainableWeights.map(variableOf);
    stateVars = model.nonTrainableWeights.map(variableOf);
  };

  const gradients: GradientFn = async (batch: Batch, randomKey: string) => {
    if (closed) throw new ParallelTrainingError('the gradient worker pool is closed');
    if (!trainVars) throw new ParallelTrainingError('call sync(trainModel) before the first step');
    if (busy) throw new ParallelTrainingError('one step at a time: the previous step has not finished');
    busy = true;
    try {
      const [n, h, w, c] = batch.xs.shape;
      if (batch.ys.shape[0] !== n || batch.ys.shape[1] !== 2) {
        throw new ParallelTrainingError(`labels [${batch.ys.shape.join(',')}] do not match images [${batch.xs.shape.join(',')}] (one-hot, 2 classes)`);
      }
      if (n === 0) throw new ParallelTrainingError('empty batch');
      await readInto(trainVars, trainLayout, weights.subarray(0, P));
      await readInto(stateVars, stateLayout, weights.subarray(P));
      const xs = (await batch.xs.data()) as Float32Array;
      const ys = (await batch.ys.data()) as Float32Array;
      const per = h * w * c;
      let features: { data: Float32Array; shape: number[]; per: number } | undefined;
      if (o.featureMaps) {
        const fm = await o.featureMaps(batch.xs);
        try {
          if (fm.shape[0] !== n) throw new ParallelTrainingError(`featureMaps returned ${fm.shape[0]} feature maps for ${n} images`);
          const shape = fm.shape.slice(1);
          features = { data: (await fm.data()) as Float32Array, shape, per: shape.reduce((a, b) => a * b, 1) };
        } finally {
          fm.dispose();
        }
      }
      const id = ++stepId;
      const sizes = sliceSizes(n, pool.length);
      let start = 0;
      const jobs: Promise<DoneMessage>[] = [];
      const active: number[] = [];
      sizes.forEach((size, i) => {
        if (size === 0) return; // batch smaller than the pool
        jobs.push(
          pool[i]!.step({
            type: 'step',
            id,
            xs: xs.slice(start * per, (start + size) * per),
            ys: Float32Array.from(ys.subarray(start * 2, (start + size) * 2)),
            n: size,
            imageShape: [h, w, c],
            ...(features && {
              featureMap: features.data.slice(start * features.per, (start + size) * features.per),
              featureShape: features.shape,
            }),
            randomKey: `${randomKey}:${i}`,
          }),
        );
        active.push(i);
        start += size;
      });
      setRef(true);
      let done: DoneMessage[];
      try {
        done = await Promise.all(jobs);
      } finally {
        setRef(false);
      }

      // Σ n_i·grad_i / N, keyed by the main model's variable names: summed over the whole flat
      // gradient at once, then each variable's tensor made from its stretch of the sum. wasm
      // copies a new tensor's values onto its heap at once (BackendWasm.move), so there one
      // buffer serves every step (a fresh 10 MB one costs as much in page faults as the adds);
      // cpu and tensorflow keep the array they are given, so there each step sums into a new one.
      const reuse = tf.getBackend() === 'wasm';
      const sum = sumDividedBy(
        active.map((i) => outs[i]!.subarray(0, P)),
        n,
        reuse ? (gradientSum ??= new Float32Array(P)) : undefined,
      );
      const penalty = o.l2 === 0 ? 0 : addL2(sum, weights, decayed, o.l2);
      const grads: tf.NamedTensorMap = {};
      trainVars.forEach((v, k) => {
        const g = sum.subarray(trainLayout.offsets[k]!, trainLayout.offsets[k + 1]!);
        grads[v.name] = tf.tensor(g, trainLayout.specs[k]!.shape, 'float32');
      });
      // BN moving statistics: the slice-size-weighted average of the workers' (see the header).
      for (const k of averaged) {
        const from = P + stateLayout.offsets[k]!;
        const avg = new Float32Array(stateLayout.offsets[k + 1]! + P - from);
        active.forEach((i, a) => {
          const out = outs[i]!;
          const wgt = done[a]!.n / n;
          for (let j = 0; j < avg.length; j++) avg[j]! += wgt * out[from + j]!;
        });
        const t = tf.tensor(avg, stateLayout.specs[k]!.shape, 'float32');
        stateVars[k]!.assign(t);
        t.dispose();
      }
      return {
        loss: done.reduce((s, d) => s + d.lossTimesN, 0) / n + penalty,
        correct: done.reduce((s, d) => s + d.correct, 0),
        grads,
      };
    } finally {
      busy = false;
    }
  };

  return { gradients, sync, close, workers: pool.length, workerStats: () => pool.map((w) => w.stats) };
}
