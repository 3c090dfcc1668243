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
 * what is measured. A second table times single wasm kernels, tfjs' stock version against fdft's,
 * on the shapes of these workloads; FDFT_BENCH_PARTS=workloads or =kernels runs one table only.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index.ts';
import { runStockKernel, type BackendWasm } from '../src/engine/kernels/wasmTensors.ts';
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

/** One wasm kernel, tfjs' stock implementation vs fdft's, interleaved runs, CPU ms per call. */
function stockVsFdft(label: string, kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): void {
  tf.setBackend('wasm');
  const backend = tf.backend() as unknown as BackendWasm;
  const infos = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { dataId: t.dataId, shape: t.shape, dtype: t.dtype }]));
  const drop = (o: unknown): void => [o].flat().forEach((t) => backend.disposeData((t as tf.TensorInfo).dataId));
  const fdft = (): void => drop(tf.getKernel(kernel, 'wasm')!.kernelFunc({ inputs: infos, backend, attrs: attrs as tf.NamedAttrMap }));
  const stock = (): void => drop(runStockKernel(backend, kernel, infos, attrs));
  fdft();
  stock();
  let a = 0;
  let b = 0;
  for (let r = 0; r < 3; r++) {
    a += measure(stock, 1).cpuMs;
    b += measure(fdft, 1).cpuMs;
  }
  console.log(`| ${label} | ${fmt(a / 3)} | ${fmt(b / 3)} | ${(a / b).toFixed(1)}x |`);
}

function kernelTable(): void {
  console.log('\n| wasm kernel (shape) | stock (cpu) | fdft (cpu) | speed-up |');
  console.log('|---|---:|---:|---:|');
  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const att = r([32, 1024, 1024], 1);
  const h = r([32, 1024, 32], 2);
  stockVsFdft('BatchMatMul βᵀ·dO [32,1024,1024]ᵀ×[32,1024,32]', 'BatchMatMul', { a: att, b: h }, { transposeA: true, transposeB: false });
  stockVsFdft('BatchMatMul β·H [32,1024,1024]×[32,1024,32]', 'BatchMatMul', { a: att, b: h }, { transposeA: false, transposeB: false });
  stockVsFdft('Transpose [32,1024,1024] → [0,2,1]', 'Transpose', { x: att }, { perm: [0, 2, 1] });
  stockVsFdft('Slice 1 of [32,1024,1024]', 'Slice', { x: att }, { begin: [3, 0, 0], size: [1, 1024, 1024] });
  stockVsFdft('Identity [32,1024,1024]', 'Identity', { x: att }, {});
  const fm = r([32, 32, 32, 32], 3);
  stockVsFdft('Sum [32,32,32,32] over N,H,W (batch norm)', 'Sum', { x: fm }, { axis: [0, 1, 2], keepDims: false });
  stockVsFdft('Tile [1,1,1,32] → [32,32,32,32]', 'Tile', { x: r([1, 1, 1, 32], 4) }, { reps: [32, 32, 32, 1] });
  const w3 = r([3, 3, 32, 32], 5);
  const inputShape = [32, 32, 32, 32];
  stockVsFdft('Conv2DBackpropInput 3x3 s1 32→32, 32x32', 'Conv2DBackpropInput', { dy: fm, filter: w3 }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape });
  stockVsFdft('Conv2DBackpropInput 3x3 s2 32→32, 32x32', 'Conv2DBackpropInput', { dy: r([32, 16, 16, 32], 6), filter: w3 }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape });
  stockVsFdft('Conv2DBackpropInput 1x1 s1 32→32, 32x32', 'Conv2DBackpropInput', { dy: fm, filter: r([1, 1, 32, 32], 7) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape });
  tf.dispose([att, h, fm, w3]);
}

export default async function engineBench(): Promise<void> {
  await initEngine('wasm', () => {});
  const parts = process.env.FDFT_BENCH_PARTS?.split(',') ?? ['workloads', 'kernels'];
  if (parts.includes('workloads')) await workloadTable();
  if (parts.includes('kernels')) kernelTable();
}

async function workloadTable(): Promise<void> {
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
