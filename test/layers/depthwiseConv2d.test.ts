import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { DepthwiseConv2D, depthwiseConv2d } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

test('the regulariser is not saved as a constraint (tfjs 4.22 bug) and the model reloads', async () => {
  const x = tf.input({ shape: [5, 5, 4] });
  const layer = depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseRegularizer: tf.regularizers.l2({ l2: 1e-5 }), name: 'dw' });
  const m = tf.model({ inputs: x, outputs: layer.apply(x) as tf.SymbolicTensor });
  const cfg = layer.getConfig();
  assert.equal(cfg.depthwiseConstraint, null);
  assert.equal((cfg.depthwiseRegularizer as { className: string }).className, 'L1L2');
  assert.equal(layer.getClassName(), 'DepthwiseConv2D');
  const artifacts = await new Promise<tf.io.ModelArtifacts>((resolve) => {
    void m.save(tf.io.withSaveHandler(async (a) => (resolve(a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  });
  const m2 = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const t = tf.randomNormal([1, 5, 5, 4], 0, 1, 'float32', 3);
  assert.deepEqual(Array.from((m2.predict(t) as tf.Tensor).dataSync()), Array.from((m.predict(t) as tf.Tensor).dataSync()));
});

test('a config written by stock tfjs (regulariser in depthwiseConstraint) loads', () => {
  const buggy = {
    kernelSize: [3, 3],
    depthwiseRegularizer: { className: 'L1L2', config: { l1: 0, l2: 1e-5 } },
    depthwiseConstraint: { className: 'L1L2', config: { l1: 0, l2: 1e-5 } },
  };
  const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap['DepthwiseConv2D']!;
  const layer = fromConfig(cls, buggy as never) as DepthwiseConv2D;
  assert.ok(layer instanceof DepthwiseConv2D);
  const y = layer.apply(tf.ones([1, 4, 4, 2])) as tf.Tensor;
  assert.deepEqual(y.shape, [1, 2, 2, 2]);
});
