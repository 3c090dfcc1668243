/**
 * Where a training run (`fdft pretrain` / `fdft train`) computes its gradients: on onnxruntime
 * (`--train-engine`, src/train/onnx/; the default where it loads) or on tfjs — in-thread or with
 * data parallelism over gradient workers: how many, and the pool's lifetime around `trainLoop`.
 * The engine and the workers count are recorded in run.json (`trainEngine`, `workers`) but are
 * NOT part of the config or its hash: they change the arithmetic only through float summation
 * order, dropout draws (onnx) and per-slice BatchNormalization statistics (workers, workerPool.ts),
 * so a run may be resumed with another engine or count (e.g. on a machine with more cores), and
 * runs that differ only in them share their config.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Batch, GradientFn, HostStep, InputsFn } from '../loop.ts';
import { tfjsUsesWholeMachine } from '../../engine/backends.ts';
import { updateRunInfo } from '../runDir.ts';
import { ParallelTrainingError } from './errors.ts';
import type { ReplicaKind } from './protocol.ts';

export type TrainEngine = 'auto' | 'onnx' | 'tfjs';
export const TRAIN_ENGINES: readonly TrainEngine[] = ['auto', 'onnx', 'tfjs'];

/** What a run's caller may say about where gradients are computed. */
export interface ParallelRunOptions {
  /** Gradient worker threads on tfjs; 1 = in-thread; undefined = `autoWorkerCount`. */
  workers?: number;
  /**
   * Engine of the training step (`--train-engine`): 'onnx' = the model's training graph on
   * onnxruntime-node (src/train/onnx/, native multi-threaded kernels, no workers); 'tfjs' = tfjs
   * (in-thread or `workers` gradient workers); 'auto' (default) = onnx when onnxruntime loads and
   * the model builds a training graph, else tfjs — and tfjs whenever `workers` is given, which only
   * the tfjs engine uses. Not part of the config hash, like `workers`.
   */
  trainEngine?: TrainEngine;
}

/** More workers than this rarely pay: every one holds a model replica and its own engine. */
export const MAX_AUTO_WORKERS = 8;
/** Auto never cuts a batch into slices smaller than this (BN statistics, per-step overhead). */
export const MIN_AUTO_SLICE = 16;

/**
 * Default worker count: one per core (at most 8) for the single-threaded engines (wasm, cpu), as
 * long as every slice keeps ≥ 16 images; 1 with tfjs-node ('tensorflow'), which already uses every
 * core, and with webgpu, whose kernels run on the GPU.
 */
export function autoWorkerCount(backend: string, batch: number, cores = os.availableParallelism()): number {
  if (tfjsUsesWholeMachine(backend)) return 1;
  return Math.max(1, Math.min(cores, MAX_AUTO_WORKERS, Math.floor(batch / MIN_AUTO_SLICE)));
}

export function resolveWorkerCount(requested: number | undefined, backend: string, batch: number): number {
  if (requested === undefined || requested === null) return autoWorkerCount(backend, batch);
  if (!Number.isInteger(requested) || requested < 1) throw new ParallelTrainingError(`--workers must be a positive integer, got ${requested}`);
  return requested;
}

export interface RunGradients {
  /** Pass to trainLoop's `gradients`; undefined = in-thread (1 worker). */
  gradients?: GradientFn;
  /** Pass to trainLoop's `hostStep` (the onnx engine: the update on host arrays, src/train/hostOptimizer.ts). */
  hostStep?: HostStep;
  workers: number;
  /** Where the training step runs. */
  engine: 'onnx' | 'tfjs';
  /** Pass to trainLoop's `batchStatistics` (precise BN on the same engine); undefined = tfjs. */
  batchStatistics?: (batch: Batch, randomKey: string) => Promise<void>;
  /** Stops the workers and removes the replica folder; call in a `finally`. */
  close(): Promise<void>;
}

export interface OpenRunGradientsOptions {
  runDir: string;
  kind: ReplicaKind;
  /** The run's artefact (finetune: the whole FDFtNet), saved once for the workers to load. */
  artefact: tf.LayersModel;
  /** The model trainLoop optimises (finetune: the head). */
  trainModel: tf.LayersModel;
  l2: number;
  /**
   * The largest batch the run's steps take: the configured batch, or the training split where that
   * is smaller. The onnx step's graph is built for it, smaller batches run padded in it
   * (OnnxGradientsOptions.batch); auto worker counts are chosen by it.
   */
  batch: number;
  workers?: number;
  /** Finetune: frozen feature maps computed on the main thread (onnxruntime); see DataParallelOptions. */
  featureMaps?: (xs: tf.Tensor4D) => Promise<tf.Tensor>;
  /** The train model's inputs for an image batch (as given to trainLoop); used by the onnx engine. */
  inputsFor: InputsFn;
  /**
   * Finetune on onnxruntime: the model the step's training graph is built from instead of
   * trainModel, and its inputs (the whole FDFtNet on the images: the frozen backbone runs inside the
   * step's graph; OnnxGradientsOptions.stepModel).
   */
  onnxStepModel?: { model: tf.LayersModel; inputsFor: InputsFn };
  trainEngine?: TrainEngine;
  log: (msg: string) => void;
}

/**
 * Whether the onnx step's session is the only one running each step, so that its threads may spin
 * between ops (OnnxGradientsOptions.spin): pretraining, and fine-tuning with the frozen backbone
 * inside the step's graph; not fine-tuning whose step takes turns with the backbone's session.
 */
export function stepSessionRunsAlone(kind: ReplicaKind, backboneInStep: boolean): boolean {
  return kind === 'pretrain' || backboneInStep;
}

/**
 * The onnxruntime training step, or why not: undefined (with the reason logged) when 'auto' finds
 * onnxruntime missing or the model not expressible as a training graph; 'onnx' insists (throws).
 */
async function openOnnxGradients(o: OpenRunGradientsOptions): Promise<RunGradients | undefined> {
  const engine = o.trainEngine ?? 'auto';
  const { onnxAvailable, onnxUnavailableReason, OnnxRuntimeUnavailableError } = await import('../../engine/onnxBackbone.ts');
  if (!(await onnxAvailable())) {
    const why = `onnxruntime-node unavailable (${await onnxUnavailableReason()})`;
    if (engine === 'onnx') throw new OnnxRuntimeUnavailableError(`--train-engine onnx: ${why}`);
    o.log(`training step: tfjs (${why})`);
    return undefined;
  }
  const { createOnnxGradients } = await import('../onnx/onnxGradients.ts');
  const threads = os.availableParallelism();
  const t0 = performance.now();
  const open = async (stepModel: OpenRunGradientsOptions['onnxStepModel']) => {
    const spin = stepSessionRunsAlone(o.kind, stepModel !== undefined);
    const onnx = await createOnnxGradients({ trainModel: o.trainModel, inputsFor: o.inputsFor, stepModel, l2: o.l2, batch: o.batch, threads, spin });
    try {
      await onnx.prepare(o.batch);
      return onnx;
    } catch (e) {
      await onnx.close();
      throw e;
    }
  };
  let onnx: Awaited<ReturnType<typeof open>>;
  let inside = '';
  try {
    if (o.onnxStepModel) {
      try {
        onnx = await open(o.onnxStepModel);
        inside = ', the frozen backbone inside its graph';
      } catch (e) {
        // The heads' graph alone, on the backbone runner's maps, is still the onnx engine.
        o.log(`training step: the graph with the frozen backbone inside does not build or load (${(e as Error).message}); the heads' graph on its feature maps instead`);
        onnx = await open(undefined);
      }
    } else onnx = await open(undefined);
  } catch (e) {
    if (engine === 'onnx') throw e;
    o.log(`training step: tfjs (the ONNX training graph does not build or load: ${(e as Error).message})`);
    return undefined;
  }
  await updateRunInfo(o.runDir, { workers: 1, trainEngine: 'onnx' });
  o.log(`training step: onnxruntime-node, ${threads} thread(s)${inside}, graph for batch ${o.batch} (smaller batches run padded in it) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { workers: 1, engine: 'onnx', hostStep: onnx.hostStep, batchStatistics: onnx.batchStatistics, close: () => onnx.close() };
}

/** Folder inside the run directory holding the workers' copy of the model while the run lasts. */
export const REPLICA_DIR = '.parallel-replica';

export async function openRunGradients(o: OpenRunGradientsOptions): Promise<RunGradients> {
  const { engineInfo } = await import('../../engine/index.ts');
  const backend = engineInfo()?.backend ?? tf.getBackend();
  const engine = o.trainEngine ?? 'auto';
  if (!TRAIN_ENGINES.includes(engine)) throw new ParallelTrainingError(`--train-engine must be one of ${TRAIN_ENGINES.join(', ')}, got '${engine}'`);
  // tfjs-node already runs natively on every core, webgpu on the GPU, and a worker count asks for tfjs workers: auto keeps tfjs.
  if (engine === 'onnx' || (engine === 'auto' && !tfjsUsesWholeMachine(backend) && o.workers === undefined)) {
    const onnx = await openOnnxGradients(o);
    if (onnx) return onnx;
  }
  const workers = resolveWorkerCount(o.workers, backend, o.batch);
  await updateRunInfo(o.runDir, { workers, trainEngine: 'tfjs' });
  if (workers === 1) return { workers, engine: 'tfjs', close: async () => {} };

  const { saveModel } = await import('../../io/fileSystem.ts');
  const { createDataParallelGradients } = await import('./workerPool.ts');
  const dir = join(o.runDir, REPLICA_DIR);
  const t0 = performance.now();
  try {
    await saveModel(o.artefact, dir);
    const pool = await createDataParallelGradients({ workers, kind: o.kind, modelDir: dir, l2: o.l2, backend, featureMaps: o.featureMaps });
    try {
      await pool.sync(o.trainModel);
    } catch (e) {
      await pool.close();
      throw e;
    }
    const where = o.featureMaps ? ', frozen feature maps from the main thread' : '';
    o.log(`data-parallel: ${workers} gradient workers (${backend}${where}), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return {
      workers,
      engine: 'tfjs',
      gradients: pool.gradients,
      close: async () => {
        await pool.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
