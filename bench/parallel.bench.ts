/**
 * Data-parallel training (src/train/parallel/): ms per FDFtNet fine-tuning step — Xception
 * backbone frozen (backbone.predict on every image), M=3, N=4, 64x64 — at batch 32 and 128,
 * computed on this thread (1 worker = `localGradients`, what `--workers 1` does) and by a pool of
 * W worker threads, each with its own wasm engine. A step = gradients + one SGD-momentum update:
 * tfjs' optimizer for the tfjs executors; on the weights' host arrays (src/train/hostOptimizer.ts)
 * for the onnxruntime training graph, as `fdft train` / `fdft pretrain` run each.
 *
 * Reference (issue 9's table, bench/issue9Table.ts): the identical network in PyTorch 1.13 CPU on the issue author's 2-core machine:
 * batch 32 615 ms/step, batch 128 3.08 s/step.
 *
 * The development machine is shared: besides wall time, "critical-path CPU" is measured per thread
 * (/proc/thread-self/stat): the main thread's CPU time plus the busiest worker's, per step — about
 * what an otherwise idle machine with ≥ W cores would take (the main thread idles while the workers
 * compute). "ours / PyTorch" = ours ÷ reference (below 1 = faster).
 *
 * With the onnxruntime backbone, the critical path also counts onnxruntime's CPU time while it
 * computes the feature maps (the workers wait for them). With 1 intra-op thread that is its time
 * on an idle core; with more (the default, as in `fdft train`: every core) it is the CPU time
 * summed over all its threads, which exceeds the time they take side by side: then the
 * critical-path CPU column overstates the step, and wall time is the figure to compare.
 *
 * Env: FDFT_BENCH_BATCHES=32,128  FDFT_BENCH_WORKERS=1,2  FDFT_BENCH_STEPS=3
 *      FDFT_BENCH_KIND=pretrain: the whole Xception classifier instead (all 20.8 M weights trained).
 *      FDFT_BENCH_BACKBONE_ENGINE=onnx: the frozen backbone on onnxruntime on the main thread, its
 *      feature maps sent to the workers (`fdft train` when onnxruntime loads); its CPU time counts in
 *      the critical path (see above).
 *      FDFT_BENCH_ONNX_THREADS=n: onnxruntime intra-op threads (default: `fdft train`'s, every core;
 *      1 makes the critical-path CPU column comparable to an idle machine's time again).
 *      FDFT_BENCH_FTT=0: FDFtNet without the FTT (`fdft train --no-ftt`, issue 9's third row).
 *      FDFT_BENCH_TRAIN_ENGINE=onnx: the step's training graph on onnxruntime (src/train/onnx/, every
 *      core; `--train-engine onnx`, the default where onnxruntime loads) instead of tfjs workers.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { initEngine } from '../src/engine/index.ts';
import { createFdftNet } from '../src/models/fdftnet.ts';
import { createBackbone } from '../src/models/backbones/index.ts';
import { saveModel } from '../src/io/fileSystem.ts';
import { localGradients, type Batch, type GradientFn, type InputsFn } from '../src/train/loop.ts';
import { createBackboneRunner, type BackboneRunner } from '../src/engine/onnxBackboneRunner.ts';
import { createDataParallelGradients } from '../src/train/parallel/workerPool.ts';
import { createOnnxGradients } from '../src/train/onnx/onnxGradients.ts';
import { stepSessionRunsAlone } from '../src/train/parallel/runGradients.ts';
import { threadCpuMs } from '../src/train/parallel/threadCpu.ts';
import { type FeatureMapPrefetch, prefetchFeatureMaps } from '../src/train/featureMapPrefetch.ts';
import { peakRssMiB } from './peakRss.ts';
import { fixedBatch } from './fixedBatch.ts';
import { issue9Ms } from './issue9Table.ts';
import { median } from './median.ts';

function listEnv(name: string, fallback: string): number[] {
  return (process.env[name] ?? fallback).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
}

interface Timing {
  error?: string;
  wallMs: number;
  /** Main-thread CPU ms per step (in-thread: the whole step). */
  mainCpuMs: number | undefined;
  /** Main-thread CPU + the busiest worker's CPU, ms per step. */
  criticalCpuMs: number | undefined;
}

/**
 * CPU that the step spends off the main thread while the workers wait: onnxruntime's own threads
 * computing the frozen feature maps (with 1 intra-op thread, its CPU time = its time on an idle
 * core; with more, the sum over its threads, more than their wall time).
 */
class OffThreadCpu {
  ms = 0;
  reset(): void {
    this.ms = 0;
  }
  /** Runs fn and adds (process CPU − main-thread CPU) during it. */
  async measure<T>(fn: () => Promise<T>): Promise<T> {
    const p0 = process.cpuUsage();
    const m0 = threadCpuMs() ?? 0;
    try {
      return await fn();
    } finally {
      const p = process.cpuUsage(p0);
      this.ms += Math.max(0, (p.user + p.system) / 1000 - ((threadCpuMs() ?? 0) - m0));
    }
  }
}

/**
 * ms per step, wall, when the next batch's feature maps are computed during the current step (what
 * `fdft train` does with gradient workers beside an onnxruntime backbone:
 * src/train/featureMapPrefetch.ts; with the heads on onnxruntime the step's own graph holds the
 * backbone). Timed from the end of a warm-up step to the end of step `steps`; the stream holds one
 * batch more, so that each timed step has the next batch's feature maps to compute, as in a long
 * epoch. (Before the ninth session the stream ended with the last timed step, and the timed span
 * held one feature-map computation fewer than steps: on the onnxruntime path, where the backbone
 * and the heads took turns, figures too low by a backbone run / steps.)
 */
async function timeOverlappedSteps(step: StepFn, prefetch: FeatureMapPrefetch, batch: Batch, steps: number): Promise<number> {
  const copies = function* () {
    for (let s = 0; s <= steps + 1; s++) yield { xs: batch.xs.clone(), ys: batch.ys.clone() };
  };
  let t0 = 0;
  let s = 0;
  for await (const b of prefetch.batches(copies)(0)) {
    await step(b, `bench:${s}`);
    tf.dispose([b.xs, b.ys]);
    if (s === 0) t0 = performance.now(); // after the warm-up step
    if (s++ === steps) break; // the batch taken ahead is dropped (its feature maps disposed)
  }
  return (performance.now() - t0) / steps;
}

/** One training step, its update included (a momentum-SGD update at lr 0.01, as `fdft train`'s loop makes it). */
type StepFn = (batch: Batch, randomKey: string) => Promise<void>;

/** The step on tfjs' optimizer: gradients from `gradients`, then `optimizer.applyGradients`. */
function tfjsOptimizerStep(gradients: GradientFn, optimizer: tf.Optimizer): StepFn {
  return async (batch, key) => {
    const { grads } = await gradients(batch, key);
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  };
}

/** Median wall and critical-path CPU ms of `steps` training steps after one warm-up step. */
async function timeSteps(
  step: StepFn,
  batch: Batch,
  steps: number,
  workerCpu: () => (number | undefined)[],
  offThread: OffThreadCpu,
): Promise<Timing> {
  const walls: number[] = [];
  const cpus: number[] = [];
  const mains: number[] = [];
  for (let s = 0; s <= steps; s++) {
    offThread.reset();
    const c0 = threadCpuMs();
    const t0 = performance.now();
    await step(batch, `bench:${s}`);
    const wall = performance.now() - t0;
    const c1 = threadCpuMs();
    if (s === 0) continue; // warm-up
    walls.push(wall);
    const w = workerCpu();
    if (c0 !== undefined && c1 !== undefined && w.every((x) => x !== undefined)) {
      mains.push(c1 - c0);
      cpus.push(c1 - c0 + offThread.ms + Math.max(0, ...(w as number[])));
    }
  }
  const ok = cpus.length === walls.length;
  return { wallMs: median(walls), mainCpuMs: ok ? median(mains) : undefined, criticalCpuMs: ok ? median(cpus) : undefined };
}

export default async function bench(): Promise<void> {
  const engine = await initEngine('wasm', () => {});
  const batches = listEnv('FDFT_BENCH_BATCHES', '32,128');
  const workerCounts = listEnv('FDFT_BENCH_WORKERS', '1,2');
  const steps = Number(process.env.FDFT_BENCH_STEPS ?? 3);
  const kind = process.env.FDFT_BENCH_KIND === 'pretrain' ? 'pretrain' : 'finetune';
  const backboneEngine = process.env.FDFT_BENCH_BACKBONE_ENGINE === 'onnx' && kind === 'finetune' ? 'onnx' : 'tfjs';
  const useFtt = process.env.FDFT_BENCH_FTT !== '0';
  // Executors: a tfjs worker count, or 0 = the training graph on onnxruntime.
  const trainOnOnnx = process.env.FDFT_BENCH_TRAIN_ENGINE === 'onnx';
  const executors = trainOnOnnx ? [0] : workerCounts;
  const label = (w: number) => (w === 0 ? `onnxruntime training graph (${os.availableParallelism()} threads)` : w === 1 ? '1 (in-thread)' : String(w));
  const workload = kind === 'pretrain' ? 'pretrain' : useFtt ? 'finetune' : 'noftt';
  // onnxruntime intra-op threads: unset = createBackboneRunner's default, as `fdft train` runs it.
  const onnxThreads = process.env.FDFT_BENCH_ONNX_THREADS ? Number(process.env.FDFT_BENCH_ONNX_THREADS) : undefined;
  if (onnxThreads !== undefined && !(Number.isInteger(onnxThreads) && onnxThreads > 0)) {
    throw new Error(`FDFT_BENCH_ONNX_THREADS must be a positive integer, got '${process.env.FDFT_BENCH_ONNX_THREADS}'`);
  }
  const onnxThreadsText = `${onnxThreads ?? `${os.availableParallelism()} (every core)`} thread(s)`;
  const load = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');
  const what =
    kind === 'pretrain'
      ? 'Xception classifier, every weight trained (fdft pretrain)'
      : `FDFtNet Xception (fresh weights, frozen) ${useFtt ? 'M=3' : 'without FTT'} N=4 (fdft train${useFtt ? '' : ' --no-ftt'}); frozen backbone on ${backboneEngine === 'onnx' ? (trainOnOnnx ? "onnxruntime, inside the step's graph" : `onnxruntime (${onnxThreadsText}) on the main thread`) : 'tfjs in each thread'}`;
  console.log(`engine: ${engine.backend} (${engine.provider}) in every thread; ${what}, 64x64x3`);
  console.log(
    `median of ${steps} steps after 1 warm-up; step = gradients (incl. backbone.predict) + SGD-momentum update on the main thread (${trainOnOnnx ? "on the weights' host arrays" : "tfjs' optimizer"})`,
  );
  console.log(`load average at start: ${load()} on ${os.cpus().length} cores (os.availableParallelism() = ${os.availableParallelism()})\n`);

  // finetune: FDFtNet heads on the frozen backbone (`fdft train`); pretrain: the whole Xception
  // classifier trained (`fdft pretrain`; 20.8 M weights and gradients cross threads every step).
  let artefact: tf.LayersModel;
  let trainModel: tf.LayersModel;
  let inputsFor: InputsFn;
  let featureMaps: ((xs: tf.Tensor4D) => Promise<tf.Tensor>) | undefined;
  let runner: BackboneRunner | undefined;
  let prefetch: FeatureMapPrefetch | undefined;
  const overlapped = new Map<string, number>();
  const offThread = new OffThreadCpu();
  if (kind === 'pretrain') {
    artefact = trainModel = createBackbone('xception', { inputSize: 64, includeTop: true, seed: 1 });
    inputsFor = (xs) => xs;
  } else {
    const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1, useFtt });
    [artefact, trainModel] = [net.model, net.head];
    inputsFor = (xs) => [xs, net.backbone.predict(xs) as tf.Tensor];
    if (backboneEngine === 'onnx') {
      // As `fdft train` with onnxruntime: feature maps on the main thread, heads in the workers.
      const r = (runner = await createBackboneRunner(net.backbone, { engine: 'onnx', ...(onnxThreads !== undefined && { threads: onnxThreads }) }));
      if (onnxThreads !== 1) console.log(`onnxruntime uses ${onnxThreadsText}: its CPU time in the critical-path column is summed over them; compare wall times\n`);
      prefetch = prefetchFeatureMaps((xs) => offThread.measure(() => r.predict(xs)));
      featureMaps = prefetch.featureMaps; // computes on demand unless a batch stream prefetched it
      inputsFor = async (xs) => [xs, await featureMaps!(xs)];
    }
  }
  const dir = await mkdtemp(join(os.tmpdir(), 'fdft-bench-parallel-'));
  await saveModel(artefact, dir);
  const results = new Map<string, Timing>();
  const startup = new Map<number, number>();
  const progress = (msg: string) => process.stderr.write(`[parallel bench] ${msg} (load ${load()})\n`);
  // Pools first and large batches first: the in-thread engine's wasm heap only grows, and at
  // batch 128 it nears wasm32's 4 GiB limit (see BENCHMARKS.md), so it runs on a fresh heap.
  try {
    for (const workers of [...executors].sort((a, b) => b - a)) {
      const optimizer: tf.Optimizer = tf.train.momentum(0.01, 0.9);
      let step: StepFn;
      let workerCpu: () => (number | undefined)[] = () => [];
      let close = async () => {};
      if (workers === 0) {
        const t0 = performance.now();
        // As openRunGradients: fine-tuning with the backbone on onnxruntime puts it inside the step's graph.
        const stepModel = kind === 'finetune' && backboneEngine === 'onnx' ? { model: artefact, inputsFor: (xs: tf.Tensor4D) => xs } : undefined;
        const onnx = await createOnnxGradients({ trainModel, inputsFor, stepModel, l2: 1e-5, threads: os.availableParallelism(), spin: stepSessionRunsAlone(kind, stepModel !== undefined) });
        for (const b of batches) await onnx.prepare(b);
        startup.set(workers, performance.now() - t0);
        // As trainLoop runs it: the update on host arrays (src/train/hostOptimizer.ts).
        await onnx.hostStep.pull(optimizer);
        step = (batch, key) => onnx.hostStep.step(batch, key, 0.01).then(() => {});
        close = onnx.close;
      } else if (workers === 1) {
        step = tfjsOptimizerStep(localGradients(trainModel, inputsFor, 1e-5), optimizer);
      } else {
        const t0 = performance.now();
        const pool = await createDataParallelGradients({ workers, kind, modelDir: dir, l2: 1e-5, featureMaps });
        await pool.sync(trainModel);
        startup.set(workers, performance.now() - t0);
        step = tfjsOptimizerStep(pool.gradients, optimizer);
        workerCpu = () => pool.workerStats().map((s) => s.cpuMs);
        close = pool.close;
      }
      try {
        for (const b of [...batches].sort((x, y) => y - x)) {
          progress(`batch ${b}, ${workers} worker(s)`);
          const batch = fixedBatch(b);
          try {
            results.set(`${workers}:${b}`, await timeSteps(step, batch, steps, workerCpu, offThread));
            // Feature maps computed outside the step: tfjs heads beside an onnxruntime backbone.
            if (prefetch && workers !== 0) overlapped.set(`${workers}:${b}`, await timeOverlappedSteps(step, prefetch, batch, steps));
          } catch (e) {
            results.set(`${workers}:${b}`, { error: `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`, wallMs: NaN, mainCpuMs: undefined, criticalCpuMs: undefined });
          }
          tf.dispose([batch.xs, batch.ys]);
        }
      } finally {
        optimizer.dispose();
        await close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const f = (ms: number | undefined) => (ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const x = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`);
  console.log('| batch | workers | ms/step (wall) | speed-up (wall) | main-thread CPU/step | critical-path CPU/step | speed-up (CPU) | PyTorch 2 cores | ours / PyTorch (wall) | (critical CPU) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const b of batches) {
    const one = results.get(`1:${b}`);
    for (const w of executors) {
      const r = results.get(`${w}:${b}`)!;
      const ref = issue9Ms(workload, b);
      if (r.error) {
        console.log(`| ${b} | ${label(w)} | failed: ${r.error.replace(/\|/g, '/')} | | | | | | | |`);
        continue;
      }
      console.log(
        `| ${b} | ${label(w)} | ${f(r.wallMs)} | ${x(one?.wallMs, r.wallMs)} | ${f(r.mainCpuMs)} | ${f(r.criticalCpuMs)} | ${x(one?.criticalCpuMs, r.criticalCpuMs)} | ${ref ? f(ref) : '—'} | ${ref ? (r.wallMs / ref).toFixed(2) : '—'} | ${ref && r.criticalCpuMs ? (r.criticalCpuMs / ref).toFixed(2) : '—'} |`,
      );
    }
  }
  if (overlapped.size) {
    console.log('\nWith the next batch\'s feature maps computed during each step (as `fdft train` does with gradient workers and the backbone on onnxruntime):\n');
    console.log('| batch | workers | ms/step (wall, overlapped) | vs not overlapped | PyTorch 2 cores | ours / PyTorch (wall) |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const b of batches) {
      for (const w of executors) {
        const ms = overlapped.get(`${w}:${b}`);
        if (ms === undefined) continue;
        const ref = issue9Ms(workload, b);
        console.log(`| ${b} | ${label(w)} | ${f(ms)} | ${x(results.get(`${w}:${b}`)?.wallMs, ms)} | ${ref ? f(ref) : '—'} | ${ref ? (ms / ref).toFixed(2) : '—'} |`);
      }
    }
  }
  console.log(`\nstart-up (pool: threads + tsx + tfjs/wasm + model load; onnx: training graphs built and loaded, once per batch size): ${[...startup].map(([w, ms]) => `${w === 0 ? 'onnx' : `${w} workers`} ${f(ms)}`).join(', ') || '—'}`);
  console.log(`peak RSS (main + workers, one process): ${peakRssMiB().toFixed(0)} MiB; load average at end: ${load()}`);
  await runner?.dispose();
  artefact.dispose();
}
