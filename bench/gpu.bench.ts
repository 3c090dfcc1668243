/**
 * Issue 9's four workloads on a GPU, where this machine has one that WebGPU reaches:
 *
 *  - fdft on `--backend webgpu` (@tensorflow/tfjs-backend-webgpu on Dawn, src/engine/webgpu.ts), on
 *    the paths `fdft train|pretrain|predict --backend webgpu` take: the tfjs step (localGradients +
 *    the SGD-momentum update), the backbone on tfjs too (createBackboneRunner's auto on webgpu);
 *  - onnxruntime-node's own WebGPU execution provider on fdft's training graphs and on the exported
 *    FDFtNet (the commands use it for inference only, `--engine onnx-webgpu`): the bench checks its
 *    gradients and probabilities against the CPU provider's and prints both;
 *  - PyTorch on CUDA (bench/reference/fdftnet_torch.py --device cuda), where python3 imports a torch
 *    that sees a CUDA device.
 *
 * Ratios are to PyTorch-CUDA here and to issue 9's fixed CPU table. Then one tfjs-webgpu
 * fine-tuning step under tf.profile: kernel count and the kernels' time shares.
 * Prints why and stops where `--backend webgpu` does not initialise (no packages, no adapter): CI.
 *
 * Env: FDFT_BENCH_BATCHES=32,128  FDFT_BENCH_STEPS=5  FDFT_BENCH_WORKLOADS=finetune,forward,noftt,pretrain
 *      FDFT_BENCH_PYTHON=/path/to/python3
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index.ts';
import { OnnxRunner, onnxAvailable } from '../src/engine/onnxBackbone.ts';
import { createBackboneRunner } from '../src/engine/onnxBackboneRunner.ts';
import { exportOnnx } from '../src/export/onnx.ts';
import { createBackbone } from '../src/models/backbones/index.ts';
import { createFdftNet } from '../src/models/fdftnet.ts';
import { type Batch, type GradientFn, type InputsFn, localGradients } from '../src/train/loop.ts';
import { createOnnxGradients } from '../src/train/onnx/onnxGradients.ts';
import { fixedBatch } from './fixedBatch.ts';
import { issue9Ms } from './issue9Table.ts';
import { median } from './median.ts';
import { peakRssMiB } from './peakRss.ts';
import { listEnv } from './listEnv.ts';
import { TORCH_WORKLOADS, TORCH_WORKLOAD_TITLES as TITLES, type TorchWorkload, findTorch, referenceMismatches, runTorch } from './pytorchReference.ts';


async function medianMs(steps: number, fn: () => Promise<void>): Promise<{ ms: number; firstMs: number }> {
  let t0 = performance.now();
  await fn(); // the first run compiles the shaders
  const firstMs = performance.now() - t0;
  await fn();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), firstMs };
}

/** The networks and the step function a workload trains with, on the current tfjs backend. */
function network(workload: TorchWorkload) {
  if (workload === 'pretrain') {
    const model = createBackbone('xception', { inputSize: 64, includeTop: true, seed: 1 });
    return { model, trainModel: model, inputsFor: (xs: tf.Tensor) => xs, l2: 0, stepModel: undefined };
  }
  const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1, useFtt: workload !== 'noftt' });
  return {
    model: net.model,
    trainModel: net.head,
    inputsFor: (xs: tf.Tensor) => [xs, net.backbone.predict(xs) as tf.Tensor],
    l2: 1e-5,
    stepModel: { model: net.model, inputsFor: (xs: tf.Tensor) => xs },
    net,
  };
}

/** One SGD-momentum step as trainLoop takes it with a GradientFn: gradients, then the update. */
function stepWith(gradients: GradientFn, optimizer: tf.Optimizer, batch: Batch) {
  return async () => {
    const r = await gradients(batch, 'bench');
    optimizer.applyGradients(r.grads);
    tf.dispose(Object.values(r.grads));
  };
}

/** fdft on --backend webgpu: ms per run, and the first run's (shader compilation). */
async function webgpuMs(workload: TorchWorkload, n: number, steps: number) {
  const batch = fixedBatch(n);
  const nw = network(workload);
  const optimizer = tf.train.momentum(0.01, 0.9);
  try {
    if (workload === 'forward') {
      const runner = await createBackboneRunner(nw.model); // auto on webgpu: tfjs, on the GPU
      return await medianMs(steps, async () => {
        const probs = await runner.predict(batch.xs);
        await probs.data();
        probs.dispose();
      });
    }
    let inputsFor: InputsFn = nw.inputsFor;
    if (nw.net) {
      const runner = await createBackboneRunner(nw.net.backbone); // as `fdft train`: auto on webgpu → tfjs
      inputsFor = async (xs: tf.Tensor) => [xs, await runner.predict(xs)];
    }
    return await medianMs(steps, stepWith(localGradients(nw.trainModel, inputsFor, nw.l2), optimizer, batch));
  } finally {
    optimizer.dispose();
    nw.model.dispose();
    tf.dispose([batch.xs, batch.ys]);
  }
}

/**
 * onnxruntime's WebGPU provider on the training graph fdft's onnx engine builds, with the CPU
 * provider's gradients on the same batch beside it: ms per gradient run, and the largest
 * |difference| / max|gradient| over the trainable weights (forward: over the probabilities).
 */
async function ortWebGpu(workload: TorchWorkload, n: number, steps: number): Promise<{ ms: number; disagreement: number; worst: string } | string> {
  const batch = fixedBatch(n);
  const nw = network(workload);
  try {
    const values = async (provider: 'cpu' | 'webgpu') => {
      if (workload === 'forward') {
        const runner = await OnnxRunner.create(exportOnnx(nw.model), { threads: 1, executionProvider: provider });
        try {
          const x = (await batch.xs.data()) as Float32Array;
          const run = async () => (await runner.run(x, batch.xs.shape)).data;
          const out = await run();
          return { ms: provider === 'webgpu' ? (await medianMs(steps, async () => void (await run()))).ms : 0, values: { probabilities: out } };
        } finally {
          await runner.dispose();
        }
      }
      const g = await createOnnxGradients({ trainModel: nw.trainModel, inputsFor: nw.inputsFor, stepModel: nw.stepModel, l2: nw.l2, batch: n, threads: 1, executionProvider: provider, graph: { nchwcBlock: undefined } });
      try {
        const r = await g.gradients(batch, 'bench');
        const grads = Object.fromEntries(await Promise.all(Object.entries(r.grads).map(async ([k, t]) => [k, (await t.data()) as Float32Array] as const)));
        tf.dispose(Object.values(r.grads));
        const ms = provider === 'webgpu' ? (await medianMs(steps, async () => tf.dispose(Object.values((await g.gradients(batch, 'bench')).grads)))).ms : 0;
        return { ms, values: grads };
      } finally {
        await g.close();
      }
    };
    const cpu = await values('cpu');
    const gpu = await values('webgpu');
    let disagreement = 0;
    let worst = '';
    for (const [name, a] of Object.entries(cpu.values)) {
      const b = gpu.values[name]!;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      const rel = diff / (scale || 1);
      if (rel > disagreement) [disagreement, worst] = [rel, name];
    }
    return { ms: gpu.ms, disagreement, worst };
  } catch (e) {
    return `${(e as Error).message.split('\n')[0]!.slice(0, 160)}`;
  } finally {
    nw.model.dispose();
    tf.dispose([batch.xs, batch.ys]);
  }
}

/** One tfjs-webgpu fine-tuning step under tf.profile: kernel count and the largest time shares. */
async function profileStep(n: number): Promise<void> {
  const batch = fixedBatch(n);
  const nw = network('finetune');
  const optimizer = tf.train.momentum(0.01, 0.9);
  try {
    const step = stepWith(localGradients(nw.trainModel, nw.inputsFor, nw.l2), optimizer, batch);
    await step();
    const info = await tf.profile(step);
    const byName = new Map<string, { count: number; ms: number }>();
    let total = 0;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = byName.get(k.name) ?? { count: 0, ms: 0 };
      byName.set(k.name, { count: e.count + 1, ms: e.ms + ms });
      total += ms;
    }
    const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10);
    console.log(`\ntf.profile of one tfjs-webgpu FDFtNet training step at batch ${n}: ${info.kernels.length} kernels, ${total.toFixed(0)} ms of GPU kernel time (timestamp queries)`);
    console.log('| kernel | calls | ms | share |\n|---|---:|---:|---:|');
    for (const [name, e] of top) console.log(`| ${name} | ${e.count} | ${e.ms.toFixed(1)} | ${total ? ((100 * e.ms) / total).toFixed(0) : '—'} % |`);
  } finally {
    optimizer.dispose();
    nw.model.dispose();
    tf.dispose([batch.xs, batch.ys]);
  }
}

export default async function bench(): Promise<void> {
  let info;
  try {
    info = await initEngine('webgpu', () => {});
  } catch (e) {
    console.log(`no GPU bench here: ${(e as Error).message}`);
    return;
  }
  const batches = listEnv('FDFT_BENCH_BATCHES', '32,128').map(Number);
  const steps = Number(process.env.FDFT_BENCH_STEPS ?? 5);
  const workloads = listEnv('FDFT_BENCH_WORKLOADS', TORCH_WORKLOADS.join(','));
  for (const w of workloads) if (!(TORCH_WORKLOADS as readonly string[]).includes(w)) throw new Error(`FDFT_BENCH_WORKLOADS: no workload '${w}' (have ${TORCH_WORKLOADS.join(', ')})`);
  const chosen = workloads as TorchWorkload[];
  console.log(`fdft: ${info.provider}, ${info.reason}; median of ${steps} runs after 2 (the first compiles the shaders)`);
  const ort = await onnxAvailable();

  process.env.FDFT_BENCH_TORCH_DEVICE = 'cuda';
  const found = await findTorch();
  const torch = 'python' in found && found.probe.device !== 'cpu' ? found : undefined;
  if (!torch) console.log(`PyTorch on CUDA: not found (${'reason' in found ? found.reason : 'torch sees no CUDA device'})`);
  else {
    const mismatches = referenceMismatches(torch.probe);
    console.log(`PyTorch: ${torch.probe.torch} on ${torch.probe.device} (cuDNN autotuning on)${mismatches.length ? `; **the networks differ:** ${mismatches.join('; ')}` : '; the networks: identical to fdft\'s'}`);
  }
  console.log('');

  const ours = new Map<string, { ms: number; firstMs: number } | string>();
  const theirs = new Map<string, number | string>();
  const onnxGpu = new Map<string, Awaited<ReturnType<typeof ortWebGpu>>>();
  const key = (w: TorchWorkload, b: number) => `${w}:${b}`;
  for (const w of chosen) {
    for (const b of batches) {
      process.stderr.write(`[gpu bench] ${w} batch ${b}\n`);
      try {
        ours.set(key(w, b), await webgpuMs(w, b, steps));
      } catch (e) {
        ours.set(key(w, b), `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`);
      }
      if (ort) {
        // fdft's onnx engine reads weights synchronously (the webgpu backend cannot in Node): its networks on the cpu backend.
        await tf.setBackend('cpu');
        try {
          onnxGpu.set(key(w, b), await ortWebGpu(w, b, steps));
        } finally {
          await tf.setBackend('webgpu');
        }
      }
    }
  }
  if (torch) {
    try {
      const report = await runTorch(torch.python, ['--batches', batches.join(','), '--workloads', chosen.join(','), '--steps', String(steps)]);
      for (const w of chosen) for (const b of batches) theirs.set(key(w, b), report.ms[w]?.[String(b)] ?? 'not run');
    } catch (e) {
      for (const w of chosen) for (const b of batches) theirs.set(key(w, b), (e as Error).message);
    }
  }

  const f = (v: number | string | undefined) => (v === undefined ? '—' : typeof v === 'string' ? `failed (${v.replace(/\|/g, '/')})` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
  const ratio = (a: number | undefined, b: number | string | undefined) => (a !== undefined && typeof b === 'number' ? (a / b).toFixed(2) : '—');
  console.log('| workload | batch | fdft webgpu (first run) | PyTorch CUDA here | fdft / PyTorch CUDA | fdft / issue 9\'s CPU table | onnxruntime WebGPU EP | its gradients vs its CPU EP |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of chosen) {
    for (const b of batches) {
      const o = ours.get(key(w, b));
      const ms = typeof o === 'object' ? o.ms : undefined;
      const g = onnxGpu.get(key(w, b));
      const gpuCell = g === undefined ? 'not run' : typeof g === 'string' ? `failed (${g.replace(/\|/g, '/')})` : f(g.ms);
      const agree = g === undefined || typeof g === 'string' ? '—' : `${g.disagreement.toExponential(1)}${g.disagreement > 1e-3 ? ` (**wrong**: ${g.worst})` : ''}`;
      console.log(
        `| ${TITLES[w]} | ${b} | ${typeof o === 'object' ? `${f(o.ms)} (${f(o.firstMs)})` : f(o)} | ${torch ? f(theirs.get(key(w, b))) : '—'} | ${torch ? `**${ratio(ms, theirs.get(key(w, b)))}**` : '—'} | ${ratio(ms, issue9Ms(w, b))} | ${gpuCell} | ${agree} |`,
      );
    }
  }
  console.log('\n"its gradients vs its CPU EP": max |difference| / max |gradient| over the trainable weights (forward: the probabilities), the worst named where above 1e-3.');
  if (chosen.includes('finetune')) await profileStep(batches[0]!);
  console.log(`\nfdft's peak RSS (host memory of this process): ${peakRssMiB().toFixed(0)} MiB`);
}
