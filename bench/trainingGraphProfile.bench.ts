/**
 * Per-op time shares of the training step on onnxruntime (src/train/onnx/, `--train-engine onnx`,
 * the default where onnxruntime loads), from onnxruntime's own profiler: issue 9's "per-kernel time
 * shares, so that the next bottleneck is visible", for the path `fdft train` / `fdft pretrain` run.
 * (`npm run bench -- profile` gives the same for the tfjs path.)
 *
 * Graphs, as `fdft train` / `fdft pretrain` run them on onnxruntime: the FDFtNet Xception step with
 * the frozen backbone inside (M=3, N=4, and without the FTT; src/train/finetune.ts `onnxStepModel`),
 * and the whole Xception classifier (pretraining), at FDFT_BENCH_BATCHES (default 32), fresh weights;
 * each run once to warm up (left out), then FDFT_BENCH_STEPS (default 3) profiled runs. Kernel time =
 * the sum of onnxruntime's per-node kernel times (with 2 threads a node's time is its wall time).
 * Per op type (top 12), then the FDFT_BENCH_TOP_NODES (default 8) costliest nodes.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { initEngine } from '../src/engine/index.ts';
import { OnnxRunner } from '../src/engine/onnxBackbone.ts';
import { createBackbone } from '../src/models/backbones/index.ts';
import { createFdftNet } from '../src/models/fdftnet.ts';
import { nchwcBlockSize } from '../src/train/onnx/nchwcBlock.ts';
import { buildTrainingGraph, encodeTrainingGraph } from '../src/train/onnx/trainingGraph.ts';
import { stepSessionRunsAlone } from '../src/train/parallel/runGradients.ts';

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

async function profileGraph(label: string, model: tf.LayersModel, spin: boolean, batch: number, steps: number, topNodes: number): Promise<void> {
  const graph = buildTrainingGraph(model, batch, { nchwcBlock: await nchwcBlockSize() });
  const dir = await mkdtemp(join(os.tmpdir(), 'fdft-ort-profile-'));
  try {
    // Session options as createOnnxGradients sets them, plus onnxruntime's profiler.
    const runner = await OnnxRunner.create(encodeTrainingGraph(graph, label), {
      threads: os.availableParallelism(),
      memoryPattern: false,
      spin,
      profilePrefix: join(dir, 'profile'),
    });
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    const values = new Map(graph.trainables.map((t) => [t.input, t.variable.read().dataSync() as Float32Array]));
    for (const io of graph.graph.inputs) {
      const dims = io.dims as number[];
      const n = dims.reduce((a, b) => a * b, 1);
      // Every image counts (a full batch: the image mask all 1s).
      const data =
        values.get(io.name) ??
        Float32Array.from({ length: n }, (_, i) => (io.name === graph.imageMask ? 1 : io.name === graph.labels ? i % 2 : ((i * 7919) % 1000) / 1000));
      feeds[io.name] = { data, dims };
    }
    await runner.runFeeds(feeds); // warm-up: its events are left out below
    const walls: number[] = [];
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      await runner.runFeeds(feeds);
      walls.push(performance.now() - t0);
    }
    runner.endProfiling();
    const file = (await readdir(dir)).find((f) => f.startsWith('profile'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    await runner.dispose();
    const runEnds = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts + e.dur).sort((a, b) => a - b);
    const afterWarmUp = runEnds[0] ?? 0;
    const byOp = new Map<string, number>();
    const byNode = new Map<string, number>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < afterWarmUp) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      const node = `${op} ${e.name.slice(0, -'_kernel_time'.length)}`;
      byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
    }
    const runs = steps;
    const total = [...byOp.values()].reduce((a, b) => a + b, 0) / runs / 1000;
    const sorted = [...walls].sort((a, b) => a - b);
    console.log(`### ${label}, batch ${batch}: ${graph.graph.nodes.length} nodes; session.run ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms (median of ${steps}); kernel time ${total.toFixed(0)} ms per run\n`);
    console.log('| op | ms per run | share |');
    console.log('|---|---:|---:|');
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      const ms = us / runs / 1000;
      console.log(`| ${op} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)} % |`);
    }
    console.log(`\nCostliest nodes:\n`);
    for (const [node, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, topNodes)) {
      console.log(`- ${(us / runs / 1000).toFixed(1)} ms ${node}`);
    }
    console.log('');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<void> {
  await initEngine('wasm', () => {});
  const batches = (process.env.FDFT_BENCH_BATCHES ?? '32').split(',').map(Number);
  const steps = Number(process.env.FDFT_BENCH_STEPS ?? 3);
  const topNodes = Number(process.env.FDFT_BENCH_TOP_NODES ?? 8);
  console.log(`onnxruntime-node, ${os.availableParallelism()} intra-op threads; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}\n`);
  for (const useFtt of [true, false]) {
    // The step graph `fdft train` runs where the backbone is on onnxruntime: the whole model, its
    // frozen backbone inlined as in inference graphs (src/export/onnx.ts), its session alone each step.
    const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1, useFtt });
    const label = `FDFtNet Xception${useFtt ? '' : ' without FTT'} step, frozen backbone inside (fdft train)`;
    for (const b of batches) await profileGraph(label, net.model, stepSessionRunsAlone('finetune', true), b, steps, topNodes);
    net.model.dispose();
  }
  const xception = createBackbone('xception', { inputSize: 64, includeTop: true, seed: 1 });
  for (const b of batches) await profileGraph('Xception classifier (fdft pretrain)', xception, stepSessionRunsAlone('pretrain', false), b, steps, topNodes);
  xception.dispose();
}
