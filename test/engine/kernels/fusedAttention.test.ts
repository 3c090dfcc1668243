/**
 * The fused self-attention kernels (src/engine/kernels/fusedAttention.ts) against the plain-ops
 * attention on tfjs' cpu backend: values and the gradients of f, g and h.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { attention, attentionReference } from '../../../layers/attentionCore.ts';
import { FUSED_ATTENTION, fusedAttention, fusedAttentionApplies, fusedAttentionBuild } from '../../../src/engine/kernels/fusedAttention.ts';
import { randomValues, relativeError, runOn, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
});

/** attention() and its three gradients under a weighted square loss, for [B, N, D] f, g and [B, N, C] h. */
function valueAndGrads(B: number, N: number, D: number, C: number, scale: number, seed: number): () => tf.Tensor[] {
  return () => {
    const f = tf.tensor(randomValues(B * N * D, seed), [B, N, D]).mul(scale) as tf.Tensor3D;
    const g = tf.tensor(randomValues(B * N * D, seed + 1), [B, N, D]).mul(scale) as tf.Tensor3D;
    const h = tf.tensor(randomValues(B * N * C, seed + 2), [B, N, C]) as tf.Tensor3D;
    const w = tf.tensor(randomValues(B * N * C, seed + 3), [B, N, C]);
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.square(attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, 2 ** 23)), w)) as tf.Scalar;
    return [attention(f, g, h, 2 ** 23), ...tf.grads(loss)([f, g, h])];
  };
}

test('the fused kernels apply on wasm for N and C multiples of 8, and nowhere else', () => {
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(tf.getKernel(FUSED_ATTENTION, 'wasm'), 'FdftAttention registered');
  assert.equal(fusedAttentionApplies([2, 1024, 4], [2, 1024, 32]), true);
  assert.equal(fusedAttentionApplies([2, 12, 4], [2, 12, 32]), false, 'N = 12');
  assert.equal(fusedAttentionApplies([2, 64, 4], [2, 64, 12]), false, 'C = 12');
  runOn('cpu', () => {
    assert.equal(fusedAttentionApplies([2, 64, 4], [2, 64, 32]), false, 'cpu backend');
    return tf.scalar(0);
  });
  const previous = process.env.FDFT_FUSED_ATTENTION;
  process.env.FDFT_FUSED_ATTENTION = '0';
  try {
    assert.equal(fusedAttentionApplies([2, 64, 4], [2, 64, 32]), false, 'FDFT_FUSED_ATTENTION=0');
  } finally {
    if (previous === undefined) delete process.env.FDFT_FUSED_ATTENTION;
    else process.env.FDFT_FUSED_ATTENTION = previous;
  }
});

test('values and gradients equal the plain attention on cpu (FTT stage shapes and odd D)', () => {
  // [B, N, D, C, score scale]: the three FTT stages at 64x64 (N 1024/256/64, D = C/8), D not a
  // multiple of 4, one key dimension, and large scores (softmax close to one-hot).
  const cases: Array<[number, number, number, number, number]> = [
    [2, 1024, 4, 32, 1],
    [3, 256, 8, 64, 1],
    [2, 64, 16, 128, 1],
    [2, 16, 3, 8, 2],
    [1, 8, 1, 16, 1],
    [2, 64, 5, 24, 6],
  ];
  cases.forEach(([B, N, D, C, scale], k) => {
    const err = wasmVsCpu(valueAndGrads(B, N, D, C, scale, 10 * k + 1));
    assert.ok(err <= TOLERANCE, `B${B} N${N} D${D} C${C} scale ${scale}: relative error ${err}`);
  });
});

test('a softmax that saturates stays finite and exact (scores up to ~±400)', () => {
  const [B, N, D, C] = [1, 32, 4, 8];
  const ref = runOn('cpu', valueAndGrads(B, N, D, C, 20, 77));
  const got = runOn('wasm', valueAndGrads(B, N, D, C, 20, 77));
  got.forEach((values, i) => {
    assert.ok(values.every(Number.isFinite), `output ${i} finite`);
    assert.ok(relativeError(values, ref[i]!) <= TOLERANCE, `output ${i}: ${relativeError(values, ref[i]!)}`);
  });
});

test('the forward stats are the row maxima and inverse sums of exp(s − max)', () => {
  const [B, N, D, C] = [2, 16, 3, 8];
  const f = tf.tensor(randomValues(B * N * D, 5), [B, N, D]) as tf.Tensor3D;
  const g = tf.tensor(randomValues(B * N * D, 6), [B, N, D]) as tf.Tensor3D;
  const h = tf.tensor(randomValues(B * N * C, 7), [B, N, C]) as tf.Tensor3D;
  const [o, stats] = fusedAttention(f, g, h);
  const s = tf.matMul(g, f, false, true);
  const m = tf.max(s, -1);
  const inv = tf.div(1, tf.sum(tf.exp(tf.sub(s, tf.expandDims(m, -1))), -1));
  const st = stats.arraySync() as number[][][];
  assert.ok(relativeError(st.flat().map((r) => r[0]!), m.dataSync()) < 1e-6, 'row maxima');
  assert.ok(relativeError(st.flat().map((r) => r[1]!), inv.dataSync()) < 1e-5, 'inverse sums');
  assert.ok(relativeError(o.dataSync(), attentionReference(f, g, h).dataSync()) < 1e-5, 'output');
  tf.dispose([f, g, h, o, stats, s, m, inv]);
});

test('a forward + backward pass leaves no tensor behind and keeps no N² buffer', async () => {
  const [B, N, D, C] = [2, 1024, 4, 32]; // one map: 8 MiB; inputs, outputs and gradients together ~2 MiB
  const f = tf.randomNormal([B, N, D], 0, 1, 'float32', 1) as tf.Tensor3D;
  const g = tf.randomNormal([B, N, D], 0, 1, 'float32', 2) as tf.Tensor3D;
  const h = tf.randomNormal([B, N, C], 0, 1, 'float32', 3) as tf.Tensor3D;
  const step = () => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, 2 ** 23)) as tf.Scalar)([f, g, h]));
  step();
  const before = tf.memory().numTensors;
  const info = await tf.profile(step);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(info.peakBytes < (B * N * N * 4) / 2, `peak ${info.peakBytes} bytes vs one map ${B * N * N * 4}`);
  tf.dispose([f, g, h]);
});

test('the build in use: relaxed SIMD (fused multiply-add) on Node 20+, baseline SIMD with FDFT_RELAXED_SIMD=0', () => {
  assert.equal(fusedAttentionBuild(), process.env.FDFT_RELAXED_SIMD === '0' ? 'simd' : 'relaxed-simd');
});

test('the baseline-SIMD build passes the same equivalence tests (child process, FDFT_RELAXED_SIMD=0)', (t) => {
  if (process.env.FDFT_RELAXED_SIMD === '0') {
    t.skip('this process is that child');
    return;
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-name-pattern', 'equal the plain|saturates|build in use', fileURLToPath(import.meta.url)], {
    encoding: 'utf8',
    // Without NODE_TEST_CONTEXT (set by a parent test runner) the child prints plain TAP.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), FDFT_RELAXED_SIMD: '0' },
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  for (const name of ['values and gradients equal the plain', 'a softmax that saturates', 'the build in use']) {
    assert.match(r.stdout, new RegExp(`^ok \\d+ - ${name}[^\\n#]*$`, 'm'), `${name} ran and passed in the child`);
  }
});

test('the checked-in wasm binary is what its AssemblyScript source compiles to', (t) => {
  try {
    createRequire(import.meta.url).resolve('assemblyscript/package.json');
  } catch {
    t.skip('assemblyscript (a dev dependency) is not installed');
    return;
  }
  const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
