/**
 * FDFtNet speed: ms per training step with the frozen backbone (backbone.predict + one SGD-momentum
 * step of the heads, as `fdft train` does) and inference images/s of the whole model, for each
 * backbone, batch 32 and 128, M=3 N=4, with and without FTT.
 *
 * Reference (issue 9's table, bench/issue9Table.ts): the identical network in PyTorch 1.13 CPU on the issue author's 2-core machine,
 * Xception M=3 N=4 with FTT: batch 32 615 ms/step, 284 ms forward; batch 128 3.08 s and 1.74 s.
 * "vs PyTorch" = ours / reference (below 1 = faster). The wasm engine runs on ONE thread, so its CPU
 * time is what the wall time would be on an otherwise idle machine; both are printed because the
 * 2-core development machine is shared.
 *
 * Env: FDFT_BENCH_BACKBONES=xception,squeezenet  FDFT_BENCH_BATCHES=32  FDFT_BENCH_STEPS=3
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index.ts';
import { BACKBONE_NAMES, type BackboneName, createFdftNet, paramCounts, regularizationLoss } from '../src/models/index.ts';
import os from 'node:os';
import { peakRssMiB } from './peakRss.ts';
import { issue9Ms } from './issue9Table.ts';
import { fixedBatch } from './fixedBatch.ts';

function listEnv(name: string, fallback: string[]): string[] {
  const v = process.env[name];
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : fallback;
}

/** Mean wall and CPU (user + system) ms per run, after one warm-up run. */
async function timeIt(runs: number, fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up: kernel set-up, memory growth
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / runs, cpu: (c.user + c.system) / 1000 / runs };
}

interface Row {
  backbone: string;
  ftt: boolean;
  batch: number;
  trainable: number;
  stepMs: number;
  stepCpuMs: number;
  forwardMs: number;
  forwardCpuMs: number;
  error?: string;
}

export default async function bench(): Promise<void> {
  const engine = await initEngine(undefined, () => {});
  const backbones = listEnv('FDFT_BENCH_BACKBONES', [...BACKBONE_NAMES]) as BackboneName[];
  const batches = listEnv('FDFT_BENCH_BATCHES', ['32', '128']).map(Number);
  const steps = Number(process.env.FDFT_BENCH_STEPS ?? 2);
  const load = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');
  console.log(`engine: ${engine.backend} (${engine.provider}); ${steps} timed runs after 1 warm-up (1 at batch ≥ 128); M=3, N=4, 64x64x3 input`);
  console.log('optimizer: SGD momentum 0.9 on the heads, categorical cross-entropy + L2; a training step includes backbone.predict');
  console.log(`load average at start: ${load()} (on ${os.cpus().length} cores; wall times grow with other processes, CPU times much less)\n`);

  const rows: Row[] = [];
  for (const backbone of backbones) {
    for (const ftt of [true, false]) {
      const net = createFdftNet({ backbone, M: 3, N: 4, useFtt: ftt, seed: 1 });
      const trainable = paramCounts(net.head).trainable;
      const optimizer = tf.train.momentum(0.01, 0.9);
      const vars = net.head.trainableWeights.map((w) => w.read() as tf.Variable);
      for (const batch of batches) {
        const { xs: x, ys: y } = fixedBatch(batch);
        const step = async () => {
          const fm = net.backbone.predict(x) as tf.Tensor;
          const cost = optimizer.minimize(
            () =>
              tf.add(
                tf.mean(tf.metrics.categoricalCrossentropy(y, net.head.apply([x, fm], { training: true }) as tf.Tensor)),
                regularizationLoss(net.head),
              ) as tf.Scalar,
            true,
            vars,
          );
          await cost!.data();
          tf.dispose([fm, cost!]);
        };
        const forward = async () => {
          const p = net.model.predict(x) as tf.Tensor;
          await p.data();
          p.dispose();
        };
        const row: Row = { backbone, ftt, batch, trainable, stepMs: NaN, stepCpuMs: NaN, forwardMs: NaN, forwardCpuMs: NaN };
        const runs = batch >= 128 ? Math.min(steps, 1) : steps;
        try {
          const st = await timeIt(runs, step);
          const fw = await timeIt(runs, forward);
          Object.assign(row, { stepMs: st.wall, stepCpuMs: st.cpu, forwardMs: fw.wall, forwardCpuMs: fw.cpu });
        } catch (e) {
          row.error = (e as Error).message.split('\n')[0];
        }
        rows.push(row);
        process.stderr.write(
          `[bench models] ${backbone} ftt=${ftt} batch=${batch}: ${row.error ?? `${row.stepMs.toFixed(0)} ms/step (cpu ${row.stepCpuMs.toFixed(0)}), ${row.forwardMs.toFixed(0)} ms forward (cpu ${row.forwardCpuMs.toFixed(0)})`} — load ${load()}\n`,
        );
        tf.dispose([x, y]);
      }
      optimizer.dispose();
      net.model.dispose();
    }
  }

  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—');
  const ratio = (ours: number, theirs?: number) => (theirs && Number.isFinite(ours) ? `${(ours / theirs).toFixed(2)}×` : '');
  console.log('| backbone | FTT | batch | trainable params | ms / train step (CPU ms) | ms / forward (CPU ms) | images/s inference | step vs PyTorch: wall (CPU) | forward vs PyTorch: wall (CPU) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ref = r.backbone === 'xception' && r.ftt ? { step: issue9Ms('finetune', r.batch), forward: issue9Ms('forward', r.batch) } : undefined;
    const ips = Number.isFinite(r.forwardMs) ? ((1000 * r.batch) / r.forwardMs).toFixed(1) : '—';
    const stepCell = r.error ? `error: ${r.error}` : `${fmt(r.stepMs)} (${fmt(r.stepCpuMs)})`;
    const stepRatio = ref ? `${ratio(r.stepMs, ref.step)} (${ratio(r.stepCpuMs, ref.step)})` : '';
    const fwdRatio = ref ? `${ratio(r.forwardMs, ref.forward)} (${ratio(r.forwardCpuMs, ref.forward)})` : '';
    console.log(
      `| ${r.backbone} | ${r.ftt ? 'yes' : 'no'} | ${r.batch} | ${r.trainable.toLocaleString('en-US')} | ${stepCell} | ${fmt(r.forwardMs)} (${fmt(r.forwardCpuMs)}) | ${ips} | ${stepRatio} | ${fwdRatio} |`,
    );
  }
  const reference = [32, 128].map((b) => `batch ${b} ${issue9Ms('finetune', b)!.toLocaleString('en-US')} ms/step, ${issue9Ms('forward', b)!.toLocaleString('en-US')} ms forward`).join('; ');
  console.log(`\nReference (issue 9: PyTorch 1.13 CPU on the issue author's 2-core machine, Xception + FTT): ${reference}. \`npm run bench -- reference\` measures PyTorch here, side by side.`);
  console.log(`load average at end: ${load()}`);
  console.log(`peak RSS ${peakRssMiB().toFixed(0)} MiB; tf.memory(): ${tf.memory().numTensors} tensors, ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB`);
}
