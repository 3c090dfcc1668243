/**
 * The host optimizer (src/train/hostOptimizer.ts) against tfjs' own optimizers: the same weights
 * after several steps with changing learning rates and L2 on the kernels (momentum SGD and Adam),
 * with its JS loops and with its wasm SIMD kernels (src/train/assembly/hostUpdate.ts);
 * its state moves into a tfjs optimizer and back so that either continues the other's run
 * exactly; unsupported optimizers and mismatched slots are named errors.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { HostOptimizer, HostOptimizerError, type HostParameter } from '../../src/train/hostOptimizer.ts';
import { createOptimizer, isDecayed } from '../../src/train/loop.ts';
import { setOptimizerLearningRate } from '../../src/train/schedule.ts';
import type { TrainConfig } from '../../src/train/config.ts';

/** The fields of a run's config that createOptimizer reads. */
const optimizerConfig = (optimizer: 'sgd' | 'adam', lr: number) => ({ optimizer, lr, momentum: 0.9 }) as TrainConfig;

before(async () => {
  await initEngine('wasm', () => {});
});

const L2 = 1e-2;
const LRS = [0.3, 0.2, 0.05, 0.01];

/** Seeded values of `n` floats in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([n], -1, 1, 'float32', seed).dataSync() as Float32Array).slice();
}

/** Two tfjs variables (a decayed kernel and a bias) and their host twins. */
let family = 0;
function parameters(): { vars: tf.Variable[]; params: HostParameter[] } {
  family++;
  const shapes: Array<[string, number[]]> = [
    [`host_test_${family}/kernel`, [3, 5]],
    [`host_test_${family}/bias`, [5]],
  ];
  const vars = shapes.map(([name, shape], i) => tf.variable(tf.tensor(values(shape.reduce((a, b) => a * b, 1), family * 10 + i), shape), true, name));
  const params = vars.map((v) => ({ name: v.name, value: (v.dataSync() as Float32Array).slice(), shape: v.shape, decayed: isDecayed(v.name) }));
  return { vars, params };
}

/** Step `step`'s gradients (seeded, the same for both sides). */
function gradientsAt(step: number, params: HostParameter[]): Float32Array[] {
  return params.map((p, i) => values(p.value.length, 1000 + step * 10 + i));
}

/** One tfjs step: the L2 gradient 2λw added to the kernels (as l2Penalty's), then applyGradients. */
function tfjsStep(optimizer: tf.Optimizer, vars: tf.Variable[], grads: Float32Array[], lr: number): number {
  setOptimizerLearningRate(optimizer, lr);
  let penalty = 0;
  const named: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    let g = tf.tensor(grads[i]!, v.shape);
    if (isDecayed(v.name)) {
      g = tf.add(g, tf.mul(2 * L2, v));
      penalty += L2 * (tf.sum(tf.square(v)).dataSync()[0]! as number);
    }
    named[v.name] = g;
  });
  optimizer.applyGradients(named);
  tf.dispose(Object.values(named));
  return penalty;
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let j = 0; j < actual.length; j++) {
    const d = Math.abs(actual[j]! - expected[j]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(expected[j]!)), `${what}[${j}]: ${actual[j]} vs ${expected[j]}`);
  }
}

/** Move `params`' values into `host.allocate`'s storage (the wasm SIMD arena); asserts it is wasm. */
function intoArena(host: HostOptimizer, params: HostParameter[]): void {
  const storage = host.allocate(params.map((p) => p.value.length));
  assert.ok(host.simd, 'this Node has wasm SIMD: the arena must be wasm');
  params.forEach((p, i) => {
    storage[i]!.set(p.value);
    p.value = storage[i]!;
  });
}

for (const optimizerName of ['sgd', 'adam'] as const) {
  const config = optimizerConfig(optimizerName, LRS[0]!);

  for (const storage of ['JS loops', 'wasm SIMD'] as const)
  test(`${optimizerName} (${storage}): the host update gives tfjs' weights and L2 penalty over ${LRS.length} steps`, () => {
    const { vars, params } = parameters();
    const optimizer = createOptimizer(config);
    const host = HostOptimizer.like(optimizer);
    if (storage === 'wasm SIMD') intoArena(host, params);
    LRS.forEach((lr, step) => {
      const grads = gradientsAt(step, params);
      const expectedPenalty = tfjsStep(optimizer, vars, grads, lr);
      const penalty = host.apply(params, grads.map((g) => g.slice()), lr, L2);
      assert.ok(Math.abs(penalty - expectedPenalty) <= 1e-6 * expectedPenalty, `penalty ${penalty} vs ${expectedPenalty}`);
      params.forEach((p, i) => assertClose(p.value, vars[i]!.dataSync() as Float32Array, 1e-6, `${p.name} after step ${step + 1}`));
    });
    assert.equal(host.iterations, LRS.length);
    optimizer.dispose();
    tf.dispose(vars);
  });

  test(`${optimizerName}: state moves between the host (wasm SIMD) and tfjs optimizers, and either continues the other's run`, async () => {
    // Host for two steps → store → tfjs continues; versus the host continuing.
    const { vars, params } = parameters();
    const host = HostOptimizer.like(createOptimizer(config));
    intoArena(host, params);
    for (let s = 0; s < 2; s++) host.apply(params, gradientsAt(s, params), LRS[s]!, L2);
    const tfjsOptimizer = createOptimizer(config);
    vars.forEach((v, i) => v.assign(tf.tensor(params[i]!.value, v.shape)));
    await host.store(tfjsOptimizer, params);
    const named = await tfjsOptimizer.getWeights();
    assert.equal(named[0]!.name, 'iter');
    assert.equal(named[0]!.tensor.dataSync()[0], 2);
    const suffixes = optimizerName === 'sgd' ? ['momentum'] : ['m', 'v'];
    assert.deepEqual(named.slice(1).map((n) => n.name), suffixes.flatMap((s) => params.map((p) => `${p.name}/${s}`)));
    assert.deepEqual(named.slice(1).map((n) => n.tensor.shape), suffixes.flatMap(() => params.map((p) => [...p.shape])));
    named[0]!.tensor.dispose();
    for (let s = 2; s < 4; s++) {
      const grads = gradientsAt(s, params);
      tfjsStep(tfjsOptimizer, vars, grads, LRS[s]!);
      host.apply(params, grads.map((g) => g.slice()), LRS[s]!, L2);
    }
    params.forEach((p, i) => assertClose(p.value, vars[i]!.dataSync() as Float32Array, 1e-6, `${p.name} (tfjs continued the host)`));

    // tfjs for two steps → a fresh host loads its state → continues as tfjs does.
    const b = parameters();
    const tfjsFirst = createOptimizer(config);
    for (let s = 0; s < 2; s++) tfjsStep(tfjsFirst, b.vars, gradientsAt(s, b.params), LRS[s]!);
    b.params.forEach((p, i) => p.value.set(b.vars[i]!.dataSync() as Float32Array));
    const loaded = HostOptimizer.like(tfjsFirst);
    intoArena(loaded, b.params);
    await loaded.load(tfjsFirst, b.params);
    assert.equal(loaded.iterations, 2);
    for (let s = 2; s < 4; s++) {
      const grads = gradientsAt(s, b.params);
      tfjsStep(tfjsFirst, b.vars, grads, LRS[s]!);
      loaded.apply(b.params, grads.map((g) => g.slice()), LRS[s]!, L2);
    }
    b.params.forEach((p, i) => assertClose(p.value, b.vars[i]!.dataSync() as Float32Array, 1e-6, `${p.name} (the host continued tfjs)`));
    for (const o of [tfjsOptimizer, tfjsFirst]) o.dispose();
    tf.dispose([...vars, ...b.vars]);
  });
}

test('a parameter without a gradient keeps its value and slots, as in tfjs', () => {
  const { vars, params } = parameters();
  const host = HostOptimizer.like(createOptimizer(optimizerConfig('sgd', 0.1)));
  const before = params.map((p) => p.value.slice());
  host.apply(params, [gradientsAt(0, params)[0], undefined], 0.1, L2);
  assert.notDeepEqual(params[0]!.value, before[0]);
  assert.deepEqual(params[1]!.value, before[1]);
  tf.dispose(vars);
});

test('unsupported optimizers, mismatched counts and slots are named errors', async () => {
  assert.throws(() => HostOptimizer.like(tf.train.rmsprop(0.1)), HostOptimizerError);
  assert.throws(() => HostOptimizer.like(tf.train.momentum(0.1, 0.9, true)), /Nesterov/);
  const { vars, params } = parameters();
  const sgd = createOptimizer(optimizerConfig('sgd', 0.1));
  const host = HostOptimizer.like(sgd);
  assert.throws(() => host.apply(params, [gradientsAt(0, params)[0]!], 0.1, 0), /1 gradients for 2 parameters/);
  assert.throws(() => host.apply(params, [new Float32Array(2), new Float32Array(5)], 0.1, 0), HostOptimizerError);
  host.apply(params, gradientsAt(0, params), 0.1, 0);
  assert.throws(() => host.allocate([15, 5]), /allocate must come before/);
  // Slots of another model's weights.
  tfjsStep(sgd, vars, gradientsAt(0, params), 0.1);
  const other = parameters();
  await assert.rejects(host.load(sgd, other.params), /does not train/);
  await assert.rejects(HostOptimizer.like(tf.train.adam(0.1)).load(sgd, params), /the host optimizer is Adam, the run's is Momentum/);
  sgd.dispose();
  tf.dispose([...vars, ...other.vars]);
});
