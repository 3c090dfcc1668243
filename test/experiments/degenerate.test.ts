/**
 * The checks that keep a model which learned nothing out of the report's findings: constant
 * scores, one predicted class, and a test AUROC not significantly above chance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chanceAurocBar, degenerateFindings } from '../../src/experiments/degenerate.ts';
import { evaluateScores } from '../../src/eval/metrics.ts';

/** 150 fake then 150 real images, the make-up of the quick experiment's test split. */
const labels = [...Array<number>(150).fill(1), ...Array<number>(150).fill(0)];
const scored = (score: (label: number, i: number) => number) => labels.map((l, i) => score(l, i));

test('the at-chance bar is the one-sided Mann–Whitney critical AUROC and falls as the test split grows', () => {
  assert.ok(Math.abs(chanceAurocBar(150, 150) - 0.5549) < 1e-4, String(chanceAurocBar(150, 150)));
  assert.ok(Math.abs(chanceAurocBar(40, 40) - 0.6068) < 1e-4, String(chanceAurocBar(40, 40)));
  assert.ok(chanceAurocBar(10_000, 10_000) < 0.51);
});

test('constant scores are one finding that voids ACC and AUROC', () => {
  const scores = scored(() => 0.4963);
  const findings = degenerateFindings(evaluateScores(scores, labels), scores);
  assert.deepEqual(findings.map((f) => f.reason), ['constant-scores']);
  assert.deepEqual(findings[0]!.voids, ['acc', 'auroc']);
  assert.match(findings[0]!.detail, /0\.4963/);
});

test('scores that vary but do not rank are at chance; ranked the wrong way round, below chance', () => {
  const noRanking = scored((_, i) => (i % 10) / 10);
  const atChance = degenerateFindings(evaluateScores(noRanking, labels), noRanking);
  assert.deepEqual(atChance.map((f) => f.reason), ['chance']);
  assert.match(atChance[0]!.detail, /^at chance .*55\.49 %/);

  const inverted = scored((l, i) => (l ? 0.1 : 0.6) + (i % 10) / 50);
  const below = degenerateFindings(evaluateScores(inverted, labels), inverted);
  assert.deepEqual(below.map((f) => f.reason), ['chance']);
  assert.match(below[0]!.detail, /^below chance/);
});

test('one predicted class voids ACC only: the ranking is still a result', () => {
  // Scores a few float32 steps apart around 0.498, as a SqueezeNet on its loss plateau gives, ranking well.
  const plateau = scored((l, i) => 0.498 + (l ? 4e-7 : 0) + (i % 3) * 1e-7);
  const m = evaluateScores(plateau, labels);
  assert.ok(m.auroc > 0.9);
  const findings = degenerateFindings(m, plateau);
  assert.deepEqual(findings.map((f) => f.reason), ['one-class']);
  assert.deepEqual(findings[0]!.voids, ['acc']);
  assert.match(findings[0]!.detail, /called real/);
});

test('a model that ranks above the bar and predicts both classes has no finding, with or without its scores', () => {
  const scores = scored((l, i) => (l ? 0.45 : 0.1) + (i % 10) / 20);
  const m = evaluateScores(scores, labels);
  assert.ok(m.auroc > 0.6 && m.auroc < 1, String(m.auroc));
  assert.deepEqual(degenerateFindings(m, scores), []);
  assert.deepEqual(degenerateFindings(m), []);
});
