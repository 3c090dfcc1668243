/**
 * `npm run bench -- profile`: where the time of an FDFtNet training step goes (issue 9: "per-kernel
 * time shares (tfjs profile) so the next bottleneck is visible"), and the forward pass of the whole
 * FDFtNet on tfjs wasm vs onnxruntime-node (what `fdft eval` / `predict` use with --engine auto).
 *
 * Xception-64 frozen, M=3, N=4, batch 32 (FDFT_BENCH_BATCHES to change). The step profiled is the
 * part that runs on tfjs: the heads' forward + backward on precomputed feature maps (the frozen
 * backbone runs on onnxruntime in `fdft train`). tf.profile times every kernel, gradients included;
 * shares are of the summed kernel time. Nothing is asserted.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initEngine } from '../src/engine/index.ts';
import { OnnxRunner, onnxAvailable, onnxUnavailableReason } from '../src/engine/onnxBackbone.ts';
import { exportOnnx } from '../src/export/onnx.ts';
import { createFdftNet, regularizationLoss } from '../src/models/index.ts';
import { issue9Ms } from './issue9Table.ts';
import { median } from './median.ts';
import { fixedBatch } from './fixedBatch.ts';

async function timed(runs: number, fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export default async function bench(): Promise<void> {
  const engine = await initEngine('wasm', () => {});
  const batches = (process.env.FDFT_BENCH_BATCHES ?? '32').split(',').map(Number);
  console.log(`engine: ${engine.backend}; Xception-64 frozen, M=3, N=4; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} on ${os.cpus().length} cores\n`);
  const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, seed: 1 });
  const vars = net.head.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.momentum(0.01, 0.9);

  for (const batch of batches) {
    const { xs: x, ys: y } = fixedBatch(batch);
    const fm = net.backbone.predict(x) as tf.Tensor;
    const headStep = async () => {
      const cost = optimizer.minimize(
        () => tf.add(tf.mean(tf.metrics.categoricalCrossentropy(y, net.head.apply([x, fm], { training: true }) as tf.Tensor)), regularizationLoss(net.head)) as tf.Scalar,
        true,
        vars,
      );
      await cost!.data();
      cost!.dispose();
    };
    await headStep(); // warm-up
    const info = await tf.profile(headStep);
    const byKernel = new Map<string, { ms: number; calls: number }>();
    let total = 0;
    let nested = 0;
    for (const k of info.kernels) {
      const ms = Number(k.kernelTimeMs) || 0;
      // Op-level wrappers ('fusedConv2d__op') and custom-gradient scopes ('unnamed scope') contain
      // kernels that are profiled themselves: counting them too would count that time twice.
      if (k.name.endsWith('__op') || k.name === 'unnamed scope') {
        nested += ms;
        continue;
      }
      total += ms;
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      byKernel.set(k.name, e);
    }
    const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
    console.log(`### Heads training step, batch ${batch}: ${info.kernels.length} profiled calls, ${total.toFixed(0)} ms of kernel time (wrapper scopes holding ${nested.toFixed(0)} ms of it not counted twice)\n`);
    console.log('| kernel | calls | ms | share |');
    console.log('|---|---:|---:|---:|');
    let shown = 0;
    for (const [name, e] of rows.slice(0, 15)) {
      shown += e.ms;
      console.log(`| ${name} | ${e.calls} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / total).toFixed(1)} % |`);
    }
    console.log(`| (${Math.max(0, rows.length - 15)} other kernels) | | ${(total - shown).toFixed(1)} | ${((100 * (total - shown)) / total).toFixed(1)} % |\n`);

    // Forward pass of the whole FDFtNet: tfjs wasm (one thread) vs onnxruntime (every core).
    const tfjsForward = await timed(3, async () => {
      const p = net.model.predict(x) as tf.Tensor;
      await p.data();
      p.dispose();
    });
    let ortLine = '';
    if (await onnxAvailable()) {
      const runner = await OnnxRunner.create(exportOnnx(net.model), { threads: os.cpus().length });
      const ort = await timed(5, async () => {
        const p = await runner.predictTensor(x, tf);
        p.dispose();
      });
      await runner.dispose();
      const ref = issue9Ms('forward', batch);
      ortLine = `| onnxruntime-node, ${os.cpus().length} threads | ${ort.wall.toFixed(0)} | ${ort.cpu.toFixed(0)} | ${ref ? `${(ort.wall / ref).toFixed(2)}` : ''} |`;
    } else {
      ortLine = `| onnxruntime-node | unavailable: ${await onnxUnavailableReason()} | | |`;
    }
    const ref = issue9Ms('forward', batch);
    console.log(`### Whole FDFtNet forward, batch ${batch} (PyTorch 1.13, 2 threads: ${ref ?? '?'} ms)\n`);
    console.log('| engine | ms (wall, median) | CPU ms | wall vs PyTorch |');
    console.log('|---|---:|---:|---:|');
    console.log(`| tfjs wasm, 1 thread | ${tfjsForward.wall.toFixed(0)} | ${tfjsForward.cpu.toFixed(0)} | ${ref ? (tfjsForward.wall / ref).toFixed(2) : ''} |`);
    console.log(ortLine + '\n');
    tf.dispose([x, y, fm]);
  }
  optimizer.dispose();
  net.model.dispose();
}
