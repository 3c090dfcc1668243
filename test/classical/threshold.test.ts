import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCriterion, thresholdSweep, tuneThreshold } from '../../src/classical/threshold.ts';
import { CrossValidationError } from '../../src/classical/errors.ts';
import { operatingPoint } from '../../src/eval/metrics.ts';

// Scores shifted so that the default threshold 0 is poor (everything is "fake").
const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
const scores = [0.1, 0.2, 0.3, 0.6, 0.4, 0.5, 0.7, 0.8, 0.9, 1.0];

test('tuned threshold: chosen on tuning data, never worse than the default there by the criterion', () => {
  const r = tuneThreshold(scores, labels, scores, labels, 'f1', 0);
  assert.equal(r.atDefault.recall, 1);
  assert.equal(r.atDefault.precision, 0.5);
  assert.ok(r.atTuned.f1 >= r.atDefault.f1);
  assert.equal(r.tunedThreshold, r.tuning.threshold);
  assert.deepEqual(r.atTuned, operatingPoint(scores, labels, r.tunedThreshold));
  const rec = tuneThreshold(scores, labels, scores, labels, { targetRecall: 1 }, 0);
  assert.equal(rec.atTuned.recall, 1);
  assert.equal(rec.tunedThreshold, 0.5); // highest threshold still catching every fake
});

test('the evaluation set is separate from the tuning set', () => {
  const evalScores = scores.map((s) => s + 10);
  const r = tuneThreshold(scores, labels, evalScores, labels, 'balanced-accuracy', 0);
  assert.equal(r.atTuned.recall, 1); // all eval scores exceed the tuned threshold
  assert.equal(r.atTuned.accuracy, 0.5);
});

test('parseCriterion', () => {
  assert.equal(parseCriterion('f1'), 'f1');
  assert.equal(parseCriterion('balanced-accuracy'), 'balanced-accuracy');
  assert.deepEqual(parseCriterion('recall=0.95'), { targetRecall: 0.95 });
  assert.throws(() => parseCriterion('recall=2'), CrossValidationError);
  assert.throws(() => parseCriterion('auc'), CrossValidationError);
});

test('thresholdSweep: increasing thresholds, recall non-increasing', () => {
  const s = thresholdSweep(scores, labels, 5);
  assert.ok(s.thresholds.length <= 5 && s.thresholds.length >= 2);
  for (let i = 1; i < s.thresholds.length; i++) {
    assert.ok(s.thresholds[i]! > s.thresholds[i - 1]!);
    assert.ok(s.metrics.recall[i]! <= s.metrics.recall[i - 1]!);
  }
  assert.equal(s.metrics.f1.length, s.thresholds.length);
});
