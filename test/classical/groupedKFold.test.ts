import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupedKFold, groupedHoldout, groupsFromPaths } from '../../src/classical/groupedKFold.ts';
import { CrossValidationError } from '../../src/classical/errors.ts';

/** 60 identities of uneven size (1–6 images), labels per image alternating within some identities. */
function fixture() {
  const groups: string[] = [];
  const labels: number[] = [];
  for (let g = 0; g < 60; g++) {
    const size = 1 + (g * 7) % 6;
    for (let k = 0; k < size; k++) {
      groups.push(`id${g}`);
      labels.push(g % 3 === 0 ? k % 2 : g % 2);
    }
  }
  return { groups, labels };
}

test('every row is tested exactly once, and no group is in both train and test of a fold', () => {
  const { groups, labels } = fixture();
  const folds = groupedKFold(groups, labels, 5, 1);
  assert.equal(folds.length, 5);
  const seen = new Uint8Array(labels.length);
  for (const f of folds) {
    assert.equal(f.train.length + f.test.length, labels.length);
    const testGroups = new Set(Array.from(f.test, (i) => groups[i]));
    for (const i of f.train) assert.ok(!testGroups.has(groups[i]!), `group ${groups[i]} on both sides`);
    for (const i of f.test) seen[i]!++;
  }
  assert.ok(seen.every((c) => c === 1));
});

test('folds are stratified: each fold holds about 1/k of each class', () => {
  const { groups, labels } = fixture();
  const total = [labels.filter((l) => l === 0).length, labels.filter((l) => l === 1).length];
  for (const f of groupedKFold(groups, labels, 5, 7)) {
    for (const c of [0, 1]) {
      const n = Array.from(f.test).filter((i) => labels[i] === c).length;
      assert.ok(Math.abs(n - total[c]! / 5) <= 6, `class ${c}: ${n} vs ${total[c]! / 5}`);
    }
  }
});

test('without groups it is a plain stratified K-fold (equal class counts ±1)', () => {
  const labels = Array.from({ length: 103 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const folds = groupedKFold(undefined, labels, 4, 0);
  const fakes = folds.map((f) => Array.from(f.test).filter((i) => labels[i] === 1).length);
  assert.ok(Math.max(...fakes) - Math.min(...fakes) <= 1, `fakes per fold ${fakes}`);
});

test('the same seed gives the same folds; another seed other folds', () => {
  const { groups, labels } = fixture();
  const a = groupedKFold(groups, labels, 5, 3).map((f) => Array.from(f.test));
  const b = groupedKFold(groups, labels, 5, 3).map((f) => Array.from(f.test));
  const c = groupedKFold(groups, labels, 5, 4).map((f) => Array.from(f.test));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('too few groups, bad k, or a one-class fold raise CrossValidationError', () => {
  assert.throws(() => groupedKFold(['a', 'a', 'b', 'b'], [0, 1, 0, 1], 3), CrossValidationError);
  assert.throws(() => groupedKFold(undefined, [0, 1, 0, 1], 1), CrossValidationError);
  // two identities, each one class only: a fold cannot hold both classes
  assert.throws(() => groupedKFold(['a', 'a', 'b', 'b'], [0, 0, 1, 1], 2), /real and .* fake/);
});

test('groupedHoldout keeps groups apart; groupsFromPaths takes the first capture group', () => {
  const { groups, labels } = fixture();
  const h = groupedHoldout(groups, labels, 0.2, 0);
  const held = new Set(Array.from(h.test, (i) => groups[i]));
  assert.ok(Array.from(h.train).every((i) => !held.has(groups[i]!)));
  assert.ok(h.test.length > labels.length * 0.1 && h.test.length < labels.length * 0.3);
  const g = groupsFromPaths(['real/id01_a.jpg', 'fake/id01_b.jpg', 'real/x.jpg'], /(id\d+)_/);
  assert.equal(g.groups[0], g.groups[1]);
  assert.notEqual(g.groups[0], g.groups[2]);
  assert.equal(g.unmatched, 1);
  assert.throws(() => groupsFromPaths(['a'], '('), CrossValidationError);
});
