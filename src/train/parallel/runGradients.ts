/**
 * Data parallelism for a training run (`fdft pretrain` / `fdft train`): how many gradient workers,
 * and the pool's lifetime around `trainLoop`. The workers count is recorded in run.json (`workers`)
 * but is NOT part of the config or its hash: it changes the arithmetic only through per-slice
 * BatchNormalization statistics (workerPool.ts), so a run may be resumed with another count
 * (e.g. on a machine with more cores), and runs that differ only in it share their config.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { GradientFn } from '../loop.ts';
import { updateRunInfo } from '../runDir.ts';
import { ParallelTrainingError } from './errors.ts';
import type { ReplicaKind } from './protocol.ts';

/** What a run's caller may say about data parallelism. */
export interface ParallelRunOptions {
  /** Gradient worker threads; 1 = in-thread; undefined = `autoWorkerCount`. */
  workers?: number;
}

/** More workers than this rarely pay: every one holds a model replica and its own engine. */
export const MAX_AUTO_WORKERS = 8;
/** Auto never cuts a batch into slices smaller than this (BN statistics, per-step overhead). */
export const MIN_AUTO_SLICE = 16;

/**
 * Default worker count: one per core (at most 8) for the single-threaded engines (wasm, cpu), as
 * long as every slice keeps ≥ 16 images; 1 with tfjs-node ('tensorflow'), which already uses every core.
 */
export function autoWorkerCount(backend: string, batch: number, cores = os.availableParallelism()): number {
  if (backend === 'tensorflow') return 1;
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
  workers: number;
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
  batch: number;
  workers?: number;
  /** Finetune: frozen feature maps computed on the main thread (onnxruntime); see DataParallelOptions. */
  featureMaps?: (xs: tf.Tensor4D) => Promise<tf.Tensor>;
  log: (msg: string) => void;
}

/** Folder inside the run directory holding the workers' copy of the model while the run lasts. */
export const REPLICA_DIR = '.parallel-replica';

export async function openRunGradients(o: OpenRunGradientsOptions): Promise<RunGradients> {
  const { engineInfo } = await import('../../engine/index.ts');
  const backend = engineInfo()?.backend ?? tf.getBackend();
  const workers = resolveWorkerCount(o.workers, backend, o.batch);
  await updateRunInfo(o.runDir, { workers });
  if (workers === 1) return { workers, close: async () => {} };

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
