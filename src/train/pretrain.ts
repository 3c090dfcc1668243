/**
 * `fdft pretrain`: train a backbone with its classification top (GAP + Dense(2) softmax) from
 * scratch on the train split — the paper's "pre-trained on each dataset" step and also its
 * "baseline" rows of Table 5, whose test metrics are written beside the checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import type { ImageSet } from '../data/types.ts';
import { scoreImageSet } from './scoring.ts';
import { trainLoop } from './loop.ts';
import { dataLoopOptions, openRunTrainingData, type TrainingData } from './runData.ts';
import { startRun, finishRun, evaluateOnTest, type RunOptions, type RunResult } from './runLifecycle.ts';
import { loadBestWeights } from './checkpoint.ts';
import { DEFAULT_BN_MOMENTUM, setBatchNormMomentum } from '../models/batchNormMomentum.ts';
import { openRunGradients, type ParallelRunOptions } from './parallel/runGradients.ts';
import { type SnapshotPredictor, snapshotPredictor } from './snapshotPredictor.ts';

export async function runPretrain(config: TrainConfig, opts: RunOptions & ParallelRunOptions): Promise<RunResult> {
  const { createBackbone } = await import('../models/backbones/index.ts');
  const run = await startRun('pretrain', config, opts);
  let opened: TrainingData | undefined;
  let predictor: SnapshotPredictor | undefined;
  try {
    // Decoding streams in the background while training runs (issue 4); val/test are awaited when first scored.
    const data = (opened = await openRunTrainingData(run.dir, config, 'train', opts));
    const model = createBackbone(config.backbone as never, { inputSize: config.inputSize, includeTop: true, seed: config.seed });
    setBatchNormMomentum(model, config.bnMomentum ?? DEFAULT_BN_MOMENTUM);
    // Validation and test scoring on onnxruntime (--engine), the model re-exported with the weights of the moment.
    const scorer = (predictor = snapshotPredictor(model, opts.engine ?? 'auto'));
    const predict = scorer.predict;
    // The step on onnxruntime (--train-engine, src/train/onnx/), or on tfjs with --workers > 1
    // gradients of batch slices on worker threads (src/train/parallel/).
    const inputsFor = (xs: tf.Tensor4D) => xs;
    const parallel = await openRunGradients({
      runDir: run.dir, kind: 'pretrain', artefact: model, trainModel: model, l2: config.l2, batch: Math.min(config.batch, data.train.length),
      workers: opts.workers, trainEngine: opts.trainEngine, inputsFor, log: opts.reporter.log.bind(opts.reporter),
    });
    const loopData = await dataLoopOptions(data, config, scorer.fresh((val: ImageSet) => scoreImageSet(predict, val, config.batch)));
    const result = await trainLoop({
      config,
      runDir: run.dir,
      trainModel: model,
      artefact: model,
      inputsFor,
      ...loopData,
      reporter: opts.reporter,
      tensorboard: run.tensorboard,
      interrupted: opts.interrupt?.requested,
      resume: Boolean(opts.resumeDir),
      gradients: parallel.gradients,
      hostStep: parallel.hostStep,
      batchStatistics: parallel.batchStatistics,
    }).finally(() => parallel.close());
    if (result.interrupted) return await finishRun(run, result, undefined, opts);
    await data.complete(); // dataset summary with the decoded counts, beside the run
    await loadBestWeights(run.dir, model); // early stopping restores the best epoch
    await scorer.refresh();
    opts.reporter.log(`scoring: ${scorer.describe()}`);
    const test = await evaluateOnTest(run.dir, predict, await data.set('test'), config, `Baseline ${config.backbone} on ${config.datasetName} (test)`);
    const out = await finishRun(run, result, test, opts);
    model.dispose();
    return out;
  } catch (e) {
    await run.fail(e as Error);
    throw e;
  } finally {
    await opened?.close(); // decoding still running after an interrupt or a failure
    await predictor?.dispose();
  }
}
