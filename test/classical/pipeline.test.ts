import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runClassical, rowGroups } from '../../src/classical/pipeline.ts';
import { writeClassicalReport } from '../../src/classical/report.ts';
import { readClassicalModel } from '../../src/classical/classicalModel.ts';
import { classifierFromJSON } from '../../src/classical/registry.ts';
import { LeakageError } from '../../src/classical/errors.ts';
import type { FeatureFile, TrainedOnInfo } from '../../src/classical/featureFile.ts';
import { blobs } from './synthetic.ts';

/** 160 images of 40 identities (4 each, identity fixes the label) under /data/{real,fake}/idNN_k.jpg. */
function featureFile(trainedOn: TrainedOnInfo = { source: 'run-config', hashes: [], paths: [] }): FeatureFile {
  const n = 160;
  const d = blobs(n, 8, { seed: 'pipe', shift: 2 });
  const id = (i: number) => Math.floor(i / 8) * 2 + (i % 2); // 4 rows per identity, one label each
  const paths = Array.from({ length: n }, (_, i) => `/data/${d.y[i] ? 'fake' : 'real'}/id${String(id(i)).padStart(2, '0')}_${i}.jpg`);
  return {
    header: {
      format: 'fdft-features', version: 1, rows: n, cols: 8, dtype: 'float32', byteOrder: 'little',
      labels: Array.from(d.y), paths, groups: paths.map(() => null), hashes: paths.map((_, i) => `h${i}`), dataRoot: '/data',
      extractor: { kind: 'backbone-checkpoint', source: 'backbone:test', inputSize: 8, preprocess: 'unit', fit: 'squash', pooling: 'gap', trainedOn },
      createdAt: '',
    },
    matrix: d,
  };
}

const base = { folds: 3, scoring: 'f1' as const, seed: 0, criterion: 'f1' as const, allowLeak: false };

test('runClassical: grouped CV grid search, refit, held-out metrics and tuned threshold for each classifier', async () => {
  const file = featureFile();
  const g = rowGroups(file, '(id\\d+)_');
  assert.equal(new Set(g.groups).size, 40);
  const run = await runClassical(file, {
    ...base,
    classifiers: ['lr', 'xgb'],
    grids: { lr: { C: [0.01, 1] }, xgb: { nEstimators: [10], maxDepth: [2] } },
    groupBy: '(id\\d+)_',
    holdout: 0.25,
  });
  assert.equal(run.groups.source, 'group-by');
  assert.equal(run.split.cvRows + run.split.heldOutRows, 160);
  assert.equal(run.split.heldOut, 'groups');
  assert.equal(run.leakage[0]!.status, 'clean');
  for (const o of run.classifiers) {
    assert.equal(o.cv.folds.length, 3);
    assert.ok(o.cv.mean.auc > 0.9, `${o.kind} CV AUC ${o.cv.mean.auc}`);
    assert.ok(o.heldOut!.auc > 0.9, `${o.kind} held-out AUC ${o.heldOut!.auc}`);
    assert.equal(o.threshold.evaluatedOn, 'held-out');
    assert.equal(o.evalScores.length, run.split.heldOutRows);
    assert.equal(o.all.length, o.kind === 'lr' ? 2 : 1);
  }
});

test('runClassical refuses features whose extractor was trained on these images, unless allowLeak', async () => {
  const file = featureFile({ source: 'run-config', runConfig: '/run/run.json', split: 'train', hashes: ['h3', 'h7'], paths: [] });
  const opts = { ...base, classifiers: ['lr' as const], grids: { lr: { C: [1] } }, holdout: 0 };
  await assert.rejects(runClassical(file, opts), LeakageError);
  const warnings: string[] = [];
  const run = await runClassical(file, { ...opts, allowLeak: true, warn: (m) => warnings.push(m) });
  assert.equal(run.leakage[0]!.overlap, 2);
  assert.ok(warnings.some((w) => /LEAKAGE/.test(w)));
  // no groups and no holdout: warned, and thresholds are evaluated out-of-fold
  assert.ok(warnings.some((w) => /no identity groups/.test(w)));
  assert.equal(run.classifiers[0]!.threshold.evaluatedOn, 'out-of-fold');
});

test('writeClassicalReport writes Table 1/2 Markdown, JSON, PNG charts and reloadable models', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-classical-'));
  try {
    const file = featureFile();
    const run = await runClassical(file, { ...base, classifiers: ['lr'], grids: { lr: { C: [1] } }, groupBy: '(id\\d+)_', holdout: 0.25 });
    const files = await writeClassicalReport(dir, [{ name: 'synthetic', featuresPath: '/x.feat', extractor: file.header.extractor, run }], {
      scoring: 'f1', folds: 3, criterion: 'f1', charts: true,
    });
    const md = await readFile(join(dir, 'results.md'), 'utf8');
    assert.match(md, /\| synthetic \| Logistic regression \| C=1 \| \d\.\d{3} ± \d\.\d{3} \|/);
    assert.match(md, /tuned/);
    const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
    assert.equal(json.runs[0].classifiers[0].kind, 'lr');
    for (const png of files.filter((f) => f.endsWith('.png'))) {
      const b = await readFile(png);
      assert.equal(b.subarray(1, 4).toString(), 'PNG');
    }
    assert.equal(files.filter((f) => f.endsWith('.png')).length, 2); // ROC + threshold chart
    const saved = await readClassicalModel(join(dir, 'model-synthetic-lr.json'));
    assert.equal(saved.threshold.tuned, run.classifiers[0]!.threshold.tunedThreshold);
    const clf = await classifierFromJSON(saved.classifier);
    assert.equal(clf.decisionFunction(file.matrix.X, 160).length, 160);
    assert.ok((await stat(join(dir, 'results.json'))).size > 100);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
