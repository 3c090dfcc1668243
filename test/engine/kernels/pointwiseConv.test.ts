/**
 * fdft's Conv2D / FusedConv2D for wasm (src/engine/kernels/pointwiseConv.ts): a 1x1 stride-1 conv
 * with large weights over few pixels runs as a matrix product while its filter is new. Values and
 * gradients against tfjs' cpu backend, for every activation and padding form that takes that path.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pointwiseAsMatMul } from '../../../src/engine/kernels/pointwiseConv.ts';
import * as pointwise from '../../../src/engine/kernels/pointwiseConv.ts';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

// 1024 → 512 = 2^19 weights over 2·4·4 = 32 pixels: the product path.
const [B, H, W, C, O] = [2, 4, 4, 1024, 512];
const x = () => tf.tensor4d(randomValues(B * H * W * C, 1), [B, H, W, C]);
const w = () => tf.tensor4d(randomValues(C * O, 2), [1, 1, C, O]);

/** Runs `f` on wasm and returns how many pointwise products it made. */
function productsIn(f: () => tf.Tensor | tf.Tensor[]): number {
  const before = pointwise.pointwiseProducts;
  tf.setBackend('wasm');
  try {
    tf.dispose(tf.tidy(f));
  } finally {
    tf.setBackend('cpu');
  }
  return pointwise.pointwiseProducts - before;
}

test('the rule: products only for ≥ 2^18 weights over few pixels', () => {
  assert.equal(pointwiseAsMatMul(2048 * 576, 64), true);
  assert.equal(pointwiseAsMatMul(2 ** 19, 384), true);
  assert.equal(pointwiseAsMatMul(2 ** 19, 385), false);
  assert.equal(pointwiseAsMatMul(2 ** 18, 256), true);
  assert.equal(pointwiseAsMatMul(2 ** 18, 257), false);
  assert.equal(pointwiseAsMatMul(2 ** 18 - 1, 1), false);
});

test('Conv2D as a product equals the cpu conv for every zero-padding form; the third use of a filter runs the stock kernel, same values', () => {
  for (const pad of ['valid', 'same', [[0, 0], [0, 0], [0, 0], [0, 0]]] as const) {
    const f = () => {
      const [xs, ws] = [x(), w()];
      return [1, 2, 3].map(() => tf.conv2d(xs, ws, 1, pad as 'valid'));
    };
    const err = wasmVsCpu(f);
    assert.ok(err < TOLERANCE, `pad ${JSON.stringify(pad)}: ${err}`);
    assert.equal(productsIn(f), 2, 'uses 1 and 2 as products, use 3 on the stock kernel');
  }
});

test('FusedConv2D as a product: bias with relu / relu6 / elu / sigmoid / leakyrelu, PReLU scalar and per channel', () => {
  const bias = () => tf.tensor1d(randomValues(O, 3));
  const cases: Array<[string, Partial<Parameters<typeof tf.fused.conv2d>[0]>]> = [
    ['linear, no bias', {}],
    ['relu + bias', { activation: 'relu', bias: bias() }],
    ['relu6', { activation: 'relu6', bias: bias() }],
    ['elu', { activation: 'elu' }],
    ['sigmoid', { activation: 'sigmoid', bias: bias() }],
    ['leakyrelu 0.3', { activation: 'leakyrelu', leakyreluAlpha: 0.3 }],
    ['prelu per channel', { activation: 'prelu', preluActivationWeights: tf.tensor1d(randomValues(O, 4)) }],
    ['prelu scalar', { activation: 'prelu', preluActivationWeights: tf.scalar(0.25) }],
  ];
  for (const [name, extra] of cases) {
    const f = () => {
      const e = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v instanceof tf.Tensor ? tf.clone(v) : v]));
      return tf.fused.conv2d({ x: x(), filter: w(), strides: 1, pad: 'valid', ...e });
    };
    const err = wasmVsCpu(f);
    assert.ok(err < TOLERANCE, `${name}: ${err}`);
    assert.equal(productsIn(f), 1, name);
  }
  tf.dispose(cases.flatMap(([, e]) => Object.values(e).filter((v): v is tf.Tensor => v instanceof tf.Tensor)));
});

test('PReLU weights per pixel, strides, 3x3 filters and small weights keep the stock kernel', () => {
  const perPixel = () => tf.fused.conv2d({ x: x(), filter: w(), strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: tf.tensor3d(randomValues(H * W * O, 5), [H, W, O]) });
  assert.ok(wasmVsCpu(perPixel) < TOLERANCE);
  assert.equal(productsIn(perPixel), 0);
  assert.equal(productsIn(() => tf.conv2d(x(), w(), 2, 'valid')), 0);
  assert.equal(productsIn(() => tf.conv2d(x(), tf.tensor4d(randomValues(9 * C * 64, 6), [3, 3, C, 64]), 1, 'same')), 0);
  assert.equal(productsIn(() => tf.conv2d(x(), tf.tensor4d(randomValues(C * 16, 7), [1, 1, C, 16]), 1, 'valid')), 0);
  // Many pixels: the stock conv's GEMM is faster than the product.
  assert.equal(productsIn(() => tf.conv2d(tf.zeros([4, 16, 16, C]) as tf.Tensor4D, w(), 1, 'valid')), 0);
});

test('gradients through a pointwise conv (input and filter) equal the cpu ones; backprop-input runs as a product', () => {
  const f = () => {
    const r = tf.tensor4d(randomValues(B * H * W * O, 8), [B, H, W, O]);
    const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, 'valid'), r)));
    return g([x(), w()]);
  };
  const err = wasmVsCpu(f);
  assert.ok(err < TOLERANCE, `${err}`);
  // Forward + Conv2DBackpropInput's conv with the flipped filter (a new tensor): two products.
  assert.equal(productsIn(f), 2);
});
