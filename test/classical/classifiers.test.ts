import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc } from '../../src/eval/metrics.ts';
import { createClassifier, classifierFromJSON } from '../../src/classical/registry.ts';
import { LogisticRegression } from '../../src/classical/classifiers/logisticRegression.ts';
import { SVC, libsvmPredictLabels } from '../../src/classical/classifiers/svc.ts';
import { RandomForest } from '../../src/classical/classifiers/randomForest.ts';
import { XGBoostClassifier } from '../../src/classical/classifiers/xgboost.ts';
import { ClassifierError } from '../../src/classical/errors.ts';
import { blobs, rows } from './synthetic.ts';

const KINDS: [string, Record<string, number | string | boolean>][] = [
  ['lr', { C: 1 }],
  ['svc', { kernel: 'linear', C: 1 }],
  ['svc', { kernel: 'rbf', C: 1 }],
  ['rf', { nEstimators: 30, maxDepth: 6 }],
  ['xgb', { nEstimators: 30, maxDepth: 3 }],
];

const logit = (p: number) => Math.log(p / (1 - p));

for (const [kind, params] of KINDS) {
  const label = `${kind} ${JSON.stringify(params)}`;
  test(`${label}: AUC ≈ 1 on separable data, ≈ 0.5 on random labels (held out)`, async () => {
    const sep = blobs(300, 12, { seed: `sep-${kind}` });
    const clf = await createClassifier(kind, params);
    clf.fit(rows(sep, 0, 200).X, 200, 12, rows(sep, 0, 200).y);
    const test_ = rows(sep, 200, 300);
    const s = clf.decisionFunction(test_.X, 100);
    assert.ok(auroc(s, test_.y) > 0.99, `separable AUC ${auroc(s, test_.y)}`);
    const p = clf.predictProba(test_.X, 100);
    for (const v of p) assert.ok(v >= 0 && v <= 1);
    // probabilities rank like the decision values
    assert.ok(Math.abs(auroc(p, test_.y) - auroc(s, test_.y)) < 0.02);

    const noise = blobs(600, 12, { seed: `noise-${kind}`, randomLabels: true });
    const clf2 = await createClassifier(kind, params);
    clf2.fit(rows(noise, 0, 300).X, 300, 12, rows(noise, 0, 300).y);
    const t2 = rows(noise, 300, 600);
    const a = auroc(clf2.decisionFunction(t2.X, 300), t2.y);
    assert.ok(Math.abs(a - 0.5) < 0.12, `random-label AUC ${a}`);
  });

  test(`${label}: toJSON → classifierFromJSON gives identical decisions`, async () => {
    const d = blobs(80, 6, { seed: `json-${kind}`, shift: 1 });
    const clf = await createClassifier(kind, params);
    clf.fit(d.X, d.nRows, d.nCols, d.y);
    const back = await classifierFromJSON(JSON.parse(JSON.stringify(clf.toJSON())));
    assert.deepEqual(back.params(), clf.params());
    assert.deepEqual(Array.from(back.decisionFunction(d.X, d.nRows)), Array.from(clf.decisionFunction(d.X, d.nRows)));
  });
}

test('lr: binary feature, (almost) no penalty → the closed-form MLE b = logit(p0), w = logit(p1) − logit(p0)', () => {
  // x = 0: 3 of 10 fake; x = 1: 8 of 10 fake. The saturated model's MLE reproduces the rates.
  const X = new Float32Array(20);
  const y = new Uint8Array(20);
  for (let i = 0; i < 10; i++) y[i] = i < 3 ? 1 : 0;
  for (let i = 10; i < 20; i++) {
    X[i] = 1;
    y[i] = i < 18 ? 1 : 0;
  }
  for (const standardize of [false, true]) {
    const lr = new LogisticRegression({ C: 1e7, standardize, tol: 1e-10 });
    lr.fit(X, 20, 1, y);
    const { coef, intercept } = lr.coefficients;
    assert.ok(Math.abs(intercept - logit(0.3)) < 1e-4, `b = ${intercept}`);
    assert.ok(Math.abs(coef[0]! - (logit(0.8) - logit(0.3))) < 1e-4, `w = ${coef[0]}`);
  }
});

test('lr: the fitted weights satisfy the L2 optimality condition X^T(p − y) + w/C = 0, Σ(p − y) = 0', () => {
  const d = blobs(120, 5, { seed: 'kkt', shift: 1 });
  const C = 0.3;
  const lr = new LogisticRegression({ C, standardize: false, tol: 1e-9 });
  lr.fit(d.X, d.nRows, d.nCols, d.y);
  const { coef } = lr.coefficients;
  const p = lr.predictProba(d.X, d.nRows);
  const g = new Float64Array(d.nCols);
  let gb = 0;
  for (let i = 0; i < d.nRows; i++) {
    const r = p[i]! - d.y[i]!;
    gb += r;
    for (let j = 0; j < d.nCols; j++) g[j]! += r * d.X[i * d.nCols + j]!;
  }
  assert.ok(Math.abs(gb) < 1e-5, `intercept gradient ${gb}`);
  for (let j = 0; j < d.nCols; j++) assert.ok(Math.abs(g[j]! + coef[j]! / C) < 1e-5, `∂/∂w${j} = ${g[j]! + coef[j]! / C}`);
  // stronger penalty → smaller weights
  const lr2 = new LogisticRegression({ C: 0.001, standardize: false });
  lr2.fit(d.X, d.nRows, d.nCols, d.y);
  const norm = (w: Float64Array) => Math.hypot(...w);
  assert.ok(norm(lr2.coefficients.coef) < norm(coef));
});

test('svc: hard-margin textbook case — points ±1 give f(x) = x (w = 1, b = 0)', async () => {
  const svc = await SVC.create({ kernel: 'linear', C: 1000, standardize: false });
  svc.fit(new Float32Array([1, -1, 2, -2]), 4, 1, new Uint8Array([1, 0, 1, 0]));
  const f = svc.decisionFunction(new Float32Array([0.5, -3, 0]), 3);
  assert.ok(Math.abs(f[0]! - 0.5) < 1e-6 && Math.abs(f[1]! + 3) < 1e-6 && Math.abs(f[2]!) < 1e-6, `f = ${Array.from(f)}`);
  // same answer whichever class libsvm sees first (its decision sign follows the first label)
  const svc2 = await SVC.create({ kernel: 'linear', C: 1000, standardize: false });
  svc2.fit(new Float32Array([-1, 1]), 2, 1, new Uint8Array([0, 1]));
  assert.ok(Math.abs(svc2.decisionFunction(new Float32Array([0.5]), 1)[0]! - 0.5) < 1e-6);
});

test('svc: our decision values agree in sign with libsvm\'s own predictions (linear and RBF)', async () => {
  const d = blobs(150, 8, { seed: 'svc-agree', shift: 0.7 });
  for (const kernel of ['linear', 'rbf'] as const) {
    const svc = await SVC.create({ kernel, C: 1, standardize: false });
    svc.fit(d.X, d.nRows, d.nCols, d.y);
    const f = svc.decisionFunction(d.X, d.nRows);
    const labels = await libsvmPredictLabels(svc.modelText!, Float64Array.from(d.X), d.nRows, d.nCols);
    let agree = 0;
    for (let i = 0; i < d.nRows; i++) if ((f[i]! > 0 ? 1 : 0) === labels[i]) agree++;
    // rows exactly on the margin (|f| ~ 1e-12) could round either way; none expected here
    assert.equal(agree, d.nRows, `${kernel}: ${agree}/${d.nRows} agree`);
  }
});

test('rf: probability = the forest\'s mean leaf class frequency (depth-1 stumps, no sampling)', async () => {
  // x = −2: 3 of 10 fake; x = 2: 8 of 10 fake → the only split is at 0 and P(fake) = 0.3 / 0.8.
  const X = new Float32Array(20);
  const y = new Uint8Array(20);
  for (let i = 0; i < 20; i++) {
    X[i] = i < 10 ? -2 : 2;
    y[i] = i < 10 ? (i < 3 ? 1 : 0) : i < 18 ? 1 : 0;
  }
  const rf = await RandomForest.create({ nEstimators: 5, maxDepth: 1, sampleFraction: 1, maxFeatures: 1 });
  rf.fit(X, 20, 1, y);
  const p = rf.predictProba(new Float32Array([-5, 5]), 2);
  assert.ok(Math.abs(p[0]! - 0.3) < 1e-5 && Math.abs(p[1]! - 0.8) < 1e-5, `p = ${Array.from(p)}`);
});

test('xgb: one round, λ = 0 gives the optimal leaf weight −G/H (pure leaves → margin ±2)', async () => {
  const X = new Float32Array([-3, -2, -1, 1, 2, 3]);
  const y = new Uint8Array([0, 0, 0, 1, 1, 1]);
  const xgb = await XGBoostClassifier.create({ nEstimators: 1, maxDepth: 1, learningRate: 1, lambda: 0, minChildWeight: 0 });
  xgb.fit(X, 6, 1, y);
  const m = xgb.decisionFunction(new Float32Array([-10, 10]), 2);
  // G = Σ(p − y) = −3·½, H = Σ p(1 − p) = 3·¼ on the fake leaf: w = −G/H = 2
  assert.ok(Math.abs(m[0]! + 2) < 1e-5 && Math.abs(m[1]! - 2) < 1e-5, `margins ${Array.from(m)}`);
});

test('xgb: features equal to −1 (ml-xgboost\'s hard-coded "missing" value) still split correctly', async () => {
  const X = new Float32Array([-1, -1, -1, 1, 1, 1]);
  const y = new Uint8Array([0, 0, 0, 1, 1, 1]);
  const xgb = await XGBoostClassifier.create({ nEstimators: 5, maxDepth: 1, minChildWeight: 0 });
  xgb.fit(X, 6, 1, y);
  const p = xgb.predictProba(new Float32Array([-1, 1]), 2);
  assert.ok(p[0]! < 0.5 && p[1]! > 0.5, `p = ${Array.from(p)}`);
});

test('xgb: a 2000 × 768 matrix trains (ml-xgboost\'s own wrapper overflows its stack there)', async () => {
  const d = blobs(2000, 768, { seed: 'big', shift: 1, informative: 5 });
  const xgb = await XGBoostClassifier.create({ nEstimators: 2, maxDepth: 2 });
  xgb.fit(d.X, d.nRows, d.nCols, d.y);
  assert.equal(xgb.predictProba(d.X.subarray(0, 768 * 4), 4).length, 4);
});

test('classifiers reject bad input with ClassifierError', async () => {
  const lr = new LogisticRegression();
  assert.throws(() => lr.fit(new Float32Array(4), 2, 2, new Uint8Array([1, 1])), ClassifierError); // one class
  assert.throws(() => lr.fit(new Float32Array(3), 2, 2, new Uint8Array([0, 1])), ClassifierError); // shape
  assert.throws(() => lr.fit(new Float32Array([0, NaN, 1, 1]), 2, 2, new Uint8Array([0, 1])), ClassifierError);
  assert.throws(() => lr.decisionFunction(new Float32Array(2), 1), ClassifierError); // unfitted
  assert.throws(() => new LogisticRegression({ C: -1 }), ClassifierError);
  await assert.rejects(SVC.create({ kernel: 'poly' as 'rbf' }), ClassifierError);
  await assert.rejects(createClassifier('knn'), ClassifierError);
  await assert.rejects(RandomForest.create({ maxFeatures: 2 }), ClassifierError);
});

test('loading libsvm and XGBoost leaves no process-wide error handlers behind', async () => {
  await SVC.create();
  await XGBoostClassifier.create();
  assert.equal(process.listeners('unhandledRejection').filter((l) => String(l).includes('process["exit"]')).length, 0);
  assert.equal(process.listeners('uncaughtException').filter((l) => String(l).includes('ExitStatus')).length, 0);
});
