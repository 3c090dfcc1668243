/**
 * Frozen feature extractors for the classical baseline (Papić et al.: a pre-trained DNN's
 * activations as feature vectors). EXTRACTOR is one of
 *   - a run directory of `fdft pretrain` (or its name under --checkpoints): the backbone's
 *     `features` layer, global-average-pooled — the image's vector from the last feature map;
 *   - a tfjs LayersModel or GraphModel `model.json` (or its folder), e.g. a Keras ImageNet model
 *     converted with tensorflowjs_converter: its output, or the layer / node named by `layer`
 *     (4-D outputs are global-average-pooled, others flattened), with its own input size and
 *     preprocessing;
 *   - `backbone:NAME` — an UNTRAINED (seeded random) fdft backbone, for tests and smoke runs.
 * The paper used 224 × 224 inputs and the last fully connected layer, without preprocessing of
 * the vectors; nothing here normalises the vectors either.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Fit, Sample, SkippedFile } from '../data/types.ts';
import { ExtractorError } from './errors.ts';
import type { ExtractorInfo, TrainedOnInfo } from './featureFile.ts';
import { hashImageFiles } from './imageHash.ts';
import { type PreprocessMode, isPreprocessMode, preprocessImages } from './preprocess.ts';

export interface ExtractorSpec {
  /** Run dir / run name, model.json (or its folder), or `backbone:NAME`. */
  source: string;
  layer?: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  fit?: Fit;
  /** Where run names are looked up (default 'checkpoints'). */
  checkpointsRoot?: string;
  /**
   * What a non-fdft model was trained on, for the leakage guard: an `fdft pretrain`/`train` run
   * directory or a dataset folder (all its images).
   */
  trainedOn?: string;
  /** Do not work out the training images (prediction needs none of it). */
  skipTrainedOn?: boolean;
}

export interface LoadedExtractor {
  info: ExtractorInfo;
  /** Feature vectors of n images (n × size × size × 3 RGB bytes) → n × dim. */
  embed(images: Uint8Array, n: number): Float32Array;
  dim: number;
  dispose(): void;
}

async function exists(p: string, kind: 'file' | 'dir'): Promise<boolean> {
  try {
    const s = await stat(p);
    return kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

interface ModelFn {
  run(x: tf.Tensor4D): tf.Tensor;
  inputShape: (number | null)[] | undefined;
  dispose(): void;
}

function layersModelFn(model: tf.LayersModel, layer: string | undefined): ModelFn {
  let m = model;
  if (layer) {
    let l: tf.layers.Layer;
    try {
      l = model.getLayer(layer);
    } catch {
      const names = model.layers.map((x) => x.name);
      throw new ExtractorError(`the model has no layer '${layer}' (last layers: ${names.slice(-8).join(', ')})`);
    }
    m = tf.model({ inputs: model.inputs, outputs: l.output as tf.SymbolicTensor });
  }
  return {
    run: (x) => m.predict(x) as tf.Tensor,
    inputShape: model.inputs[0]?.shape,
    dispose: () => model.dispose(),
  };
}

function graphModelFn(model: tf.GraphModel, layer: string | undefined): ModelFn {
  const shape = model.inputs[0]?.shape;
  return {
    run: (x) => {
      try {
        return (layer ? model.execute(x, layer) : model.predict(x)) as tf.Tensor;
      } catch (e) {
        throw new ExtractorError(`graph model failed${layer ? ` for node '${layer}'` : ''}: ${(e as Error).message}`);
      }
    },
    inputShape: shape ? shape.map((d) => (d === -1 ? null : d)) : undefined,
    dispose: () => model.dispose(),
  };
}

/** Images, if any, an `fdft pretrain` / `fdft train` run was fitted on (see TrainedOnInfo). */
export async function trainedOnFromRun(runDir: string): Promise<TrainedOnInfo> {
  const { readRunInfo } = await import('../train/runDir.ts');
  const info = await readRunInfo(runDir);
  const config = info.config as { command?: string; data: string; seed: number; groupBy?: string; split?: string; backboneWeights?: string };
  const split = config.command === 'train' ? (config.split ?? 'finetune') : 'train';
  const runConfig = join(runDir, 'run.json');
  try {
    const { resolveDataRoot } = await import('../train/runData.ts');
    const { discoverDataset } = await import('../data/discover.ts');
    const root = await resolveDataRoot(config.data);
    // The run's own seed and group rule give back exactly the split it trained on.
    const index = await discoverDataset(root, { seed: config.seed, groupBy: config.groupBy });
    const paths = index.splits[split as 'train'].map((s) => s.path);
    let hashes = await hashImageFiles(paths);
    let note: string | undefined;
    if (config.command === 'train' && config.backboneWeights) {
      // FDFtNet: the frozen backbone was itself trained on the pretrain run's train split.
      const pre = await trainedOnFromRun(config.backboneWeights).catch(() => undefined);
      if (pre?.hashes) {
        hashes = [...hashes, ...pre.hashes];
        paths.push(...(pre.paths ?? []));
        note = `includes the ${pre.hashes.length} images of its backbone's pretrain run ${config.backboneWeights}`;
      }
    }
    return { source: 'run-config', runConfig, dataRoot: root, split, paths, hashes, ...(note ? { note } : {}) };
  } catch (e) {
    return { source: 'unknown', runConfig, note: `could not list the run's training images (${(e as Error).message})` };
  }
}

/** `--trained-on PATH`: a run directory (its training split) or a dataset folder (every image in it). */
export async function trainedOnFromPath(path: string): Promise<TrainedOnInfo> {
  if (await exists(join(path, 'run.json'), 'file')) return trainedOnFromRun(path);
  const { discoverDataset } = await import('../data/discover.ts');
  const index = await discoverDataset(resolve(path)).catch((e: Error) => {
    throw new ExtractorError(`--trained-on ${path}: neither a run directory nor a dataset folder (${e.message})`);
  });
  const paths = Object.values(index.splits).flatMap((s: Sample[]) => s.map((x) => x.path));
  return { source: 'user', dataRoot: index.root, split: 'all', paths, hashes: await hashImageFiles(paths) };
}

export async function loadExtractor(spec: ExtractorSpec): Promise<LoadedExtractor> {
  const src = spec.source;
  let fn: ModelFn;
  let kind: ExtractorInfo['kind'];
  let source = src;
  let backbone: string | undefined;
  let layer = spec.layer;
  let inputSize = spec.inputSize;
  let preprocess: PreprocessMode = spec.preprocess ?? 'unit';
  let fit: Fit = spec.fit ?? 'squash';
  let trainedOn: TrainedOnInfo = { source: 'unknown', note: 'not recorded: pass --trained-on RUN_OR_DATASET to enable the leakage guard' };
  if (spec.preprocess && !isPreprocessMode(spec.preprocess)) throw new ExtractorError(`unknown --preprocess '${spec.preprocess}'`);

  if (src.startsWith('backbone:')) {
    const { createBackbone } = await import('../models/backbones/index.ts');
    backbone = src.slice('backbone:'.length);
    inputSize ??= 64;
    const model = createBackbone(backbone, { inputSize, includeTop: false, seed: 0 });
    fn = layersModelFn(model, layer);
    kind = 'backbone-checkpoint';
    trainedOn = { source: 'user', note: 'untrained backbone (random weights, seed 0)', paths: [], hashes: [] };
  } else {
    const { resolveRunDir } = await import('../train/runDir.ts');
    let runDir: string | undefined;
    if (!src.endsWith('.json')) {
      const dir = await resolveRunDir(src, spec.checkpointsRoot ?? 'checkpoints').catch(() => undefined);
      if (dir && (await exists(join(dir, 'run.json'), 'file'))) runDir = dir;
    }
    if (runDir) {
      const { loadRun } = await import('../eval/evaluateRun.ts');
      const run = await loadRun(runDir);
      kind = 'backbone-checkpoint';
      source = resolve(runDir);
      backbone = run.config.backbone;
      const runSize = run.config.inputSize;
      if (inputSize !== undefined && inputSize !== runSize) {
        throw new ExtractorError(`${runDir} was trained on ${runSize}px inputs; --input-size ${inputSize} does not fit it`);
      }
      inputSize = runSize;
      fit = spec.fit ?? run.config.fit;
      preprocess = spec.preprocess ?? 'unit';
      layer ??= 'features';
      fn = layersModelFn(run.model, layer);
      if (!spec.skipTrainedOn) trainedOn = spec.trainedOn ? await trainedOnFromPath(spec.trainedOn) : await trainedOnFromRun(runDir);
    } else {
      const jsonPath = src.endsWith('.json') ? src : join(src, 'model.json');
      let json: { format?: string; modelTopology?: unknown };
      try {
        json = JSON.parse(await readFile(jsonPath, 'utf8')) as typeof json;
      } catch (e) {
        throw new ExtractorError(
          `extractor '${src}' is neither an fdft run (no run.json), a tfjs model.json, nor backbone:NAME (${(e as Error).message.split('\n')[0]})`,
        );
      }
      const { loadModel, loadGraphModel } = await import('../io/fileSystem.ts');
      const dir = dirname(resolve(jsonPath));
      source = resolve(jsonPath);
      if (json.format === 'graph-model') {
        kind = 'graph-model';
        fn = graphModelFn(await loadGraphModel(dir), layer);
      } else {
        kind = 'layers-model';
        fn = layersModelFn(await loadModel(dir), layer);
      }
      if (spec.trainedOn && !spec.skipTrainedOn) trainedOn = await trainedOnFromPath(spec.trainedOn);
    }
  }

  // Input size: the model's own when it fixes one, else --input-size.
  const h = fn.inputShape?.[1];
  const w = fn.inputShape?.[2];
  if (typeof h === 'number' && typeof w === 'number') {
    if (h !== w) throw new ExtractorError(`the model expects ${h}×${w} inputs; only square inputs are supported`);
    if (inputSize !== undefined && inputSize !== h) throw new ExtractorError(`the model expects ${h}×${h} inputs, not --input-size ${inputSize}`);
    inputSize = h;
  }
  if (inputSize === undefined) throw new ExtractorError('the model does not fix its input size: pass --input-size (e.g. 224)');
  const size = inputSize;

  // Probe once for the output rank and dimension.
  const probe = tf.tidy(() => {
    const out = fn.run(tf.zeros([1, size, size, 3]) as tf.Tensor4D);
    return out.shape;
  });
  const pooling: ExtractorInfo['pooling'] = probe.length === 4 ? 'gap' : probe.length === 2 ? 'none' : 'flatten';
  const dim = pooling === 'gap' ? probe[3]! : probe.slice(1).reduce((a, b) => a * b, 1);

  const info: ExtractorInfo = { kind, source, ...(backbone ? { backbone } : {}), ...(layer ? { layer } : {}), inputSize: size, preprocess, fit, pooling, trainedOn };
  return {
    info,
    dim,
    embed(images: Uint8Array, n: number): Float32Array {
      if (images.length !== n * size * size * 3) throw new ExtractorError(`embed: ${images.length} bytes for ${n} images of ${size}×${size}×3`);
      const t = tf.tidy(() => {
        const x = preprocessImages(tf.tensor4d(Float32Array.from(images), [n, size, size, 3]), preprocess);
        const out = fn.run(x);
        if (pooling === 'gap') return tf.mean(out, [1, 2]);
        return tf.reshape(out, [n, dim]);
      });
      const v = t.dataSync() as Float32Array;
      t.dispose();
      return Float32Array.from(v);
    },
    dispose: () => fn.dispose(),
  };
}

export interface ExtractedFeatures {
  X: Float32Array;
  nRows: number;
  nCols: number;
  /** The samples that decoded (rows of X, in order). */
  samples: Sample[];
  skipped: SkippedFile[];
}

/** Decode (cached) and embed `samples`, `batch` images at a time. */
export async function extractFeatures(
  ex: LoadedExtractor,
  samples: readonly Sample[],
  opts: { cacheDir?: string; batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ExtractedFeatures> {
  const { loadImages } = await import('../data/loader.ts');
  const { inputSize: size, fit } = ex.info;
  const set = await loadImages(samples, { size, fit: fit as Fit, cacheDir: opts.cacheDir });
  const n = set.samples.length;
  const batch = Math.max(1, opts.batch ?? 32);
  const px = size * size * 3;
  const X = new Float32Array(n * ex.dim);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    X.set(ex.embed(set.images.subarray(i * px, (i + m) * px), m), i * ex.dim);
    opts.onProgress?.(i + m, n);
    await new Promise((r) => setImmediate(r)); // let progress output and signals through
  }
  return { X, nRows: n, nCols: ex.dim, samples: set.samples, skipped: set.skipped };
}

/** A short human label for an extractor, e.g. "xception@gan (features, 64px)". */
export function extractorLabel(info: ExtractorInfo): string {
  const name = info.backbone ?? basename(info.kind === 'backbone-checkpoint' ? info.source : dirname(info.source));
  const data = info.trainedOn.dataRoot ? `@${basename(info.trainedOn.dataRoot)}` : '';
  return `${name}${data} (${info.layer ?? 'output'}, ${info.inputSize}px)`;
}
