/**
 * Inference with a model whose weights change between uses (validation after every epoch, the test
 * split after restoring the best epoch) on the fastest engine: `refresh()` exports the model with its
 * current weights to an onnxruntime session (src/engine/onnxBackboneRunner.ts; ~1 s for Xception),
 * `predict` then runs on it until the next refresh. On tfjs (no onnxruntime, `--engine tfjs`, or a
 * model that does not export) refresh does nothing and predict is `model.predict`.
 *
 * Worth it where the model is large: scoring 160 validation images with Xception takes ~7 s on
 * single-threaded tfjs wasm and well under a second on onnxruntime.
 */
import type * as tf from '@tensorflow/tfjs';
import { type BackboneEngine, type BackboneRunner, createBackboneRunner } from '../engine/onnxBackboneRunner.ts';
import type { PredictFn } from './scoring.ts';

export interface SnapshotPredictor {
  /** Take the model's current weights (call after they changed, before predicting). */
  refresh(): Promise<void>;
  /** `score` preceded by a refresh, e.g. trainLoop's validation: the weights changed since the last epoch. */
  fresh<A extends unknown[], T>(score: (...args: A) => Promise<T>): (...args: A) => Promise<T>;
  /** The model on an image batch (a single-input model). */
  predict: PredictFn;
  /** The model on its inputs (one tensor per input: e.g. FDFtNet's heads on image and feature map). */
  run(inputs: tf.Tensor | tf.Tensor[]): Promise<tf.Tensor>;
  /** 'onnx' or 'tfjs', and why (log once). */
  describe(): string;
  dispose(): Promise<void>;
}

export function snapshotPredictor(model: tf.LayersModel, engine: BackboneEngine = 'auto'): SnapshotPredictor {
  let runner: BackboneRunner | undefined; // undefined until the first refresh and after dispose
  const refresh = async () => {
    await runner?.dispose();
    runner = await createBackboneRunner(model, { engine });
  };
  const run = async (inputs: tf.Tensor | tf.Tensor[]) => {
    if (!runner) throw new Error('internal: SnapshotPredictor used before refresh()');
    return runner.predict(inputs);
  };
  return {
    refresh,
    fresh:
      (score) =>
      async (...args) => {
        await refresh();
        return score(...args);
      },
    predict: async (xs) => (await run(xs)) as tf.Tensor2D,
    run,
    describe: () => (runner ? `${runner.engine} (${runner.reason})` : 'not refreshed yet'),
    async dispose() {
      await runner?.dispose();
      runner = undefined;
    },
  };
}
