import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { extractFeatureFile } from '../../src/classical/featureExtraction.ts';
import { loadExtractor } from '../../src/classical/extractor.ts';
import { preprocessImages } from '../../src/classical/preprocess.ts';
import { readFeatureFile } from '../../src/classical/featureFile.ts';
import { checkLeakage } from '../../src/classical/leakage.ts';
import { runClassical } from '../../src/classical/pipeline.ts';
import { writeClassicalReport } from '../../src/classical/report.ts';
import { predictClassical } from '../../src/classical/predict.ts';
import { ExtractorError } from '../../src/classical/errors.ts';
import { saveModel } from '../../src/io/fileSystem.ts';
import { createBackbone } from '../../src/models/backbones/index.ts';

let dir: string;
let data: string;

/** ROOT/{real,fake}/idNN_k.jpg: reals are smooth gradients, fakes carry a checkerboard; 2 images per identity. */
async function makeDataset(root: string, perClass: number): Promise<void> {
  for (const [cls, label] of [['real', 0], ['fake', 1]] as const) {
    await mkdir(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const s = 40;
      const px = Buffer.alloc(s * s * 3);
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          const o = (y * s + x) * 3;
          const checker = label && (x + y) % 2 ? 90 : 0;
          px[o] = Math.min(255, 60 + 3 * x + i * 5 + checker);
          px[o + 1] = Math.min(255, 40 + 2 * y + checker);
          px[o + 2] = Math.min(255, 100 + i * 3);
        }
      }
      const id = `id${String(label * 100 + Math.floor(i / 2)).padStart(3, '0')}`;
      await sharp(px, { raw: { width: s, height: s, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(root, cls, `${id}_${i}.jpg`));
    }
  }
}

before(async () => {
  await initEngine('wasm', () => {});
  dir = await mkdtemp(join(tmpdir(), 'fdft-extract-'));
  data = join(dir, 'data');
  await makeDataset(data, 16);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('preprocess modes: unit, tf, torch, caffe (BGR minus means)', () => {
  const x = tf.tensor4d([255, 0, 127.5], [1, 1, 1, 3]);
  const get = (m: Parameters<typeof preprocessImages>[1]) => Array.from(preprocessImages(x, m).dataSync());
  const close = (a: number[], b: number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-4, `${a} vs ${b}`));
  close(get('unit'), [1, 0, 0.5]);
  close(get('tf'), [1, -1, 0]);
  close(get('torch'), [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.5 - 0.406) / 0.225]);
  close(get('caffe'), [127.5 - 103.939, 0 - 116.779, 255 - 123.68]);
});

test('fdft features with an untrained backbone: one GAP vector per image, labels, groups, hashes', async () => {
  const out = join(dir, 'untrained.feat');
  const r = await extractFeatureFile({ source: 'backbone:shallownetv3', inputSize: 32, data, out, split: 'all', groupBy: '(id\\d+)_', batch: 8 });
  const f = await readFeatureFile(out);
  assert.equal(f.matrix.nRows, 32);
  assert.equal(r.cols, f.matrix.nCols);
  assert.equal(f.header.labels.filter((l) => l === 1).length, 16);
  assert.equal(new Set(f.header.groups).size, 16);
  assert.equal(new Set(f.header.hashes).size, 32);
  assert.equal(f.header.extractor.pooling, 'gap');
  assert.equal(checkLeakage(f.header).status, 'clean');
  assert.ok(f.matrix.X.every(Number.isFinite));
});

test('a tfjs LayersModel model.json with --layer: features = GAP of that layer, as computed directly', async () => {
  const input = tf.input({ shape: [16, 16, 3] });
  const conv = tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'conv', kernelInitializer: 'glorotUniform' }).apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
  const outp = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(gap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: outp });
  const mdir = join(dir, 'keras-like');
  await saveModel(model, mdir);
  const ex = await loadExtractor({ source: join(mdir, 'model.json'), layer: 'conv', preprocess: 'tf' });
  assert.equal(ex.dim, 5);
  assert.equal(ex.info.kind, 'layers-model');
  assert.equal(ex.info.inputSize, 16);
  const img = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
  const got = ex.embed(img, 1);
  const convOut = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv').output as tf.SymbolicTensor });
  const want = tf.mean(convOut.predict(tf.sub(tf.div(tf.tensor4d(Float32Array.from(img), [1, 16, 16, 3]), 127.5), 1)) as tf.Tensor, [1, 2]).dataSync();
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-4));
  // without --layer: the model's own output (softmax, 2-D: no pooling)
  const ex2 = await loadExtractor({ source: mdir });
  assert.equal(ex2.dim, 2);
  assert.equal(ex2.info.pooling, 'none');
  await assert.rejects(loadExtractor({ source: mdir, layer: 'nope' }), ExtractorError);
  await assert.rejects(loadExtractor({ source: mdir, inputSize: 32 }), ExtractorError);
  await assert.rejects(loadExtractor({ source: join(dir, 'nothing-here') }), ExtractorError);
  ex.dispose();
  ex2.dispose();
});

test('a pretrain run as extractor records its train split; features of it are refused, its test split passes', async () => {
  const run = join(dir, 'checkpoints', 'run1');
  await mkdir(run, { recursive: true });
  const config = { command: 'pretrain', backbone: 'shallownetv3', data, datasetName: 'data', seed: 3, inputSize: 32, fit: 'squash', groupBy: '(id\\d+)_' };
  await writeFile(join(run, 'run.json'), JSON.stringify({ name: 'run1', kind: 'pretrain', backbone: 'shallownetv3', dataset: 'data', configHash: 'x', config, createdAt: '', status: 'finished' }));
  await saveModel(createBackbone('shallownetv3', { inputSize: 32, includeTop: true, seed: 1 }), join(run, 'best'));

  const all = join(dir, 'all.feat');
  await extractFeatureFile({ source: run, data, out: all, split: 'all' });
  const fa = await readFeatureFile(all);
  assert.equal(fa.header.extractor.trainedOn.source, 'run-config');
  assert.equal(fa.header.extractor.layer, 'features');
  assert.equal(fa.header.groupBy, '(id\\d+)_'); // the run's own identity rule
  const leak = checkLeakage(fa.header);
  assert.equal(leak.status, 'leak');
  assert.equal(leak.overlap, fa.header.extractor.trainedOn.hashes!.length);

  const testOnly = join(dir, 'test.feat');
  await extractFeatureFile({ source: run, data, out: testOnly, split: 'test' });
  assert.equal(checkLeakage((await readFeatureFile(testOnly)).header).status, 'clean');
});

test('fdft classical predict applies the saved extractor + classifier to image files', async () => {
  const out = join(dir, 'untrained.feat');
  const file = await readFeatureFile(out);
  const run = await runClassical(file, {
    classifiers: ['lr'], grids: { lr: { C: [1] } }, folds: 2, scoring: 'f1', seed: 0, holdout: 0, criterion: 'f1', allowLeak: false,
  });
  const rdir = join(dir, 'report');
  await writeClassicalReport(rdir, [{ name: 'untrained', featuresPath: out, extractor: file.header.extractor, run }], { scoring: 'f1', folds: 2, criterion: 'f1', charts: false });
  const r = await predictClassical(join(rdir, 'model-untrained-lr.json'), [join(data, 'fake'), join(data, 'real', 'id000_0.jpg'), join(dir, 'missing.jpg')], { threshold: 'default' });
  assert.equal(r.predictions.length, 18);
  assert.match(r.predictions.find((p) => p.path.endsWith('missing.jpg'))!.error!, /missing/);
  // the saved pipeline reproduces the decision values of the feature file rows
  const clf = (await import('../../src/classical/registry.ts')).classifierFromJSON(run.classifiers[0]!.model);
  const want = (await clf).decisionFunction(file.matrix.X, file.matrix.nRows);
  for (const p of r.predictions.filter((q) => !q.error)) {
    const i = file.header.paths.indexOf(p.path);
    assert.ok(i >= 0);
    assert.ok(Math.abs(p.decision! - want[i]!) < 1e-3, `${p.decision} vs ${want[i]}`);
    assert.equal(p.label, p.decision! >= 0 ? 'fake' : 'real');
  }
});
