import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { BACKBONE_NAMES, ModelConfigError, createBackbone, featureExtractor } from '../../src/models/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

// Feature maps at 64x64 and parameter counts without top (keras.applications: ResNet50V2 23,564,800;
// Xception 20,861,480 minus the 4,448 BN parameters the authors' entry blocks drop).
const EXPECTED = {
  xception: { features: [2, 2, 2048], params: 20_857_032 },
  resnetv2: { features: [2, 2, 2048], params: 23_564_800 },
  squeezenet: { features: [3, 3, 512], params: 722_496 },
  shallownetv3: { features: [12, 12, 32], params: 109_344 },
} as const;

for (const name of BACKBONE_NAMES) {
  test(`${name}: classifier → softmax(2), feature map and parameter count`, () => {
    const clf = createBackbone(name, { includeTop: true, seed: 1 });
    assert.deepEqual(clf.outputs[0]!.shape, [null, 2]);
    assert.ok(clf.getLayer('features'), 'has a layer named features');
    const feats = featureExtractor(clf);
    assert.deepEqual(feats.outputs[0]!.shape, [null, ...EXPECTED[name].features]);
    assert.equal(feats.countParams(), EXPECTED[name].params);
    // The feature extractor shares the classifier's weights.
    assert.equal(feats.weights[0], clf.weights.find((w) => w.originalName === feats.weights[0]!.originalName));
    const probs = clf.predict(tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 2)) as tf.Tensor;
    const sums = tf.sum(probs, 1).dataSync();
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
    clf.dispose();
  });
}

test('shallownetv3: 8 conv layers, 109,344 conv and 4,725,762 FC parameters (FDFtNet Table 1: 8 / 115,490 / 4,725,762)', () => {
  const m = createBackbone('shallownetv3', { includeTop: true });
  const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.equal(convs.length, 8);
  assert.equal(convs.reduce((s, l) => s + l.countParams(), 0), 109_344);
  const fc = m.layers.filter((l) => l.name.startsWith('top_')).reduce((s, l) => s + l.countParams(), 0);
  assert.equal(fc, 4_725_762);
  console.log(`# ShallowNetV3 conv params 109,344 (paper 115,490), FC params ${fc.toLocaleString('en-US')} (paper 4,725,762)`);
});

test('the same seed gives the same weights; the features model has no top', () => {
  const a = createBackbone('squeezenet', { seed: 42 });
  const b = createBackbone('squeezenet', { seed: 42 });
  const c = createBackbone('squeezenet', { seed: 43 });
  assert.equal(a.layers.at(-1)!.name, 'features');
  assert.deepEqual(Array.from(a.weights[0]!.read().dataSync()), Array.from(b.weights[0]!.read().dataSync()));
  assert.notDeepEqual(Array.from(a.weights[0]!.read().dataSync()), Array.from(c.weights[0]!.read().dataSync()));
});

test('bad requests fail with ModelConfigError', () => {
  assert.throws(() => createBackbone('vgg16'), ModelConfigError);
  assert.throws(() => createBackbone('shallownetv3', { inputSize: 16 }), ModelConfigError);
  assert.throws(() => createBackbone('squeezenet', { inputSize: 0 }), ModelConfigError);
  const noFeatures = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
  assert.throws(() => featureExtractor(noFeatures), ModelConfigError);
});
