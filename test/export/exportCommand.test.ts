/** `fdft export --checkpoint RUN --onnx OUT.onnx [--features]`: once end to end (spawns the CLI), then its parts in-process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { OnnxRunner, onnxAvailable } from '../../src/engine/onnxBackbone.ts';
import { saveModel } from '../../src/io/fileSystem.ts';
import { exportCheckpoint, locateModelDir } from '../../src/export/exportCheckpoint.ts';
import { readFile } from 'node:fs/promises';
import { call, randomizeWeights } from './helpers.ts';

let dir: string;
let model: tf.LayersModel;

function fdft(...args: string[]) {
  return spawnSync(process.execPath, ['bin/fdft.js', ...args, '--backend', 'wasm'], { encoding: 'utf8' });
}

before(async () => {
  await initEngine('wasm', () => {});
  dir = await mkdtemp(join(tmpdir(), 'fdft-export-'));
  const x = tf.input({ shape: [12, 12, 3], name: 'image' });
  let h = call(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x);
  h = call(tf.layers.batchNormalization({}), h);
  h = call(tf.layers.activation({ activation: 'relu', name: 'features' }), h);
  const out = call(tf.layers.dense({ units: 2, activation: 'softmax' }), call(tf.layers.globalAveragePooling2d({}), h));
  model = tf.model({ inputs: x, outputs: out, name: 'tiny' });
  randomizeWeights(model, 5);
  // A run whose best/ is missing: the export falls back to checkpoint/.
  await saveModel(model, join(dir, 'run', 'checkpoint'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('exports a run (checkpoint/ weights) and verifies it against tfjs', async (t) => {
  if (!(await onnxAvailable())) return t.skip('onnxruntime-node unavailable');
  const out = join(dir, 'tiny.onnx');
  const r = fdft('export', '--checkpoint', join(dir, 'run'), '--onnx', out, '--json', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.modelDir, join(dir, 'run', 'checkpoint'));
  assert.deepEqual(report.inputs, [{ name: 'image', shape: [null, 12, 12, 3] }]);
  assert.deepEqual(report.outputs[0].shape, [null, 2]);
  assert.equal(report.foldedBatchNorms, 1);
  assert.ok(report.verify.ok && report.verify.maxRelDiff <= 1e-4, JSON.stringify(report.verify));
  assert.equal((await stat(out)).size, report.bytes);
  // The file runs and matches the in-memory model too.
  const runner = await OnnxRunner.create(new Uint8Array(await readFile(out)));
  const xs = tf.randomUniform([3, 12, 12, 3], 0, 1, 'float32', 4);
  const got = await runner.predictTensor(xs);
  const want = model.predict(xs) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]! < 1e-5);
  await runner.dispose();
});

test('--features path: locateModelDir + exportCheckpoint cut at the feature map', async (t) => {
  if (!(await onnxAvailable())) return t.skip('onnxruntime-node unavailable');
  const out = join(dir, 'features.onnx');
  const modelDir = await locateModelDir(join(dir, 'run'), { from: 'auto' });
  assert.equal(modelDir, join(dir, 'run', 'checkpoint'));
  const report = await exportCheckpoint(modelDir, out, { outputLayer: 'features', verify: true });
  assert.equal(report.outputLayer, 'features');
  assert.deepEqual(report.outputs[0]!.shape, [null, 6, 6, 4]);
  assert.ok(report.verify?.ok, JSON.stringify(report.verify));
});

test('a run without the requested weights, or a missing layer, fails with a named error', async () => {
  await assert.rejects(locateModelDir(join(dir, 'run'), { from: 'best' }), (e: Error) => e.name === 'OnnxExportError' && /no saved model/.test(e.message));
  await assert.rejects(
    exportCheckpoint(join(dir, 'run', 'checkpoint'), join(dir, 'y.onnx'), { outputLayer: 'missing' }),
    (e: Error) => e.name === 'OnnxExportError' && /no layer named 'missing'/.test(e.message),
  );
});
