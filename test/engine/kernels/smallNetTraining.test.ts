/**
 * A whole small network with every op kind fdft's models use — convs 1x1/3x3/5x5 with strides 1–2
 * 'same'/'valid', depthwise and separable convs, batch norm in training mode, relu / relu6 /
 * hard-swish / hard-sigmoid, 1x1-conv self-attention (batched matMul + softmax), max / avg / global
 * pooling, dense, softmax cross-entropy, L2 — trains on wasm: its gradients match the cpu
 * backend's, its loss falls with SGD+momentum and with Adam, and it leaks no tensor.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

const BATCH = 4;
const SIZE = 16;

/** Weight shapes, in the order `loss` takes them. */
const SHAPES: Record<string, number[]> = {
  conv3: [3, 3, 3, 8],
  bnGamma: [8],
  bnBeta: [8],
  conv5: [5, 5, 8, 8],
  dw3: [3, 3, 8, 1],
  sepDw: [3, 3, 8, 2],
  sepPw: [1, 1, 16, 12],
  conv1: [1, 1, 12, 12],
  attF: [1, 1, 8, 4],
  attG: [1, 1, 8, 4],
  attH: [1, 1, 8, 8],
  attGamma: [],
  dense: [12, 2],
  denseBias: [2],
};
const NAMES = Object.keys(SHAPES);

function initialWeights(): tf.Tensor[] {
  return NAMES.map((n, i) => {
    const shape = SHAPES[n]!;
    if (n === 'bnGamma') return tf.ones(shape);
    if (n === 'bnBeta' || n === 'denseBias') return tf.zeros(shape);
    if (n === 'attGamma') return tf.scalar(0.5);
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return tf.tensor(randomValues(size, 100 + i), shape).mul(Math.sqrt(3 / fanIn));
  });
}

function batchInputs(): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = tf.tensor4d(randomValues(BATCH * SIZE * SIZE * 3, 7), [BATCH, SIZE, SIZE, 3]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2) as tf.Tensor2D;
  return { x, y };
}

const hardSigmoid = (t: tf.Tensor) => tf.div(tf.relu6(tf.add(t, 3)), 6);
const hardSwish = (t: tf.Tensor) => tf.mul(t, hardSigmoid(t));

function loss(w: tf.Tensor[], x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  const p = Object.fromEntries(NAMES.map((n, i) => [n, w[i]!])) as Record<string, tf.Tensor>;
  const k = (n: string) => p[n] as tf.Tensor4D;
  let h: tf.Tensor4D = tf.conv2d(x, k('conv3'), 1, 'same'); // 16x16x8
  const { mean, variance } = tf.moments(h, [0, 1, 2]); // batch norm, training mode
  h = tf.relu(tf.batchNorm(h, mean, variance, p.bnBeta!, p.bnGamma!, 1e-3)) as tf.Tensor4D;
  h = tf.relu6(tf.conv2d(h, k('conv5'), 2, 'valid')) as tf.Tensor4D; // 6x6x8
  // Self-attention (SAGAN-style, as in FDFtNet's FTT): softmax(f·gᵀ)·h, y = γ·o + x.
  const [b, hh, ww, c] = h.shape; // 6x6x8
  const n = hh * ww;
  const f = tf.reshape(tf.conv2d(h, k('attF'), 1, 'same'), [b, n, 4]);
  const g = tf.reshape(tf.conv2d(h, k('attG'), 1, 'same'), [b, n, 4]);
  const v = tf.reshape(tf.conv2d(h, k('attH'), 1, 'same'), [b, n, c]);
  const o = tf.reshape(tf.matMul(tf.softmax(tf.matMul(f, g, false, true)), v), [b, hh, ww, c]);
  h = tf.add(tf.mul(p.attGamma!, o), h) as tf.Tensor4D;
  h = hardSwish(tf.depthwiseConv2d(h, k('dw3'), 2, 'same')) as tf.Tensor4D; // 3x3x8
  h = tf.pad(h, [[0, 0], [2, 2], [2, 2], [0, 0]]); // 7x7x8
  h = hardSigmoid(tf.separableConv2d(h, k('sepDw'), k('sepPw'), 1, 'same')) as tf.Tensor4D; // 7x7x12
  h = tf.conv2d(h, k('conv1'), 1, 'same');
  h = tf.avgPool(tf.maxPool(h, 2, 1, 'same'), 3, 1, 'same');
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D; // global average pooling
  const logits = tf.add(tf.matMul(pooled, p.dense as tf.Tensor2D), p.denseBias!);
  const l2 = tf.mul(1e-4, tf.addN(['conv3', 'conv5', 'sepPw', 'conv1', 'dense'].map((nm) => tf.sum(tf.square(p[nm]!)))));
  return tf.add(tf.losses.softmaxCrossEntropy(y, logits), l2) as tf.Scalar;
}

before(async () => {
  await useWasmEngine();
});

test('gradients of every weight match the cpu backend', () => {
  const err = wasmVsCpu(() => {
    const w = initialWeights();
    const { x, y } = batchInputs();
    return tf.grads((...ws: tf.Tensor[]) => loss(ws, x, y))(w);
  });
  assert.ok(err <= TOLERANCE, `largest relative gradient error ${err}`);
});

function train(optimizer: tf.Optimizer, steps: number): { losses: number[]; tensorsAt: Map<number, number> } {
  tf.setBackend('wasm');
  const vars = initialWeights().map((t, i) => tf.variable(t, true, `smallNet_${optimizer.getClassName()}_${i}`));
  const { x, y } = batchInputs();
  const losses: number[] = [];
  const tensorsAt = new Map<number, number>();
  for (let step = 1; step <= steps; step++) {
    const l = optimizer.minimize(() => loss(vars, x, y), true, vars)!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
    tensorsAt.set(step, tf.memory().numTensors);
  }
  tf.dispose([...vars, x, y]);
  optimizer.dispose();
  return { losses, tensorsAt };
}

test('trains on wasm with SGD + momentum: loss falls, no tensor leaks between step 2 and step 20', () => {
  const { losses, tensorsAt } = train(tf.train.momentum(0.05, 0.9), 20);
  assert.ok(losses.every(Number.isFinite), `finite losses: ${losses}`);
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert.ok(last < losses[0]! * 0.8, `loss fell from ${losses[0]} to ${last}`);
  assert.equal(tensorsAt.get(20), tensorsAt.get(2), 'tf.memory().numTensors after step 2 vs step 20');
});

test('trains on wasm with Adam: loss falls, no tensor leaks', () => {
  const { losses, tensorsAt } = train(tf.train.adam(0.01), 20);
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert.ok(last < losses[0]! * 0.8, `loss fell from ${losses[0]} to ${last}`);
  assert.equal(tensorsAt.get(20), tensorsAt.get(2));
});
