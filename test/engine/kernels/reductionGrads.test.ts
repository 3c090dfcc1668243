/**
 * fdft's Sum and Mean gradients (broadcastTo, no uploaded ones tensor) against tfjs-core's own
 * gradients and the formula they compute, on cpu and on wasm; and a small layers model's
 * gradients with fdft's versus tfjs' registered.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { meanGradientConfig, REDUCTION_GRADIENTS, sumGradientConfig } from '../../../src/engine/kernels/reductionGrads.ts';
import { randomValues, relativeError, runOn, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

// tfjs-core's own gradients, taken before initEngine registers fdft's.
const stockSum = tf.getGradient('Sum')!;
const stockMean = tf.getGradient('Mean')!;

before(async () => {
  await useWasmEngine();
});

const BACKENDS = ['cpu', 'wasm'] as const;

interface Case {
  shape: number[];
  axis: number | number[] | null;
}

const CASES: Case[] = [
  { shape: [6], axis: 0 },
  { shape: [6], axis: null },
  { shape: [], axis: null },
  { shape: [3, 5], axis: 1 },
  { shape: [3, 5], axis: -2 },
  { shape: [4, 6, 5, 7], axis: [0, 1, 2] }, // batch-norm statistics
  { shape: [4, 6, 5, 7], axis: [1, 2] }, // global average pooling
  { shape: [4, 6, 5, 7], axis: -1 }, // innermost axis: broadcast along rows
  { shape: [4, 6, 5, 7], axis: [3, 0] },
  { shape: [4, 6, 5, 7], axis: [1, 3] },
  { shape: [4, 6, 5, 7], axis: null },
  { shape: [2, 1, 3], axis: 1 }, // reducing a size-1 axis: dx has dy's shape
  { shape: [2, 3, 4], axis: [] as number[] },
];

function axesOf(c: Case): number[] {
  return tf.util.parseAxisParam(c.axis as number[], c.shape);
}

function dyShape(c: Case, keepDims: boolean): number[] {
  const axes = axesOf(c);
  return keepDims ? c.shape.map((n, i) => (axes.includes(i) ? 1 : n)) : c.shape.filter((_, i) => !axes.includes(i));
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** tfjs-core's formula: reshape(dy, expanded) · ones(x.shape), Mean then / reduceSize. */
function reference(op: 'sum' | 'mean', c: Case, dy: tf.Tensor): tf.Tensor {
  const axes = axesOf(c);
  const expanded = c.shape.map((n, i) => (axes.includes(i) ? 1 : n));
  const g = tf.mul(tf.reshape(dy, expanded), tf.ones(c.shape, 'float32'));
  return op === 'sum' ? g : tf.div(g, size(axes.map((a) => c.shape[a]!)));
}

test('fdft registers its Sum and Mean gradients (same kernel names and saved inputs as tfjs)', () => {
  assert.equal(tf.getGradient('Sum'), sumGradientConfig);
  assert.equal(tf.getGradient('Mean'), meanGradientConfig);
  for (const [mine, stock] of [
    [sumGradientConfig, stockSum],
    [meanGradientConfig, stockMean],
  ] as const) {
    assert.equal(mine.kernelName, stock.kernelName);
    assert.deepEqual(mine.inputsToSave, stock.inputsToSave);
    assert.equal(mine.outputsToSave, stock.outputsToSave);
  }
});

test('tf.grad of sum and mean equals tfjs-core\'s formula and its own gradient, exactly, on cpu and wasm', () => {
  for (const backend of BACKENDS) {
    for (const [k, c] of CASES.entries()) {
      for (const keepDims of [false, true]) {
        for (const op of ['sum', 'mean'] as const) {
          const what = `${backend} ${op} [${c.shape}] axis ${JSON.stringify(c.axis)} keepDims=${keepDims}`;
          const [got, ref, stock] = runOn(backend, () => {
            const x = tf.tensor(randomValues(size(c.shape), 10 + k), c.shape);
            const dy = tf.tensor(randomValues(size(dyShape(c, keepDims)), 50 + k), dyShape(c, keepDims));
            const f = (v: tf.Tensor): tf.Tensor => (op === 'sum' ? tf.sum(v, c.axis ?? undefined, keepDims) : tf.mean(v, c.axis ?? undefined, keepDims));
            const grad = tf.grad(f)(x, dy);
            assert.deepEqual(grad.shape, c.shape, what);
            assert.equal(grad.dtype, 'float32', what);
            const stockConfig = op === 'sum' ? stockSum : stockMean;
            const stockGrad = stockConfig.gradFunc(dy, [x], { axis: c.axis, keepDims } as unknown as tf.NamedAttrMap) as { x: () => tf.Tensor };
            return [grad, reference(op, c, dy), stockGrad.x()];
          });
          assert.deepEqual(got, ref, `${what}: against the formula`);
          assert.deepEqual(got, stock, `${what}: against tfjs' gradient`);
        }
      }
    }
  }
});

test('int32 and bool dy give the float32 gradient tfjs-core gives', () => {
  for (const backend of BACKENDS) {
    for (const dtype of ['int32', 'bool'] as const) {
      const c: Case = { shape: [3, 4, 5], axis: [0, 2] };
      for (const [mine, stock] of [
        [sumGradientConfig, stockSum],
        [meanGradientConfig, stockMean],
      ] as const) {
        const what = `${backend} ${mine.kernelName} dy ${dtype}`;
        const [got, want] = runOn(backend, () => {
          const x = tf.tensor(randomValues(60, 3), c.shape);
          const dy = dtype === 'int32' ? tf.tensor1d([3, -7, 11, 1000000], 'int32') : tf.tensor1d([true, false, true, true], 'bool');
          const attrs = { axis: c.axis, keepDims: false } as unknown as tf.NamedAttrMap;
          const a = (mine.gradFunc(dy, [x], attrs) as { x: () => tf.Tensor }).x();
          const b = (stock.gradFunc(dy, [x], attrs) as { x: () => tf.Tensor }).x();
          assert.equal(a.dtype, b.dtype, what);
          assert.deepEqual(a.shape, b.shape, what);
          return [a, b];
        });
        assert.deepEqual(got, want, what);
      }
    }
  }
});

test('batch-norm moments and their gradients: wasm agrees with cpu', () => {
  const err = wasmVsCpu(() => {
    const x = tf.tensor(randomValues(4 * 6 * 5 * 9, 3), [4, 6, 5, 9]);
    return tf.grad((v: tf.Tensor) => {
      const { mean, variance } = tf.moments(v, [0, 1, 2], true);
      return tf.sum(tf.mul(tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-3))), tf.sin(v)));
    })(x);
  });
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

/** A small conv net with batch norm, global average pooling and a softmax cross-entropy loss. */
function smallModelGradients(): tf.Tensor[] {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [9, 8, 3], filters: 6, kernelSize: 3, padding: 'same', useBias: false }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.separableConv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
      tf.layers.batchNormalization(),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 2 }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomValues(w.size, 100 + i), w.shape).mul(0.5).add(w.dtype === 'float32' && w.shape.length === 1 ? 0.75 : 0)));
  const x = tf.tensor4d(randomValues(5 * 9 * 8 * 3, 7), [5, 9, 8, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 1, 0, 1], 'int32'), 2);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const logits = model.apply(x, { training: true }) as tf.Tensor;
    return tf.add(tf.losses.softmaxCrossEntropy(labels, logits), tf.mean(tf.square(logits))) as tf.Scalar;
  }, vars);
  const out = vars.map((v) => grads[v.name]!);
  model.dispose();
  return out;
}

test('a small layers model\'s gradients are the same with fdft\'s and with tfjs\' Sum/Mean gradients', () => {
  for (const backend of BACKENDS) {
    const mine = runOn(backend, smallModelGradients);
    let stock: Float32Array[];
    try {
      tf.registerGradient(stockSum);
      tf.registerGradient(stockMean);
      stock = runOn(backend, smallModelGradients);
    } finally {
      for (const g of REDUCTION_GRADIENTS) tf.registerGradient(g);
    }
    assert.equal(mine.length, stock.length);
    assert.ok(mine.length >= 8, `${mine.length} gradients`);
    for (const [i, g] of mine.entries()) {
      assert.ok(g.some((v) => v !== 0), `${backend} gradient ${i} is not all zeros`);
      assert.ok(relativeError(g, stock[i]!) <= 1e-6, `${backend} gradient ${i}: relative error ${relativeError(g, stock[i]!)}`);
    }
  }
});
