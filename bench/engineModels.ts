/**
 * The two workloads of `npm run bench -- engine`, written with plain tfjs ops and variables so the
 * figures measure the engine, not a layers implementation:
 *   (a) one FTT-like attention stage (FDFtNet's Fine-Tune Transformer, SAGAN-style attention):
 *       3x3 separable conv stride 2 → 32 channels + batch norm (training mode) + ReLU, then
 *       self-attention with f, g 1x1 convs to C/8 and h to C, a 1024x1024 softmax attention map
 *       per image (32x32 positions), y = γ·o + x; a GAP + dense(2) softmax head;
 *   (b) a small conv net: conv 3x3 s1 + BN + ReLU, max pool, separable 3x3 + BN + ReLU6,
 *       conv 5x5 s2 + hard-swish, depthwise 3x3 s2, conv 1x1, avg pool, GAP + dense(2).
 * Both train with softmax cross-entropy + L2 and SGD with momentum.
 */
import * as tf from '@tensorflow/tfjs';

export interface Workload {
  name: string;
  forward(): number;
  trainStep(): number;
  dispose(): void;
}

function seeded(shape: number[], seed: number, scale: number): tf.Variable {
  return tf.variable(tf.randomNormal(shape, 0, scale, 'float32', seed));
}

function inputs(batch: number): { x: tf.Tensor4D; labels: tf.Tensor2D } {
  const x = tf.randomNormal([batch, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 2), 'int32'), 2) as tf.Tensor2D;
  return { x, labels };
}

function batchNorm(h: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  return tf.batchNorm(h, mean, variance, beta, gamma, 1e-3) as tf.Tensor4D;
}

function makeWorkload(name: string, weights: tf.Variable[], x: tf.Tensor4D, labels: tf.Tensor2D, body: (x: tf.Tensor4D) => tf.Tensor2D): Workload {
  const optimizer = tf.train.momentum(0.01, 0.9);
  const l2Weights = weights.filter((w) => w.rank >= 2);
  const loss = (): tf.Scalar =>
    tf.add(
      tf.losses.softmaxCrossEntropy(labels, body(x)),
      tf.mul(1e-4, tf.addN(l2Weights.map((w) => tf.sum(tf.square(w))))),
    ) as tf.Scalar;
  return {
    name,
    forward: () => {
      const l = tf.tidy(loss);
      const v = l.dataSync()[0]!;
      l.dispose();
      return v;
    },
    trainStep: () => {
      const l = optimizer.minimize(loss, true, weights)!;
      const v = l.dataSync()[0]!;
      l.dispose();
      return v;
    },
    dispose: () => {
      tf.dispose([...weights, x, labels]);
      optimizer.dispose();
    },
  };
}

export function attentionStage(batch: number): Workload {
  const { x, labels } = inputs(batch);
  const C = 32;
  const w = {
    dw: seeded([3, 3, 3, 1], 1, 0.3),
    pw: seeded([1, 1, 3, C], 2, 0.3),
    gamma: tf.variable(tf.ones([C])),
    beta: tf.variable(tf.zeros([C])),
    f: seeded([1, 1, C, C / 8], 3, 0.2),
    g: seeded([1, 1, C, C / 8], 4, 0.2),
    h: seeded([1, 1, C, C], 5, 0.2),
    attGamma: tf.variable(tf.scalar(0.1)),
    dense: seeded([C, 2], 6, 0.2),
    bias: tf.variable(tf.zeros([2])),
  };
  return makeWorkload('attention stage', Object.values(w), x, labels, (input) => {
    let h = tf.separableConv2d(input, w.dw as tf.Tensor4D, w.pw as tf.Tensor4D, 2, 'same'); // 32x32x32
    h = tf.relu(batchNorm(h, w.gamma, w.beta));
    const n = 32 * 32;
    const f = tf.reshape(tf.conv2d(h, w.f as tf.Tensor4D, 1, 'same'), [batch, n, C / 8]);
    const g = tf.reshape(tf.conv2d(h, w.g as tf.Tensor4D, 1, 'same'), [batch, n, C / 8]);
    const v = tf.reshape(tf.conv2d(h, w.h as tf.Tensor4D, 1, 'same'), [batch, n, C]);
    const beta = tf.softmax(tf.matMul(f, g, false, true)); // [batch, 1024, 1024]
    const o = tf.reshape(tf.matMul(beta, v), [batch, 32, 32, C]);
    const y = tf.add(tf.mul(w.attGamma, o), h);
    return tf.add(tf.matMul(tf.mean(y, [1, 2]) as tf.Tensor2D, w.dense as tf.Tensor2D), w.bias) as tf.Tensor2D;
  });
}

export function smallConvNet(batch: number): Workload {
  const { x, labels } = inputs(batch);
  const w = {
    c1: seeded([3, 3, 3, 16], 11, 0.2),
    g1: tf.variable(tf.ones([16])),
    b1: tf.variable(tf.zeros([16])),
    sdw: seeded([3, 3, 16, 1], 12, 0.2),
    spw: seeded([1, 1, 16, 32], 13, 0.2),
    g2: tf.variable(tf.ones([32])),
    b2: tf.variable(tf.zeros([32])),
    c5: seeded([5, 5, 32, 64], 14, 0.05),
    dw: seeded([3, 3, 64, 1], 15, 0.2),
    c1x1: seeded([1, 1, 64, 64], 16, 0.1),
    dense: seeded([64, 2], 17, 0.1),
    bias: tf.variable(tf.zeros([2])),
  };
  return makeWorkload('small conv net', Object.values(w), x, labels, (input) => {
    let h = tf.relu(batchNorm(tf.conv2d(input, w.c1 as tf.Tensor4D, 1, 'same'), w.g1, w.b1)); // 64x64x16
    h = tf.maxPool(h, 2, 2, 'same'); // 32x32
    h = tf.relu6(batchNorm(tf.separableConv2d(h, w.sdw as tf.Tensor4D, w.spw as tf.Tensor4D, 1, 'same'), w.g2, w.b2));
    h = tf.conv2d(h, w.c5 as tf.Tensor4D, 2, 'same'); // 16x16x64
    h = tf.mul(h, tf.div(tf.relu6(tf.add(h, 3)), 6)) as tf.Tensor4D; // hard-swish
    h = tf.depthwiseConv2d(h, w.dw as tf.Tensor4D, 2, 'same'); // 8x8x64
    h = tf.avgPool(tf.conv2d(h, w.c1x1 as tf.Tensor4D, 1, 'same'), 3, 1, 'same');
    return tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, w.dense as tf.Tensor2D), w.bias) as tf.Tensor2D;
  });
}
