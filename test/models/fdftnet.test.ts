import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { loadModel, saveModel } from '../../src/io/fileSystem.ts';
import {
  BACKBONE_NAMES,
  ModelConfigError,
  createBackbone,
  createFdftNet,
  fdftNetFromModel,
  paramCounts,
  regularizationLoss,
} from '../../src/models/index.ts';

let root: string;
before(async () => {
  await initEngine('wasm', () => {}); // the default engine: training needs its conv-gradient kernels
  root = await mkdtemp(join(tmpdir(), 'fdft-models-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Copies of a model's weight values (kept on the backend: the big backbones have 20M+ of them). */
const snapshot = (m: tf.LayersModel) => m.weights.map((w) => tf.clone(w.read()));
const unchangedSince = (m: tf.LayersModel, snap: tf.Tensor[]) =>
  m.weights.every((w, i) => tf.tidy(() => tf.all(tf.equal(w.read(), snap[i]!)).dataSync()[0] === 1));
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const batch = (n: number, seed: number) => tf.randomUniform([n, 64, 64, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
const labels = (n: number) => tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32'), 2);

test('output shapes for M = 1..3 and N = 1..4; the heads add exactly the FTT and MB parameters', () => {
  const backbone = createBackbone('shallownetv3', { seed: 1 });
  for (const M of [1, 2, 3]) {
    for (const N of [1, 2, 3, 4]) {
      const net = createFdftNet({ backbone, M, N, seed: 2 });
      assert.deepEqual(net.model.outputs[0]!.shape, [null, 2], `M=${M} N=${N}`);
      assert.deepEqual(net.head.inputs.map((i) => i.shape), [[null, 64, 64, 3], [null, 12, 12, 32]]);
      const sa = net.head.layers.filter((l) => l.getClassName() === 'SelfAttention');
      const mbBlocks = net.head.layers.filter((l) => /^mb\d+_dw$/.test(l.name));
      assert.equal(sa.length, M);
      assert.equal(mbBlocks.length, N);
    }
  }
  // Paper defaults (M=3, N=4): the FTT adds its Table 2 parameters on top of the no-FTT ablation.
  const withFtt = paramCounts(createFdftNet({ backbone, seed: 2 }).head);
  const noFtt = paramCounts(createFdftNet({ backbone, useFtt: false, seed: 2 }).head);
  const fttTable2 = 123 + 1321 + 2336 + 5201 + 8768 + 20641 + 73728; // trainable conv + attention
  const fttBn = 2 * (32 + 64 + 128 + 576); // BN gamma + beta
  assert.equal(withFtt.trainable - noFtt.trainable, fttTable2 + fttBn);
  assert.throws(() => createFdftNet({ backbone, M: 0 }), ModelConfigError);
  assert.throws(() => createFdftNet({ backbone, inputSize: 128 }), ModelConfigError);
});

test('a pre-trained backbone classifier is cut at `features` and its weights are reused, not copied', () => {
  const clf = createBackbone('squeezenet', { includeTop: true, seed: 5 });
  const net = createFdftNet({ backbone: clf, seed: 6 });
  const fire9 = clf.getLayer('fire9_expand3x3').weights[0]!;
  assert.ok(net.backbone.weights.includes(fire9));
  assert.ok(!net.backbone.layers.some((l) => l.name.startsWith('top_')));
  assert.equal(net.backbone.trainableWeights.length, 0);
  const x = batch(2, 7);
  assert.equal(maxAbsDiff(net.backbone.predict(x) as tf.Tensor, featuresOf(clf, x)), 0);
});

function featuresOf(clf: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  const m = tf.model({ inputs: clf.inputs, outputs: clf.getLayer('features').output as tf.SymbolicTensor });
  return m.predict(x) as tf.Tensor;
}

test('without FTT (Table 6 ablation) the head keeps its [image, featureMap] signature and reloads', async () => {
  const net = createFdftNet({ backbone: 'shallownetv3', useFtt: false, seed: 3 });
  assert.equal(net.head.layers.filter((l) => l.name.startsWith('ftt_')).length, 0);
  assert.equal(net.head.inputs.length, 2);
  const dir = join(root, 'noftt');
  await saveModel(net.model, dir);
  const back = await loadModel(dir);
  const x = batch(2, 4);
  assert.equal(maxAbsDiff(net.model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor), 0);
});

for (const name of BACKBONE_NAMES) {
  test(`${name}: save → load gives identical outputs; one training step changes only the heads`, async () => {
    const net = createFdftNet({ backbone: name, seed: 11 });
    assert.deepEqual(net.model.outputs[0]!.shape, [null, 2]);
    assert.deepEqual(net.head.inputs[1]!.shape, net.backbone.outputs[0]!.shape);
    const x = batch(4, 12);
    const y = labels(4);

    // model ≡ head on the frozen backbone's feature map.
    const fm = net.backbone.predict(x) as tf.Tensor;
    const out = net.model.predict(x) as tf.Tensor;
    assert.equal(maxAbsDiff(out, net.head.predict([x, fm]) as tf.Tensor), 0);

    // Round trip through the filesystem handler.
    const dir = join(root, name);
    await saveModel(net.model, dir);
    const loaded = await loadModel(dir);
    assert.equal(maxAbsDiff(out, loaded.predict(x) as tf.Tensor), 0);
    const parts = fdftNetFromModel(loaded);
    assert.deepEqual(paramCounts(parts.model), paramCounts(net.model));
    loaded.dispose();

    // Gradients reach every trainable weight, and only those: the backbone's get none.
    const headVars = net.head.trainableWeights;
    const backboneVars = new Set(net.backbone.weights.map((w) => w.name));
    assert.ok(net.backbone.weights.every((w) => !w.trainable));
    assert.ok(net.model.trainableWeights.every((w) => !backboneVars.has(w.name)));
    const lossFn = () =>
      tf.add(
        tf.mean(tf.metrics.categoricalCrossentropy(y, net.head.apply([x, fm], { training: true }) as tf.Tensor)),
        regularizationLoss(net.head),
      ) as tf.Scalar;
    const { value, grads } = tf.variableGrads(lossFn); // every trainable variable in the engine
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    assert.deepEqual(Object.keys(grads).sort(), headVars.map((w) => w.name).sort());
    for (const w of headVars) {
      const nonZero = tf.any(tf.notEqual(grads[w.name]!, 0)).dataSync()[0] === 1;
      // Eq. 3 with γ = 0 at init: inside an attention block only γ (and the L2 term on kernels) has a
      // gradient; every other weight gets one.
      const insideAttention = /_attention\/(kernel|bias)_/.test(w.originalName);
      const expectZero = insideAttention && !/kernel_/.test(w.originalName);
      assert.equal(nonZero, !expectZero, `gradient of ${w.originalName} should be ${expectZero ? 'zero' : 'non-zero'}`);
    }

    // One optimiser step: the weights with a gradient move, the frozen backbone does not.
    const backboneBefore = snapshot(net.backbone);
    const headBefore = headVars.map((w) => Array.from(w.read().dataSync()));
    tf.train.sgd(0.1).applyGradients(grads);
    headVars.forEach((w, i) => {
      if (/_attention\/bias_/.test(w.originalName)) return; // zero gradient at init, see above
      assert.notDeepEqual(Array.from(w.read().dataSync()), headBefore[i], `${w.originalName} did not change`);
    });
    assert.ok(unchangedSince(net.backbone, backboneBefore), 'backbone unchanged by the head step');

    // Even the Keras-style fit path on the whole model leaves the backbone (and its BN statistics) alone.
    net.model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const loss = await net.model.trainOnBatch(x, y);
    assert.ok(Number.isFinite(loss as number));
    assert.ok(unchangedSince(net.backbone, backboneBefore), 'backbone (and its BN statistics) unchanged by model.trainOnBatch');
    tf.dispose([x, y, fm, out, value, ...Object.values(grads), ...backboneBefore]);
    net.model.dispose();
  });
}
