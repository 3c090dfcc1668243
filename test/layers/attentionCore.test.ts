import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { attention, attentionChunked, attentionReference, chunkSizes } from '../../layers/attentionCore.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

test('chunk sizes cover the batch with at most maxElements map elements each', () => {
  assert.deepEqual(chunkSizes(128, 1024, 2 ** 25), [32, 32, 32, 32]);
  assert.deepEqual(chunkSizes(5, 16, 2 * 256), [2, 2, 1]);
  assert.deepEqual(chunkSizes(3, 64, 10), [1, 1, 1]); // never below one image
  assert.deepEqual(chunkSizes(4, 8, 2 ** 25), [4]);
});

test('the recomputing custom gradient equals autograd, whole and in chunks', () => {
  const [B, N, r, C] = [5, 12, 3, 7];
  const f = tf.randomNormal([B, N, r], 0, 1, 'float32', 1) as tf.Tensor3D;
  const g = tf.randomNormal([B, N, r], 0, 1, 'float32', 2) as tf.Tensor3D;
  const h = tf.randomNormal([B, N, C], 0, 1, 'float32', 3) as tf.Tensor3D;
  const w = tf.randomNormal([B, N, C], 0, 1, 'float32', 4);
  const loss = (o: tf.Tensor) => tf.sum(tf.mul(tf.square(o), w)) as tf.Scalar;
  const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => loss(attentionReference(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D)));
  const want = ref([f, g, h]).map((t) => Array.from(t.dataSync()));
  const wantY = Array.from(attentionReference(f, g, h).dataSync());
  for (const maxElements of [2 ** 25, 2 * N * N]) {
    const y = Array.from(attention(f, g, h, maxElements).dataSync());
    y.forEach((v, i) => assert.ok(Math.abs(v - wantY[i]!) < 1e-5, `value ${i}`));
    const got = tf
      .grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => loss(attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, maxElements)))([f, g, h])
      .map((t) => Array.from(t.dataSync()));
    got.forEach((gr, k) =>
      gr.forEach((v, i) => assert.ok(Math.abs(v - want[k]![i]!) < 1e-4 * (1 + Math.abs(want[k]![i]!)), `grad ${'fgh'[k]}[${i}]: ${v} vs ${want[k]![i]}`)),
    );
  }
});

test('training keeps no N² map alive: peak memory far below autograd\'s', async () => {
  const [B, N] = [8, 256]; // one map: 8·256·256 floats = 2 MiB
  const f = tf.randomNormal([B, N, 4], 0, 1, 'float32', 5) as tf.Tensor3D;
  const g = tf.randomNormal([B, N, 4], 0, 1, 'float32', 6) as tf.Tensor3D;
  const h = tf.randomNormal([B, N, 32], 0, 1, 'float32', 7) as tf.Tensor3D;
  const peak = async (fn: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor3D) => {
    const info = await tf.profile(() => {
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(fn(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D)) as tf.Scalar)([f, g, h]);
      tf.dispose(gs);
    });
    return info.peakBytes;
  };
  const mapBytes = B * N * N * 4;
  const reference = await peak(attentionReference);
  const lean = await peak((a, b, c) => attentionChunked(a, b, c, N * N)); // one image per chunk (the fused wasm kernels keep even less: test/engine/kernels/fusedAttention.test.ts)
  assert.ok(reference > 2 * mapBytes, `autograd peak ${reference}`);
  assert.ok(lean < reference / 2, `custom peak ${lean} vs autograd ${reference}`);
});
