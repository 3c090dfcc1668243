/**
 * A data-parallel gradient worker: its own tfjs engine (the wasm backend is single-threaded, so
 * one engine per thread is how training uses several cores) and its own replica of the model.
 * For each step it takes the main thread's current weights from shared memory, computes the
 * gradients of its slice of the batch with the same `localGradients` as in-thread training, and
 * writes n·grad back. Protocol: protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendChoice } from '../../engine/index.ts';
import { loadModel } from '../../io/fileSystem.ts';
import { localGradients, type GradientFn } from '../loop.ts';
import { assignFrom, layoutOf, specsOf, variableOf, type WeightLayout } from './weightLayout.ts';
import { threadCpuMs } from './threadCpu.ts';
import type { FromWorker, StepMessage, ToWorker, WorkerInit } from './protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function fail(e: unknown, id?: number): void {
  const err = e instanceof Error ? e : new Error(String(e));
  post({ type: 'error', id, name: err.name, message: err.message, stack: err.stack });
}

interface Replica {
  trainVars: tf.Variable[];
  stateVars: tf.Variable[];
  trainLayout: WeightLayout;
  stateLayout: WeightLayout;
  gradients: GradientFn;
}

async function loadReplica(): Promise<Replica> {
  await initEngine(init.backend as BackendChoice, () => {});
  const model = await loadModel(init.modelDir);
  let trainModel = model;
  let inputsFor = (xs: tf.Tensor4D): tf.Tensor | tf.Tensor[] => xs;
  if (init.kind === 'finetune') {
    // Exactly like finetune.ts: the frozen backbone in inference mode outside the tape, the heads trained.
    const { fdftNetFromModel } = await import('../../models/fdftnet.ts');
    const net = fdftNetFromModel(model);
    trainModel = net.head;
    inputsFor = (xs) => [xs, stepFeatures ?? (net.backbone.predict(xs) as tf.Tensor)];
  }
  return {
    trainVars: trainModel.trainableWeights.map(variableOf),
    stateVars: trainModel.nonTrainableWeights.map(variableOf),
    trainLayout: layoutOf(specsOf(trainModel.trainableWeights)),
    stateLayout: layoutOf(specsOf(trainModel.nonTrainableWeights)),
    // No L2 term: the main thread adds it once to the summed gradient (workerPool.ts).
    gradients: localGradients(trainModel, inputsFor, 0),
  };
}

let replica: Replica | undefined;
/** This step's feature maps when the main thread computed them (see DataParallelOptions.featureMaps). */
let stepFeatures: tf.Tensor | undefined;
let weights: Float32Array | undefined;
let out: Float32Array | undefined;

async function step(m: StepMessage): Promise<void> {
  const r = replica!;
  const cpu0 = threadCpuMs();
  const P = r.trainLayout.total;
  // The main thread's current weights and BN statistics into this replica.
  assignFrom(r.trainVars, r.trainLayout, weights!.subarray(0, P));
  assignFrom(r.stateVars, r.stateLayout, weights!.subarray(P));
  const [h, w, c] = m.imageShape;
  const batch = { xs: tf.tensor4d(m.xs, [m.n, h, w, c]), ys: tf.tensor2d(m.ys, [m.n, 2]) };
  stepFeatures = m.featureMap ? tf.tensor(m.featureMap, [m.n, ...m.featureShape!], 'float32') : undefined;
  let loss: number;
  let correct: number;
  try {
    const r1 = await r.gradients(batch, m.randomKey);
    ({ loss, correct } = r1);
    try {
      for (let i = 0; i < r.trainVars.length; i++) {
        const g = r1.grads[r.trainVars[i]!.name];
        const at = r.trainLayout.offsets[i]!;
        if (!g) {
          out!.fill(0, at, r.trainLayout.offsets[i + 1]!); // no gradient reaches it
          continue;
        }
        const d = (await g.data()) as Float32Array;
        for (let j = 0; j < d.length; j++) out![at + j] = d[j]! * m.n;
      }
      // BN moving statistics after this slice's update (the main thread averages them).
      const stats = await Promise.all(r.stateVars.map((v) => v.data()));
      stats.forEach((d, i) => out!.set(d as Float32Array, P + r.stateLayout.offsets[i]!));
    } finally {
      tf.dispose(Object.values(r1.grads));
    }
  } finally {
    tf.dispose([batch.xs, batch.ys, ...(stepFeatures ? [stepFeatures] : [])]);
    stepFeatures = undefined;
  }
  const cpu1 = threadCpuMs();
  const cpuMs = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
  post({ type: 'done', id: m.id, lossTimesN: loss * m.n, correct, n: m.n, numTensors: tf.memory().numTensors, cpuMs });
}

// Steps arrive one at a time (the main thread awaits every worker before the next step), but
// chain them anyway so that a message can never start while the previous step is still running.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  if (m.type === 'attach') {
    weights = new Float32Array(m.weights);
    out = new Float32Array(m.out);
    return;
  }
  queue = queue.then(() => step(m)).catch((e) => fail(e, m.id));
});

try {
  replica = await loadReplica();
  post({ type: 'ready', trainable: replica.trainLayout.specs, state: replica.stateLayout.specs });
} catch (e) {
  fail(e);
}
