/**
 * Issue 9's table measured side by side: fdft's paths and the identical networks in PyTorch
 * (bench/reference/fdftnet_torch.py) on this machine, in one run, in alternating rounds (the
 * development VM's speed drifts by up to 2x within minutes, so each round's pair is compared, and
 * the ratio is given per round).
 *
 * Rows (issue 9): the FDFtNet training step (Xception-64 frozen, M=3, N=4), the FDFtNet forward
 * pass (inference), the step without the FTT, and the Xception pretraining step (every weight
 * trained); SGD momentum, L2 1e-5 on the heads' kernels (none in pretraining, as `fdft pretrain`),
 * random weights and a fixed random batch.
 * fdft runs them through the commands' own code where onnxruntime loads: the step that
 * `fdft train` / `fdft pretrain` open (openRunGradients with the onnx engine: the training graph
 * with the update on host arrays, the fine-tuning step's graph holding the frozen backbone), and
 * `fdft predict`'s runner (createBackboneRunner) for the forward pass.
 * Each figure is the median of FDFT_BENCH_STEPS timed runs after one warm-up run.
 *
 * PyTorch: the first of $FDFT_BENCH_PYTHON, python3, /usr/bin/python3 that imports torch (on
 * Debian/Ubuntu: `apt install python3-torch libopenblas0-pthread`), with every core. Where none
 * does, only fdft's figures are measured and the ratios are to issue 9's fixed table. The script
 * prints each network's parameter counts; they are checked against fdft's here, so that a
 * "ratio" never compares different networks. fdft itself never needs Python: this bench is the
 * one place that runs it.
 *
 * Env: FDFT_BENCH_BATCHES=32,128  FDFT_BENCH_ROUNDS=2  FDFT_BENCH_STEPS=3
 *      FDFT_BENCH_WORKLOADS=finetune,forward,noftt,pretrain  FDFT_BENCH_PYTHON=/path/to/python3
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { initEngine } from '../src/engine/index.ts';
import { onnxAvailable, onnxUnavailableReason } from '../src/engine/onnxBackbone.ts';
import { createBackboneRunner } from '../src/engine/onnxBackboneRunner.ts';
import { createBackbone } from '../src/models/backbones/index.ts';
import { createFdftNet } from '../src/models/fdftnet.ts';
import { type OpenRunGradientsOptions, openRunGradients } from '../src/train/parallel/runGradients.ts';
import { createRunDir } from '../src/train/runDir.ts';
import { peakRssMiB } from './peakRss.ts';
import { fixedBatch } from './fixedBatch.ts';
import { issue9Ms } from './issue9Table.ts';
import { listEnv } from './listEnv.ts';
import { TORCH_WORKLOADS, TORCH_WORKLOAD_TITLES as TITLES, type TorchWorkload, findTorch, referenceMismatches, runTorch } from './pytorchReference.ts';
import { median } from './median.ts';


async function medianMs(steps: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up: session memory, first-run allocations
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** fdft's figure for one workload and batch, on the path its commands take. */
async function fdftMs(workload: TorchWorkload, n: number, steps: number): Promise<number> {
  const threads = os.availableParallelism();
  const batch = fixedBatch(n);
  try {
    if (workload === 'forward') {
      const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1 });
      const runner = await createBackboneRunner(net.model, { engine: 'onnx', threads }); // as `fdft predict`
      try {
        return await medianMs(steps, async () => {
          const probs = await runner.predict(batch.xs);
          await probs.data();
          probs.dispose();
        });
      } finally {
        await runner.dispose();
        net.model.dispose();
      }
    }
    // The step as `fdft train` / `fdft pretrain` open it (openRunGradients with the onnx engine: the
    // fine-tuning step's graph holds the frozen backbone, pretraining's the whole classifier).
    let model: tf.LayersModel;
    let open: Omit<OpenRunGradientsOptions, 'runDir' | 'batch' | 'trainEngine' | 'log'>;
    if (workload === 'pretrain') {
      model = createBackbone('xception', { inputSize: 64, includeTop: true, seed: 1 });
      // No L2: `fdft pretrain`'s default (the heads' fine-tuning has 1e-5).
      open = { kind: 'pretrain', artefact: model, trainModel: model, inputsFor: (xs) => xs, l2: 0 };
    } else {
      const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1, useFtt: workload === 'finetune' });
      model = net.model;
      open = {
        kind: 'finetune',
        artefact: net.model,
        trainModel: net.head,
        inputsFor: (xs) => [xs, net.backbone.predict(xs) as tf.Tensor],
        onnxStepModel: { model: net.model, inputsFor: (xs) => xs },
        l2: 1e-5,
      };
    }
    // openRunGradients records its engine in the run's run.json: a run directory of its own, in a scratch root.
    const root = await mkdtemp(join(os.tmpdir(), 'fdft-bench-reference-'));
    const optimizer = tf.train.momentum(0.01, 0.9);
    try {
      const runDir = await createRunDir({ root, backbone: 'xception', dataset: 'bench', config: { workload, batch: n }, kind: open.kind === 'pretrain' ? 'pretrain' : 'train' });
      const step = await openRunGradients({ ...open, runDir, batch: n, trainEngine: 'onnx', log: () => {} });
      try {
        const hostStep = step.hostStep!; // the onnx engine's (trainEngine 'onnx' throws rather than fall back)
        await hostStep.pull(optimizer);
        return await medianMs(steps, async () => {
          await hostStep.step(batch, 'bench', 0.01);
        });
      } finally {
        await step.close();
      }
    } finally {
      optimizer.dispose();
      model.dispose();
      await rm(root, { recursive: true, force: true });
    }
  } finally {
    tf.dispose([batch.xs, batch.ys]);
  }
}

export default async function bench(): Promise<void> {
  await initEngine('wasm', () => {});
  const batches = listEnv('FDFT_BENCH_BATCHES', '32,128').map(Number);
  const rounds = Number(process.env.FDFT_BENCH_ROUNDS ?? 2);
  const steps = Number(process.env.FDFT_BENCH_STEPS ?? 3);
  const workloads = listEnv('FDFT_BENCH_WORKLOADS', TORCH_WORKLOADS.join(','));
  for (const w of workloads) if (!(TORCH_WORKLOADS as readonly string[]).includes(w)) throw new Error(`FDFT_BENCH_WORKLOADS: no workload '${w}' (have ${TORCH_WORKLOADS.join(', ')})`);
  const chosen = workloads as TorchWorkload[];
  if (!(await onnxAvailable())) {
    console.log(`onnxruntime-node does not load here (${await onnxUnavailableReason()}): fdft would train on tfjs; see \`npm run bench -- parallel\`.`);
    return;
  }
  const load = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');
  const found = await findTorch();
  const torch = 'python' in found ? found : undefined;
  console.log(`fdft: onnxruntime-node, ${os.availableParallelism()} threads (the paths of fdft train / pretrain / predict); median of ${steps} runs after 1 warm-up; ${rounds} round(s)`);
  if ('reason' in found) {
    console.log(`PyTorch: not found (${found.reason}); ratios are to issue 9's fixed table. On Debian/Ubuntu: apt install python3-torch libopenblas0-pthread`);
  } else {
    const p = found.probe;
    console.log(`PyTorch: ${p.torch} (${found.python}), ${p.threads} threads, oneDNN ${p.onednn ? 'on' : 'off'}, CPU capability ${p.capability ?? '?'}`);
    const mismatches = referenceMismatches(p);
    if (mismatches.length) console.log(`**The networks differ — these are NOT the identical networks:** ${mismatches.join('; ')}`);
    else console.log("the networks: identical in fdft and PyTorch (trainable and all weights of FDFtNet with and without the FTT and of the Xception classifier; the feature map's shape; the attentions' sizes)");
  }
  console.log(`load average at start: ${load()}\n`);

  const key = (w: TorchWorkload, b: number) => `${w}:${b}`;
  const ours = new Map<string, Array<number | string>>();
  const theirs = new Map<string, Array<number | string>>();
  const push = (m: Map<string, Array<number | string>>, k: string, v: number | string) => m.set(k, [...(m.get(k) ?? []), v]);
  for (let r = 0; r < rounds; r++) {
    // Alternate who goes first, so that a drift of the machine's speed does not favour one side.
    const sides = r % 2 === 0 ? (['fdft', 'torch'] as const) : (['torch', 'fdft'] as const);
    for (const side of sides) {
      process.stderr.write(`[reference bench] round ${r + 1}/${rounds}: ${side} (load ${load()})\n`);
      if (side === 'fdft') {
        for (const w of chosen) {
          for (const b of batches) {
            try {
              push(ours, key(w, b), await fdftMs(w, b, steps));
            } catch (e) {
              push(ours, key(w, b), `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`);
            }
          }
        }
      } else if (torch) {
        try {
          const report = await runTorch(torch.python, ['--batches', batches.join(','), '--workloads', chosen.join(','), '--steps', String(steps)]);
          for (const w of chosen) for (const b of batches) push(theirs, key(w, b), report.ms[w]?.[String(b)] ?? 'not run');
        } catch (e) {
          for (const w of chosen) for (const b of batches) push(theirs, key(w, b), (e as Error).message);
        }
      }
    }
  }

  const f = (v: number | string | undefined) => (v === undefined ? '—' : typeof v === 'string' ? `failed (${v.replace(/\|/g, '/')})` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
  const ratio = (a: number | string | undefined, b: number | string | undefined) => (typeof a === 'number' && typeof b === 'number' ? (a / b).toFixed(2) : '—');
  const range = (xs: string[]) => {
    const v = xs.map(Number).filter((x) => Number.isFinite(x));
    return v.length ? (Math.min(...v) === Math.max(...v) ? v[0]!.toFixed(2) : `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`) : '—';
  };
  console.log(`| workload | batch | fdft (per round) | PyTorch here (per round) | fdft / PyTorch here | issue 9's PyTorch | fdft / issue 9's |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const w of chosen) {
    for (const b of batches) {
      const o = ours.get(key(w, b)) ?? [];
      const t = theirs.get(key(w, b)) ?? [];
      const here = o.map((v, i) => ratio(v, t[i]));
      const issue = issue9Ms(w, b);
      console.log(
        `| ${TITLES[w]} | ${b} | ${o.map(f).join(' / ')} | ${torch ? t.map(f).join(' / ') : 'not measured'} | ${torch ? `**${range(here)}**` : '—'} | ${issue ? f(issue) : '—'} | ${issue ? range(o.map((v) => ratio(v, issue))) : '—'} |`,
      );
    }
  }
  console.log(`\nfdft's peak RSS (this process; PyTorch runs in its own): ${peakRssMiB().toFixed(0)} MiB; load average at end: ${load()}`);
}
