/**
 * `npm run bench -- engine`: ms of one training step and one forward pass of (a) an FTT-like
 * attention stage and (b) a small conv net (bench/engineModels.ts), batch 32 and 128, 64x64x3
 * input, on each backend: cpu (pure JS), wasm with fdft's kernels, and tensorflow when
 * @tensorflow/tfjs-node(-gpu) is installed; plus tf.memory() and peak RSS.
 *
 * Wall ms is the median of the timed runs; cpu ms (process CPU time per run) is printed too,
 * because on a shared machine it is the steadier figure. The pure-JS cpu backend is measured
 * once, at batch 32 only (a training step of the attention stage takes ~40 s there).
 * FDFT_BENCH_BACKENDS=wasm (or cpu, tensorflow, comma-separated) and FDFT_BENCH_BATCHES=32 limit
 * what is measured.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index.ts';
import { attentionStage, smallConvNet, type Workload } from './engineModels.ts';
import { peakRssMiB } from './peakRss.ts';

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function measure(f: () => void, runs: number): Timing {
  const walls: number[] = [];
  let cpu = 0;
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    walls.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu += (d.user + d.system) / 1000;
  }
  walls.sort((a, b) => a - b);
  return { wallMs: walls[Math.floor(walls.length / 2)]!, cpuMs: cpu / runs };
}

async function tensorflowAvailable(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (tf.findBackend('tensorflow')) return true;
    } catch {
      // not installed: fine
    }
  }
  return false;
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

export default async function engineBench(): Promise<void> {
  await initEngine('wasm', () => {});
  const available = ['cpu', 'wasm', ...((await tensorflowAvailable()) ? ['tensorflow'] : [])];
  const wanted = process.env.FDFT_BENCH_BACKENDS?.split(',') ?? available;
  const backends = available.filter((b) => wanted.includes(b));
  const batches = (process.env.FDFT_BENCH_BATCHES ?? '32,128').split(',').map(Number);
  const workloads: [string, (b: number) => Workload][] = [
    ['(a) attention stage', attentionStage],
    ['(b) small conv net', smallConvNet],
  ];

  console.log('| workload | backend | batch | train step (wall) | train step (cpu) | forward (wall) | forward (cpu) | tensors | tf bytes | runs |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes: string[] = [];
  for (const [label, make] of workloads) {
    for (const backend of backends) {
      await tf.setBackend(backend);
      for (const batch of batches) {
        if (backend === 'cpu' && batch > 32) {
          notes.push(`${label}, cpu, batch ${batch}: not measured (the pure-JS backend needs ~4x its batch-32 time).`);
          continue;
        }
        const runs = backend === 'cpu' ? 1 : 3;
        let w: Workload | undefined;
        try {
          w = make(batch);
          if (backend !== 'cpu') {
            w.trainStep(); // warm-up: kernel set-up, operator caches, heap growth
            w.forward();
          }
          const train = measure(() => w!.trainStep(), runs);
          const fwd = measure(() => w!.forward(), runs);
          const mem = tf.memory();
          console.log(
            `| ${label} | ${backend} | ${batch} | ${fmt(train.wallMs)} | ${fmt(train.cpuMs)} | ${fmt(fwd.wallMs)} | ${fmt(fwd.cpuMs)} | ${mem.numTensors} | ${(mem.numBytes / 2 ** 20).toFixed(1)} MiB | ${runs} |`,
          );
        } catch (e) {
          console.log(`| ${label} | ${backend} | ${batch} | failed: ${(e as Error).message.split('\n')[0]} | | | | | | |`);
        } finally {
          w?.dispose();
        }
      }
    }
  }
  console.log(`\npeak RSS: ${peakRssMiB().toFixed(0)} MiB`);
  for (const n of notes) console.log(`- ${n}`);
}
