import * as tf from '@tensorflow/tfjs';
import { initEngine } from './src/engine/index.ts';
import { createFdftNet, regularizationLoss } from './src/models/index.ts';
import { peakRssMiB } from './bench/peakRss.ts';
await initEngine('wasm', () => {});
const net = createFdftNet({ backbone: 'squeezenet', seed: 1 });
const B = 128;
const x = tf.randomUniform([B, 64, 64, 3]);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32'), 2);
const opt = tf.train.momentum(0.01, 0.9);
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  const fm = net.backbone.predict(x) as tf.Tensor;
  const c = opt.minimize(() => tf.add(tf.mean(tf.metrics.categoricalCrossentropy(y, net.head.apply([x, fm], { training: true }) as tf.Tensor)), regularizationLoss(net.head)) as tf.Scalar, true, net.head.trainableWeights.map((w) => w.read() as tf.Variable));
  console.log('step', i, c!.dataSync()[0], (performance.now() - t0).toFixed(0), 'ms', 'rss', peakRssMiB().toFixed(0), 'tensors', tf.memory().numTensors, (tf.memory().numBytes / 2 ** 20).toFixed(0), 'MiB');
  tf.dispose([fm, c!]);
}
const t0 = performance.now();
const p = net.model.predict(x) as tf.Tensor; await p.data();
console.log('forward', (performance.now() - t0).toFixed(0));
