/**
 * Data-parallel gradients over worker threads: the pooled gradients are the whole batch's (exact
 * for a BN-free net, and for BN the documented per-slice semantics), training through the pool
 * follows in-thread training, and a tiny FDFtNet fine-tunes through it without leaking tensors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../../src/engine/index.ts';
import { saveModel } from '../../../src/io/fileSystem.ts';
import { localGradients, type Batch, type GradientFn } from '../../../src/train/loop.ts';
import { addL2, createDataParallelGradients, decayedRanges, sliceSizes, sumDividedBy } from '../../../src/train/parallel/workerPool.ts';
import { layoutOf } from '../../../src/train/parallel/weightLayout.ts';
import { ParallelTrainingError } from '../../../src/train/parallel/errors.ts';

let work: string;

before(async () => {
  await initEngine('wasm', () => {});
  work = await mkdtemp(join(tmpdir(), 'fdft-parallel-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** conv2d(relu) → [BN] → flatten → dense softmax, weights fixed by seeds. */
function smallNet(withBn: boolean): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  if (withBn) x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function batchOf(n: number, seed: number): Batch {
  return tf.tidy(() => {
    const xs = tf.randomUniform([n, 8, 8, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    const labels = Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3 === 0 ? 1 : 0);
    return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 2).toFloat() as tf.Tensor2D };
  });
}

/** max |a − b| ≤ tol · max(|b|, 1e-3) over each pair of arrays. */
function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  assert.ok(diff <= tol * scale, `${what}: max |Δ| ${diff} > ${tol} × ${scale}`);
}

/** Gradients of two models of the same architecture, in variable order (their tf names differ). */
function assertSameGrads(a: tf.NamedTensorMap, b: tf.NamedTensorMap, tol: number): void {
  const [ga, gb] = [Object.entries(a), Object.values(b)];
  assert.equal(ga.length, gb.length);
  ga.forEach(([k, t], i) => assertClose(t.dataSync(), gb[i]!.dataSync(), tol, `gradient of ${k}`));
}

test('sliceSizes cuts a batch into contiguous, near-equal slices', () => {
  assert.deepEqual(sliceSizes(11, 2), [6, 5]);
  assert.deepEqual(sliceSizes(3, 4), [1, 1, 1, 0]);
  assert.deepEqual(sliceSizes(128, 3), [43, 43, 42]);
});

test('sumDividedBy gives exactly the float32 values of summing part by part from 0, then dividing by n', () => {
  const len = 1003;
  const parts = [0, 1, 2, 3].map((k) => {
    const a = new Float32Array(new SharedArrayBuffer(4 * len)); // like the workers' output buffers
    for (let j = 0; j < len; j++) a[j] = Math.sin(j * 0.37 + k) * 10 ** ((j % 9) - 4);
    return a;
  });
  for (const count of [1, 2, 3, 4]) {
    for (const n of [1, 7, 11, 128]) {
      const use = parts.slice(0, count);
      const want = new Float32Array(len); // the per-variable loops this replaced
      for (const p of use) for (let j = 0; j < len; j++) want[j]! += p[j]!;
      for (let j = 0; j < len; j++) want[j]! /= n;
      for (const into of [undefined, new Float32Array(len).fill(NaN)]) {
        const got = sumDividedBy(use, n, into);
        if (into) assert.equal(got, into, 'sums into the given buffer');
        assert.ok(!(got.buffer instanceof SharedArrayBuffer), 'the sum is not shared memory');
        const bad = got.findIndex((v, j) => v !== want[j]);
        assert.equal(bad, -1, `${count} parts, n ${n}: first difference at ${bad}`);
      }
    }
  }
  assert.throws(() => sumDividedBy([], 1), ParallelTrainingError);
  assert.throws(() => sumDividedBy([parts[0]!, parts[1]!.subarray(1)], 1), ParallelTrainingError);
});

test('a worker that cannot load the model fails the pool with a named error, not a hang', async () => {
  await assert.rejects(
    createDataParallelGradients({ workers: 1, kind: 'pretrain', modelDir: join(work, 'missing'), l2: 0 }),
    (e: Error) => e instanceof ParallelTrainingError && /gradient worker 0: .*missing/.test(e.message),
  );
  await assert.rejects(createDataParallelGradients({ workers: 0, kind: 'pretrain', modelDir: work, l2: 0 }), ParallelTrainingError);
});

test('BN-free conv net: 2 workers give the in-thread gradients, and 3 training steps the same weights', async () => {
  const l2 = 1e-3;
  const pooled = smallNet(false);
  const local = smallNet(false);
  local.setWeights(pooled.getWeights());
  const initial = pooled.getWeights()[0]!.dataSync().slice();
  const dir = join(work, 'plain');
  await saveModel(pooled, dir);
  const pool = await createDataParallelGradients({ workers: 2, kind: 'pretrain', modelDir: dir, l2 });
  try {
    const batch = batchOf(11, 5); // 6 + 5: unequal slices exercise the n-weighting
    await assert.rejects(pool.gradients(batch, 'k'), ParallelTrainingError, 'a step before sync() is refused');
    await assert.rejects(pool.sync(smallNet(true)), ParallelTrainingError, 'a model of another shape is refused');
    await pool.sync(pooled);

    const a = await pool.gradients(batch, 'k');
    const b = await localGradients(local, (x) => x, l2)(batch, 'k');
    assertClose([a.loss], [b.loss], 1e-5, 'loss');
    assert.equal(a.correct, b.correct);
    assert.deepEqual(Object.keys(a.grads), pooled.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.name));
    assertSameGrads(a.grads, b.grads, 1e-5);
    // The next step's sum must not change the gradients already handed out.
    const other = batchOf(11, 6);
    const next = await pool.gradients(other, 'k2');
    assertSameGrads(a.grads, b.grads, 1e-5);
    tf.dispose([...Object.values(a.grads), ...Object.values(b.grads), ...Object.values(next.grads), other.xs, other.ys]);

    // As trainLoop types it: tf.Optimizer takes a NamedTensorMap.
    const optA: tf.Optimizer = tf.train.momentum(0.5, 0.9);
    const optB: tf.Optimizer = tf.train.momentum(0.5, 0.9);
    const localFn = localGradients(local, (x) => x, l2);
    for (let step = 0; step < 3; step++) {
      const s = batchOf(11, 10 + step);
      const ga = await pool.gradients(s, `k:${step}`);
      const gb = await localFn(s, `k:${step}`);
      optA.applyGradients(ga.grads);
      optB.applyGradients(gb.grads);
      tf.dispose([...Object.values(ga.grads), ...Object.values(gb.grads), s.xs, s.ys]);
    }
    const [wa, wb] = [pooled.getWeights(), local.getWeights()];
    wa.forEach((t, i) => assertClose(t.dataSync(), wb[i]!.dataSync(), 1e-5, `weight ${i} after 3 steps`));
    const moved = wa[0]!.dataSync().some((v, j) => v !== initial[j]);
    assert.ok(moved, 'the steps changed the weights');
    tf.dispose([batch.xs, batch.ys, optA, optB] as never);
  } finally {
    await pool.close();
  }
});

test('BatchNormalization: each worker normalises its slice; the moving statistics are their weighted average', async () => {
  const net = smallNet(true);
  const dir = join(work, 'bn');
  await saveModel(net, dir);
  // Reference on this thread: slice by slice from the same starting state.
  const ref = smallNet(true);
  ref.setWeights(net.getWeights());
  const start = ref.getWeights().map((t) => t.clone());
  const stats = (m: tf.LayersModel) => m.nonTrainableWeights.map((w) => w.read().dataSync().slice() as Float32Array);
  const batch = batchOf(7, 3); // slices of 4 and 3
  const refFn = localGradients(ref, (x) => x, 0);
  const parts = [
    { xs: batch.xs.slice(0, 4), ys: batch.ys.slice(0, 4) },
    { xs: batch.xs.slice(4, 3), ys: batch.ys.slice(4, 3) },
  ];
  const slices: { n: number; loss: number; grads: tf.NamedTensorMap; stats: Float32Array[] }[] = [];
  for (const [i, p] of parts.entries()) {
    ref.setWeights(start);
    const r = await refFn(p, `k:${i}`);
    slices.push({ n: p.xs.shape[0], loss: r.loss, grads: r.grads, stats: stats(ref) });
  }
  const N = 7;
  const expectedGrad = (k: string) => {
    const [g0, g1] = [slices[0]!.grads[k]!.dataSync(), slices[1]!.grads[k]!.dataSync()];
    return g0.map((v, j) => (4 * v + 3 * g1[j]!) / N);
  };
  const expectedStats = slices[0]!.stats.map((s0, i) => s0.map((v, j) => (4 * v + 3 * slices[1]!.stats[i]![j]!) / N));

  const pool = await createDataParallelGradients({ workers: 2, kind: 'pretrain', modelDir: dir, l2: 0 });
  try {
    await pool.sync(net);
    const got = await pool.gradients(batch, 'k');
    assertClose([got.loss], [(4 * slices[0]!.loss + 3 * slices[1]!.loss) / N], 1e-5, 'loss');
    const names = net.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.name);
    const refNames = ref.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.name);
    names.forEach((k, i) => assertClose(got.grads[k]!.dataSync(), expectedGrad(refNames[i]!), 1e-5, `gradient of ${k}`));
    const after = stats(net);
    assert.equal(after.length, 2, 'moving mean and variance');
    after.forEach((s, i) => assertClose(s, expectedStats[i]!, 1e-5, `moving statistic ${i}`));
    tf.dispose([...Object.values(got.grads), ...slices.flatMap((s) => Object.values(s.grads)), ...start, ...parts.flatMap((p) => [p.xs, p.ys]), batch.xs, batch.ys]);
  } finally {
    await pool.close();
  }
});

/**
 * What a 2-worker step on `head` must give: each half of the batch through localGradients from the
 * current state (BN on the half), combined n-weighted; the model's weights are left unchanged.
 */
async function sliceReference(head: tf.LayersModel, backbone: tf.LayersModel, batch: Batch, key: string) {
  const before = head.getWeights().map((t) => t.clone());
  const fn = localGradients(head, (xs) => [xs, backbone.predict(xs) as tf.Tensor], 1e-5);
  const n = batch.xs.shape[0];
  const sizes = sliceSizes(n, 2);
  const sum = new Map<string, Float32Array>();
  let loss = 0;
  for (let i = 0, at = 0; i < 2; at += sizes[i]!, i++) {
    head.setWeights(before);
    const part = { xs: batch.xs.slice(at, sizes[i]), ys: batch.ys.slice(at, sizes[i]) };
    const r = await fn(part, `${key}:${i}`);
    loss += (r.loss * sizes[i]!) / n;
    for (const [k, g] of Object.entries(r.grads)) {
      const d = g.dataSync();
      const acc = sum.get(k) ?? new Float32Array(d.length);
      d.forEach((v, j) => (acc[j]! += (v * sizes[i]!) / n));
      sum.set(k, acc);
    }
    tf.dispose([...Object.values(r.grads), part.xs, part.ys]);
  }
  head.setWeights(before);
  tf.dispose(before);
  return { loss, grads: sum };
}

test('tiny FDFtNet fine-tunes through 2 workers (backbone in the workers, or feature maps from the main thread)', async () => {
  const { createFdftNet } = await import('../../../src/models/fdftnet.ts');
  const net = createFdftNet({ backbone: 'squeezenet', inputSize: 32, M: 1, N: 1, seed: 7 });
  const dir = join(work, 'fdftnet');
  await saveModel(net.model, dir);
  const batch = tf.tidy(() => ({
    xs: tf.randomUniform([8, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
    ys: tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 1, 0], 'int32'), 2).toFloat() as tf.Tensor2D,
  }));
  const optimizer: tf.Optimizer = tf.train.adam(0.01);
  /** One pooled step, checked against the slice-wise reference from the same state. */
  const checkedStep = async (gradients: GradientFn, key: string) => {
    const ref = await sliceReference(net.head, net.backbone, batch, key);
    const got = await gradients(batch, key);
    // 1e-4: the pool sums the L2 penalty λ·Σw² in float64, the reference in tfjs' float32.
    assertClose([got.loss], [ref.loss], 1e-4, 'loss');
    for (const [k, g] of Object.entries(got.grads)) assertClose(g.dataSync(), ref.grads.get(k)!, 1e-4, `gradient of ${k}`);
    return got;
  };

  const pool = await createDataParallelGradients({ workers: 2, kind: 'finetune', modelDir: dir, l2: 1e-5 });
  try {
    await assert.rejects(pool.sync(net.model), ParallelTrainingError, 'the whole FDFtNet is not the trained model');
    await pool.sync(net.head);
    const losses: number[] = [];
    const mainTensors: number[] = [];
    const workerTensors: number[][] = [];
    for (let step = 0; step < 4; step++) {
      const key = `fixed:${step}`;
      const { loss, grads } = step === 0 ? await checkedStep(pool.gradients, key) : await pool.gradients(batch, key);
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
      losses.push(loss);
      mainTensors.push(tf.memory().numTensors);
      workerTensors.push(pool.workerStats().map((w) => w.numTensors));
    }
    assert.ok(losses.every(Number.isFinite), `finite losses ${losses}`);
    assert.ok(losses[3]! < losses[0]!, `loss falls: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
    // Step 1 creates the optimizer's slots; from then on nothing may accumulate.
    assert.deepEqual(mainTensors.slice(1), Array(3).fill(mainTensors[1]), `main-thread tensors ${mainTensors}`);
    assert.deepEqual(workerTensors.slice(1), Array(3).fill(workerTensors[0]), `worker tensors ${JSON.stringify(workerTensors)}`);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.gradients({ xs: tf.zeros([1, 32, 32, 3]), ys: tf.zeros([1, 2]) }, 'k'), ParallelTrainingError, 'closed');

  // The frozen backbone on the main thread (as `fdft train` does with onnxruntime): same gradients.
  let calls = 0;
  const featureMaps = async (xs: tf.Tensor4D) => {
    calls++;
    return net.backbone.predict(xs) as tf.Tensor;
  };
  const fed = await createDataParallelGradients({ workers: 2, kind: 'finetune', modelDir: dir, l2: 1e-5, featureMaps });
  try {
    await fed.sync(net.head);
    const tensors: number[] = [];
    for (let step = 4; step < 6; step++) {
      const { grads } = await checkedStep(fed.gradients, `fixed:${step}`);
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
      tensors.push(tf.memory().numTensors);
    }
    assert.equal(calls, 2, 'one featureMaps call per step');
    assert.equal(tensors[1], tensors[0], 'the feature maps are disposed');
  } finally {
    await fed.close();
  }
  tf.dispose([batch.xs, batch.ys]);
  optimizer.dispose();
  net.model.dispose();
});

test('addL2 adds 2λ·w to the decayed ranges only and returns λ·Σw²; decayedRanges picks the kernels', () => {
  const grad = Float32Array.from([1, 1, 1, 1, 1]);
  const weights = Float32Array.from([3, -2, 5, 0.5, 7]);
  const penalty = addL2(grad, weights, [[0, 2], [3, 4]], 0.1);
  assert.deepEqual(Array.from(grad), [1 + 0.6, 1 - 0.4, 1, Math.fround(1 + 0.1), 1].map(Math.fround));
  assert.ok(Math.abs(penalty - 0.1 * (9 + 4 + 0.25)) < 1e-12, `${penalty}`);
  const layout = layoutOf([
    { name: 'conv/kernel', shape: [2, 2] },
    { name: 'conv/bias', shape: [2] },
    { name: 'bn/gamma', shape: [2] },
    { name: 'sep/depthwise_kernel', shape: [3] },
    { name: 'att/gamma', shape: [1] },
  ]);
  assert.deepEqual(decayedRanges(layout), [[0, 4], [8, 11]]);
});
