import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossValidate, METRIC_NAMES, scoreDecisions } from '../../src/classical/cv.ts';
import { gridSearch } from '../../src/classical/gridSearch.ts';
import { groupedKFold } from '../../src/classical/groupedKFold.ts';
import { expandGrid } from '../../src/classical/registry.ts';
import { meanStd, auroc } from '../../src/eval/metrics.ts';
import { blobs } from './synthetic.ts';

test('crossValidate: per-fold metrics, mean ± std over folds, and out-of-fold decisions for every row', async () => {
  const d = blobs(150, 6, { seed: 'cv', shift: 1.5 });
  const folds = groupedKFold(undefined, d.y, 5, 0);
  const r = await crossValidate('lr', { C: 1 }, d, folds);
  assert.equal(r.folds.length, 5);
  for (const k of METRIC_NAMES) {
    const s = meanStd(r.folds.map((f) => f[k]));
    assert.ok(Math.abs(r.mean[k] - s.mean) < 1e-12 && Math.abs(r.std[k] - s.std) < 1e-12);
  }
  // fold metrics are those of the out-of-fold decisions restricted to each fold
  const f0 = folds[0]!;
  const d0 = Array.from(f0.test, (i) => r.oof[i]!);
  assert.deepEqual(scoreDecisions(d0, Array.from(f0.test, (i) => d.y[i]!)), r.folds[0]);
  assert.ok(auroc(r.oof, d.y) > 0.8);
});

test('gridSearch tries every combination on the same folds and returns the best mean score', async () => {
  const d = blobs(120, 5, { seed: 'grid', shift: 0.8 });
  const folds = groupedKFold(undefined, d.y, 3, 0);
  const grid = { C: [1e-4, 1e-2, 1], standardize: [true, false] };
  const seen: number[] = [];
  const g = await gridSearch('lr', grid, d, folds, 'f1', (_r, i) => seen.push(i));
  assert.equal(g.all.length, expandGrid(grid).length);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  const bestF1 = Math.max(...g.all.map((r) => r.mean.f1));
  assert.equal(g.best.mean.f1, bestF1);
  assert.deepEqual(g.all.find((r) => r.mean.f1 === bestF1)!.params, g.best.params);
  const byAuc = await gridSearch('lr', { C: [1e-4, 1] }, d, folds, 'auc');
  assert.equal(byAuc.best.mean.auc, Math.max(...byAuc.all.map((r) => r.mean.auc)));
  await assert.rejects(gridSearch('lr', grid, d, folds, 'nope' as 'f1'));
});
