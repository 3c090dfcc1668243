/**
 * The PyTorch side of `npm run bench -- reference` (bench/reference/fdftnet_torch.py): finding an
 * interpreter that imports torch, running the script, and checking that its networks are fdft's
 * (parameter counts, feature-map shape, attention sizes) before any ratio is printed.
 */
import type * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBackbone } from '../src/models/backbones/index.ts';
import { type ParamCounts, createFdftNet, paramCounts } from '../src/models/fdftnet.ts';

export const TORCH_SCRIPT = fileURLToPath(new URL('./reference/fdftnet_torch.py', import.meta.url));

export const TORCH_WORKLOADS = ['finetune', 'forward', 'noftt', 'pretrain'] as const;
export type TorchWorkload = (typeof TORCH_WORKLOADS)[number];

/** The rows of issue 9's table. */
export const TORCH_WORKLOAD_TITLES: Record<TorchWorkload, string> = {
  finetune: 'FDFtNet training step',
  forward: 'FDFtNet forward',
  noftt: 'FDFtNet without FTT, training step',
  pretrain: 'Xception pre-training step (all weights trainable)',
};

type Counts = Pick<ParamCounts, 'trainable' | 'total'>;

/** What the script prints (one JSON object). */
export interface TorchReport {
  torch: string;
  threads: number;
  onednn: boolean;
  /** 'cpu', or the CUDA device's name. */
  device: string;
  capability: string | null;
  /** Per network: FDFtNet (its backbone frozen), FDFtNet without the FTT, the Xception classifier. */
  counts: { finetune: Counts; noftt: Counts; pretrain: Counts };
  shapes: { featureMap: number[]; attentionPositions: number[] };
  /** ms by workload and batch, or the error that stopped that run. */
  ms: Partial<Record<TorchWorkload, Record<string, number | string>>>;
}

/** Runs the script; resolves with its JSON, rejects with its stderr's last lines. */
export function runTorch(python: string, args: string[]): Promise<TorchReport> {
  // FDFT_BENCH_TORCH_DEVICE=cuda times PyTorch on the GPU (beside fdft's GPU paths); default cpu, issue 9's.
  const device = process.env.FDFT_BENCH_TORCH_DEVICE ?? 'cpu';
  return new Promise((resolve, reject) => {
    const child = spawn(python, [TORCH_SCRIPT, ...args, '--device', device], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(err.trim().split('\n').slice(-3).join(' / ') || `exit ${code}`));
      try {
        resolve(JSON.parse(out) as TorchReport);
      } catch {
        reject(new Error(`unreadable output: ${out.slice(0, 200)}`));
      }
    });
  });
}

/** The first of $FDFT_BENCH_PYTHON, python3, /usr/bin/python3 that imports torch, with its probe; or why none. */
export async function findTorch(): Promise<{ python: string; probe: TorchReport } | { reason: string }> {
  const candidates = [process.env.FDFT_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  const failures: string[] = [];
  for (const python of [...new Set(candidates)]) {
    try {
      return { python, probe: await runTorch(python, ['--probe']) };
    } catch (e) {
      failures.push(`${python}: ${(e as Error).message}`);
    }
  }
  return { reason: failures.join('; ') };
}

/** Where the script's networks differ from fdft's, as text; empty = the same networks. */
export function referenceMismatches(torch: TorchReport): string[] {
  const out: string[] = [];
  const check = (what: string, model: tf.LayersModel, theirs: Counts) => {
    const ours = paramCounts(model);
    if (ours.trainable !== theirs.trainable || ours.total !== theirs.total) {
      out.push(`${what}: fdft ${ours.trainable} trainable / ${ours.total} weights, PyTorch ${theirs.trainable} / ${theirs.total}`);
    }
  };
  for (const useFtt of [true, false]) {
    const net = createFdftNet({ backbone: 'xception', M: 3, N: 4, inputSize: 64, seed: 1, useFtt });
    check(`FDFtNet${useFtt ? '' : ' without FTT'}`, net.model, torch.counts[useFtt ? 'finetune' : 'noftt']);
    if (useFtt) {
      const [, h, w, c] = net.backbone.outputs[0]!.shape as number[];
      const ours = [c!, h!, w!];
      if (ours.join() !== torch.shapes.featureMap.join()) out.push(`feature map: fdft [${ours}], PyTorch [${torch.shapes.featureMap}]`);
      const positions = [1, 2, 3].map((i) => {
        const [, ah, aw] = net.head.getLayer(`ftt_stage${i}_attention`).outputShape as number[];
        return ah! * aw!;
      });
      if (positions.join() !== torch.shapes.attentionPositions.join()) out.push(`attention positions: fdft [${positions}], PyTorch [${torch.shapes.attentionPositions}]`);
    }
    net.model.dispose();
  }
  const xception = createBackbone('xception', { inputSize: 64, includeTop: true, seed: 1 });
  check('Xception classifier', xception, torch.counts.pretrain);
  xception.dispose();
  return out;
}
