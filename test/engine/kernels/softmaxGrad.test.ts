/** fdft's fused softmax gradient against tfjs' own (cpu backend). */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { softmaxBackward } from '../../../src/engine/kernels/softmaxGrad.ts';
import { randomValues, relativeError, runOn, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

test('softmax gradient, rows of 1, 3, 4, 7 and 64 values', () => {
  for (const cols of [1, 3, 4, 7, 64]) {
    const err = wasmVsCpu(() => {
      const x = tf.tensor(randomValues(5 * cols, cols), [5, cols]).mul(4);
      const w = tf.tensor(randomValues(5 * cols, cols + 1), [5, cols]);
      return tf.grad((v: tf.Tensor) => tf.softmax(v).mul(w).sum())(x);
    });
    assert.ok(err <= TOLERANCE, `cols ${cols}: relative error ${err}`);
  }
});

test('softmax gradient of a 3-D attention map and of softmax cross-entropy', () => {
  const err = wasmVsCpu(() => {
    const s = tf.tensor(randomValues(2 * 9 * 9, 11), [2, 9, 9]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 1], 'int32'), 2);
    const logits = tf.tensor(randomValues(6, 12), [3, 2]);
    return [
      tf.grad((v: tf.Tensor) => tf.softmax(v).square().sum())(s),
      tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, v))(logits),
    ];
  });
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

test('softmaxBackward (for hand-written backward passes) equals the autograd gradient, on both backends', async () => {
  const { softmaxBackward: exported } = await import('../../../src/engine/index.ts');
  assert.equal(exported, softmaxBackward);
  for (const backend of ['cpu', 'wasm'] as const) {
    const [mine, auto] = runOn(backend, () => {
      const s = tf.tensor(randomValues(3 * 5 * 13, 21), [3, 5, 13]);
      const dy = tf.tensor(randomValues(3 * 5 * 13, 22), [3, 5, 13]);
      return [softmaxBackward(tf.softmax(s), dy), tf.grad((v: tf.Tensor) => tf.softmax(v).mul(dy).sum())(s)];
    });
    assert.ok(relativeError(mine!, auto!) <= TOLERANCE, `${backend}: ${relativeError(mine!, auto!)}`);
  }
});
