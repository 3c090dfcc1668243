/**
 * The data side of a training run (src/train/runData.ts): the training split streams through an
 * ImageLoader so training starts before decoding ends (issue 4), val/test decode alongside, the
 * summary with decoded counts is written at the end, and a class left with no decodable image
 * stops the run with a DatasetError naming its folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { dataLoopOptions, openTrainingData, type TrainingData } from '../../src/train/runData.ts';
import { scoreImageSet } from '../../src/train/scoring.ts';
import type { TrainConfig } from '../../src/train/config.ts';
import { makeEpochBatches } from '../../src/train/epochBatches.ts';
import { ImageLoader, loadImages } from '../../src/data/loader.ts';
import { writeTinyDataset } from './tinyDataset.ts';
import { writeJpeg } from '../data/badCorpus.ts';

const config = {
  data: '',
  seed: 5,
  inputSize: 32,
  fit: 'squash' as const,
  batch: 8,
  stepsPerEpoch: null,
  augment: { translate: 2, rotation: 0, zoom: 0, hflip: true, cutoutAlpha: 0, cutoutBeta: 1 },
};

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-rundata-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens the training data of `root` (cache under `dir`), runs `fn`, and always stops decoding. */
async function withTrainingData(dir: string, root: string, fn: (data: TrainingData) => Promise<void>, summaryPath?: string) {
  const data = await openTrainingData({ ...config, data: root }, 'train', { cacheDir: join(dir, 'cache'), summaryPath });
  try {
    await fn(data);
  } finally {
    await data.close();
  }
}

test('openTrainingData: the first batch is served while the training split is still decoding; val/test and the summary follow', async () => {
  await withDir(async (dir) => {
    // 2 × 200 JPEGs of 160 px, fresh cache: whole-split decoding takes far longer than one prioritised batch.
    const root = join(dir, 'faces');
    for (const cls of ['real', 'fake']) {
      await mkdir(join(root, cls), { recursive: true });
      for (let i = 0; i < 200; i++) await writeJpeg(join(root, cls, `${cls}${i}.jpg`), 160, 160, i + (cls === 'fake' ? 1000 : 0));
    }
    const summaryPath = join(dir, 'run', 'dataset-summary.json');
    await withTrainingData(dir, root, async (data) => {
      assert.ok(data.train instanceof ImageLoader, 'the training split streams');
      const batches = makeEpochBatches(data.train, config)(0);
      const first = (await (batches as AsyncGenerator<{ xs: tf.Tensor; ys: tf.Tensor }>).next()).value!;
      const decodedAtFirstBatch = data.train.completed;
      assert.equal(first.xs.shape[0], 8);
      tf.dispose([first.xs, first.ys]);
      await (batches as AsyncGenerator).return(undefined);
      assert.ok(decodedAtFirstBatch < data.train.length, `the first batch came after ${decodedAtFirstBatch} of ${data.train.length} images, not after all`);
      // Evaluation splits: the same images as an up-front decode.
      const val = await data.set('val');
      const direct = await loadImages(data.index.splits.val, { size: 32, fit: 'squash' });
      assert.deepEqual(val.labels, direct.labels);
      assert.deepEqual(val.images, direct.images);
      await data.complete();
      const summary = JSON.parse(await readFile(summaryPath, 'utf8'));
      assert.equal(summary.decoded.train.total, data.index.splits.train.length);
      assert.equal(summary.decoded.test.total, data.index.splits.test.length);
      assert.equal(data.failure(), undefined);
    }, summaryPath);
  });
});

test('openTrainingData: a class whose files are all undecodable is reported as a DatasetError naming its folder', async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'faces');
    await writeTinyDataset(root, 20, 32);
    await rm(join(root, 'fake'), { recursive: true });
    await mkdir(join(root, 'fake'));
    for (let i = 0; i < 20; i++) await writeFile(join(root, 'fake', `f${i}.jpg`), 'not a JPEG\n');
    await withTrainingData(dir, root, async (data) => {
      await assert.rejects(data.set('val'), (e: Error) => e.name === 'DatasetError' && e.message.includes(join(root, 'fake')) && /no usable fake image/.test(e.message));
      await assert.rejects(data.complete(), (e: Error) => e.name === 'DatasetError');
      // The training loop's batches stop with it once the training split has finished decoding.
      await data.train.outcome();
      await new Promise((r) => setImmediate(r));
      assert.equal(data.failure()?.name, 'DatasetError');
      const { batches } = await dataLoopOptions(data, { ...config, preciseBn: 0 } as unknown as TrainConfig, (set) => scoreImageSet((xs) => tf.zeros([xs.shape[0], 2]), set));
      const before = tf.memory().numTensors;
      await assert.rejects(async () => {
        for await (const _ of batches(0)) assert.fail('no batch may be served after the failure');
      }, (e: Error) => e.name === 'DatasetError');
      assert.equal(tf.memory().numTensors, before, 'the refused batch is disposed');
    });
  });
});

test('fdft pretrain on such a dataset stops with the named error and exit code 1, not a crash or a hang', async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'faces');
    await writeTinyDataset(root, 16, 32);
    for (let i = 0; i < 16; i++) await writeFile(join(root, 'fake', `fake-${String(i).padStart(3, '0')}.png`), Buffer.alloc(0));
    const r = spawnSync(
      process.execPath,
      [join(process.cwd(), 'bin', 'fdft.js'), 'pretrain', '--backbone', 'shallownetv3', '--data', root, '--input-size', '32', '--batch', '8', '--epochs', '1', '--quiet', '--checkpoints', join(dir, 'ck'), '--cache-dir', join(dir, 'cache'), '--workers', '1'],
      { encoding: 'utf8', env: { ...process.env, FDFT_BACKEND: 'wasm' }, timeout: 120_000 },
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /DatasetError: .*no usable fake image in .*fake.*empty-file/);
  });
});
