import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { LayerInputError, SelfAttention } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

function built(channels: number, args = {}, hw = 4): { layer: SelfAttention; model: tf.LayersModel } {
  const x = tf.input({ shape: [hw, hw, channels] });
  const layer = new SelfAttention(args);
  const model = tf.model({ inputs: x, outputs: layer.apply(x) as tf.SymbolicTensor });
  return { layer, model };
}

test('parameter counts equal the paper (Table 2): 1,321 / 5,201 / 20,641', () => {
  for (const [c, expected] of [[32, 1321], [64, 5201], [128, 20641]] as const) {
    const { layer } = built(c);
    assert.equal(layer.countParams(), expected, `C=${c}`);
    assert.equal(SelfAttention.paramCount(c), expected);
  }
});

test('γ starts at 0, so the output at init equals the input', () => {
  const { layer, model } = built(16);
  const gamma = layer.getWeights().find((_, i) => layer.weights[i]!.originalName.endsWith('/gamma'))!;
  assert.deepEqual(Array.from(gamma.dataSync()), [0]);
  const x = tf.randomNormal([2, 4, 4, 16], 0, 1, 'float32', 1);
  const y = model.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()));
});

test('computes eq. 1–3: y_j = γ Σ_i softmax_i(g_j·f_i) h(x_i) + x_j', () => {
  const C = 8, r = 2, H = 2, W = 3, N = H * W;
  // Build at a concrete size and set every weight to known random values, γ = 0.7.
  const x4 = tf.input({ shape: [H, W, C] });
  const sa = new SelfAttention({ reduction: 4, seed: 5 });
  const m = tf.model({ inputs: x4, outputs: sa.apply(x4) as tf.SymbolicTensor });
  const names = sa.weights.map((w) => w.originalName.split('/').pop()!);
  const values: Record<string, Float32Array> = {};
  sa.setWeights(
    sa.weights.map((w, k) => {
      const t = names[k] === 'gamma' ? tf.tensor1d([0.7]) : tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', 10 + k);
      values[names[k]!] = t.dataSync() as Float32Array;
      return t;
    }),
  );
  const x = tf.randomNormal([1, H, W, C], 0, 1, 'float32', 99);
  const xs = x.dataSync();
  const conv = (kernel: Float32Array, bias: Float32Array, out: number, pos: number) =>
    Array.from({ length: out }, (_, o) => bias[o]! + Array.from({ length: C }, (_, c) => xs[pos * C + c]! * kernel[c * out + o]!).reduce((a, b) => a + b));
  const f = Array.from({ length: N }, (_, p) => conv(values.kernel_f!, values.bias_f!, r, p));
  const g = Array.from({ length: N }, (_, p) => conv(values.kernel_g!, values.bias_g!, r, p));
  const h = Array.from({ length: N }, (_, p) => conv(values.kernel_h!, values.bias_h!, C, p));
  const expected: number[] = [];
  for (let j = 0; j < N; j++) {
    const s = f.map((fi) => fi.reduce((acc, v, k) => acc + v * g[j]![k]!, 0));
    const mx = Math.max(...s);
    const e = s.map((v) => Math.exp(v - mx));
    const z = e.reduce((a, b) => a + b);
    for (let c = 0; c < C; c++) {
      const o = e.reduce((acc, ei, i) => acc + (ei / z) * h[i]![c]!, 0);
      expected.push(0.7 * o + xs[j * C + c]!);
    }
  }
  const got = (m.predict(x) as tf.Tensor).dataSync();
  expected.forEach((v, i) => assert.ok(Math.abs(v - got[i]!) < 1e-4, `element ${i}: ${got[i]} vs ${v}`));
});

test('config round-trips and bad input is refused with a named error', () => {
  const sa = new SelfAttention({ name: 'att', reduction: 4, l2: 1e-5, seed: 3 });
  const cfg = sa.getConfig();
  assert.equal(cfg.reduction, 4);
  assert.equal(cfg.l2, 1e-5);
  const again = tf.serialization.SerializationMap.getMap().classNameMap['SelfAttention']!;
  const copy = again[1](again[0], cfg) as SelfAttention;
  assert.equal(copy.reduction, 4);
  assert.deepEqual(sa.computeOutputShape([null, 4, 4, 8]), [null, 4, 4, 8]);
  assert.throws(() => new SelfAttention({ reduction: 0 }), LayerInputError);
  assert.throws(() => new SelfAttention().apply(tf.input({ shape: [8] })), LayerInputError);
});

test('gradients: at γ = 0 only γ learns; once γ ≠ 0 all of f, g, h do (except f\'s bias, which softmax cancels)', () => {
  const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 21);
  const sa = new SelfAttention({ reduction: 4, seed: 2 });
  sa.apply(x); // build
  const t = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 22);
  const loss = () => tf.sum(tf.mul(sa.apply(x) as tf.Tensor, t)) as tf.Scalar;
  // 'non-zero' = some |gradient| above 1e-4 × the layer's largest (bias_f's is 0 up to float rounding).
  const nonZero = (): Record<string, boolean> => {
    const { grads } = tf.variableGrads(loss, sa.trainableWeights.map((w) => w.read() as tf.Variable));
    const mags = sa.trainableWeights.map((w) => tf.max(tf.abs(grads[w.name]!)).dataSync()[0]!);
    const top = Math.max(...mags);
    return Object.fromEntries(sa.trainableWeights.map((w, i) => [w.originalName.split('/').pop()!, mags[i]! > 1e-4 * top]));
  };
  const atInit = nonZero();
  assert.deepEqual(atInit, { kernel_f: false, kernel_g: false, kernel_h: false, bias_f: false, bias_g: false, bias_h: false, gamma: true });
  sa.setWeights(sa.getWeights().map((w) => (w.size === 1 ? tf.tensor1d([0.5]) : w)));
  // bias_f adds g_j·b_f to every s_ji of row j: a constant per row, which softmax removes (SAGAN's redundancy).
  assert.deepEqual(nonZero(), { kernel_f: true, kernel_g: true, kernel_h: true, bias_f: false, bias_g: true, bias_h: true, gamma: true });
});

test('attention maps computed in batch chunks give the same outputs and gradients', () => {
  const x = tf.randomNormal([5, 4, 4, 8], 0, 1, 'float32', 31);
  const sa = new SelfAttention({ reduction: 4, seed: 9 });
  sa.apply(x);
  sa.setWeights(sa.getWeights().map((w) => (w.size === 1 ? tf.tensor1d([0.8]) : w)));
  const vars = sa.trainableWeights.map((w) => w.read() as tf.Variable);
  const run = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(sa.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    return { y: Array.from((sa.apply(x) as tf.Tensor).dataSync()), loss: value.dataSync()[0]!, g: vars.map((v) => Array.from(grads[v.name]!.dataSync())) };
  };
  const whole = run();
  const saved = SelfAttention.maxAttentionElements;
  SelfAttention.maxAttentionElements = 2 * 16 * 16; // 2 images per chunk: chunks of 2, 2, 1
  try {
    const chunked = run();
    chunked.y.forEach((v, i) => assert.ok(Math.abs(v - whole.y[i]!) < 1e-5));
    assert.ok(Math.abs(chunked.loss - whole.loss) < 1e-3 * Math.abs(whole.loss));
    chunked.g.forEach((g, k) => g.forEach((v, i) => assert.ok(Math.abs(v - whole.g[k]![i]!) < 1e-3 * (1 + Math.abs(whole.g[k]![i]!)))));
  } finally {
    SelfAttention.maxAttentionElements = saved;
  }
});
