/**
 * snapshotPredictor: predictions follow the weights of the last refresh (on onnxruntime when it
 * loads, else tfjs), and equal model.predict's.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { onnxAvailable } from '../../src/engine/onnxBackbone.ts';
import { snapshotPredictor } from '../../src/train/snapshotPredictor.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

function model(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const close = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5;

for (const engine of ['auto', 'tfjs'] as const) {
  test(`predictions follow the weights of the last refresh (engine ${engine})`, async () => {
    const m = model();
    const xs = tf.randomUniform([3, 6, 6, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const p = snapshotPredictor(m, engine);
    await assert.rejects(async () => p.predict(xs), /before refresh/);
    await p.refresh();
    assert.match(p.describe(), engine === 'tfjs' || !(await onnxAvailable()) ? /^tfjs/ : /^onnx/);
    const first = await p.predict(xs);
    assert.ok(close(first, m.predict(xs) as tf.Tensor));
    const kernel = m.layers[1]!.getWeights()[0]!;
    m.layers[1]!.setWeights([tf.mul(kernel, -2), m.layers[1]!.getWeights()[1]!]);
    await p.refresh();
    const second = await p.predict(xs);
    assert.ok(close(second, m.predict(xs) as tf.Tensor));
    assert.ok(!close(first, second), 'new weights, new predictions');
    // fresh(): a scoring function that refreshes first.
    m.layers[1]!.setWeights([kernel, m.layers[1]!.getWeights()[1]!]);
    const third = await p.fresh(async () => p.predict(xs))();
    assert.ok(close(third, m.predict(xs) as tf.Tensor));
    await p.dispose();
  });
}
