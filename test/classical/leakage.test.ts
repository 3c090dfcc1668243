import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeakage, enforceLeakageGuard } from '../../src/classical/leakage.ts';
import { LeakageError } from '../../src/classical/errors.ts';
import type { FeatureHeader, TrainedOnInfo } from '../../src/classical/featureFile.ts';

function header(trainedOn: TrainedOnInfo): FeatureHeader {
  return {
    format: 'fdft-features',
    version: 1,
    rows: 4,
    cols: 2,
    dtype: 'float32',
    byteOrder: 'little',
    labels: [0, 1, 0, 1],
    paths: ['/cv/a.jpg', '/cv/b.jpg', '/cv/c.jpg', '/cv/d.jpg'],
    groups: [null, null, null, null],
    hashes: ['h-a', 'h-b', 'h-c', 'h-d'],
    extractor: { kind: 'backbone-checkpoint', source: '/run', inputSize: 64, preprocess: 'unit', fit: 'squash', pooling: 'gap', trainedOn },
    createdAt: '',
  };
}

test('overlap is found by content hash (a copy elsewhere) and by path', () => {
  const c = checkLeakage(header({ source: 'run-config', runConfig: '/run/run.json', split: 'train', hashes: ['h-b', 'zz'], paths: ['/train/b.jpg', '/cv/d.jpg'] }));
  assert.equal(c.status, 'leak');
  assert.equal(c.overlap, 2);
  assert.deepEqual(c.examples, ['/cv/b.jpg', '/cv/d.jpg']);
  // only the rows being used are checked
  assert.equal(checkLeakage(header({ source: 'run-config', hashes: ['h-b'], paths: [] }), [0, 2]).status, 'clean');
});

test('the guard refuses a leak with LeakageError, or with allowLeak warns loudly', () => {
  const leak = checkLeakage(header({ source: 'run-config', hashes: ['h-a'], paths: [] }));
  assert.throws(() => enforceLeakageGuard(leak, false, () => {}), LeakageError);
  const warnings: string[] = [];
  enforceLeakageGuard(leak, true, (m) => warnings.push(m));
  assert.match(warnings[0]!, /LEAKAGE/);
});

test('clean and unknown provenance', () => {
  const clean = checkLeakage(header({ source: 'run-config', hashes: ['x'], paths: ['/elsewhere.jpg'] }));
  assert.equal(clean.status, 'clean');
  enforceLeakageGuard(clean, false, () => assert.fail('no warning expected'));
  const unknown = checkLeakage(header({ source: 'unknown', note: 'ImageNet model' }));
  assert.equal(unknown.status, 'unknown');
  const warnings: string[] = [];
  enforceLeakageGuard(unknown, false, (m) => warnings.push(m));
  assert.match(warnings[0]!, /cannot check/);
});
