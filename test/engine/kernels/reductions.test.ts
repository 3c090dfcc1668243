/** fdft's wasm Sum and Mean against tfjs' cpu backend, over every axis set (outer, inner, mixed). */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

test('sum and mean over every subset of axes of a 4-D tensor, with and without keepDims', () => {
  const shape = [3, 5, 4, 7];
  for (let mask = 1; mask < 16; mask++) {
    const axes = [0, 1, 2, 3].filter((a) => mask & (1 << a));
    for (const keepDims of [false, true]) {
      const err = wasmVsCpu(() => {
        const x = tf.tensor(randomValues(3 * 5 * 4 * 7, mask), shape);
        return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
      });
      assert.ok(err <= TOLERANCE, `axes [${axes}] keepDims=${keepDims}: relative error ${err}`);
    }
  }
});

test('batch-norm statistics (moments over N, H, W) and their gradients', () => {
  const err = wasmVsCpu(() => {
    const x = tf.tensor(randomValues(4 * 6 * 5 * 9, 3), [4, 6, 5, 9]);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.moments(v, [0, 1, 2]).variance.sum())(x);
    return [mean, variance, g];
  });
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

test('int32 sums keep their exact integer result', () => {
  const err = wasmVsCpu(() => tf.sum(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [0, 2]).cast('float32'));
  assert.equal(err, 0);
});
