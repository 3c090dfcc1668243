import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EarlyStopping, EarlyStoppingError } from '../../src/train/earlyStopping.ts';

test('stops after `patience` epochs without improvement and remembers the best epoch', () => {
  const es = new EarlyStopping({ patience: 2 });
  const losses = [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.9];
  const out = losses.map((v, i) => es.update(i + 1, v));
  assert.deepEqual(
    out.map((o) => [o.improved, o.stop]),
    [
      [true, false],
      [true, false],
      [false, false],
      [true, false],
      [false, false],
      [false, true],
      [false, true],
    ],
  );
  assert.equal(es.bestEpoch, 4);
  assert.equal(es.bestValue, 0.7);
  assert.equal(es.stopped, true);
});

test('minDelta: smaller changes do not count; max mode for accuracy-like values', () => {
  const es = new EarlyStopping({ patience: 5, minDelta: 0.05 });
  es.update(1, 1.0);
  assert.equal(es.update(2, 0.96).improved, false);
  assert.equal(es.update(3, 0.94).improved, true);
  const up = new EarlyStopping({ mode: 'max', patience: 1 });
  assert.equal(up.update(1, 0.6).improved, true);
  assert.equal(up.update(2, 0.7).improved, true);
  assert.deepEqual(up.update(3, 0.65), { improved: false, stop: true });
  assert.equal(up.bestEpoch, 2);
});

test('a NaN value never improves', () => {
  const es = new EarlyStopping({ patience: 3 });
  assert.equal(es.update(1, NaN).improved, false);
  assert.equal(es.bestEpoch, null);
  assert.equal(es.update(2, 0.5).improved, true);
  assert.equal(es.update(3, NaN).improved, false);
  assert.equal(es.bestValue, 0.5);
});

test('toJSON/fromJSON mid-run continues with identical decisions', () => {
  const values = [0.9, 0.8, 0.85, 0.84, 0.79, 0.83, 0.82, 0.81, 0.80];
  const straight = new EarlyStopping({ patience: 3, minDelta: 0.001 });
  const a = values.map((v, i) => straight.update(i + 1, v));
  let es = new EarlyStopping({ patience: 3, minDelta: 0.001 });
  const b = values.slice(0, 4).map((v, i) => es.update(i + 1, v));
  es = EarlyStopping.fromJSON(JSON.parse(JSON.stringify(es.toJSON())));
  b.push(...values.slice(4).map((v, i) => es.update(i + 5, v)));
  assert.deepEqual(b, a);
  assert.deepEqual(es.toJSON(), straight.toJSON());
});

test('bad options, out-of-order epochs and corrupt state raise EarlyStoppingError', () => {
  assert.throws(() => new EarlyStopping({ patience: -1 }), EarlyStoppingError);
  assert.throws(() => new EarlyStopping({ minDelta: -0.1 }), EarlyStoppingError);
  assert.throws(() => new EarlyStopping({ mode: 'up' as 'min' }), EarlyStoppingError);
  const es = new EarlyStopping();
  es.update(3, 1);
  assert.throws(() => es.update(3, 0.5), EarlyStoppingError);
  const bad = { ...es.toJSON(), bestEpoch: null };
  assert.throws(() => EarlyStopping.fromJSON(bad), EarlyStoppingError);
});
