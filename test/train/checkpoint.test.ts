import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { loadModel } from '../../src/io/fileSystem.ts';
import {
  CheckpointError,
  checkpointDir,
  hasCheckpoint,
  loadBestWeights,
  loadCheckpoint,
  saveBest,
  saveCheckpoint,
} from '../../src/train/checkpoint.ts';
import { EarlyStopping } from '../../src/train/earlyStopping.ts';
import { cosineAnnealing, setOptimizerLearningRate } from '../../src/train/schedule.ts';

const made: string[] = [];
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fdft-ckpt-'));
  made.push(d);
  return d;
};
before(() => initEngine('cpu', () => {}));
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** A tiny dense classifier; `seed` fixes the initial weights. Layer names are tfjs' auto names. */
function makeModel(seed: number, hidden = 8): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [4], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

/** Fixed data: 16 points, 4 features, 2 one-hot classes. */
function data() {
  const x = tf.tensor2d(Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) + 0.1 * (i % 5)), [16, 4]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), 'int32'), 2);
  return { x, y };
}

const TOTAL = 100; // 50 + 50: a split where pow(β, t) and the running product differ in float32
const HALF = TOTAL / 2;
const lrAt = cosineAnnealing({ lr0: 0.3, totalSteps: TOTAL });

function trainSteps(model: tf.LayersModel, opt: tf.Optimizer, from: number, to: number, d: { x: tf.Tensor; y: tf.Tensor }) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let step = from; step < to; step++) {
    setOptimizerLearningRate(opt, opt.getClassName() === 'Adam' ? 0.05 * lrAt(step) : lrAt(step));
    opt.minimize(() => tf.losses.softmaxCrossEntropy(d.y, model.apply(d.x, { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
  }
}

async function maxAbsDiff(a: tf.LayersModel, b: tf.LayersModel): Promise<number> {
  const wa = a.getWeights();
  const wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  let max = 0;
  for (let i = 0; i < wa.length; i++) {
    const [x, y] = [await wa[i]!.data(), await wb[i]!.data()];
    for (let j = 0; j < x.length; j++) max = Math.max(max, Math.abs(x[j]! - y[j]!));
  }
  return max;
}

for (const [label, makeOpt] of [
  ['SGD momentum 0.9 (fine-tuning, §4.1)', () => tf.train.momentum(0.3, 0.9)],
  ['Adam (pre-training)', () => tf.train.adam(0.001)],
] as const) {
  test(`${label}: ${HALF} steps + checkpoint + restore into fresh model and optimizer + ${HALF} steps = ${TOTAL} straight steps`, async () => {
    const runDir = await fresh();
    const d = data();
    const straight = makeModel(1);
    const straightOpt = makeOpt();
    trainSteps(straight, straightOpt, 0, TOTAL, d);

    const first = makeModel(1);
    const firstOpt = makeOpt();
    trainSteps(first, firstOpt, 0, HALF, d);
    const es = new EarlyStopping({ patience: 20 });
    es.update(1, 0.69);
    await saveCheckpoint(runDir, { model: first, optimizer: firstOpt, state: { epoch: 1, globalStep: HALF, bestValLoss: 0.69, earlyStopping: es.toJSON(), rng: { s: [1, 2, 3] } } });
    assert.equal(await hasCheckpoint(runDir), true);

    // A fresh process would build the model again: other initial weights here, other auto layer names.
    const resumed = makeModel(99);
    const resumedOpt = makeOpt();
    assert.ok((await maxAbsDiff(resumed, first)) > 1e-3);
    const state = await loadCheckpoint(runDir, resumed, resumedOpt);
    assert.deepEqual(state, { epoch: 1, globalStep: HALF, bestValLoss: 0.69, earlyStopping: es.toJSON(), rng: { s: [1, 2, 3] } });
    assert.equal(resumedOpt.iterations, HALF);
    assert.equal(await maxAbsDiff(resumed, first), 0);
    // Adam's running β^t products must come back exactly (tfjs' setWeights would recompute them with pow).
    type AccBeta = { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
    for (const k of ['accBeta1', 'accBeta2'] as const) {
      const want = (firstOpt as unknown as AccBeta)[k];
      if (want) assert.equal((await (resumedOpt as unknown as AccBeta)[k]!.data())[0], (await want.data())[0], k);
    }
    trainSteps(resumed, resumedOpt, state.globalStep, TOTAL, d);

    const diff = await maxAbsDiff(resumed, straight);
    assert.ok(diff <= 1e-6, `resumed differs from straight by ${diff}`);
    // The checkpoint directory is complete and alone (no temp or old copies).
    assert.deepEqual((await readdir(runDir)).sort(), ['checkpoint']);
    assert.deepEqual((await readdir(checkpointDir(runDir))).sort(), [
      'checkpoint.json',
      'group1-shard1of1.bin',
      'model.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
    ]);
    tf.dispose([d.x, d.y]);
    for (const o of [straightOpt, firstOpt, resumedOpt]) o.dispose();
  });
}

test('a checkpoint write that fails midway keeps the previous checkpoint loadable', async () => {
  const runDir = await fresh();
  const model = makeModel(5);
  const opt = tf.train.momentum(0.1, 0.9);
  const d = data();
  trainSteps(model, opt, 0, 1, d);
  await saveCheckpoint(runDir, { model, optimizer: opt, state: { epoch: 1, globalStep: 1 } });
  const atEpoch1 = makeModel(5);
  atEpoch1.setWeights(model.getWeights());
  trainSteps(model, opt, 1, 2, d);
  await assert.rejects(
    saveCheckpoint(runDir, { model, optimizer: opt, state: { epoch: 2, globalStep: 2 } }, {
      beforeCommit: () => {
        throw new Error('simulated crash');
      },
    }),
    /simulated crash/,
  );
  const back = makeModel(7);
  const state = await loadCheckpoint(runDir, back, tf.train.momentum(0.1, 0.9));
  assert.equal(state.epoch, 1);
  assert.equal(await maxAbsDiff(back, atEpoch1), 0);
  assert.deepEqual(await readdir(runDir), ['checkpoint']);
  tf.dispose([d.x, d.y]);
});

test('checkpoint and best/ folders load as ordinary tfjs models with identical predictions', async () => {
  const runDir = await fresh();
  const model = makeModel(11);
  const d = data();
  await saveCheckpoint(runDir, { model, state: { epoch: 3, globalStep: 30 } });
  await saveBest(runDir, model, { epoch: 3, valLoss: 0.5 });
  const want = await (model.predict(d.x) as tf.Tensor).data();
  for (const dir of [checkpointDir(runDir), join(runDir, 'best')]) {
    const loaded = await loadModel(dir);
    assert.deepEqual(await (loaded.predict(d.x) as tf.Tensor).data(), want);
    loaded.dispose();
  }
  const other = makeModel(12);
  assert.deepEqual(await loadBestWeights(runDir, other), { epoch: 3, valLoss: 0.5 });
  assert.equal(await maxAbsDiff(other, model), 0);
  tf.dispose([d.x, d.y]);
});

test('mismatches and missing checkpoints raise CheckpointError', async () => {
  const runDir = await fresh();
  assert.equal(await hasCheckpoint(runDir), false);
  await assert.rejects(loadCheckpoint(runDir, makeModel(1)), (e: Error) => e instanceof CheckpointError && /no checkpoint/.test(e.message));
  await assert.rejects(loadBestWeights(runDir, makeModel(1)), CheckpointError);
  const model = makeModel(1);
  const opt = tf.train.momentum(0.1, 0.9);
  trainSteps(model, opt, 0, 1, data());
  await saveCheckpoint(runDir, { model, optimizer: opt, state: { epoch: 1, globalStep: 1 } });
  await assert.rejects(loadCheckpoint(runDir, makeModel(1, 6)), (e: Error) => e instanceof CheckpointError && /shape/.test(e.message));
  await assert.rejects(loadCheckpoint(runDir, makeModel(1), tf.train.adam(0.1)), (e: Error) => e instanceof CheckpointError && /Momentum/.test(e.message));
  await assert.rejects(
    saveCheckpoint(runDir, { model, state: { epoch: 1.5, globalStep: 1 } }),
    CheckpointError,
  );
});
