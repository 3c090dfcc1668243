import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { prefetchFeatureMaps } from '../../src/train/featureMapPrefetch.ts';
import type { Batch } from '../../src/train/loop.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

/** Batches whose images are all `k` (k = index), so a feature map can be traced to its batch. */
function batchesOf(count: number): (epoch: number, fromStep?: number) => Iterable<Batch> {
  return function* (_epoch, fromStep = 0) {
    for (let k = fromStep; k < count; k++) {
      yield { xs: tf.fill([2, 4, 4, 3], k) as tf.Tensor4D, ys: tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2)) as tf.Tensor2D };
    }
  };
}

/** A fake backbone: feature map = mean of the images, after a short asynchronous delay; logs calls. */
function fakeBackbone(log: string[], failOn?: number) {
  return async (xs: tf.Tensor4D): Promise<tf.Tensor> => {
    const k = (await xs.data())[0]!;
    log.push(`start ${k}`);
    await new Promise((r) => setTimeout(r, 5));
    if (k === failOn) throw new Error(`backbone failed on batch ${k}`);
    log.push(`done ${k}`);
    return tf.mean(xs, [1, 2, 3]);
  };
}

test('each batch\'s feature maps are started one batch ahead, computed once, and handed to that batch', async () => {
  const log: string[] = [];
  const prefetch = prefetchFeatureMaps(fakeBackbone(log));
  const seen: number[] = [];
  for await (const batch of prefetch.batches(batchesOf(4))(0)) {
    const k = (await batch.xs.data())[0]!;
    log.push(`step ${k}`);
    // Before this step asks for its own feature maps, the next batch's have been started.
    if (k < 3) assert.ok(log.includes(`start ${k + 1}`), `batch ${k + 1} prefetched before step ${k}: ${log.join(', ')}`);
    const fm = await prefetch.featureMaps(batch.xs);
    seen.push(...(await fm.data()));
    tf.dispose([fm, batch.xs, batch.ys]);
  }
  assert.deepEqual(seen, [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.equal(log.filter((l) => l.startsWith('start')).length, 4, 'one backbone pass per batch');
  assert.equal(prefetch.pending(), 0);
});

test('a resumed epoch starts at its step; images not taken from the stream are computed on demand', async () => {
  const log: string[] = [];
  const prefetch = prefetchFeatureMaps(fakeBackbone(log));
  const ks: number[] = [];
  for await (const batch of prefetch.batches(batchesOf(5))(0, 3)) {
    ks.push((await batch.xs.data())[0]!);
    tf.dispose([await prefetch.featureMaps(batch.xs), batch.xs, batch.ys]);
  }
  assert.deepEqual(ks, [3, 4]);
  const other = tf.fill([1, 4, 4, 3], 9) as tf.Tensor4D; // e.g. a precise-BN or validation batch
  const fm = await prefetch.featureMaps(other);
  assert.deepEqual(Array.from(await fm.data()), [9]);
  tf.dispose([fm, other]);
});

test('stopping early (Ctrl-C) disposes the batch taken ahead and its feature maps', async () => {
  const before = tf.memory().numTensors;
  const prefetch = prefetchFeatureMaps(fakeBackbone([]));
  for await (const batch of prefetch.batches(batchesOf(4))(0)) {
    tf.dispose([await prefetch.featureMaps(batch.xs), batch.xs, batch.ys]);
    break; // after step 0: batch 1 was already taken and its feature maps started
  }
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(prefetch.pending(), 0);
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');
});

test('a backbone failure on a prefetched batch surfaces at that batch\'s step, not as an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const prefetch = prefetchFeatureMaps(fakeBackbone([], 2));
    const steps: number[] = [];
    await assert.rejects(async () => {
      for await (const batch of prefetch.batches(batchesOf(4))(0)) {
        const k = (await batch.xs.data())[0]!;
        try {
          tf.dispose(await prefetch.featureMaps(batch.xs));
          steps.push(k);
        } finally {
          tf.dispose([batch.xs, batch.ys]);
        }
      }
    }, /backbone failed on batch 2/);
    assert.deepEqual(steps, [0, 1]);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
