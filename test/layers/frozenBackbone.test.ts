import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { FrozenBackbone } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

function tinyBackbone(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 3] });
  let y = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'fb_conv' }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'fb_bn' }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y, name: 'tiny_backbone' });
}

function wrapped() {
  const backbone = tinyBackbone();
  const x = tf.input({ shape: [8, 8, 3] });
  const fm = new FrozenBackbone({ backbone, name: 'backbone' }).apply(x) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(fm) as tf.SymbolicTensor;
  // Zero kernel: with a random one the large test inputs could saturate the softmax beyond the loss'
  // clipping, whose gradient is then 0, so that (now and then) nothing trained.
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'fb_top', kernelInitializer: 'zeros' }).apply(pooled) as tf.SymbolicTensor;
  return { backbone, model: tf.model({ inputs: x, outputs: out }) };
}

test('model.fit trains only the layers after it and never touches the backbone, BN statistics included', async () => {
  const { backbone, model } = wrapped();
  assert.equal(backbone.trainableWeights.length, 0);
  assert.deepEqual(model.trainableWeights.map((w) => w.originalName).sort(), ['fb_top/bias', 'fb_top/kernel']);
  const before = backbone.getWeights().map((w) => Array.from(w.dataSync()));
  const topBefore = model.getLayer('fb_top').getWeights().map((w) => Array.from(w.dataSync()));
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
  // Inputs far from BN's initial moving statistics: a BN in training mode would shift them.
  const x = tf.randomUniform([4, 8, 8, 3], 5, 9, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
  await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
  const after = backbone.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(after, before, 'backbone kernels and BN moving mean/variance unchanged');
  const topAfter = model.getLayer('fb_top').getWeights().map((w) => Array.from(w.dataSync()));
  assert.notDeepEqual(topAfter, topBefore, 'the layer after the backbone did train');
});

test('it runs the backbone in inference mode even when called with training: true', () => {
  const { backbone } = wrapped();
  const wrapper = new FrozenBackbone({ backbone });
  const x = tf.randomUniform([3, 8, 8, 3], 5, 9, 'float32', 2);
  const inference = backbone.predict(x) as tf.Tensor;
  const training = wrapper.apply(x, { training: true }) as tf.Tensor;
  assert.equal(tf.max(tf.abs(tf.sub(inference, training))).dataSync()[0], 0);
});

test('it stays frozen when someone sets trainable = true, and serialises with its backbone', () => {
  const { backbone, model } = wrapped();
  model.trainable = true;
  const w = model.getLayer('backbone') as FrozenBackbone;
  w.trainable = true;
  assert.equal(w.trainable, false);
  assert.equal(w.trainableWeights.length, 0);
  assert.equal(w.nonTrainableWeights.length, backbone.weights.length);
  const cfg = w.getConfig();
  const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap['FrozenBackbone']!;
  const copy = fromConfig(cls, cfg) as FrozenBackbone;
  assert.deepEqual(copy.backbone.layers.map((l) => l.name), backbone.layers.map((l) => l.name));
});
