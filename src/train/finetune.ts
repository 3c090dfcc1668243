/**
 * `fdft train`: FDFtNet fine-tuning (paper §3–4). The pretrained backbone is frozen and run in
 * inference mode outside the gradient tape; only the heads — FTT on the image, MBblockV3 on the
 * backbone's feature map, the classifier — are trained, on the fine-tune split (1000 + 1000 images
 * by default), with SGD momentum 0.9, lr 0.3 cosine-annealed, Cutout, early stopping on val loss.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { fdftNetHeadOptions, type TrainConfig } from './config.ts';
import type { ImageSet } from '../data/types.ts';
import { trainLoop } from './loop.ts';
import { dataLoopOptions, openRunTrainingData, type TrainingData } from './runData.ts';
import { type FeatureMapPrefetch, prefetchFeatureMaps } from './featureMapPrefetch.ts';
import { startRun, finishRun, evaluateOnTest, RunError, type RunOptions, type RunResult } from './runLifecycle.ts';
import { loadBestWeights } from './checkpoint.ts';
import { attentionGammas } from './gammas.ts';
import { createBackboneRunner, type BackboneRunner } from '../engine/onnxBackboneRunner.ts';
import { DEFAULT_BN_MOMENTUM, setBatchNormMomentum } from '../models/batchNormMomentum.ts';
import { openRunGradients, type ParallelRunOptions } from './parallel/runGradients.ts';
import { type SnapshotPredictor, snapshotPredictor } from './snapshotPredictor.ts';
import { featureMapCache } from './featureMapCache.ts';
import { scoreHeadsOnCachedMaps } from './headsScoring.ts';
import { augments } from './epochBatches.ts';

/** Loads the backbone classifier of a finished pretrain run (its best weights). */
export async function loadPretrainedBackbone(runDir: string): Promise<tf.LayersModel> {
  const { loadModel } = await import('../io/fileSystem.ts');
  const { readableDir } = await import('../util/atomic.ts');
  const dir = (await readableDir(join(runDir, 'best'))) ?? (await readableDir(join(runDir, 'checkpoint')));
  if (!dir) throw new RunError(`${runDir} holds no trained backbone (no best/ or checkpoint/ directory)`);
  return loadModel(dir);
}

export async function runFinetune(config: TrainConfig, opts: RunOptions & ParallelRunOptions): Promise<RunResult> {
  if (!config.backboneWeights) throw new RunError('fine-tuning needs a pretrained backbone (config.backboneWeights)');
  const { createFdftNet } = await import('../models/fdftnet.ts');
  const run = await startRun('train', config, opts);
  let opened: TrainingData | undefined;
  let backboneRunner: BackboneRunner | undefined;
  let predictor: SnapshotPredictor | undefined;
  let headsPredictor: SnapshotPredictor | undefined;
  try {
    // Decoding streams in the background while training runs (issue 4); val/test are awaited when first scored.
    const data = (opened = await openRunTrainingData(run.dir, config, 'finetune', opts));
    const pretrained = await loadPretrainedBackbone(config.backboneWeights);
    const net = createFdftNet({ ...fdftNetHeadOptions(config), backbone: pretrained, seed: config.seed });
    // Only the heads train; the frozen backbone keeps its pretrained statistics (inference mode).
    setBatchNormMomentum(net.head, config.bnMomentum ?? DEFAULT_BN_MOMENTUM);
    // The frozen backbone runs once per batch in inference mode, outside the gradient tape — on
    // onnxruntime's native convolutions when available (--engine), else tfjs; gradients flow only
    // through the heads. (With the step on onnxruntime too, the step's own graph runs it: this runner
    // then computes only the maps kept for validation and precise BN.)
    const runner = (backboneRunner = await createBackboneRunner(net.backbone, { engine: opts.engine ?? 'auto' }));
    opts.reporter.log(`frozen backbone: ${runner.engine} (${runner.reason})`);
    // Set below when feature maps are computed outside the step (tfjs gradient workers beside an
    // onnxruntime backbone): the next batch's while this step trains the heads (featureMapPrefetch.ts).
    let prefetch: FeatureMapPrefetch | undefined;
    // Validation and precise-BN images are not augmented: their feature maps are computed once and kept.
    const cache = featureMapCache((xs) => runner.predict(xs));
    // Without augmentation (--no-augment) a training image has the same pixels every epoch, and the
    // backbone is frozen: its maps, too, are computed once (shared with precise BN's) and the step
    // trains the heads on them — from the second epoch on, no backbone work at all. Only where the
    // training split's maps fit the cache with room for validation's: else maps the cache could not
    // keep would cost a backbone run beside each step, slower than the step graph that holds it.
    const mapBytes = 4 * (net.backbone.outputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    const keepTrainingMaps = !augments(config.augment) && data.train.length * mapBytes <= 0.75 * cache.maxBytes;
    const featureMaps = (xs: tf.Tensor4D) => cache.take(xs) ?? (prefetch ? prefetch.featureMaps(xs) : runner.predict(xs));
    const inputsFor = async (xs: tf.Tensor4D) => [xs, await featureMaps(xs)];
    // Validation after each epoch: the heads alone on onnxruntime (--engine), re-exported with their
    // weights of the moment, on the cached feature maps; on tfjs, net.head.predict.
    const heads = (headsPredictor = snapshotPredictor(net.head, opts.engine ?? 'auto'));
    const scoreValidation = heads.fresh((val: ImageSet) => scoreHeadsOnCachedMaps(heads.run, cache, val, config.batch));
    // Test scoring, once at the end: the whole FDFtNet on onnxruntime (--engine); on tfjs, net.model.predict.
    const scorer = (predictor = snapshotPredictor(net.model, opts.engine ?? 'auto'));
    const predict = scorer.predict;
    // The heads' step on onnxruntime (--train-engine, src/train/onnx/): with the backbone on
    // onnxruntime too, one graph computes the frozen backbone's maps and the heads' gradients from
    // the images (one session per step: 8–37 % faster than the two in turn; BENCHMARKS.md, ninth
    // session). Or on tfjs with --workers > 1, each worker running the heads on its batch slice
    // (src/train/parallel/); the frozen backbone then runs here on onnxruntime (all cores) when that
    // is the engine, else in each worker on tfjs.
    const parallel = await openRunGradients({
      runDir: run.dir, kind: 'finetune', artefact: net.model, trainModel: net.head, l2: config.l2, batch: Math.min(config.batch, data.train.length),
      workers: opts.workers, trainEngine: opts.trainEngine, inputsFor, log: opts.reporter.log.bind(opts.reporter),
      // Gradient workers take the maps from here when the backbone runs on onnxruntime, or when kept.
      featureMaps: runner.engine === 'onnx' || keepTrainingMaps ? featureMaps : undefined,
      onnxStepModel: runner.engine === 'onnx' && !keepTrainingMaps ? { model: net.model, inputsFor: (xs) => xs } : undefined,
    });
    if (runner.engine === 'onnx' && parallel.engine !== 'onnx' && !keepTrainingMaps) prefetch = prefetchFeatureMaps((xs) => runner.predict(xs));
    if (keepTrainingMaps) opts.reporter.log('no augmentation: the training images\' feature maps are computed once and kept; the step trains the heads on them');
    const loopData = await dataLoopOptions(data, config, scoreValidation);
    const result = await trainLoop({
      config,
      runDir: run.dir,
      trainModel: net.head,
      artefact: net.model,
      inputsFor,
      ...loopData,
      preciseBn: loopData.preciseBn && cache.batches(loopData.preciseBn, data.train),
      batches: keepTrainingMaps ? cache.batches(loopData.batches, data.train) : prefetch ? prefetch.batches(loopData.batches) : loopData.batches,
      reporter: opts.reporter,
      tensorboard: run.tensorboard,
      extraScalars: () => attentionGammas(net.model),
      interrupted: opts.interrupt?.requested,
      resume: Boolean(opts.resumeDir),
      gradients: parallel.gradients,
      hostStep: parallel.hostStep,
      batchStatistics: parallel.batchStatistics,
    }).finally(() => parallel.close());
    if (result.interrupted) return await finishRun(run, result, undefined, opts);
    await data.complete(); // dataset summary with the decoded counts, beside the run
    if (cache.computed() > 0) {
      opts.reporter.log(
        `validation${keepTrainingMaps ? ', training' : ''} and precise BN: the heads on ${heads.describe()}, on feature maps computed once (${cache.computed()} backbone batches for ${cache.served()} batches of maps, ${(cache.bytes() / 1024 ** 2).toFixed(1)} MiB kept)`,
      );
    }
    await loadBestWeights(run.dir, net.model);
    await scorer.refresh();
    opts.reporter.log(`scoring: ${scorer.describe()}`);
    const title = `FDFtNet ${config.backbone}${config.useFtt ? '' : ' without FTT'} (M=${config.M}, N=${config.N}) on ${config.datasetName} (test)`;
    const test = await evaluateOnTest(run.dir, predict, await data.set('test'), config, title);
    const out = await finishRun(run, result, test, opts);
    net.model.dispose();
    return out;
  } catch (e) {
    await run.fail(e as Error);
    throw e;
  } finally {
    await opened?.close(); // decoding still running after an interrupt or a failure
    await backboneRunner?.dispose();
    await predictor?.dispose();
    await headsPredictor?.dispose();
  }
}
