/**
 * `npm run bench -- data`: the data pipeline's speed.
 *  - first-time decode + resize of the shared real sets (../shared/data, skipped when absent) and
 *    cached loading of the same files, images/s;
 *  - decoding on the worker thread while the main thread is busy (as during a training step);
 *  - augmentation (paper §4.1: shift, rotation, zoom, flip, Cutout) + batching of 128 images at
 *    64x64, ms per batch, typed-array work alone and with the xs/ys tensors;
 *  - generating the synthetic set, images/s.
 * FDFT_BENCH_LEARN=N also trains a small CNN for N epochs on the default synthetic set and
 * prints test AUROC per epoch (the learnability check of the README; minutes on 2 cores).
 * Wall figures are medians; CPU ms (process CPU time) is printed too, as the steadier figure on
 * a shared machine.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index.ts';
import { Augmenter, PAPER_AUGMENTATION } from '../src/data/augment.ts';
import { batchIterator, imageSetTensors } from '../src/data/batches.ts';
import { discoverDataset } from '../src/data/discover.ts';
import { ImageLoader, loadImages } from '../src/data/loader.ts';
import { rngFor } from '../src/data/random.ts';
import { SPLIT_NAMES, type ImageSet, type Sample } from '../src/data/types.ts';
import { synthesizeDataset } from '../src/data/synthetic/synthesize.ts';
import { peakRssMiB } from './peakRss.ts';
import { median } from './median.ts';

function cpuMs(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

async function decodeBench(): Promise<void> {
  const shared = resolve('../shared/data');
  const sets = ['gan', 'faceswap'].filter((s) => existsSync(join(shared, s)));
  if (sets.length === 0) {
    console.log(`(${shared} not found: real-data decode figures skipped)\n`);
    return;
  }
  console.log('| set | images | first decode + resize to 64x64, img/s (img per CPU-s) | cached load, img/s (img per CPU-s) | worker decode while the main thread is busy, img/s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const name of sets) {
    const idx = await discoverDataset(join(shared, name), { seed: 0 });
    const samples: Sample[] = SPLIT_NAMES.filter((n) => n !== 'finetune').flatMap((n) => idx.splits[n]);
    const cacheDir = await mkdtemp(join(tmpdir(), 'fdft-bench-cache-'));
    try {
      let t = performance.now();
      let c0 = process.cpuUsage();
      const cold = await loadImages(samples, { size: 64, cacheDir });
      const coldRate = cold.samples.length / ((performance.now() - t) / 1000);
      const coldCpu = cold.samples.length / (cpuMs(c0) / 1000);
      t = performance.now();
      c0 = process.cpuUsage();
      await loadImages(samples, { size: 64, cacheDir });
      const warmRate = samples.length / ((performance.now() - t) / 1000);
      const warmCpu = samples.length / (cpuMs(c0) / 1000);
      // Decoding while the main thread is blocked (a stand-in for synchronous training steps).
      const loader = new ImageLoader(samples, { size: 64 });
      t = performance.now();
      while (loader.completed < samples.length && performance.now() - t < 60_000) {
        const spin = performance.now();
        while (performance.now() - spin < 500) {
          // busy, like a training step
        }
        await new Promise((r) => setImmediate(r));
      }
      await loader.result();
      const busyRate = samples.length / ((performance.now() - t) / 1000);
      await loader.close();
      console.log(`| ${name} | ${samples.length} | ${coldRate.toFixed(0)} (${coldCpu.toFixed(0)}) | ${warmRate.toFixed(0)} (${warmCpu.toFixed(0)}) | ${busyRate.toFixed(0)} |`);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  console.log('');
}

async function augmentBench(): Promise<void> {
  const B = 128;
  const S = 64;
  const n = 512;
  const images = new Uint8Array(n * S * S * 3);
  const rng = rngFor('bench');
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng() * 256);
  const set: ImageSet = {
    size: S,
    images,
    labels: Uint8Array.from({ length: n }, (_, i) => i % 2),
    samples: Array.from({ length: n }, (_, i) => ({ path: `${i}`, label: (i % 2) as 0 | 1 })),
    skipped: [],
  };
  const list = Array.from({ length: B }, (_, i) => images.subarray(i * S * S * 3, (i + 1) * S * S * 3));
  const rows: [string, number[], number[]][] = [];
  for (const [name, opts] of [
    ['paper augmentation (nearest sampling, default)', PAPER_AUGMENTATION],
    ['paper augmentation, bilinear sampling (Keras)', { ...PAPER_AUGMENTATION, interpolation: 'bilinear' as const }],
    ['Cutout + flip only', { ...PAPER_AUGMENTATION, translate: 0, rotation: 0, zoom: 0 }],
  ] as const) {
    const aug = new Augmenter(opts);
    const out = new Float32Array(B * S * S * 3);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < 25; r++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      aug.augmentBatch(list, S, rngFor('b', r), out);
      if (r >= 5) {
        wall.push(performance.now() - t);
        cpu.push(cpuMs(c0));
      }
    }
    rows.push([`${name} (typed arrays)`, wall, cpu]);
  }
  for (const [name, augment] of [
    ['batchIterator: paper augmentation (default) → xs, ys tensors', PAPER_AUGMENTATION],
    ['batchIterator: rescale only (val/test) → tensors', false],
  ] as const) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) {
      const it = batchIterator(set, { batchSize: B, seed: 1, epoch, augment });
      for (;;) {
        const c0 = process.cpuUsage();
        const t = performance.now();
        const r = await it.next();
        if (r.done) break;
        if (epoch > 0) {
          wall.push(performance.now() - t);
          cpu.push(cpuMs(c0));
        }
        tf.dispose([r.value.xs, r.value.ys]);
      }
    }
    rows.push([name, wall, cpu]);
  }
  console.log(`| batch of ${B} at ${S}x${S} (${tf.getBackend()} backend) | wall ms (median) | CPU ms (median) | images/s |`);
  console.log('|---|---:|---:|---:|');
  for (const [name, wall, cpu] of rows) {
    console.log(`| ${name} | ${median(wall).toFixed(1)} | ${median(cpu).toFixed(1)} | ${((B / median(wall)) * 1000).toFixed(0)} |`);
  }
  console.log(`\ntf.memory().numTensors after: ${tf.memory().numTensors}\n`);
}

async function synthBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-bench-synth-'));
  try {
    console.log('| synthetic set | images | workers | wall s | images/s | images per CPU-s |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const workers of [1, 0]) {
      const c0 = process.cpuUsage();
      const r = await synthesizeDataset({ out: join(dir, `w${workers}`), count: 500, seed: 0, workers: workers || undefined });
      const cpu = cpuMs(c0) / 1000;
      console.log(`| 64x64 JPEG, flat layout | ${2 * r.count} | ${workers || 'one per core'} | ${(r.ms / 1000).toFixed(1)} | ${((2 * r.count) / (r.ms / 1000)).toFixed(0)} | ${((2 * r.count) / cpu).toFixed(0)} |`);
    }
    console.log('');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A small CNN (5 conv-BN-ReLU, stride 2, GAP, softmax) trained on the default synthetic set. */
async function learnBench(epochs: number): Promise<void> {
  const { defaultDatasetDir } = await import('../src/data/synthetic/defaultDataset.ts');
  const { auroc } = await import('../src/eval/metrics.ts');
  const dir = await defaultDatasetDir({ log: (m) => console.log(m) });
  const idx = await discoverDataset(dir, { seed: 0 });
  const train = await loadImages(idx.splits.train, { cacheDir: '.cache/fdft-images' });
  const test = await loadImages(idx.splits.test, { cacheDir: '.cache/fdft-images' });
  const m = tf.sequential();
  let seed = 1;
  for (const filters of [16, 32, 64, 64, 128]) {
    m.add(tf.layers.conv2d({ ...(seed === 1 ? { inputShape: [64, 64, 3] } : {}), filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: seed++ }) }));
    m.add(tf.layers.batchNormalization({ momentum: 0.9 }));
    m.add(tf.layers.reLU());
  }
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }) }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const testAuroc = () => {
    const { xs, ys } = imageSetTensors(test);
    const p = tf.tidy(() => (m.predict(xs) as tf.Tensor).slice([0, 1], [-1, 1]).reshape([-1]));
    const s = p.dataSync();
    tf.dispose([xs, ys, p]);
    return auroc(s, test.labels);
  };
  console.log(`small CNN on ${dir} (train ${train.samples.length}, test ${test.samples.length}), Adam 1e-3, batch 32, horizontal flip only`);
  console.log('\n| after | test AUROC | s |');
  console.log('|---|---:|---:|');
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    let step = 0;
    for await (const b of batchIterator(train, { batchSize: 32, seed: 0, epoch: e, augment: { translate: 0, rotation: 0, zoom: 0, hflip: true, cutoutAlpha: 0 } })) {
      await m.trainOnBatch(b.xs, b.ys);
      tf.dispose([b.xs, b.ys]);
      if (e === 0 && step++ === 0) console.log(`| 1 batch | ${testAuroc().toFixed(3)} | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
    }
    console.log(`| epoch ${e + 1} | ${testAuroc().toFixed(3)} | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
  }
  console.log('');
}

export default async function dataBench(): Promise<void> {
  await initEngine(undefined, () => {});
  const { loadavg } = await import('node:os');
  console.log(`load average at start: ${loadavg().map((v) => v.toFixed(1)).join(' ')} (wall-clock rates fall with other load; CPU figures much less)\n`);
  await decodeBench();
  await augmentBench();
  await synthBench();
  const learn = Number(process.env.FDFT_BENCH_LEARN ?? 0);
  if (learn > 0) await learnBench(learn);
  console.log(`peak RSS: ${peakRssMiB().toFixed(0)} MiB`);
}
