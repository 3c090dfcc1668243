/**
 * `npm run bench -- onnx`: the frozen Xception backbone (64x64, includeTop false) forward pass,
 * tfjs wasm vs onnxruntime-node (1 and 2 intra-op threads) on the ONNX export of the same model —
 * issue 9, lever 2. ms per batch, median of several runs after a warm-up. Nothing is asserted.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initEngine } from '../src/engine/index.ts';
import { OnnxRunner, onnxAvailable, onnxUnavailableReason } from '../src/engine/onnxBackbone.ts';
import { buildOnnxGraph, encodeOnnxGraph } from '../src/export/onnx.ts';
import { agreement } from '../src/export/verify.ts';
import { createBackbone } from '../src/models/backbones/index.ts';
import { peakRssMiB } from './peakRss.ts';
import { median } from './median.ts';

const BATCHES = [32, 128];
const RUNS: Record<number, number> = { 32: 5, 128: 3 };

interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Median wall-clock ms and median CPU ms (user + system, all threads) of each function, measured
 * INTERLEAVED (round i runs every contender once), so that a change in machine load hits all of them
 * alike. CPU time is what a single-threaded contender would take on an idle core: on a loaded shared
 * machine it is the steadier figure. One warm-up round first.
 */
async function timeInterleaved(runs: number, fns: Array<() => Promise<void> | void>): Promise<Timing[]> {
  for (const fn of fns) await fn(); // warm-up: kernel compilation, allocation, onnxruntime's first-run planning
  const wall: number[][] = fns.map(() => []);
  const cpu: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      wall[k]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k]!.push((c.user + c.system) / 1000);
    }
  }
  return fns.map((_, k) => ({ wall: median(wall[k]!), cpu: median(cpu[k]!) }));
}

export default async function bench(): Promise<void> {
  const engine = await initEngine('wasm', () => {});
  if (!(await onnxAvailable())) {
    console.log(`onnxruntime-node unavailable here (${await onnxUnavailableReason()}): nothing to compare.`);
    return;
  }
  const model = createBackbone('xception', { includeTop: false, seed: 1 });
  const t0 = performance.now();
  const summary = buildOnnxGraph(model);
  const bytes = encodeOnnxGraph(summary.graph, { graphName: 'xception_features' });
  const exportMs = performance.now() - t0;
  console.log(
    `Xception backbone, 64x64x3 → 2x2x2048, ${(model.countParams() / 1e6).toFixed(1)} M parameters; ONNX export ${exportMs.toFixed(0)} ms, ` +
      `${(bytes.length / 2 ** 20).toFixed(1)} MiB, ${summary.graph.nodes.length} nodes (${summary.optimized?.foldedBatchNorms} BN folded). ` +
      `tfjs backend: ${engine.backend}. Load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.\n`,
  );

  const runners = {
    ort1: await OnnxRunner.create(bytes, { threads: 1 }),
    ort2: await OnnxRunner.create(bytes, { threads: 2 }),
    ort2spin: await OnnxRunner.create(bytes, { threads: 2, spin: true }),
  };
  console.log(
    '| batch | tfjs wasm (ms) | onnxruntime 1 thread (ms) | onnxruntime 2 threads (ms) | 2 threads, spinning (ms) | speed-up 1 thr | speed-up 2 thr | ' +
      'tfjs CPU ms | onnxruntime 1 thr CPU ms | CPU ratio | max rel diff |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const batch of BATCHES) {
    const runs = RUNS[batch]!;
    const xs = tf.randomUniform([batch, 64, 64, 3], 0, 1, 'float32', batch);
    // predictTensor: what a training loop pays (tensor → Float32Array → onnxruntime → tensor).
    const viaOrt = (r: OnnxRunner) => async () => {
      const y = await r.predictTensor(xs, tf);
      y.dispose();
    };
    const [tfjsT, oneT, twoT, twoSpinT] = (await timeInterleaved(runs, [
      () => {
        const y = model.predict(xs) as tf.Tensor;
        y.dataSync();
        y.dispose();
      },
      viaOrt(runners.ort1),
      viaOrt(runners.ort2),
      viaOrt(runners.ort2spin),
    ])) as [Timing, Timing, Timing, Timing];
    const [tfjsMs, one, two, twoSpin] = [tfjsT.wall, oneT.wall, twoT.wall, twoSpinT.wall];
    const ref = model.predict(xs) as tf.Tensor;
    const got = await runners.ort1.predictTensor(xs, tf);
    const agree = agreement(got.dataSync(), ref.dataSync());
    tf.dispose([xs, ref, got]);
    console.log(
      `| ${batch} | ${tfjsMs.toFixed(0)} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${twoSpin.toFixed(0)} | ` +
        `${(tfjsMs / one).toFixed(2)}x | ${(tfjsMs / Math.min(two, twoSpin)).toFixed(2)}x | ` +
        `${tfjsT.cpu.toFixed(0)} | ${oneT.cpu.toFixed(0)} | ${(tfjsT.cpu / oneT.cpu).toFixed(2)}x | ${agree.maxRelDiff.toExponential(1)} |`,
    );
  }
  for (const r of Object.values(runners)) await r.dispose();
  model.dispose();
  console.log(
    `\nPeak RSS ${peakRssMiB().toFixed(0)} MiB. Medians of ${RUNS[32]} (batch 32) / ${RUNS[128]} (batch 128) interleaved runs after one warm-up; ` +
      `load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (on ${os.cpus().length} cores).`,
  );
}
