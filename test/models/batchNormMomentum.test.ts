import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchNormLayers, setBatchNormMomentum } from '../../src/models/batchNormMomentum.ts';
import { createBackbone, createFdftNet } from '../../src/models/index.ts';
import { ModelConfigError } from '../../src/models/errors.ts';

test('setBatchNormMomentum reaches every BN layer of the FDFtNet heads, and it is serialised', () => {
  const backbone = createBackbone('resnetv2', { inputSize: 32, includeTop: false, seed: 1 });
  const net = createFdftNet({ backbone, M: 1, N: 1, seed: 1 });
  const headBns = batchNormLayers(net.head);
  assert.ok(headBns.length >= 5, `FTT stage, FTT head, 3 per MB block: got ${headBns.length}`);
  assert.equal(setBatchNormMomentum(net.head, 0.9), headBns.length);
  for (const l of headBns) assert.equal(l.getConfig().momentum, 0.9);
  // The whole model also finds the frozen backbone's BN layers (inside FrozenBackbone), untouched here.
  const all = batchNormLayers(net.model);
  assert.ok(all.length > headBns.length);
  assert.ok(all.filter((l) => !headBns.includes(l)).every((l) => l.getConfig().momentum === 0.99));
  const saved = net.model.toJSON(undefined, false) as unknown as object;
  assert.match(JSON.stringify(saved), /"momentum":0\.9\b/);
  net.model.dispose();
});

test('setBatchNormMomentum rejects momenta outside [0, 1)', () => {
  const input = tf.input({ shape: [2] });
  const model = tf.model({ inputs: input, outputs: tf.layers.batchNormalization().apply(input) as tf.SymbolicTensor });
  assert.throws(() => setBatchNormMomentum(model, 1), ModelConfigError);
  assert.throws(() => setBatchNormMomentum(model, -0.1), ModelConfigError);
  assert.throws(() => setBatchNormMomentum(model, Number.NaN), ModelConfigError);
  model.dispose();
});
