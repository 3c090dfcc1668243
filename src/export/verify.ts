/**
 * Check an exported ONNX model against its tfjs model: run both on the same random inputs and
 * compare every output. The agreement measure is max |onnx − tfjs| / max(1, |tfjs|): absolute for
 * values up to 1, relative above (float32 sums over thousands of terms lose absolute precision on
 * large activations).
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxRunner } from '../engine/onnxBackbone.ts';
import { OnnxExportError } from './errors.ts';

export interface Agreement {
  maxAbsDiff: number;
  /** max |a − b| / max(1, |b|). */
  maxRelDiff: number;
  /** Largest |tfjs value|, to tell a meaningful comparison from one of near-zero outputs. */
  maxAbsValue: number;
  ok: boolean;
  tolerance: number;
}

/** Compare two arrays (a = ONNX, b = tfjs reference). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-4): Agreement {
  if (a.length !== b.length) throw new OnnxExportError(`output sizes differ: onnx ${a.length}, tfjs ${b.length}`);
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let maxAbsValue = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    const m = Math.abs(b[i]!);
    if (!(d <= maxAbsDiff)) maxAbsDiff = d; // NaN-propagating max
    const r = d / Math.max(1, m);
    if (!(r <= maxRelDiff)) maxRelDiff = r;
    if (m > maxAbsValue) maxAbsValue = m;
  }
  return { maxAbsDiff, maxRelDiff, maxAbsValue, ok: maxRelDiff <= tolerance, tolerance };
}

/** Merge per-output agreements (the worst of each). */
function worst(list: Agreement[]): Agreement {
  return list.reduce((w, x) => ({
    maxAbsDiff: Math.max(w.maxAbsDiff, x.maxAbsDiff),
    maxRelDiff: Math.max(w.maxRelDiff, x.maxRelDiff),
    maxAbsValue: Math.max(w.maxAbsValue, x.maxAbsValue),
    ok: w.ok && x.ok,
    tolerance: w.tolerance,
  }));
}

export interface CompareOptions {
  /** Batch size of the random inputs (default 2). */
  batch?: number;
  /** Cut used at export (the compared tfjs outputs are that layer's). */
  outputLayer?: string;
  threads?: number;
  seed?: number;
  tolerance?: number;
}

/**
 * Run `onnx` (exported from `model`) with onnxruntime and `model` with tfjs on the same uniform
 * [0, 1) inputs; returns the worst agreement over all outputs.
 */
export async function compareOnnxWithTfjs(model: tf.LayersModel, onnx: Uint8Array, opts: CompareOptions = {}): Promise<Agreement> {
  const batch = opts.batch ?? 2;
  const runner = await OnnxRunner.create(onnx, { threads: opts.threads ?? 1 });
  try {
    const reference = opts.outputLayer ? cutModel(model, opts.outputLayer) : model;
    const xs = reference.inputs.map((t, i) => {
      const shape = t.shape.map((d, k) => (k === 0 ? batch : d));
      if (shape.some((d) => d == null)) throw new OnnxExportError(`input '${t.name}' has an unknown dimension: [${t.shape.join(', ')}]`);
      return tf.randomUniform(shape as number[], 0, 1, 'float32', (opts.seed ?? 1) + i);
    });
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    runner.inputNames.forEach((name, i) => {
      feeds[name] = { data: xs[i]!.dataSync() as Float32Array, dims: xs[i]!.shape };
    });
    const got = await runner.runFeeds(feeds);
    const ref = reference.predict(xs.length === 1 ? xs[0]! : xs);
    const refs = Array.isArray(ref) ? ref : [ref];
    const result = worst(runner.outputNames.map((n, i) => agreement(got[n]!.data, refs[i]!.dataSync(), opts.tolerance)));
    tf.dispose([...xs, ...refs]);
    if (reference !== model) disposeCut(reference);
    return result;
  } finally {
    await runner.dispose();
  }
}

/** image → output of `layerName` (searching nested models), sharing weights with `model`. */
function cutModel(model: tf.LayersModel, layerName: string): tf.LayersModel {
  const find = (m: tf.LayersModel): tf.LayersModel | undefined => {
    if (m.layers.some((l) => l.name === layerName)) return m;
    for (const l of m.layers) {
      const inner = l instanceof tf.LayersModel ? l : (l as unknown as { backbone?: unknown }).backbone;
      if (inner instanceof tf.LayersModel) {
        const hit = find(inner);
        if (hit) return hit;
      }
    }
    return undefined;
  };
  const owner = find(model);
  if (!owner) throw new OnnxExportError(`model '${model.name}' has no layer named '${layerName}'`);
  return tf.model({ inputs: owner.inputs, outputs: owner.getLayer(layerName).output as tf.SymbolicTensor });
}

function disposeCut(_m: tf.LayersModel): void {
  // A cut model shares every layer and weight with its source: nothing of its own to free.
}
