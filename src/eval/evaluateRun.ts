/**
 * `fdft eval` and `fdft predict` on a finished run: load its model (best weights), decode images
 * exactly as training did (the run's input size and fit), score them.
 */
import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { BackboneEngine, BackboneRunner } from '../engine/onnxBackboneRunner.ts';
import type { TrainConfig } from '../train/config.ts';
import type { EvalMetrics } from './metrics.ts';
import type { SkippedFile, SplitName } from '../data/types.ts';

export class EvaluateError extends Error {
  override name = 'EvaluateError';
}

export interface LoadedRun {
  dir: string;
  config: TrainConfig;
  model: tf.LayersModel;
}

/** Loads a run's model: best weights if early stopping kept some, else the last checkpoint. */
export async function loadRun(runDir: string): Promise<LoadedRun> {
  const { readRunInfo } = await import('../train/runDir.ts');
  const { loadModel } = await import('../io/fileSystem.ts');
  const { readableDir } = await import('../util/atomic.ts');
  const info = await readRunInfo(runDir);
  const dir = (await readableDir(join(runDir, 'best'))) ?? (await readableDir(join(runDir, 'checkpoint')));
  if (!dir) throw new EvaluateError(`${runDir} holds no trained model (no best/ or checkpoint/ directory)`);
  return { dir: runDir, config: info.config as TrainConfig, model: await loadModel(dir) };
}

export interface EvaluateOptions {
  data?: string;
  split: SplitName | 'all';
  out?: string;
  batch?: number;
  cacheDir?: string;
  log?: (m: string) => void;
  /** onnxruntime (auto, when it loads) or tfjs for the forward pass. */
  engine?: BackboneEngine;
}

export async function evaluateRun(runDir: string, opts: EvaluateOptions): Promise<{ metrics: EvalMetrics; out: string }> {
  const { loadRunData } = await import('../train/runData.ts');
  const { scoreImageSet } = await import('../train/scoring.ts');
  const { evaluateScores } = await import('./metrics.ts');
  const { writeEvalReport } = await import('./report.ts');
  const { datasetNameOf } = await import('../cli/trainOptions.ts');
  const { engineInfo } = await import('../engine/index.ts');
  const run = await loadRun(runDir);
  const data = opts.data ? resolve(opts.data) : run.config.data;
  // The run's own seed and group rule: the same split as in training, so 'test' is really held out.
  const splits: SplitName[] = opts.split === 'all' ? ['train', 'val', 'test', 'finetune'] : [opts.split];
  const loaded = await loadRunData({ ...run.config, data }, splits, { cacheDir: opts.cacheDir, log: opts.log });
  const sets = splits.map((s) => loaded.sets[s]!);
  const set =
    sets.length === 1
      ? sets[0]!
      : {
          size: sets[0]!.size,
          images: concatBytes(sets.map((s) => s.images)),
          labels: concatBytes(sets.map((s) => s.labels)),
          samples: sets.flatMap((s) => s.samples),
          skipped: sets.flatMap((s) => s.skipped),
        };
  const { createBackboneRunner } = await import('../engine/onnxBackboneRunner.ts');
  const runner = await createBackboneRunner(run.model, { engine: opts.engine ?? 'auto' });
  opts.log?.(`inference: ${runner.engine} (${runner.reason})`);
  const scored = await scoreImageSet(async (xs) => (await runner.predict(xs)) as tf.Tensor2D, set, opts.batch ?? 128).finally(() => runner.dispose());
  const metrics = evaluateScores(scored.scores, scored.labels);
  const dsName = datasetNameOf(data === 'synthetic' ? undefined : data);
  const out = opts.out ?? join(runDir, `eval-${opts.split}${dsName === run.config.datasetName ? '' : '-' + dsName}`);
  await writeEvalReport(out, {
    metrics,
    scores: scored.scores,
    labels: scored.labels,
    paths: set.samples.map((s) => s.path),
    title: `${run.config.command === 'train' ? 'FDFtNet' : 'Baseline'} ${run.config.backbone} on ${dsName} (${opts.split})`,
    extra: { run: runDir, split: opts.split, dataset: data, ...inferenceEngineExtra(runner, opts.engine ?? 'auto', engineInfo()?.backend), skipped: set.skipped.length },
  });
  run.model.dispose();
  return { metrics, out };
}

/**
 * The engine that actually ran the model, for metrics.json and summary.md: with onnxruntime the
 * tfjs backend only decoded and batched, so it is recorded apart instead of as "the backend".
 */
export function inferenceEngineExtra(
  runner: Pick<BackboneRunner, 'engine' | 'reason'>,
  requested: BackboneEngine,
  tfjsBackend: string | undefined,
): { engine: string; engineReason: string; tfjsBackend: string | undefined } {
  const engine =
    runner.engine === 'onnx' ? `onnx (onnxruntime-node${requested === 'onnx-webgpu' ? ', WebGPU execution provider' : ''})` : `tfjs (${tfjsBackend ?? 'unknown'} backend)`;
  return { engine, engineReason: runner.reason, tfjsBackend };
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface Prediction {
  path: string;
  /** P(fake); undefined when the file could not be used. */
  fake?: number;
  label?: 'real' | 'fake';
  error?: string;
}

/** Fake probability per image file (directories are expanded recursively); bad files reported, not fatal. */
export async function predictFiles(runDir: string, inputs: string[], opts: { batch?: number; engine?: BackboneEngine } = {}): Promise<Prediction[]> {
  const { listImageFiles } = await import('../data/walk.ts');
  const { decodeImage } = await import('../data/decode.ts');
  const run = await loadRun(runDir);
  const { createBackboneRunner } = await import('../engine/onnxBackboneRunner.ts');
  const runner = await createBackboneRunner(run.model, { engine: opts.engine ?? 'auto' });
  try {
    const size = run.config.inputSize;
    const results: Prediction[] = [];
    const files: string[] = [];
    for (const input of inputs) {
      let isDir = false;
      try {
        isDir = (await stat(input)).isDirectory();
      } catch (e) {
        results.push({ path: input, error: `missing: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        continue;
      }
      if (isDir) {
        const listing = await listImageFiles(input);
        files.push(...listing.files);
        results.push(...listing.skipped.map((s: SkippedFile) => ({ path: s.path, error: s.reason })));
      } else files.push(resolve(input));
    }
    const batch = opts.batch ?? 64;
    for (let i = 0; i < files.length; i += batch) {
      const chunk = files.slice(i, i + batch);
      const decoded: { path: string; px: Uint8Array }[] = [];
      for (const path of chunk) {
        try {
          decoded.push({ path, px: await decodeImage(path, { size, fit: run.config.fit }) });
        } catch (e) {
          const reason = (e as { reason?: string }).reason ?? 'decode-error';
          results.push({ path, error: `${reason}: ${(e as Error).message}` });
        }
      }
      if (!decoded.length) continue;
      const px = size * size * 3;
      const f = new Float32Array(decoded.length * px);
      decoded.forEach((d, k) => {
        for (let j = 0; j < px; j++) f[k * px + j] = d.px[j]! / 255;
      });
      const xs = tf.tensor4d(f, [decoded.length, size, size, 3]);
      const probs = await runner.predict(xs);
      const p = (await probs.data()) as Float32Array;
      tf.dispose([xs, probs]);
      decoded.forEach((d, k) => {
        const fake = p[2 * k + 1]!;
        results.push({ path: d.path, fake, label: fake >= 0.5 ? 'fake' : 'real' });
      });
    }
    return results;
  } finally {
    // Released on errors too (a library caller's process goes on).
    await runner.dispose();
    run.model.dispose();
  }
}
