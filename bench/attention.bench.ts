/**
 * `npm run bench -- attention`: FDFtNet's self-attention core (paper eq. 1–2) forward + backward
 * on one thread, for the three FTT stages at 64x64 input (N = 1024 / 256 / 64 positions, C = 32 /
 * 64 / 128 channels, C/8 for f and g), batch 16 (one gradient worker's half of a batch of 32):
 * the fused wasm kernels (src/engine/kernels/fusedAttention.ts; which build — relaxed SIMD or
 * baseline — is printed; `FDFT_RELAXED_SIMD=0 npm run bench -- attention` for the other) against
 * the plain-ops path (XNNPACK GEMMs + softmax, in chunks; what runs where the fused kernels do not).
 * Median of 5 after a warm-up. Nothing is asserted.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initEngine } from '../src/engine/index.ts';
import { attention, attentionChunked } from '../layers/attentionCore.ts';
import { fusedAttentionBuild } from '../src/engine/kernels/fusedAttention.ts';
import { SelfAttention } from '../layers/selfAttention.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function bench(): Promise<void> {
  await initEngine('wasm', () => {});
  const B = Number(process.env.FDFT_BENCH_BATCH ?? 16);
  console.log(`fused build: ${fusedAttentionBuild()}; batch ${B}; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} on ${os.cpus().length} cores\n`);
  console.log('| stage | N × C (f, g: C/8) | GFLOP fwd+bwd | fused fwd | fused fwd+bwd | plain fwd | plain fwd+bwd | plain / fused (fwd+bwd) | fused GFLOP/s |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [stage, N, C] of [[1, 1024, 32], [2, 256, 64], [3, 64, 128]] as const) {
    const D = C / 8;
    const f = tf.randomNormal([B, N, D], 0, 1, 'float32', 1) as tf.Tensor3D;
    const g = tf.randomNormal([B, N, D], 0, 1, 'float32', 2) as tf.Tensor3D;
    const h = tf.randomNormal([B, N, C], 0, 1, 'float32', 3) as tf.Tensor3D;
    const time = (fn: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor3D) => {
      const fwd: number[] = [];
      const both: number[] = [];
      for (let rep = 0; rep < 6; rep++) {
        let t0 = performance.now();
        const y = fn(f, g, h);
        y.dataSync();
        y.dispose();
        if (rep > 0) fwd.push(performance.now() - t0);
        t0 = performance.now();
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(fn(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D)) as tf.Scalar)([f, g, h]);
        gs.forEach((t) => t.dataSync());
        tf.dispose(gs);
        if (rep > 0) both.push(performance.now() - t0);
      }
      return { fwd: median(fwd), both: median(both) };
    };
    const fused = time((a, b, c) => attention(a, b, c, SelfAttention.maxAttentionElements));
    const plain = time((a, b, c) => attentionChunked(a, b, c, SelfAttention.maxAttentionElements));
    // Multiply-adds: forward N²(D + C); backward recomputes the scores and forms dβ, dH, dF, dG: N²(3D + 2C).
    const gflop = (2 * B * N * N * (D + C + 3 * D + 2 * C)) / 1e9;
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    console.log(`| ${stage} | ${N} × ${C} | ${gflop.toFixed(2)} | ${ms(fused.fwd)} | ${ms(fused.both)} | ${ms(plain.fwd)} | ${ms(plain.both)} | ${(plain.both / fused.both).toFixed(2)}× | ${(gflop / (fused.both / 1000)).toFixed(1)} |`);
    tf.dispose([f, g, h]);
  }
}
