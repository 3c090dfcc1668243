import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { recomputeBatchNormStatistics } from '../../src/train/preciseBatchNorm.ts';
import type { Batch } from '../../src/train/loop.ts';

/** dense(4) → BN: the BN input of a batch is x·W, so its statistics can be computed by hand. */
function smallNet(momentum = 0.99): tf.LayersModel {
  const input = tf.input({ shape: [3] });
  const dense = tf.layers.dense({ units: 4, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) });
  const bn = tf.layers.batchNormalization({ momentum });
  return tf.model({ inputs: input, outputs: bn.apply(dense.apply(input)) as tf.SymbolicTensor });
}

function batches(seed: number, count: number, size = 8): Batch[] {
  return Array.from({ length: count }, (_, k) =>
    tf.tidy(() => ({
      xs: tf.randomNormal([size, 3], 2 + k, 1 + k / 2, 'float32', seed + k) as unknown as tf.Tensor4D,
      ys: tf.oneHot(tf.zeros([size], 'int32'), 2) as tf.Tensor2D,
    })),
  );
}

test('precise BN: moving statistics become the plain average of the batch statistics; momentum restored', async () => {
  const model = smallNet();
  const bn = model.layers[2]! as tf.layers.Layer & { momentum: number };
  const data = batches(1, 5);
  // What each batch's BN layer sees (x·W) and its mean / biased variance per unit.
  const kernel = model.layers[1]!.getWeights()[0]!;
  const expectMean = tf.tidy(() => tf.stack(data.map((b) => tf.moments(tf.matMul(b.xs as unknown as tf.Tensor2D, kernel), 0).mean)).mean(0));
  const expectVar = tf.tidy(() => tf.stack(data.map((b) => tf.moments(tf.matMul(b.xs as unknown as tf.Tensor2D, kernel), 0).variance)).mean(0));
  const before = tf.memory().numTensors;
  const images = await recomputeBatchNormStatistics(model, (xs) => xs, data, 'test');
  assert.equal(images, 40);
  assert.equal(bn.momentum, 0.99, 'the layer keeps its own momentum afterwards');
  assert.ok(tf.memory().numTensors <= before - 10, 'the batches are disposed and nothing leaks');
  const [, , movingMean, movingVar] = bn.getWeights();
  const m = await movingMean!.data();
  const v = await movingVar!.data();
  const em = await expectMean.data();
  const ev = await expectVar.data();
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(m[i]! - em[i]!) < 1e-4 * Math.max(1, Math.abs(em[i]!)), `mean ${i}: ${m[i]} vs ${em[i]}`);
    // tfjs may use the biased or unbiased batch variance; either is within 1/(n-1) of the biased one.
    assert.ok(Math.abs(v[i]! - ev[i]!) <= ev[i]! * (1 / 7) + 1e-5, `variance ${i}: ${v[i]} vs ${ev[i]}`);
  }
  tf.dispose([expectMean, expectVar]);
  model.dispose();
});

test('precise BN fixes inference after a short run: stale moving statistics vs recomputed ones', async () => {
  const model = smallNet(0.99);
  const data = batches(2, 4);
  // A few training-mode passes: with momentum 0.99 the statistics barely leave their init (0, 1).
  for (const b of data) tf.tidy(() => void model.apply(b.xs, { training: true }));
  const probe = data[0]!.xs.clone(); // the recompute disposes its batches
  const trainingMode = tf.tidy(() => model.apply(probe, { training: true }) as tf.Tensor);
  const staleGap = tf.tidy(() => tf.abs(tf.sub(model.predict(probe) as tf.Tensor, trainingMode)).mean().dataSync()[0]!);
  await recomputeBatchNormStatistics(model, (xs) => xs, data.slice(0, 1), 'test');
  const freshGap = tf.tidy(() => tf.abs(tf.sub(model.predict(probe) as tf.Tensor, trainingMode)).mean().dataSync()[0]!);
  assert.ok(staleGap > 0.5, `stale statistics change the outputs (${staleGap})`);
  assert.ok(freshGap < 0.05, `statistics of that batch reproduce its training-mode outputs (${freshGap})`);
  tf.dispose([trainingMode, probe, ...data.slice(1).flatMap((b) => [b.xs, b.ys])]);
  model.dispose();
});

test('precise BN on a net without BN uses no image and changes nothing', async () => {
  const input = tf.input({ shape: [3] });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
  const w = model.getWeights().map((t) => t.dataSync().slice());
  const before = tf.memory().numTensors;
  assert.equal(await recomputeBatchNormStatistics(model, (xs) => xs, batches(3, 2), 'test'), 0);
  assert.ok(tf.memory().numTensors <= before);
  model.getWeights().forEach((t, i) => assert.deepEqual(t.dataSync(), w[i]));
  model.dispose();
});
