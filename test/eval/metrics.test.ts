import { test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import {
  auroc,
  averagePrecision,
  balancedAccuracy,
  bestThreshold,
  classificationMetrics,
  confusionAt,
  equalErrorRate,
  evaluateScores,
  meanStd,
  MetricsError,
  precisionRecallCurve,
  rocCurve,
} from '../../src/eval/metrics.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
const closeAll = (a: number[], b: number[], tol = 1e-9) => {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}: [${a}] vs [${b}]`);
  a.forEach((v, i) => (Number.isFinite(b[i]) ? close(v, b[i], tol) : assert.equal(v, b[i])));
};

// The example used throughout scikit-learn's documentation.
const SK_Y = [0, 0, 1, 1];
const SK_S = [0.1, 0.4, 0.35, 0.8];

/** Definition of AUROC by brute force over all (fake, real) pairs: independent of the rank formula. */
function pairwiseAuc(s: number[], y: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return wins / pairs;
}

function randomSet(n: number, seed: string, { separation = 1, quantize = 0 } = {}) {
  const rng = seedrandom(seed);
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng() < 0.5 ? 0 : 1;
    let v = rng() + separation * label * rng();
    if (quantize) v = Math.round(v * quantize) / quantize; // creates many ties
    y.push(label);
    s.push(v);
  }
  y[0] = 0;
  y[1] = 1;
  return { s, y };
}

test('auroc: sklearn roc_auc_score documentation example → 0.75', () => {
  close(auroc(SK_S, SK_Y), 0.75);
});

test('auroc: ties count one half (sklearn averages tied ranks)', () => {
  // All equal → 0.5; one tie across classes among otherwise perfect ordering.
  close(auroc([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1]), 0.5);
  // pairs (fake, real): (0.5,0.2)=1 (0.5,0.5)=½ (0.9,0.2)=1 (0.9,0.5)=1 → 3.5/4
  close(auroc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1]), 0.875);
});

test('auroc: matches the pairwise definition on random data with many ties', () => {
  for (const seed of ['a', 'b', 'c']) {
    const { s, y } = randomSet(300, seed, { quantize: 10 });
    close(auroc(s, y), pairwiseAuc(s, y), 1e-12);
  }
});

test('auroc: perfect, inverted, and accepts typed arrays', () => {
  close(auroc(new Float32Array([0.1, 0.2, 0.8, 0.9]), new Uint8Array([0, 0, 1, 1])), 1);
  close(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
});

test('auroc and AP are invariant to strictly increasing transforms of the scores', () => {
  const { s, y } = randomSet(200, 'mono', { quantize: 20 });
  const logit = s.map((v) => Math.log((v + 0.01) / (2.02 - v)));
  const cubed = s.map((v) => 5 * v ** 3 - 7);
  close(auroc(logit, y), auroc(s, y), 1e-12);
  close(auroc(cubed, y), auroc(s, y), 1e-12);
  close(averagePrecision(logit, y), averagePrecision(s, y), 1e-12);
  close(equalErrorRate(cubed, y).eer, equalErrorRate(s, y).eer, 1e-12);
});

test('random scores give AUROC ≈ 0.5 and AP ≈ prevalence', () => {
  const rng = seedrandom('random-labels');
  const n = 4000;
  const s = Array.from({ length: n }, () => rng());
  const y: number[] = Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0));
  const prevalence = y.reduce((a, b) => a + b, 0) / n;
  assert.ok(Math.abs(auroc(s, y) - 0.5) < 0.04, `auroc ${auroc(s, y)}`);
  assert.ok(Math.abs(averagePrecision(s, y) - prevalence) < 0.04);
  assert.ok(Math.abs(equalErrorRate(s, y).eer - 0.5) < 0.04);
});

test('rocCurve: sklearn roc_curve documentation example', () => {
  const r = rocCurve(SK_S, SK_Y);
  closeAll(r.fpr, [0, 0, 0.5, 0.5, 1]);
  closeAll(r.tpr, [0, 0.5, 0.5, 1, 1]);
  closeAll(r.thresholds, [Infinity, 0.8, 0.4, 0.35, 0.1]);
});

test('rocCurve: tied scores collapse into one point; trapezoid area equals auroc', () => {
  const s = [0.2, 0.5, 0.5, 0.5, 0.9, 0.1];
  const y = [0, 0, 1, 1, 1, 0];
  const r = rocCurve(s, y);
  closeAll(r.thresholds, [Infinity, 0.9, 0.5, 0.2, 0.1]);
  closeAll(r.tpr, [0, 1 / 3, 1, 1, 1]);
  closeAll(r.fpr, [0, 0, 1 / 3, 2 / 3, 1]);
  let area = 0;
  for (let k = 1; k < r.fpr.length; k++) area += ((r.fpr[k] - r.fpr[k - 1]) * (r.tpr[k] + r.tpr[k - 1])) / 2;
  close(area, auroc(s, y), 1e-12);
});

test('averagePrecision: sklearn example → 0.8333…, hand-computed case with ties', () => {
  close(averagePrecision(SK_S, SK_Y), 0.8333333333333333, 1e-12);
  // desc: 0.9(1) → P=1 R=1/2 ; 0.5 {1,0} → P=2/3 R=1 → AP = ½·1 + ½·⅔ = 5/6
  close(averagePrecision([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]), 5 / 6, 1e-12);
  close(averagePrecision([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]), 1);
});

test('precisionRecallCurve: sklearn precision_recall_curve documentation example', () => {
  const pr = precisionRecallCurve(SK_S, SK_Y);
  closeAll(pr.precision, [0.5, 2 / 3, 0.5, 1, 1]);
  closeAll(pr.recall, [1, 1, 0.5, 0.5, 0]);
  closeAll(pr.thresholds, [0.1, 0.35, 0.4, 0.8]);
});

test('equalErrorRate: interpolates where FPR and FNR cross', () => {
  // sklearn example: points (fpr,fnr) = (0,1) (0,.5) (.5,.5) … → exact crossing at 0.5, threshold 0.4
  const e = equalErrorRate(SK_S, SK_Y);
  close(e.eer, 0.5);
  close(e.threshold, 0.4);
  // Perfect separation: EER 0, threshold = lowest fake score.
  const p = equalErrorRate([0.1, 0.2, 0.7, 0.8], [0, 0, 1, 1]);
  close(p.eer, 0);
  close(p.threshold, 0.7);
  // 3 real, 3 fake, desc 0.9F 0.8R 0.7F 0.6R 0.5F 0.4R:
  // (fpr,fnr): (0,1) (0,2/3) (1/3,2/3) (1/3,1/3) → touches at 1/3, threshold 0.7.
  const q = equalErrorRate([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 0, 1, 0]);
  close(q.eer, 1 / 3);
  close(q.threshold, 0.7);
  // A true crossing between points: all scores equal → (0,1) → (1,0), crossing at 0.5.
  const t = equalErrorRate([0.4, 0.4, 0.4, 0.4], [0, 1, 0, 1]);
  close(t.eer, 0.5);
  close(t.threshold, 0.4);
  // Crossing strictly between points: (fpr,fnr) (0,.5)→(.5,0) crossing at .25 after linear interpolation.
  const u = equalErrorRate([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]);
  close(u.eer, 0.25);
});

test('confusionAt: predicted fake when score >= threshold', () => {
  assert.deepEqual(confusionAt([0.5, 0.49, 0.5, 0.2], [1, 1, 0, 0], 0.5), { tp: 1, fp: 1, tn: 1, fn: 1 });
  assert.deepEqual(confusionAt(SK_S, SK_Y, Infinity), { tp: 0, fp: 0, tn: 2, fn: 2 });
  assert.deepEqual(confusionAt(SK_S, SK_Y, -Infinity), { tp: 2, fp: 2, tn: 0, fn: 0 });
});

test('classificationMetrics: hand-computed values; no NaN on empty denominators', () => {
  const m = classificationMetrics({ tp: 6, fp: 2, tn: 8, fn: 4 });
  close(m.accuracy, 14 / 20);
  close(m.precision, 6 / 8);
  close(m.recall, 6 / 10);
  close(m.specificity, 8 / 10);
  close(m.f1, (2 * 0.75 * 0.6) / (0.75 + 0.6));
  close(m.balancedAccuracy, 0.7);
  const z = classificationMetrics({ tp: 0, fp: 0, tn: 5, fn: 5 });
  assert.deepEqual(z, { accuracy: 0.5, precision: 0, recall: 0, f1: 0, balancedAccuracy: 0.5, specificity: 1 });
  for (const v of Object.values(classificationMetrics({ tp: 0, fp: 0, tn: 0, fn: 0 }))) assert.equal(v, 0);
  assert.throws(() => classificationMetrics({ tp: -1, fp: 0, tn: 0, fn: 0 }), MetricsError);
});

test('balancedAccuracy: sklearn balanced_accuracy_score documentation example → 0.625', () => {
  // y_true=[0,1,0,0,1,0], y_pred=[0,1,0,0,0,1] → tp 1, fn 1, tn 3, fp 1
  close(balancedAccuracy({ tp: 1, fn: 1, tn: 3, fp: 1 }), 0.625);
  close(balancedAccuracy({ tp: 3, fn: 1, tn: 0, fp: 0 }), 0.75); // one class present: its recall
});

test('bestThreshold: f1, balanced accuracy and target recall', () => {
  // desc: 0.9F 0.8R 0.7F 0.6F 0.3R 0.2R
  const s = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2];
  const y = [1, 0, 1, 1, 0, 0];
  // thr 0.6: tp3 fp1 → F1 6/7 (best); BA (1 + 2/3)/2 = 5/6 (best)
  const f = bestThreshold(s, y, 'f1');
  close(f.threshold, 0.6);
  close(f.value, 6 / 7);
  assert.deepEqual(f.confusion, { tp: 3, fp: 1, tn: 2, fn: 0 });
  close(f.f1, 6 / 7);
  const b = bestThreshold(s, y, 'balanced-accuracy');
  close(b.threshold, 0.6);
  close(b.value, 5 / 6);
  const r = bestThreshold(s, y, { targetRecall: 0.6 }); // 2/3 first reached at 0.7
  close(r.threshold, 0.7);
  close(r.recall, 2 / 3);
  close(bestThreshold(s, y, { targetRecall: 1 }).threshold, 0.6);
  assert.throws(() => bestThreshold(s, y, { targetRecall: 1.5 }), MetricsError);
  assert.throws(() => bestThreshold(s, y, 'accuracy' as never), MetricsError);
});

test('bestThreshold f1 equals brute force over every distinct score', () => {
  const { s, y } = randomSet(150, 'bt', { quantize: 25, separation: 0.6 });
  let bestF1 = -1;
  for (const t of new Set(s)) bestF1 = Math.max(bestF1, classificationMetrics(confusionAt(s, y, t)).f1);
  close(bestThreshold(s, y, 'f1').value, bestF1, 1e-12);
});

test('meanStd: sample (default) and population standard deviation', () => {
  const v = [2, 4, 4, 4, 5, 5, 7, 9];
  const pop = meanStd(v, { ddof: 0 });
  close(pop.mean, 5);
  close(pop.std, 2);
  close(meanStd(v).std, Math.sqrt(32 / 7));
  assert.deepEqual(meanStd([0.8]), { mean: 0.8, std: 0, n: 1 });
  assert.throws(() => meanStd([]), MetricsError);
  assert.throws(() => meanStd([1, NaN]), MetricsError);
});

test('evaluateScores: consistent with the individual metrics', () => {
  const { s, y } = randomSet(120, 'eval', { separation: 1 });
  const m = evaluateScores(s, y);
  const fakes = y.filter((v) => v === 1).length;
  assert.equal(m.n, 120);
  assert.deepEqual(m.counts, { real: 120 - fakes, fake: fakes });
  close(m.auroc, auroc(s, y));
  close(m.averagePrecision, averagePrecision(s, y));
  close(m.eer, equalErrorRate(s, y).eer);
  assert.equal(m.at05.threshold, 0.5);
  assert.deepEqual(m.at05.confusion, confusionAt(s, y, 0.5));
  close(m.accuracy, m.at05.accuracy);
  assert.equal(m.atEer.threshold, m.eerThreshold);
  const c = m.atEer.confusion;
  assert.equal(c.tp + c.fp + c.tn + c.fn, 120);
  // At the EER threshold FPR and FNR sit next to the interpolated crossing.
  const fpr = c.fp / (c.fp + c.tn);
  const fnr = c.fn / (c.fn + c.tp);
  assert.ok(Math.abs(fpr - m.eer) < 0.05 && Math.abs(fnr - m.eer) < 0.05, `fpr ${fpr} fnr ${fnr} eer ${m.eer}`);
  assert.doesNotThrow(() => JSON.stringify(m));
});

test('bad input raises MetricsError with a clear message', () => {
  assert.throws(() => auroc([0.1, 0.2], [1, 1]), { name: 'MetricsError', message: /only one class/ });
  assert.throws(() => evaluateScores([0.1, 0.2], [0, 0]), MetricsError);
  assert.throws(() => auroc([0.1], [0, 1]), { name: 'MetricsError', message: /length/ });
  assert.throws(() => auroc([], []), { name: 'MetricsError', message: /no samples/ });
  assert.throws(() => auroc([0.1, 0.2], [0, 2]), { name: 'MetricsError', message: /labels must be 0/ });
  assert.throws(() => averagePrecision([0.1, NaN], [0, 1]), { name: 'MetricsError', message: /finite/ });
  assert.throws(() => confusionAt([0.1, 0.2], [0, 1], NaN), MetricsError);
  // Thresholded metrics stay defined with one class present.
  assert.deepEqual(confusionAt([0.1, 0.7], [1, 1], 0.5), { tp: 1, fp: 0, tn: 0, fn: 1 });
});
