/**
 * `fdft pretrain`: train a backbone with its classification top (GAP + Dense(2) softmax) from
 * scratch on the train split — the paper's "pre-trained on each dataset" step and also its
 * "baseline" rows of Table 5, whose test metrics are written beside the checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { TrainConfig } from './config.ts';
import { trainLoop } from './loop.ts';
import { loadRunData } from './runData.ts';
import { makeEpochBatches, stepsPerEpochFor } from './epochBatches.ts';
import { scoreImageSet } from './scoring.ts';
import { startRun, finishRun, evaluateOnTest, type RunOptions, type RunResult } from './runLifecycle.ts';
import { loadBestWeights } from './checkpoint.ts';
import { openRunGradients, type ParallelRunOptions } from './parallel/runGradients.ts';

export async function runPretrain(config: TrainConfig, opts: RunOptions & ParallelRunOptions): Promise<RunResult> {
  const { createBackbone } = await import('../models/backbones/index.ts');
  const run = await startRun('pretrain', config, opts);
  try {
    const data = await loadRunData(config, ['train', 'val', 'test'], {
      cacheDir: opts.cacheDir,
      log: opts.reporter.log.bind(opts.reporter),
      summaryPath: join(run.dir, 'dataset-summary.json'),
    });
    const model = createBackbone(config.backbone as never, { inputSize: config.inputSize, includeTop: true, seed: config.seed });
    const predict = (xs: tf.Tensor4D) => model.predict(xs) as tf.Tensor2D;
    const train = data.sets.train!;
    const stepsPerEpoch = stepsPerEpochFor(train, config);
    // --workers > 1: gradients of batch slices on worker threads (src/train/parallel/).
    const parallel = await openRunGradients({
      runDir: run.dir, kind: 'pretrain', artefact: model, trainModel: model, l2: config.l2, batch: config.batch,
      workers: opts.workers, log: opts.reporter.log.bind(opts.reporter),
    });
    const result = await trainLoop({
      config,
      runDir: run.dir,
      trainModel: model,
      artefact: model,
      inputsFor: (xs) => xs,
      batches: makeEpochBatches(train, config),
      stepsPerEpoch,
      validation: { score: () => scoreImageSet(predict, data.sets.val!, config.batch) },
      reporter: opts.reporter,
      tensorboard: run.tensorboard,
      interrupted: opts.interrupt?.requested,
      resume: Boolean(opts.resumeDir),
      gradients: parallel.gradients,
    }).finally(() => parallel.close());
    if (result.interrupted) return await finishRun(run, result, undefined, opts);
    await loadBestWeights(run.dir, model); // early stopping restores the best epoch
    const test = await evaluateOnTest(run.dir, predict, data.sets.test!, config, `Baseline ${config.backbone} on ${config.datasetName} (test)`);
    const out = await finishRun(run, result, test, opts);
    model.dispose();
    return out;
  } catch (e) {
    await run.fail(e as Error);
    throw e;
  }
}
