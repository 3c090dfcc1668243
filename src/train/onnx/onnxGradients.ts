/**
 * The training step on onnxruntime-node: the model's training graph (trainingGraph.ts) runs with
 * native, multi-threaded kernels. Two forms:
 * - `hostStep` (what `fdft train` / `fdft pretrain` use, trainLoop's HostStep): the trainable
 *   weights live in host Float32Arrays between steps, are fed to the graph from there, and the
 *   gradients go straight into the run's optimizer rules on those arrays (src/train/hostOptimizer.ts).
 *   The tfjs model and optimizer are written once per epoch (`push`), before validation and the
 *   checkpoint, and read back after a resume (`pull`), so checkpoints and resume are unchanged.
 * - `gradients` (a GradientFn): the tfjs model's weights fed in every step, the gradients returned
 *   as tfjs tensors for a tfjs optimizer (the reference the tests compare hostStep with).
 * Both update the BatchNormalization moving statistics in the tfjs model every step from the batch
 * statistics the graph returns, exactly as tfjs' layer updates them.
 *
 * What differs from the tfjs path: floating-point summation order (onnxruntime's kernels), and the
 * dropout masks (drawn here from the step's seeded key, not by tf.dropout): results agree to float
 * tolerance, not bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { OnnxRunner } from '../../engine/onnxBackbone.ts';
import type { Batch, GradientFn, HostStep, InputsFn } from '../loop.ts';
import { isDecayed } from '../loop.ts';
import { HostOptimizer, type HostParameter } from '../hostOptimizer.ts';
import { addL2 } from '../parallel/workerPool.ts';
import { OnnxTrainingError } from './errors.ts';
import { nchwcBlockSize } from './nchwcBlock.ts';
import { buildTrainingGraph, encodeTrainingGraph, type TrainingGraph, type TrainingGraphOptions } from './trainingGraph.ts';

export interface OnnxGradientsOptions {
  trainModel: tf.LayersModel;
  /** trainModel's inputs for an image batch. */
  inputsFor: InputsFn;
  /**
   * The training step's graph (gradients, hostStep) built from this model and its inputs instead:
   * one whose trainable weights are trainModel's and that computes trainModel's inputs from its own
   * (fine-tuning: the whole FDFtNet on the images, its frozen backbone inside the graph). Forward
   * passes without gradients (batchStatistics) keep trainModel and inputsFor: fine-tuning feeds them
   * feature maps kept from earlier epochs.
   */
  stepModel?: { model: tf.LayersModel; inputsFor: InputsFn };
  l2: number;
  /**
   * The run's batch size. A smaller batch (an epoch's last, precise BN's) runs in the graph built
   * for this size, padded, the padding masked out (src/export/imageMask.ts): one session serves
   * every batch size, where each size had its own and a session keeps the memory of its largest
   * run (at batch 128 with Xception the last batch's held 1.2 GiB more). Undefined, or a larger
   * batch: a graph of the batch's own size.
   */
  batch?: number;
  /** onnxruntime intra-op threads (default: every core). */
  threads: number;
  /** OnnxRunnerOptions.executionProvider (default 'cpu'; 'webgpu' only in `npm run bench -- gpu`). */
  executionProvider?: 'cpu' | 'webgpu';
  /**
   * Let onnxruntime's threads spin between ops (OnnxRunnerOptions.spin): where the step's session
   * is the only one running each step — pretraining (interleaved pairs at batch 32: 1.31 → 1.23 s,
   * medians) and fine-tuning with stepModel — not where it takes turns with the backbone's session.
   */
  spin?: boolean;
  /**
   * Passed to buildTrainingGraph (tests). nchwcBlock defaults to what nchwcBlock.ts probes; an
   * explicit `nchwcBlock: undefined` keeps plain Convs.
   */
  graph?: TrainingGraphOptions;
}

export interface OnnxGradients {
  /** Loss and gradients as tfjs tensors, for a tfjs optimizer: the reference the tests hold hostStep to (runs use hostStep). */
  gradients: GradientFn;
  /**
   * The step with the update applied on host arrays (trainLoop's `hostStep`): the weights are fed
   * from them and the gradients go into hostOptimizer.ts, never through tfjs.
   */
  hostStep: HostStep;
  /**
   * The forward pass in training mode on `batch` (no gradients): updates the BN moving statistics
   * with the layers' momentum, as `model.apply(x, { training: true })` does in tfjs — the step of
   * precise BatchNorm (preciseBatchNorm.ts), on onnxruntime.
   */
  batchStatistics: (batch: Batch, randomKey: string) => Promise<void>;
  /** Build (and keep) the session for a batch size now: the first step then does not wait for it. */
  prepare(batch: number): Promise<void>;
  /** The batch sizes of the graphs built so far, step and forward-only (one session each). */
  graphBatchSizes(): number[];
  close(): Promise<void>;
}

interface Session {
  graph: TrainingGraph;
  runner: OnnxRunner;
  /** Per graph trainable, its index in the train model's trainableWeights (the host parameters' order). */
  parameterIndex: number[];
}

/** BatchNormalization's private fields that its training-mode update writes (tfjs-layers). */
interface BatchNormState {
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  momentum: number;
}

/** Inverted dropout mask: 0 with probability `rate`, else 1/(1 − rate) (tf.dropout's). */
function dropoutMask(n: number, rate: number, random: () => number): Float32Array {
  const keep = 1 - rate;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = random() >= rate ? 1 / keep : 0;
  return out;
}

/**
 * BN moving statistics, updated as tfjs' BatchNormalization does in training
 * (moving ← moving − (moving − batch)·(1 − momentum)), in the same float32 arithmetic (each op
 * rounded as tfjs' kernels round it), on host arrays: the host step keeps them so between pushes
 * instead of running ~4 tfjs ops per statistic per step (~10 ms per step on Xception's 40 BN
 * layers). Read from the layers' variables at the first update after a pull or push (precise BN
 * rewrites them in tfjs between epochs), written back at push.
 */
class HostMovingStatistics {
  private readonly values = new Map<tf.LayerVariable, Float32Array>();

  update(graph: TrainingGraph, out: Record<string, { data: Float32Array }>): void {
    for (const s of graph.batchStatistics) {
      const bn = s.layer as unknown as BatchNormState;
      const decay = Math.fround(1 - bn.momentum);
      for (const [variable, name] of [[bn.movingMean, s.mean], [bn.movingVariance, s.variance]] as const) {
        let v = this.values.get(variable);
        if (!v) {
          v = (variable.read().dataSync() as Float32Array).slice();
          this.values.set(variable, v);
        }
        const stat = out[name]!.data;
        for (let k = 0; k < v.length; k++) v[k] = Math.fround(v[k]! - Math.fround(Math.fround(v[k]! - stat[k]!) * decay));
      }
    }
  }

  /** Write the statistics into their variables; the next update reads the variables again. */
  flush(): void {
    for (const [variable, v] of this.values) {
      tf.tidy(() => {
        variable.write(tf.tensor(v, variable.shape as number[], 'float32'));
      });
    }
    this.values.clear();
  }

  /** Drop the host copies unwritten (a pull: the variables hold the state to resume from). */
  forget(): void {
    this.values.clear();
  }
}

export async function createOnnxGradients(o: OnnxGradientsOptions): Promise<OnnxGradients> {
  const graphOptions: TrainingGraphOptions = { nchwcBlock: await nchwcBlockSize(), ...o.graph };
  // One session per (graph batch size, with gradients?): the run's batch size and any larger one met (OnnxGradientsOptions.batch).
  const sessions = new Map<string, Promise<Session>>();
  const trainable = o.trainModel.trainableWeights;
  const graphModel = (gradients: boolean) => (gradients && o.stepModel ? o.stepModel.model : o.trainModel);
  const session = (batch: number, gradients: boolean): Promise<Session> => {
    const key = `${batch}:${gradients}`;
    let s = sessions.get(key);
    if (!s) {
      s = (async () => {
        const model = graphModel(gradients);
        const graph = buildTrainingGraph(model, batch, { ...graphOptions, gradients });
        const runner = await OnnxRunner.create(encodeTrainingGraph(graph, model.name), { threads: o.threads, memoryPattern: false, spin: o.spin ?? false, executionProvider: o.executionProvider });
        const parameterIndex = graph.trainables.map((t) => {
          const i = trainable.indexOf(t.variable);
          if (i < 0) throw new OnnxTrainingError(`the training graph feeds ${t.variable.name}, which is not a trainable weight of ${o.trainModel.name}`);
          return i;
        });
        if (model !== o.trainModel && new Set(parameterIndex).size !== trainable.length) {
          await runner.dispose();
          throw new OnnxTrainingError(`the training graph of ${model.name} trains ${new Set(parameterIndex).size} of the ${trainable.length} trainable weights of ${o.trainModel.name}`);
        }
        return { graph, runner, parameterIndex };
      })();
      sessions.set(key, s);
      s.catch(() => sessions.delete(key)); // a failed build is not cached (the caller sees the error)
    }
    return s;
  };

  /**
   * Run `batch` through the graph; updates the BN moving statistics (in the layers' variables, or
   * in `hostStatistics`); returns the outputs and the weights fed: `host`'s (in trainableWeights
   * order) where given, else the tfjs variables'.
   */
  const run = async (batch: Batch, randomKey: string, withGradients: boolean, host?: readonly HostParameter[], hostStatistics?: HostMovingStatistics) => {
    const n = batch.xs.shape[0];
    const size = o.batch !== undefined && n < o.batch ? o.batch : n;
    const { graph, runner, parameterIndex } = await session(size, withGradients);
    // The batch's values then zeros up to the graph's size (images and labels of the padding).
    const padded = (data: Float32Array): Float32Array => {
      if (size === n) return data;
      const out = new Float32Array((data.length / n) * size);
      out.set(data);
      return out;
    };
    const inputsFor = withGradients && o.stepModel ? o.stepModel.inputsFor : o.inputsFor;
    const inputs = [await inputsFor(batch.xs)].flat();
    if (inputs.length !== graph.modelInputs.length) {
      throw new OnnxTrainingError(`the model takes ${graph.modelInputs.length} input(s), inputsFor gave ${inputs.length}`);
    }
    const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const [i, io] of graph.modelInputs.entries()) feeds[io.name] = { data: padded((await inputs[i]!.data()) as Float32Array), dims: io.dims };
    tf.dispose(inputs.filter((t) => t !== batch.xs));
    feeds[graph.labels] = { data: padded((await batch.ys.data()) as Float32Array), dims: [size, ...batch.ys.shape.slice(1)] };
    const mask = new Float32Array(size);
    mask.fill(1, 0, n);
    feeds[graph.imageMask] = { data: mask, dims: [size] };
    const weights = host ? parameterIndex.map((i) => host[i]!.value) : graph.trainables.map((t) => t.variable.read().dataSync() as Float32Array);
    graph.trainables.forEach((t, i) => (feeds[t.input] = { data: weights[i]!, dims: t.dims }));
    // Padded batches draw the padding's rows of the dropout masks too (they scale nothing that counts).
    const random = seedrandom(`${randomKey}:dropout`);
    for (const m of graph.dropoutMasks) feeds[m.input] = { data: dropoutMask(m.dims.reduce((a, b) => a * b, 1), m.rate, random), dims: m.dims };

    const out = await runner.runFeeds(feeds);
    if (hostStatistics) hostStatistics.update(graph, out);
    else {
      const statistics = new HostMovingStatistics(); // straight into the variables
      statistics.update(graph, out);
      statistics.flush();
    }
    return { graph, parameterIndex, out, weights, labels: feeds[graph.labels]!.data, n };
  };

  /** Correct predictions: the argmax of the graph's probabilities against the one-hot labels'. */
  const countCorrect = (probs: { data: Float32Array; dims: readonly number[] }, labels: Float32Array, n: number): number => {
    const classes = probs.dims[1]!;
    let correct = 0;
    for (let b = 0; b < n; b++) {
      let p = 0;
      let y = 0;
      for (let k = 1; k < classes; k++) {
        if (probs.data[b * classes + k]! > probs.data[b * classes + p]!) p = k;
        if (labels[b * classes + k]! > labels[b * classes + y]!) y = k;
      }
      if (p === y) correct++;
    }
    return correct;
  };

  const gradients: GradientFn = async (batch, randomKey) => {
    const { graph, out, weights, labels, n } = await run(batch, randomKey, true);
    // L2 (λ·Σw² on kernels, as l2Penalty) and its gradient 2λw, on the weights already in hand.
    let loss = out[graph.loss]!.data[0]!;
    const grads: tf.NamedTensorMap = {};
    graph.trainables.forEach((t, i) => {
      const g = out[t.gradient]!.data;
      const name = (t.variable as unknown as { val: tf.Variable }).val.name;
      if (o.l2 !== 0 && isDecayed(name)) loss += addL2(g, weights[i]!, [[0, g.length]], o.l2);
      grads[name] = tf.tensor(g, t.variable.shape as number[], 'float32');
    });

    return { loss, correct: countCorrect(out[graph.probs]!, labels, n), grads };
  };

  // The host step's state: the weights (trainableWeights order) and the optimizer, set by pull().
  let host: { params: HostParameter[]; optimizer: HostOptimizer } | undefined;
  const hostStatistics = new HostMovingStatistics();
  const hostStep: HostStep = {
    pull: async (optimizer) => {
      const hostOptimizer = HostOptimizer.like(optimizer);
      // The weights go where the optimizer's update runs (a wasm memory, for its SIMD kernels).
      const storage = hostOptimizer.allocate(trainable.map((w) => tf.util.sizeFromShape(w.shape as number[])));
      const params = trainable.map((w, i) => {
        const name = (w as unknown as { val: tf.Variable }).val.name;
        const value = storage[i]!;
        value.set(w.read().dataSync() as Float32Array); // a copy (the cpu backend's dataSync is the tensor's own storage)
        return { name, value, shape: w.shape as number[], decayed: isDecayed(name) };
      });
      await hostOptimizer.load(optimizer, params);
      host = { params, optimizer: hostOptimizer };
      hostStatistics.forget();
    },
    push: async (optimizer) => {
      if (!host) throw new OnnxTrainingError('hostStep.push before pull');
      for (const [i, w] of trainable.entries()) {
        const p = host.params[i]!;
        tf.tidy(() => {
          w.write(tf.tensor(p.value, p.shape.slice(), 'float32'));
        });
      }
      await host.optimizer.store(optimizer, host.params);
      hostStatistics.flush();
    },
    step: async (batch, randomKey, lr) => {
      if (!host) throw new OnnxTrainingError('hostStep.step before pull');
      const { graph, parameterIndex, out, labels, n } = await run(batch, randomKey, true, host.params, hostStatistics);
      // A weight the graph does not reach has no gradient and, as in tfjs' optimizers, no update.
      const grads: Array<Float32Array | undefined> = new Array(host.params.length);
      graph.trainables.forEach((t, k) => (grads[parameterIndex[k]!] = out[t.gradient]!.data));
      const penalty = host.optimizer.apply(host.params, grads, lr, o.l2);
      return { loss: out[graph.loss]!.data[0]! + penalty, correct: countCorrect(out[graph.probs]!, labels, n) };
    },
  };

  return {
    gradients,
    hostStep,
    batchStatistics: async (batch, randomKey) => {
      await run(batch, randomKey, false);
    },
    prepare: async (batch) => {
      await session(batch, true);
    },
    graphBatchSizes: () => [...sessions.keys()].map((key) => Number(key.split(':')[0])),
    close: async () => {
      const open = [...sessions.values()];
      sessions.clear();
      for (const s of await Promise.allSettled(open)) if (s.status === 'fulfilled') await s.value.runner.dispose();
    },
  };
}
