/**
 * The frozen-feature-map cache of fine-tuning (src/train/featureMapCache.ts) and validation on it
 * (src/train/headsScoring.ts): maps are computed once per image and equal the backbone's; the byte
 * bound holds; precise-BN batches get their maps through `take`, and the maps of batches nobody
 * took are freed; the heads on cached maps score a set as the whole FDFtNet does (tfjs and
 * onnxruntime).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { onnxAvailable } from '../../src/engine/onnxBackbone.ts';
import { createFdftNet } from '../../src/models/fdftnet.ts';
import { featureMapCache, FeatureMapCacheError } from '../../src/train/featureMapCache.ts';
import { scoreHeadsOnCachedMaps } from '../../src/train/headsScoring.ts';
import { scoreImageSet } from '../../src/train/scoring.ts';
import { snapshotPredictor } from '../../src/train/snapshotPredictor.ts';
import type { Batch } from '../../src/train/loop.ts';
import type { ImageSet } from '../../src/data/types.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

/** A fake "backbone": per image, its per-channel means times k (a [2] map), counting its calls. */
function fakeBackbone() {
  let calls = 0;
  let images = 0;
  return {
    compute: async (xs: tf.Tensor4D) => {
      calls++;
      images += xs.shape[0];
      return tf.tidy(() => tf.mul(tf.mean(xs, [1, 2]).slice([0, 0], [-1, 2]), 3));
    },
    calls: () => calls,
    images: () => images,
  };
}

const pixels = (n: number, seed: number) => tf.randomUniform([n, 4, 4, 3], 0, 1, 'float32', seed) as tf.Tensor4D;

test('maps are computed once per image, are the backbone\'s, and the byte bound holds', async () => {
  const backbone = fakeBackbone();
  const cache = featureMapCache(backbone.compute);
  const set = {};
  const xs = pixels(5, 1);
  const expected = await backbone.compute(xs);
  const first = await cache.get(set, [0, 1, 2, 3, 4], xs);
  const again = await cache.get(set, [0, 1, 2, 3, 4], xs);
  assert.equal(cache.computed(), 1);
  assert.deepEqual(again.shape, expected.shape);
  assert.deepEqual(Array.from(again.dataSync()), Array.from(expected.dataSync()));
  assert.deepEqual(Array.from(first.dataSync()), Array.from(expected.dataSync()));
  assert.equal(cache.bytes(), 5 * 2 * 4);
  // A batch of other images (or another set) computes; a batch of kept ones in another order does not.
  const sub = await cache.get(set, [3, 1], tf.stack([tf.unstack(xs)[3]!, tf.unstack(xs)[1]!]) as tf.Tensor4D);
  assert.equal(cache.computed(), 1);
  assert.deepEqual(Array.from(sub.dataSync()), [...expected.dataSync().slice(6, 8), ...expected.dataSync().slice(2, 4)]);
  await cache.get({}, [0, 1, 2, 3, 4], xs);
  assert.equal(cache.computed(), 2);
  await assert.rejects(cache.get(set, [0, 1], xs), FeatureMapCacheError);
  assert.equal(cache.served(), 4, 'every batch handed out counts, kept or computed; a refused one does not');

  // Bound: room for 3 images' maps (24 bytes); the rest computed every time.
  const small = featureMapCache(fakeBackbone().compute, 24);
  assert.equal(small.maxBytes, 24);
  const a = await small.get(set, [0, 1, 2, 3, 4], xs);
  assert.equal(small.bytes(), 24);
  const b = await small.get(set, [0, 1, 2, 3, 4], xs);
  assert.equal(small.computed(), 2);
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  await small.get(set, [0, 1, 2], tf.slice(xs, 0, 3) as tf.Tensor4D);
  assert.equal(small.computed(), 2, 'the kept images need no backbone run');
  tf.dispose([xs, expected, first, again, sub, a, b]);
});

test('precise-BN batches: take() hands out their maps; maps of batches not taken are freed', async () => {
  const backbone = fakeBackbone();
  const cache = featureMapCache(backbone.compute);
  const train = {};
  // A generator: a batch exists once it is pulled.
  const source = function* (epoch: number) {
    for (const k of [0, 1]) yield { xs: pixels(2, 10 + k), ys: tf.zeros([2, 2]) as tf.Tensor2D, indices: [2 * k, 2 * k + 1], epoch } as Batch;
  };
  for (let epoch = 0; epoch < 2; epoch++) {
    for await (const batch of cache.batches(source, train)(epoch)) {
      const maps = await cache.take(batch.xs)!;
      assert.deepEqual(maps.shape, [2, 2]);
      assert.equal(cache.take(batch.xs), undefined, 'handed out once');
      tf.dispose([maps, batch.xs, batch.ys]);
    }
  }
  assert.equal(backbone.calls(), 2, 'two batches computed in the first epoch, none in the second');
  // A consumer that stops after one batch: the other batch was never registered; the first one's map, untaken, is freed.
  const before = tf.memory().numTensors;
  for await (const batch of cache.batches(source, train)(2)) {
    tf.dispose([batch.xs, batch.ys]);
    break;
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  await assert.rejects(async () => {
    for await (const b of cache.batches(() => [{ xs: pixels(1, 1), ys: tf.zeros([1, 2]) as tf.Tensor2D }], train)(0)) void b;
  }, /image indices/);
  assert.equal(cache.take(tf.zeros([1])), undefined);
});

/** A set of `n` random 32x32 images with alternating labels. */
function imageSet(n: number, seed: number): ImageSet {
  const images = Uint8Array.from(tf.tidy(() => tf.randomUniform([n * 32 * 32 * 3], 0, 255, 'float32', seed).dataSync()));
  return { size: 32, images, labels: Uint8Array.from({ length: n }, (_, i) => i % 2), samples: [], skipped: [] };
}

test('the heads on cached feature maps score a set as the whole FDFtNet does (tfjs, onnxruntime)', async (t) => {
  const net = createFdftNet({ backbone: 'squeezenet', inputSize: 32, M: 1, N: 1, seed: 3 });
  const set = imageSet(10, 4);
  const whole = await scoreImageSet((xs) => net.model.predict(xs) as tf.Tensor2D, set, 4);
  for (const engine of ['tfjs', 'onnx'] as const) {
    if (engine === 'onnx' && !(await onnxAvailable())) {
      t.diagnostic('onnxruntime-node does not load here: the onnxruntime half is skipped');
      continue;
    }
    let backboneRuns = 0;
    const cache = featureMapCache(async (xs) => {
      backboneRuns++;
      return net.backbone.predict(xs) as tf.Tensor;
    });
    const heads = snapshotPredictor(net.head, engine);
    try {
      for (let epoch = 0; epoch < 2; epoch++) {
        await heads.refresh();
        const scored = await scoreHeadsOnCachedMaps((inputs) => heads.run(inputs), cache, set, 4);
        assert.deepEqual(scored.labels, whole.labels);
        const tol = engine === 'tfjs' ? 1e-6 : 1e-4;
        scored.scores.forEach((s, i) => assert.ok(Math.abs(s - whole.scores[i]!) <= tol, `${engine} epoch ${epoch}: image ${i} ${s} vs ${whole.scores[i]}`));
        assert.ok(Math.abs(scored.loss - whole.loss) <= tol * 10, `${engine}: loss ${scored.loss} vs ${whole.loss}`);
      }
      assert.equal(backboneRuns, 3, 'the backbone ran for the first epoch\'s 3 batches only');
    } finally {
      await heads.dispose();
    }
  }
  net.model.dispose();
});
