/**
 * A list of variables laid end to end in one flat Float32Array: how the main thread and the
 * workers exchange weights, gradients and BatchNormalization statistics through shared memory.
 */
import * as tf from '@tensorflow/tfjs';
import { ParallelTrainingError } from './errors.ts';

/** One variable of a layout: its layer-scoped name (`layer/kernel`, not the uniquified tf name) and shape. */
export interface VariableSpec {
  name: string;
  shape: number[];
}

export interface WeightLayout {
  specs: VariableSpec[];
  /** Start of variable i in the flat array; offsets[specs.length] = total length. */
  offsets: number[];
  total: number;
}

export function layoutOf(specs: VariableSpec[]): WeightLayout {
  const offsets = [0];
  for (const s of specs) offsets.push(offsets[offsets.length - 1]! + s.shape.reduce((a, b) => a * b, 1));
  return { specs, offsets, total: offsets[specs.length]! };
}

/** The specs of layer variables, in their order. */
export function specsOf(weights: tf.LayerVariable[]): VariableSpec[] {
  return weights.map((w) => ({ name: (w as unknown as { originalName: string }).originalName, shape: w.shape as number[] }));
}

/** The tf.Variable behind a layer variable (its name is what optimizers and NamedTensorMaps use). */
export function variableOf(w: tf.LayerVariable): tf.Variable {
  return (w as unknown as { val: tf.Variable }).val;
}

/** Throws unless both layouts list the same variables (names and shapes) in the same order. */
export function assertSameLayout(expected: VariableSpec[], actual: VariableSpec[], what: string): void {
  const show = (s: VariableSpec) => `${s.name} [${s.shape.join(',')}]`;
  if (expected.length !== actual.length) {
    throw new ParallelTrainingError(`${what}: ${actual.length} variables, the workers' model has ${expected.length}`);
  }
  expected.forEach((e, i) => {
    const a = actual[i]!;
    if (e.name !== a.name || e.shape.length !== a.shape.length || e.shape.some((d, k) => d !== a.shape[k])) {
      throw new ParallelTrainingError(`${what}: variable ${i} is ${show(a)}, the workers' model has ${show(e)}`);
    }
  });
}

/** Copies the current values of `vars` into `flat` (laid out by `layout`). */
export async function readInto(vars: tf.Variable[], layout: WeightLayout, flat: Float32Array): Promise<void> {
  const values = await Promise.all(vars.map((v) => v.data()));
  values.forEach((d, i) => flat.set(d as Float32Array, layout.offsets[i]!));
}

/**
 * Sets `vars` from `flat`. The values are copied first: the cpu backend keeps the array it is given,
 * and a variable must not alias shared memory that the other side overwrites.
 */
export function assignFrom(vars: tf.Variable[], layout: WeightLayout, flat: Float32Array): void {
  vars.forEach((v, i) => {
    const t = tf.tensor(flat.slice(layout.offsets[i]!, layout.offsets[i + 1]!), layout.specs[i]!.shape, 'float32');
    v.assign(t);
    t.dispose();
  });
}
