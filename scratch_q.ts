import * as tf from '@tensorflow/tfjs';
import { initEngine } from './src/engine/index.ts';
import { SelfAttention } from './layers/index.ts';
await initEngine('wasm', () => {});
const B = 32;
async function t(name: string, f: () => tf.Tensor | tf.Scalar, n = 3) {
  let r = f(); await r.data(); r.dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { r = f(); await r.data(); r.dispose(); }
  console.log(name, ((performance.now() - t0) / n).toFixed(0), 'ms');
}
const x = tf.randomNormal([B, 32, 32, 32]);
const sa = new SelfAttention({ seed: 1 });
sa.apply(x);
sa.setWeights(sa.getWeights().map((w) => (w.size === 1 ? tf.tensor1d([0.5]) : w)));
const vars = sa.trainableWeights.map((w) => w.read() as tf.Variable);
await t('SA fwd', () => sa.apply(x) as tf.Tensor);
await t('SA fwd+bwd', () => { const { value, grads } = tf.variableGrads(() => tf.sum(sa.apply(x) as tf.Tensor) as tf.Scalar, vars); tf.dispose(grads); return value; });
const g = tf.randomNormal([B, 1024, 4]); const f = tf.randomNormal([B, 1024, 4]); const h = tf.randomNormal([B, 1024, 32]);
await t('matMul g fT', () => tf.matMul(g, f, false, true));
const s = tf.matMul(g, f, false, true);
await t('softmax', () => tf.softmax(s));
const beta = tf.softmax(s);
await t('matMul beta h', () => tf.matMul(beta, h));
await t('matMul betaT dO (bwd)', () => tf.matMul(beta, h, true, false));
await t('matMul dO hT (bwd)', () => tf.matMul(h, h, false, true));
