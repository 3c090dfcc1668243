/**
 * Training checkpoints: everything needed to continue a run bit-for-bit, written as one unit.
 *
 *   runDir/checkpoint/             latest completed epoch (replaced atomically as a whole directory)
 *     model.json, group1-shard*.bin   the whole model, tfjs layout (`saveModel` of src/io/fileSystem.ts)
 *     optimizer.json, optimizer.bin   optimizer slot variables (`optimizer.getWeights()`) + manifest
 *     state.json                      epoch, global step, best val loss, early stopping, RNG, …
 *     checkpoint.json                 format marker, written last
 *   runDir/best/                    weights of the best-val-loss epoch (model files + best.json)
 *
 * Both directories are written with `writeDirAtomic` (`checkpoint.tmp-<pid>/`, fsync, swap), so a
 * crash at any moment leaves the previous complete checkpoint. `model.json` in either directory
 * loads with `loadModel` / `tf.loadLayersModel`.
 *
 * Weights are restored INTO the caller's model (which may share layers with another model, e.g. the
 * FDFtNet head), matched by weight name when the names agree and by position otherwise (the same
 * architecture built in another process, or a second time in this one, gets different auto names);
 * every shape is checked.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemHandler, saveModel } from '../io/fileSystem.ts';
import { readableDir, writeDirAtomic, type AtomicWriteOptions } from '../util/atomic.ts';
import type { EarlyStoppingState } from './earlyStopping.ts';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export const CHECKPOINT_DIR = 'checkpoint';
export const BEST_DIR = 'best';
const FORMAT = 'fdft-checkpoint';
const OPTIMIZER_FORMAT = 'fdft-optimizer';

/** What the loop needs to continue. Must be JSON-serialisable (NaN/±Infinity are stored as null). */
export interface CheckpointState {
  /** Last completed epoch. */
  epoch: number;
  /** Optimizer steps done so far (drives the learning-rate schedule). */
  globalStep: number;
  bestValLoss?: number | null;
  earlyStopping?: EarlyStoppingState;
  /** Serialised RNG state(s) (e.g. seedrandom's `state()`). */
  rng?: unknown;
  [extra: string]: unknown;
}

export interface CheckpointParts {
  model: tf.LayersModel;
  optimizer?: tf.Optimizer;
  state: CheckpointState;
}

/** Optimizer manifest: class, config and the layout of optimizer.bin. */
interface OptimizerManifest {
  format: typeof OPTIMIZER_FORMAT;
  version: 1;
  className: string;
  config: tf.serialization.ConfigDict;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /**
   * Adam's running β1^t, β2^t. tfjs' `setWeights` recomputes them as pow(β, t+1), which can differ
   * in the last float32 bit from the product accumulated step by step; restoring the stored values
   * keeps a resumed run bit-identical.
   */
  accBeta?: { beta1: number; beta2: number };
}

export function checkpointDir(runDir: string): string {
  return join(runDir, CHECKPOINT_DIR);
}

export function bestDir(runDir: string): string {
  return join(runDir, BEST_DIR);
}

// ---------------------------------------------------------------------------------------------
// Optimizer state

/** `{ name, tensor }` as `Optimizer.getWeights` returns (tfjs does not re-export the type). */
type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];

type AdamInternals = { accBeta1?: tf.Variable; accBeta2?: tf.Variable };

/** Write `optimizer.json` + `optimizer.bin` into `dir`. */
export async function saveOptimizerState(optimizer: tf.Optimizer, dir: string): Promise<void> {
  let named: NamedTensor[];
  try {
    named = await optimizer.getWeights();
  } catch (e) {
    throw new CheckpointError(`optimizer ${optimizer.getClassName()} cannot be checkpointed: ${(e as Error).message}`);
  }
  // getWeights returns the live slot variables plus a fresh 'iter' scalar; only the latter is ours.
  const owned = named.filter((n) => !(n.tensor instanceof tf.Variable));
  try {
    const names = new Set<string>();
    for (const n of named) {
      if (names.has(n.name)) throw new CheckpointError(`optimizer weight name '${n.name}' occurs twice`);
      names.add(n.name);
    }
    const { data, specs } = await tf.io.encodeWeights(named);
    const manifest: OptimizerManifest = {
      format: OPTIMIZER_FORMAT,
      version: 1,
      className: optimizer.getClassName(),
      config: optimizer.getConfig(),
      weightSpecs: specs,
    };
    const adam = optimizer as unknown as AdamInternals;
    if (adam.accBeta1 instanceof tf.Variable && adam.accBeta2 instanceof tf.Variable) {
      manifest.accBeta = { beta1: (await adam.accBeta1.data())[0]!, beta2: (await adam.accBeta2.data())[0]! };
    }
    await writeFile(join(dir, 'optimizer.bin'), new Uint8Array(data as ArrayBuffer));
    await writeFile(join(dir, 'optimizer.json'), JSON.stringify(manifest, null, 2) + '\n');
  } finally {
    tf.dispose(owned.map((n) => n.tensor));
  }
}

/**
 * Restore slot variables and the iteration count saved by `saveOptimizerState` into `optimizer`.
 * tfjs names slots after their variable (`<var>/momentum`; Adam `<var>/m`, `<var>/v`; plus `iter`)
 * but looks them up BY POSITION in the gradient list, so the resumed loop must pass its variables
 * in the same order (the model's `trainableWeights` order is stable for one architecture).
 */
export async function loadOptimizerState(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const manifestPath = join(dir, 'optimizer.json');
  let manifest: OptimizerManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as OptimizerManifest;
  } catch (e) {
    throw new CheckpointError(`cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  if (manifest.format !== OPTIMIZER_FORMAT) throw new CheckpointError(`${manifestPath} is not an fdft optimizer state`);
  if (manifest.className !== optimizer.getClassName()) {
    throw new CheckpointError(
      `the checkpoint holds ${manifest.className} optimizer state but the run uses ${optimizer.getClassName()}`,
    );
  }
  const bin = await readFile(join(dir, 'optimizer.bin'));
  const data = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(data, manifest.weightSpecs);
  const values: NamedTensor[] = manifest.weightSpecs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
  try {
    // Free the slot variables a used optimizer already has; setWeights replaces (and would leak) them.
    const current = await optimizer.getWeights();
    tf.dispose(current.map((n) => n.tensor));
    await optimizer.setWeights(values);
    const adam = optimizer as unknown as AdamInternals;
    if (manifest.accBeta && adam.accBeta1 instanceof tf.Variable && adam.accBeta2 instanceof tf.Variable) {
      adam.accBeta1.assign(tf.scalar(manifest.accBeta.beta1));
      adam.accBeta2.assign(tf.scalar(manifest.accBeta.beta2));
    }
  } finally {
    // setWeights made variables of these tensors (which keep the data alive); drop our handles.
    tf.dispose(Object.values(map));
  }
}

// ---------------------------------------------------------------------------------------------
// Model weights

/**
 * Load the weights of a saved model folder into `model` (same architecture). Matches by weight name
 * when every name is found with the right shape, else by position; throws `CheckpointError` on any
 * count or shape mismatch.
 */
export async function loadModelWeights(dir: string, model: tf.LayersModel): Promise<void> {
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await fileSystemHandler(dir).load!();
  } catch (e) {
    throw new CheckpointError(`cannot load model weights from ${dir}: ${(e as Error).message}`);
  }
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  if (!data) throw new CheckpointError(`${dir}/model.json has no weight data`);
  const map = tf.io.decodeWeights(data, specs);
  try {
    const weights = model.weights;
    if (weights.length !== specs.length) {
      throw new CheckpointError(
        `${dir} holds ${specs.length} weights but the model has ${weights.length}: not the same architecture`,
      );
    }
    const sameShape = (a: readonly (number | null)[], b: readonly (number | null)[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    const byName = weights.every((w) => map[w.originalName] && sameShape(map[w.originalName]!.shape, w.shape));
    const tensors = weights.map((w, i) => {
      const t = byName ? map[w.originalName]! : map[specs[i]!.name]!;
      if (!sameShape(t.shape, w.shape)) {
        throw new CheckpointError(
          `weight ${i} (${w.originalName}) has shape [${w.shape}] in the model but [${t.shape}] in ${dir} (saved as ${specs[i]!.name})`,
        );
      }
      return t;
    });
    model.setWeights(tensors);
  } finally {
    tf.dispose(Object.values(map));
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint and best-weights directories

export interface SaveCheckpointOptions extends AtomicWriteOptions {}

/** Write `runDir/checkpoint/` as a unit (see file header). Returns the directory. */
export async function saveCheckpoint(runDir: string, parts: CheckpointParts, opts: SaveCheckpointOptions = {}): Promise<string> {
  const { model, optimizer, state } = parts;
  if (!Number.isInteger(state.epoch) || !Number.isInteger(state.globalStep)) {
    throw new CheckpointError(`state.epoch and state.globalStep must be integers (got ${state.epoch}, ${state.globalStep})`);
  }
  const stateText = JSON.stringify(state, null, 2);
  if (stateText === undefined) throw new CheckpointError('the checkpoint state is not JSON-serialisable');
  const dir = checkpointDir(runDir);
  await writeDirAtomic(
    dir,
    async (tmp) => {
      await saveModel(model, tmp);
      if (optimizer) await saveOptimizerState(optimizer, tmp);
      await writeFile(join(tmp, 'state.json'), stateText + '\n');
      await writeFile(
        join(tmp, 'checkpoint.json'),
        JSON.stringify({ format: FORMAT, version: 1, savedAt: new Date().toISOString(), hasOptimizer: Boolean(optimizer) }, null, 2) + '\n',
      );
    },
    opts,
  );
  return dir;
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CheckpointError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CheckpointError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Whether `runDir` has a complete checkpoint to resume from. */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  const dir = await readableDir(checkpointDir(runDir));
  if (!dir) return false;
  try {
    await readFile(join(dir, 'checkpoint.json'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Restore the latest checkpoint of `runDir` into `model` and (if given) `optimizer`; returns the
 * saved state. Leftover temp directories of an interrupted save are ignored.
 */
export async function loadCheckpoint(runDir: string, model: tf.LayersModel, optimizer?: tf.Optimizer): Promise<CheckpointState> {
  const dir = await readableDir(checkpointDir(runDir));
  if (!dir) throw new CheckpointError(`${runDir} has no checkpoint (no ${CHECKPOINT_DIR}/ directory): nothing to resume`);
  const marker = await readJson<{ format?: string; hasOptimizer?: boolean }>(join(dir, 'checkpoint.json'), 'checkpoint marker');
  if (marker.format !== FORMAT) throw new CheckpointError(`${dir} is not an fdft checkpoint`);
  const state = await readJson<CheckpointState>(join(dir, 'state.json'), 'checkpoint state');
  await loadModelWeights(dir, model);
  if (optimizer) {
    if (!marker.hasOptimizer) throw new CheckpointError(`${dir} holds no optimizer state`);
    await loadOptimizerState(dir, optimizer);
  }
  return state;
}

/** Save the current weights as the best so far (`runDir/best/`, model files + best.json with `info`). */
export async function saveBest(runDir: string, model: tf.LayersModel, info: Record<string, unknown>, opts: AtomicWriteOptions = {}): Promise<string> {
  const text = JSON.stringify(info, null, 2);
  if (text === undefined) throw new CheckpointError('best-weights info is not JSON-serialisable');
  const dir = bestDir(runDir);
  await writeDirAtomic(
    dir,
    async (tmp) => {
      await saveModel(model, tmp);
      await writeFile(join(tmp, 'best.json'), text + '\n');
    },
    opts,
  );
  return dir;
}

/** Load the best weights into `model` (early stopping's restore); returns best.json. */
export async function loadBestWeights(runDir: string, model: tf.LayersModel): Promise<Record<string, unknown>> {
  const dir = await readableDir(bestDir(runDir));
  if (!dir) throw new CheckpointError(`${runDir} has no best weights (no ${BEST_DIR}/ directory)`);
  const info = await readJson<Record<string, unknown>>(join(dir, 'best.json'), 'best-weights info');
  await loadModelWeights(dir, model);
  return info;
}
