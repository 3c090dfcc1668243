import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { FineTuneTransformer, LayerInputError } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

test('Table 2: separable convs 123 / 2,336 / 8,768, attention 1,321 / 5,201 / 20,641, final conv 73,728', () => {
  const ftt = new FineTuneTransformer({ seed: 1 });
  const out = ftt.apply(tf.input({ shape: [64, 64, 3] }));
  assert.deepEqual(out.shape, [null, 576]);
  const t = ftt.tableLayers;
  assert.deepEqual(t.sepconvs.map((l) => l.countParams()), [123, 2336, 8768]);
  assert.deepEqual(t.attentions.map((l) => l.countParams()), [1321, 5201, 20641]);
  assert.equal(t.finalConv.countParams(), 73728);
  assert.deepEqual(ftt.stageChannels, [32, 64, 128]);
  // Stage outputs halve the resolution: 32, 16, 8.
  assert.deepEqual(t.attentions.map((l) => l.outputShape), [[null, 32, 32, 32], [null, 16, 16, 64], [null, 8, 8, 128]]);
});

test('M = 1..3 all give a 576-d vector; M = 0 is refused', () => {
  for (const M of [1, 2, 3]) {
    const ftt = new FineTuneTransformer({ stages: M });
    assert.deepEqual(ftt.apply(tf.input({ shape: [64, 64, 3] })).shape, [null, 576], `M=${M}`);
    assert.equal(ftt.stageChannels.length, M);
  }
  assert.throws(() => new FineTuneTransformer({ stages: 0 }), LayerInputError);
});

test('at init (every γ = 0) the FTT output equals its input path without attention', () => {
  const ftt = new FineTuneTransformer({ seed: 4 });
  const image = tf.input({ shape: [64, 64, 3] });
  const withAtt = tf.model({ inputs: image, outputs: ftt.apply(image) });
  const withoutAtt = tf.model({ inputs: image, outputs: ftt.applyWithoutAttention(image) });
  const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 8);
  const a = (withAtt.predict(x) as tf.Tensor).dataSync();
  const b = (withoutAtt.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  // …and once γ moves, the attention path changes the output.
  const att = ftt.tableLayers.attentions[0]!;
  att.setWeights(att.getWeights().map((w) => (w.size === 1 ? tf.tensor1d([1]) : w)));
  const c = (withAtt.predict(x) as tf.Tensor).dataSync();
  assert.ok(c.some((v, i) => Math.abs(v - b[i]!) > 1e-6));
});

test('L2 1e-5 sits on every conv kernel by default', () => {
  const ftt = new FineTuneTransformer();
  ftt.apply(tf.input({ shape: [16, 16, 3] }));
  const sep = ftt.tableLayers.sepconvs[0]!.getConfig();
  assert.deepEqual((sep.depthwiseRegularizer as { config: { l2: number } }).config.l2, 1e-5);
  assert.deepEqual((sep.pointwiseRegularizer as { config: { l2: number } }).config.l2, 1e-5);
  assert.equal((ftt.tableLayers.finalConv.getConfig().kernelRegularizer as { config: { l2: number } }).config.l2, 1e-5);
  assert.equal(ftt.tableLayers.attentions[0]!.getConfig().l2, 1e-5);
});
