import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClassifier } from '../../src/classical/registry.ts';
import { type ClassicalPredictions, formatClassicalPredictions } from '../../src/classical/predict.ts';
import { blobs, rows } from './synthetic.ts';

const KINDS: [string, Record<string, number | string>][] = [
  ['lr', { C: 1 }],
  ['svc', { kernel: 'rbf', C: 1 }],
  ['rf', { nEstimators: 20, maxDepth: 4 }],
  ['xgb', { nEstimators: 20, maxDepth: 3 }],
];

for (const [kind, params] of KINDS) {
  test(`${kind}: predictProba is probabilityOfDecision of the decision value`, async () => {
    // Overlapping classes, so the values spread over the probability range instead of saturating.
    const d = blobs(160, 6, { seed: `proba-${kind}`, shift: 1 });
    const clf = await createClassifier(kind, params);
    clf.fit(rows(d, 0, 120).X, 120, 6, rows(d, 0, 120).y);
    const held = rows(d, 120, 160);
    const decision = clf.decisionFunction(held.X, 40);
    const proba = clf.predictProba(held.X, 40);
    decision.forEach((v, i) => assert.ok(Math.abs(clf.probabilityOfDecision(v) - proba[i]!) < 1e-6, `row ${i}: ${clf.probabilityOfDecision(v)} vs ${proba[i]}`));
    // A threshold on decision values sorts rows as its probability equivalent does.
    const threshold = decision[7]!;
    const pThreshold = clf.probabilityOfDecision(threshold);
    decision.forEach((v, i) => {
      if (v >= threshold) assert.ok(proba[i]! >= pThreshold - 1e-9, `row ${i}`);
      else assert.ok(proba[i]! <= pThreshold + 1e-9, `row ${i}`);
    });
  });
}

test('formatClassicalPredictions states the verdict rule on both the decision and the p(fake) column', () => {
  // The QA case: an SVC with a tuned threshold below its own (0), so p(fake) < 0.5 can be 'fake'.
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const r: ClassicalPredictions = {
    classifier: 'svc',
    threshold: -1.056,
    thresholdSource: 'tuned, f1',
    probabilityThreshold: sigmoid(-1.056),
    predictions: [
      { path: 'real_00004.jpg', decision: -0.9205, fake: sigmoid(-0.9205), label: 'fake' },
      { path: 'real_00007.jpg', decision: -1.5, fake: sigmoid(-1.5), label: 'real' },
      { path: 'gone.jpg', error: 'missing: ENOENT' },
    ],
  };
  const lines = formatClassicalPredictions(r).split('\n');
  assert.equal(lines[0], 'verdict: fake when the svc decision value is ≥ -1.0560 (the threshold tuned for f1), i.e. when p(fake) ≥ 0.2581');
  assert.match(lines[1]!, /sigmoid of the margin \(not calibrated\)/);
  assert.match(lines[2]!, /^image +decision +p\(fake\) +verdict$/);
  assert.match(lines[3]!, /^real_00004\.jpg +-0\.9205 +0\.2849 +fake$/);
  assert.match(lines[4]!, /^real_00007\.jpg +-1\.5000 +0\.1824 +real$/);
  assert.match(lines[5]!, /skipped \(missing: ENOENT\)/);
  assert.match(formatClassicalPredictions({ ...r, classifier: 'lr', threshold: 0, thresholdSource: 'default', probabilityThreshold: 0.5 }), /≥ 0\.0000 \(the classifier's default threshold\), i\.e\. when p\(fake\) ≥ 0\.5000/);
});
