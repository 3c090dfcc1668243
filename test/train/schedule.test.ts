import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import {
  constantLr,
  cosineAnnealing,
  getOptimizerLearningRate,
  ScheduleError,
  setOptimizerLearningRate,
} from '../../src/train/schedule.ts';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} != ${b}`);

test('cosine annealing: lr0 at step 0, half at mid-run, 0 at the end (paper §4.1, lr0 = 0.3)', () => {
  const lr = cosineAnnealing({ lr0: 0.3, totalSteps: 100 });
  assert.equal(lr(0), 0.3);
  close(lr(50), 0.15);
  close(lr(25), 0.15 * (1 + Math.SQRT1_2));
  close(lr(75), 0.15 * (1 - Math.SQRT1_2));
  close(lr(100), 0);
  close(lr(1000), 0, 'stays at lrMin after the last step');
  for (let s = 1; s <= 100; s++) assert.ok(lr(s) < lr(s - 1), `decreasing at step ${s}`);
  // Symmetric about the middle: lr(t) + lr(T − t) = lr0.
  close(lr(10) + lr(90), 0.3);
});

test('cosine annealing with a floor and a linear warm-up', () => {
  const lr = cosineAnnealing({ lr0: 1, totalSteps: 14, lrMin: 0.1, warmupSteps: 4 });
  assert.deepEqual([0, 1, 2, 3].map(lr), [0.25, 0.5, 0.75, 1]);
  close(lr(4), 1);
  close(lr(9), 0.1 + 0.9 * 0.5);
  close(lr(14), 0.1);
});

test('schedules reject bad settings and bad steps with ScheduleError', () => {
  assert.throws(() => cosineAnnealing({ lr0: 0.3, totalSteps: 0 }), ScheduleError);
  assert.throws(() => cosineAnnealing({ lr0: -1, totalSteps: 10 }), ScheduleError);
  assert.throws(() => cosineAnnealing({ lr0: 0.1, totalSteps: 10, lrMin: 0.2 }), ScheduleError);
  assert.throws(() => cosineAnnealing({ lr0: 0.1, totalSteps: 10, warmupSteps: 10 }), ScheduleError);
  assert.throws(() => cosineAnnealing({ lr0: 0.1, totalSteps: 10 })(1.5), ScheduleError);
  assert.throws(() => constantLr(NaN), ScheduleError);
  assert.throws(() => constantLr(0.1)(-1), ScheduleError);
});

test('constantLr is constant', () => {
  const lr = constantLr(1e-3);
  assert.deepEqual([0, 1, 500].map(lr), [1e-3, 1e-3, 1e-3]);
});

test('setOptimizerLearningRate changes the step size of SGD-momentum and Adam in place', async () => {
  await initEngine('cpu', () => {});
  for (const make of [() => tf.train.momentum(0.3, 0.9), () => tf.train.adam(1e-3), () => tf.train.sgd(0.1)]) {
    const opt = make();
    setOptimizerLearningRate(opt, 0.05);
    assert.equal(getOptimizerLearningRate(opt), 0.05);
    // One step on f(w) = w from w = 0: SGD/momentum move by exactly −lr; Adam by −lr (first step, |g| constant).
    const w = tf.variable(tf.scalar(0));
    opt.minimize(() => w.sum() as tf.Scalar, false, [w]);
    const moved = (await w.data())[0]!;
    assert.ok(Math.abs(moved + 0.05) < 1e-6, `${opt.getClassName()} moved by ${moved}`);
    w.dispose();
    opt.dispose();
  }
});
