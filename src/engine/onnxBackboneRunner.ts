/**
 * The frozen backbone's forward pass on the fastest engine available: onnxruntime (the model
 * exported to ONNX in memory) or tfjs `model.predict`, with the reason for the choice. This is the
 * `--engine onnx|tfjs|auto` switch for training loops, `eval`, `predict` and feature extraction:
 *
 *   const runner = await createBackboneRunner(fdft.backbone, { engine: 'auto' });
 *   const featureMap = await runner.predict(xs);   // instead of fdft.backbone.predict(xs)
 *
 * 'auto' uses onnxruntime when it loads here AND the model exports, except on the webgpu backend
 * (the GPU runs the model, and its output stays on the GPU for the heads); otherwise tfjs (never
 * throws for those reasons). 'onnx' insists (throws OnnxRuntimeUnavailableError / OnnxExportError).
 */
import type * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { autoKeepsBackboneInTfjs } from './backends.ts';
import { OnnxRunner, OnnxRuntimeUnavailableError, onnxAvailable, onnxUnavailableReason } from './onnxBackbone.ts';

export type BackboneEngine = 'auto' | 'onnx' | 'onnx-webgpu' | 'tfjs';
/** The engines of the inference commands (`fdft eval|predict --engine`). */
export const INFERENCE_ENGINES: readonly BackboneEngine[] = ['auto', 'onnx', 'onnx-webgpu', 'tfjs'];

/**
 * The most images one onnxruntime run takes; larger batches (validation, scoring, `fdft predict` at
 * batch 128) run in slices this size. The time per image is the same (Xception FDFtNet at 32 vs 128:
 * 187 vs 748 ms, the heads alone 49 vs 184–197 ms), but each session keeps the memory of its largest
 * run, and at 128 the FTT's 1024×1024 attention maps alone are 512 MiB each: a run's memory went
 * from +1.25 to +0.30 GiB for the whole FDFtNet and +1.20 to +0.27 GiB for the heads (BENCHMARKS.md,
 * eleventh session).
 */
export const MAX_INFERENCE_BATCH = 32;

export interface BackboneRunner {
  /** The engine actually used. */
  engine: 'onnx' | 'tfjs';
  /** Why it was chosen (log it once). */
  reason: string;
  /**
   * `model.predict(inputs)` (inference mode), on the chosen engine: an image batch, or one tensor
   * per input of a model with several (e.g. FDFtNet's heads: image and feature map). The caller
   * disposes the result.
   */
  predict(inputs: tf.Tensor | tf.Tensor[]): Promise<tf.Tensor>;
  /** Free the onnxruntime session (the tfjs model is the caller's and is left alone). */
  dispose(): Promise<void>;
}

export interface BackboneRunnerOptions {
  engine?: BackboneEngine;
  /** onnxruntime intra-op threads (default: every core — the backbone runs while tfjs waits for it). */
  threads?: number;
  /** Cut the model at this layer before exporting (e.g. 'features'); tfjs then predicts that layer too. */
  outputLayer?: string;
}

export async function createBackboneRunner(model: tf.LayersModel, opts: BackboneRunnerOptions = {}): Promise<BackboneRunner> {
  const engine = opts.engine ?? 'auto';
  const tfjs = await import('@tensorflow/tfjs');
  const reference = opts.outputLayer ? tfjs.model({ inputs: model.inputs, outputs: model.getLayer(opts.outputLayer).output as tf.SymbolicTensor }) : model;
  const tfjsRunner = (reason: string): BackboneRunner => ({
    engine: 'tfjs',
    reason,
    predict: async (xs) => reference.predict(xs) as tf.Tensor,
    dispose: async () => {},
  });
  if (engine === 'tfjs') return tfjsRunner('requested');
  if (engine === 'auto' && autoKeepsBackboneInTfjs(tfjs.getBackend())) return tfjsRunner(`auto: the ${tfjs.getBackend()} backend runs it on the GPU`);
  if (!(await onnxAvailable())) {
    const why = `onnxruntime-node unavailable (${await onnxUnavailableReason()})`;
    if (engine !== 'auto') throw new OnnxRuntimeUnavailableError(`--engine ${engine}: ${why}`);
    return tfjsRunner(why);
  }
  const { exportOnnx } = await import('../export/onnx.ts');
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(model, { outputLayer: opts.outputLayer });
  } catch (e) {
    if (engine !== 'auto') throw e;
    return tfjsRunner(`the model does not export to ONNX (${(e as Error).message})`);
  }
  const threads = opts.threads ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  const gpu = engine === 'onnx-webgpu';
  const runner = await OnnxRunner.create(bytes, { threads, executionProvider: gpu ? 'webgpu' : 'cpu' });
  return {
    engine: 'onnx',
    reason: gpu ? "onnxruntime-node's WebGPU execution provider (the GPU)" : `${engine === 'auto' ? 'auto: ' : ''}onnxruntime-node with ${threads} thread(s) (native convolutions)`,
    predict: (xs) => runner.predictTensor(xs, tfjs, MAX_INFERENCE_BATCH),
    dispose: () => runner.dispose(),
  };
}
