import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { batchIndices, batchIterator, imageSetTensors, stepsPerEpoch, type Batch, type BatchOptions } from '../../src/data/batches.ts';
import type { ImageSource } from '../../src/data/imageSource.ts';
import type { ImageSet } from '../../src/data/types.ts';
import { PAPER_AUGMENTATION } from '../../src/data/augment.ts';
import { patternRgb, writeJpeg } from './badCorpus.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageLoader, loadImages } from '../../src/data/loader.ts';

before(async () => {
  await initEngine('cpu', () => {});
});

const S = 8;
function makeSet(n: number): ImageSet {
  const images = new Uint8Array(n * S * S * 3);
  for (let i = 0; i < n; i++) images.set(patternRgb(S, S, i), i * S * S * 3);
  return {
    size: S,
    images,
    labels: Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0),
    samples: Array.from({ length: n }, (_, i) => ({ path: `/x/${i}.png`, label: (i % 3 === 0 ? 1 : 0) as 0 | 1 })),
    skipped: [],
  };
}

async function collect(set: ImageSet | ImageSource, opts: BatchOptions) {
  const out: { indices: number[]; xs: Float32Array; ys: Float32Array; shape: number[]; step: number; missing: number }[] = [];
  for await (const b of batchIterator(set, opts)) {
    out.push({ indices: b.indices, xs: b.xs.dataSync() as Float32Array, ys: b.ys.dataSync() as Float32Array, shape: b.xs.shape, step: b.step, missing: b.missing });
    b.xs.dispose();
    b.ys.dispose();
  }
  return out;
}

test('an epoch covers every image once; last partial batch kept or dropped explicitly', async () => {
  const set = makeSet(23);
  const kept = await collect(set, { batchSize: 5, seed: 1, epoch: 0 });
  assert.deepEqual(kept.map((b) => b.indices.length), [5, 5, 5, 5, 3]);
  assert.deepEqual(kept.flatMap((b) => b.indices).sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  const dropped = await collect(set, { batchSize: 5, seed: 1, epoch: 0, remainder: 'drop' });
  assert.deepEqual(dropped.map((b) => b.indices.length), [5, 5, 5, 5]);
  assert.equal(stepsPerEpoch(23, { batchSize: 5 }), 5);
  assert.equal(stepsPerEpoch(23, { batchSize: 5, remainder: 'drop' }), 4);
  // Shapes, one-hot labels, rescaled pixels.
  const b = kept[0]!;
  assert.deepEqual(b.shape, [5, S, S, 3]);
  b.indices.forEach((i, k) => {
    assert.deepEqual([b.ys[2 * k], b.ys[2 * k + 1]], set.labels[i] === 1 ? [0, 1] : [1, 0]);
    assert.ok(Math.abs(b.xs[k * S * S * 3]! - set.images[i * S * S * 3]! / 255) < 1e-6);
  });
});

test('shuffle is a pure function of (seed, epoch): differs across epochs, repeats on resume', async () => {
  const set = makeSet(40);
  const opts = { batchSize: 8, seed: 3, augment: PAPER_AUGMENTATION };
  const e0 = await collect(set, { ...opts, epoch: 0 });
  const e1 = await collect(set, { ...opts, epoch: 1 });
  assert.notDeepEqual(e0.map((b) => b.indices), e1.map((b) => b.indices));
  const again = await collect(set, { ...opts, epoch: 1 });
  assert.deepEqual(again, e1); // same batches, same augmentation
  const resumed = await collect(set, { ...opts, epoch: 1, fromStep: 2 });
  assert.deepEqual(resumed, e1.slice(2));
  const unshuffled = await collect(set, { ...opts, epoch: 0, shuffle: false, augment: false });
  assert.deepEqual(unshuffled.flatMap((b) => b.indices), Array.from({ length: 40 }, (_, i) => i));
});

test('stepsPerEpoch: a Keras-style endless stream of passes', async () => {
  const n = 10;
  const opts: BatchOptions = { batchSize: 4, seed: 2, stepsPerEpoch: 4 };
  // Passes have 3 batches (4 + 4 + 2); 2 epochs × 4 steps = 8 global steps = 2 passes + 2 batches.
  const seq: number[][] = [];
  for (let e = 0; e < 2; e++) for (let s = 0; s < 4; s++) seq.push(batchIndices(n, opts, e, s));
  assert.deepEqual(seq.map((b) => b.length), [4, 4, 2, 4, 4, 2, 4, 4]);
  for (const pass of [0, 1]) {
    const covered = seq.slice(pass * 3, pass * 3 + 3).flat().sort((a, b) => a - b);
    assert.deepEqual(covered, Array.from({ length: n }, (_, i) => i));
  }
  const set = makeSet(n);
  const epoch1 = await collect(set, { ...opts, epoch: 1 });
  assert.deepEqual(epoch1.map((b) => b.indices), seq.slice(4));
});

test('batches from a streaming source skip bad images and count them; no tensor leaks', async () => {
  const set = makeSet(12);
  const bad = new Set([2, 7]);
  const requested: number[][] = [];
  const source: ImageSource = {
    size: S,
    length: 12,
    samples: set.samples,
    label: (i) => set.labels[i] as 0 | 1,
    image: async (i) => (bad.has(i) ? null : set.images.subarray(i * S * S * 3, (i + 1) * S * S * 3)),
    prefetch: (idx) => requested.push(Array.from(idx)),
  };
  const before = tf.memory().numTensors;
  let seen = 0;
  let missing = 0;
  for await (const b of batchIterator(source, { batchSize: 4, seed: 5, augment: PAPER_AUGMENTATION })) {
    assert.equal(b.xs.shape[0], b.indices.length);
    for (const i of b.indices) assert.ok(!bad.has(i));
    seen += b.indices.length;
    missing += b.missing;
    tf.dispose([b.xs, b.ys]);
  }
  assert.equal(seen, 10);
  assert.equal(missing, 2);
  assert.ok(requested.length > 0, 'prefetch hints were given');
  assert.equal(tf.memory().numTensors, before);
});

test('imageSetTensors: whole set rescaled, one-hot', () => {
  const set = makeSet(5);
  const { xs, ys } = imageSetTensors(set, 1, 4);
  assert.deepEqual(xs.shape, [3, S, S, 3]);
  assert.deepEqual(Array.from(ys.dataSync()), [1, 0, 1, 0, 0, 1]);
  const max = xs.max().dataSync()[0]!;
  assert.ok(max <= 1 && max > 0.5);
  tf.dispose([xs, ys]);
});

test('bad batch options are named errors', async () => {
  const set = makeSet(3);
  const run = (o: BatchOptions) => collect(set, o);
  await assert.rejects(run({ batchSize: 0 }), (e: Error) => e.name === 'DataOptionsError');
  await assert.rejects(run({ batchSize: 4, remainder: 'drop' }), (e: Error) => e.name === 'DataOptionsError');
  await assert.rejects(run({ batchSize: 2, stepsPerEpoch: 0 }), (e: Error) => e.name === 'DataOptionsError');
});

test('batchIterator over a streaming ImageLoader (worker thread) gives the batches of the decoded set', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-batches-'));
  try {
    const samples: { path: string; label: 0 | 1 }[] = [];
    for (let i = 0; i < 9; i++) {
      const path = join(dir, `${i}.jpg`);
      if (i === 4) await writeFile(path, 'broken');
      else await writeJpeg(path, 24, 24, i);
      samples.push({ path, label: (i % 2) as 0 | 1 });
    }
    const loader = new ImageLoader(samples, { size: S });
    const opts = { batchSize: 4, seed: 1, epoch: 2, augment: PAPER_AUGMENTATION };
    const streamed = await collect(loader, opts);
    await loader.close();
    assert.equal(streamed.flatMap((b) => b.indices).length, 8);
    assert.equal(streamed.reduce((n, b) => n + b.missing, 0), 1);
    // Same batches (indices, pixels, augmentation) as from the fully decoded images.
    const set = await loadImages(samples, { size: S });
    const bytes = S * S * 3;
    const decoded: ImageSource = {
      size: S,
      length: samples.length,
      samples,
      label: (i) => samples[i]!.label,
      image: (i) => {
        const j = set.samples.findIndex((s) => s.path === samples[i]!.path);
        return j < 0 ? null : set.images.subarray(j * bytes, (j + 1) * bytes);
      },
    };
    assert.deepEqual(streamed, await collect(decoded, opts));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

export type { Batch };
