/**
 * MaxPoolGrad on wasm (fdft's, replacing tfjs-backend-wasm 4.22's, which drops the gradient of
 * windows whose inputs are all negative) and the stock AvgPoolGrad, against tfjs' cpu backend.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

test('max and average pooling gradients: filters 1–3, strides 1–2, same / valid, negative inputs', () => {
  for (const shape of [
    [2, 7, 7, 3],
    [1, 8, 6, 5],
  ]) {
    for (const k of [1, 2, 3]) {
      for (const s of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) {
          const n = shape.reduce((a, b) => a * b, 1);
          const outShape = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], k, s, 1, pad).outShape;
          const err = wasmVsCpu(() => {
            const x = tf.tensor4d(randomValues(n, k * 10 + s), shape as [number, number, number, number]).sub(0.5);
            const w = tf.tensor(randomValues(outShape.reduce((a, b) => a * b, 1), 3), outShape);
            return [
              tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, k, s, pad).mul(w).sum())(x),
              tf.grad((v: tf.Tensor) => tf.avgPool(v as tf.Tensor4D, k, s, pad).mul(w).sum())(x),
            ];
          });
          assert.ok(err <= TOLERANCE, `[${shape}] k${k} s${s} ${pad}: relative error ${err}`);
        }
      }
    }
  }
});

test('a window of only negative values passes its gradient to its maximum', () => {
  const err = wasmVsCpu(() => {
    const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]);
    return tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid').sum())(x);
  });
  assert.equal(err, 0);
});
