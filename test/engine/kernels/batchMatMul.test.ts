/** fdft's wasm BatchMatMul against tfjs' cpu backend: every transpose combination, batches, broadcasting. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

const t = (shape: number[], seed: number) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);

test('all transpose combinations, 2-D and batched, odd sizes', () => {
  const [M, K, N] = [7, 13, 5];
  for (const batch of [[], [1], [3], [2, 3]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const err = wasmVsCpu(() =>
          tf.matMul(t([...batch, ...(ta ? [K, M] : [M, K])], 1), t([...batch, ...(tb ? [N, K] : [K, N])], 2), ta, tb),
        );
        assert.ok(err <= TOLERANCE, `batch [${batch}] ta=${ta} tb=${tb}: relative error ${err}`);
      }
    }
  }
});

test('broadcast batch (one side batch 1) and the transpose-the-result path', () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const e1 = wasmVsCpu(() => tf.matMul(t([4, ...(ta ? [6, 9] : [9, 6])], 3), t([1, ...(tb ? [5, 6] : [6, 5])], 4), ta, tb));
    assert.ok(e1 <= TOLERANCE, `b broadcast ta=${ta} tb=${tb}: ${e1}`);
    const e2 = wasmVsCpu(() => tf.matMul(t([1, ...(ta ? [6, 9] : [9, 6])], 3), t([4, ...(tb ? [5, 6] : [6, 5])], 4), ta, tb));
    assert.ok(e2 <= TOLERANCE, `a broadcast ta=${ta} tb=${tb}: ${e2}`);
  }
  // A big left operand transposed with a small right one: Cᵀ = op(B)ᵀ·op(A)ᵀ may win.
  const e3 = wasmVsCpu(() => tf.matMul(t([2, 3, 40], 5), t([2, 3, 2], 6), true, false));
  assert.ok(e3 <= TOLERANCE, `swapped path: ${e3}`);
});

test('attention-shaped gradients (softmax(F·Gᵀ)·H) agree with cpu', () => {
  const err = wasmVsCpu(() => {
    const f = t([2, 49, 3], 7);
    const g = t([2, 49, 3], 8);
    const h = t([2, 49, 6], 9);
    return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.matMul(tf.softmax(tf.matMul(a, b, false, true)), c).square().sum())([f, g, h]);
  });
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});
