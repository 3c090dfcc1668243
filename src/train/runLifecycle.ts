/**
 * What every training run does around its loop: create (or reopen, for --resume) its run
 * directory with the resolved config, open TensorBoard, record the engine, and at the end mark the
 * run finished / interrupted / failed and write its test evaluation.
 */
import * as tf from '@tensorflow/tfjs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrainConfig } from './config.ts';
import type { TrainLoopResult } from './loop.ts';
import type { ProgressReporter } from './progress.ts';
import type { InterruptHandler } from './signals.ts';
import { TensorBoardWriter } from './tensorboard.ts';
import { createRunDir, readRunInfo, updateRunInfo, markRunFinished } from './runDir.ts';
import { scoreImageSet, type PredictFn } from './scoring.ts';
import type { ImageSet } from '../data/types.ts';
import type { EvalMetrics } from '../eval/metrics.ts';
import { engineInfo } from '../engine/index.ts';
import { canonicalJson } from './runDir.ts';
import { cpuInfo } from '../util/cpuInfo.ts';
import { DatasetError } from '../data/errors.ts';

export class RunError extends Error {
  override name = 'RunError';
}

export interface RunOptions {
  /** Parent directory of run directories. */
  checkpointsRoot: string;
  reporter: ProgressReporter;
  interrupt?: InterruptHandler;
  /** Continue this run directory (its run.json config must match the requested one). */
  resumeDir?: string;
  cacheDir?: string;
  tensorboard?: boolean;
  /** Engine of the frozen backbone's forward pass: onnxruntime when available (auto), or tfjs. */
  engine?: 'auto' | 'onnx' | 'tfjs';
  /**
   * Extra run.json fields, written when the run is created or resumed: e.g. the fine-tune config of
   * the `fdft train` that started a pretrain, so that `fdft train --resume <pretrain>` can go on.
   */
  runInfo?: Record<string, unknown>;
}

export interface RunResult {
  runDir: string;
  status: 'finished' | 'interrupted';
  test?: EvalMetrics;
  loop: TrainLoopResult;
}

export interface OpenRun {
  dir: string;
  tensorboard?: TensorBoardWriter;
  fail(e: Error): Promise<void>;
}

/** Config fields that may legitimately differ on resume (none of them change the maths). */
function comparable(c: TrainConfig): unknown {
  return JSON.parse(canonicalJson(c));
}

/**
 * A --data folder that is not there fails before any run directory is made or reopened (a new one
 * would be left behind as a failed run, a resumed one marked failed); discovery checks the rest.
 */
export async function assertDataFolder(config: Pick<TrainConfig, 'data'>): Promise<void> {
  if (config.data === 'synthetic') return;
  const path = resolve(config.data);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new DatasetError(`dataset folder ${path} does not exist`);
  if (!st.isDirectory()) throw new DatasetError(`dataset path ${path} is not a folder`);
}

export async function startRun(kind: 'pretrain' | 'train', config: TrainConfig, opts: RunOptions): Promise<OpenRun> {
  await assertDataFolder(config);
  let dir: string;
  if (opts.resumeDir) {
    dir = opts.resumeDir;
    const info = await readRunInfo(dir);
    if (info.kind && info.kind !== kind) throw new RunError(`${dir} is a ${info.kind} run, not a ${kind} run`);
    if (canonicalJson(comparable(info.config as TrainConfig)) !== canonicalJson(comparable(config))) {
      throw new RunError(
        `--resume ${dir}: the requested options differ from the run's own (${join(dir, 'run.json')}); resume with the same options, or omit them (fdft resumes with the stored config)`,
      );
    }
    await updateRunInfo(dir, { ...opts.runInfo, status: 'running' });
  } else {
    dir = await createRunDir({
      root: opts.checkpointsRoot,
      backbone: config.backbone,
      dataset: config.datasetName,
      config,
      kind,
      // The CPU too: onnxruntime's kernels (and so the run's last bits) depend on its vector extensions.
      extra: { ...opts.runInfo, engine: engineInfo() ?? null, tfjs: tf.version.tfjs, node: process.version, cpu: cpuInfo() },
    });
  }
  opts.reporter.log(`run directory: ${dir}`);
  const tensorboard = opts.tensorboard === false ? undefined : new TensorBoardWriter(join(dir, 'tensorboard'));
  return {
    dir,
    tensorboard,
    fail: async (e: Error) => {
      tensorboard?.close();
      try {
        await updateRunInfo(dir, { status: 'failed', error: `${e.name}: ${e.message}` });
      } catch {
        // The original error matters more than a failure to record it.
      }
    },
  };
}

export async function evaluateOnTest(
  runDir: string,
  predict: PredictFn,
  test: ImageSet,
  config: TrainConfig,
  title: string,
): Promise<EvalMetrics> {
  const { evaluateScores } = await import('../eval/metrics.ts');
  const { writeEvalReport } = await import('../eval/report.ts');
  const scored = await scoreImageSet(predict, test, config.batch);
  const metrics = evaluateScores(scored.scores, scored.labels);
  await writeEvalReport(join(runDir, 'eval-test'), {
    metrics,
    scores: scored.scores,
    labels: scored.labels,
    paths: test.samples.map((s) => s.path),
    title,
    extra: { run: runDir, split: 'test', backbone: config.backbone, dataset: config.datasetName, seed: config.seed, backend: engineInfo()?.backend },
  });
  return metrics;
}

export async function finishRun(run: OpenRun, loop: TrainLoopResult, test: EvalMetrics | undefined, opts: RunOptions): Promise<RunResult> {
  run.tensorboard?.close();
  if (loop.interrupted) {
    await updateRunInfo(run.dir, { status: 'interrupted', epochsCompleted: loop.epochsCompleted });
    return { runDir: run.dir, status: 'interrupted', loop };
  }
  await markRunFinished(run.dir, {
    epochsCompleted: loop.epochsCompleted,
    bestEpoch: loop.bestEpoch,
    bestValLoss: loop.bestValLoss,
    stoppedEarly: loop.stoppedEarly,
    test: test ? { accuracy: test.accuracy, auroc: test.auroc, eer: test.eer, averagePrecision: test.averagePrecision } : undefined,
    seconds: loop.history.reduce((s, h) => s + h.seconds, 0),
  });
  opts.reporter.log(`finished: ${run.dir}`);
  return { runDir: run.dir, status: 'finished', test, loop };
}
