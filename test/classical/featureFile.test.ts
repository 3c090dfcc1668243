import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFeatureFile, readFeatureHeader, writeFeatureFile, type ExtractorInfo } from '../../src/classical/featureFile.ts';
import { FeatureFileError } from '../../src/classical/errors.ts';

const extractor: ExtractorInfo = {
  kind: 'backbone-checkpoint',
  source: '/runs/x',
  backbone: 'xception',
  layer: 'features',
  inputSize: 64,
  preprocess: 'unit',
  fit: 'squash',
  pooling: 'gap',
  trainedOn: { source: 'run-config', runConfig: '/runs/x/run.json', split: 'train', hashes: ['aa'], paths: ['/d/a.jpg'] },
};

function sample(rows: number, cols: number) {
  const X = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 1e3 + (i % 7 === 0 ? -1 : 0));
  X[0] = -0; // the exact bits must survive
  X[1] = 3.4028234663852886e38;
  return {
    X,
    header: {
      labels: Array.from({ length: rows }, (_, i) => i % 2),
      paths: Array.from({ length: rows }, (_, i) => `/d/${i}.jpg`),
      groups: Array.from({ length: rows }, (_, i) => (i < 2 ? null : `id${i >> 1}`)),
      hashes: Array.from({ length: rows }, (_, i) => `h${i}`),
      dataRoot: '/d',
      split: 'all',
      extractor,
      createdAt: '2024-01-01T00:00:00.000Z',
    },
  };
}

test('write → read round-trips the matrix bit for bit and the header exactly; the header reads alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-feat-'));
  try {
    const { X, header } = sample(7, 5);
    const path = join(dir, 'a.feat');
    await writeFeatureFile(path, header, { X, nRows: 7, nCols: 5 });
    const f = await readFeatureFile(path);
    assert.deepEqual(new Uint8Array(f.matrix.X.buffer), new Uint8Array(X.buffer));
    assert.deepEqual(Array.from(f.matrix.y), header.labels);
    assert.equal(f.header.rows, 7);
    assert.equal(f.header.cols, 5);
    assert.deepEqual(f.header.groups, header.groups);
    assert.deepEqual(f.header.extractor, extractor);
    assert.deepEqual(await readFeatureHeader(path), f.header);
    // compact: 16-byte prefix + header + exactly 4 bytes per value
    const bytes = await readFile(path);
    assert.equal(bytes.toString('latin1', 0, 8), 'FDFTFEAT');
    const h = bytes.readUInt32LE(12);
    assert.equal(bytes.length, 16 + h + 7 * 5 * 4);
    assert.equal((16 + h) % 4, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('truncated, foreign or inconsistent files raise FeatureFileError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-feat-'));
  try {
    const { X, header } = sample(4, 3);
    const path = join(dir, 'a.feat');
    await writeFeatureFile(path, header, { X, nRows: 4, nCols: 3 });
    const good = await readFile(path);
    await writeFile(join(dir, 'cut'), good.subarray(0, good.length - 4));
    await assert.rejects(readFeatureFile(join(dir, 'cut')), /truncated/);
    await writeFile(join(dir, 'cuthead'), good.subarray(0, 30));
    await assert.rejects(readFeatureFile(join(dir, 'cuthead')), FeatureFileError);
    await writeFile(join(dir, 'json'), '[1,2,3]');
    await assert.rejects(readFeatureFile(join(dir, 'json')), /not an fdft feature file/);
    await assert.rejects(readFeatureFile(join(dir, 'missing')), FeatureFileError);
    await assert.rejects(writeFeatureFile(join(dir, 'b'), { ...header, labels: [0] }, { X, nRows: 4, nCols: 3 }), FeatureFileError);
    await assert.rejects(writeFeatureFile(join(dir, 'b'), header, { X, nRows: 4, nCols: 4 }), FeatureFileError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
