import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { HardSigmoid, HardSwish } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

const xs = [-5, -3, -1.5, 0, 0.5, 2, 3, 4.5, 10];
const relu6 = (v: number) => Math.min(6, Math.max(0, v));

test('HardSigmoid = ReLU6(x + 3) / 6 and HardSwish = x · HardSigmoid(x) (eq. 4)', () => {
  const x = tf.tensor1d(xs);
  const hs = new HardSigmoid().apply(x) as tf.Tensor;
  const hw = new HardSwish().apply(x) as tf.Tensor;
  xs.forEach((v, i) => {
    assert.ok(Math.abs(hs.dataSync()[i]! - relu6(v + 3) / 6) < 1e-6);
    assert.ok(Math.abs(hw.dataSync()[i]! - (v * relu6(v + 3)) / 6) < 1e-6);
  });
});

test('they keep the shape, have no weights and serialise by class name', () => {
  for (const L of [HardSigmoid, HardSwish]) {
    const layer = new L({ name: `t_${L.className}` });
    assert.deepEqual(layer.computeOutputShape([null, 3, 3, 4]), [null, 3, 3, 4]);
    const y = layer.apply(tf.input({ shape: [3, 3, 4] })) as tf.SymbolicTensor;
    assert.deepEqual(y.shape, [null, 3, 3, 4]);
    assert.equal(layer.countParams(), 0);
    assert.equal(layer.getClassName(), L.className);
    assert.ok(tf.serialization.SerializationMap.getMap().classNameMap[L.className]);
  }
});

test('gradients: d hswish/dx = (2x + 3)/6 on (-3, 3), 0 below, 1 above', () => {
  const g = tf.grad((x: tf.Tensor) => tf.sum(new HardSwish().apply(x) as tf.Tensor))(tf.tensor1d([-4, -1, 0.5, 4]));
  const want = [0, (2 * -1 + 3) / 6, (2 * 0.5 + 3) / 6, 1];
  Array.from(g.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `${i}: ${v} vs ${want[i]}`));
});

test('the hand-written gradients equal autograd of the formulas (including at ±3)', () => {
  const x = tf.concat([tf.tensor1d([-3, 3, -3.0001, 2.9999, 0]), tf.randomUniform([200], -6, 6, 'float32', 5)]);
  const dy = tf.randomNormal([205], 0, 1, 'float32', 6);
  const pairs: Array<[(t: tf.Tensor) => tf.Tensor, (t: tf.Tensor) => tf.Tensor]> = [
    [(t) => new HardSigmoid().apply(t) as tf.Tensor, (t) => tf.div(tf.relu6(tf.add(t, 3)), 6)],
    [(t) => new HardSwish().apply(t) as tf.Tensor, (t) => tf.mul(t, tf.div(tf.relu6(tf.add(t, 3)), 6))],
  ];
  for (const [ours, formula] of pairs) {
    const a = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ours(t), dy)))(x).dataSync();
    const b = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(formula(t), dy)))(x).dataSync();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-6, `x=${x.dataSync()[i]}: ${v} vs ${b[i]}`));
  }
});
