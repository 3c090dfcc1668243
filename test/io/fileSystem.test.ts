import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import {
  ModelFileError,
  fileSystemHandler,
  loadGraphModel,
  loadModel,
  registerFileSystemRouter,
  saveModel,
} from '../../src/io/fileSystem.ts';
import { HardSwish, SelfAttention } from '../../layers/index.ts';

let root: string;
before(async () => {
  await initEngine('wasm', () => {});
  root = await mkdtemp(join(tmpdir(), 'fdft-io-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A small model that uses two custom layers, so reloading needs their registration. */
function smallModel(): tf.LayersModel {
  const x = tf.input({ shape: [6, 6, 3] });
  let y = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  y = new HardSwish().apply(y) as tf.SymbolicTensor;
  y = new SelfAttention({ reduction: 4 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(y) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: y });
  // Non-zero γ so the attention path matters in the comparison.
  const att = m.layers.find((l) => l instanceof SelfAttention)!;
  att.setWeights(att.getWeights().map((w) => (w.shape.length === 1 && w.shape[0] === 1 ? tf.scalar(0.5).reshape([1]) : w)));
  return m;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('save writes the standard tfjs layout and load gives identical outputs', async () => {
  const dir = join(root, 'plain');
  const m = smallModel();
  const x = tf.randomUniform([3, 6, 6, 3], 0, 1, 'float32', 7);
  const y1 = m.predict(x) as tf.Tensor;
  const res = await saveModel(m, dir);
  assert.ok(res.modelArtifactsInfo.weightDataBytes! > 0);
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ['group1-shard1of1.bin', 'model.json']);
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.ok(json.modelTopology.config.layers.length > 0);
  assert.deepEqual(json.weightsManifest[0].paths, ['group1-shard1of1.bin']);
  const total = json.weightsManifest[0].weights.reduce((s: number, w: { shape: number[] }) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal((await readFile(join(dir, 'group1-shard1of1.bin'))).byteLength, total);

  const m2 = await loadModel(dir);
  assert.equal(maxAbsDiff(y1, m2.predict(x) as tf.Tensor), 0);
  // The model.json path works too.
  const m3 = await tf.loadLayersModel(fileSystemHandler(join(dir, 'model.json')));
  assert.equal(maxAbsDiff(y1, m3.predict(x) as tf.Tensor), 0);
});

test('weights are split in shards of the given size and re-saving removes stale shards', async () => {
  const dir = join(root, 'sharded');
  const m = smallModel();
  const x = tf.randomUniform([2, 6, 6, 3], 0, 1, 'float32', 3);
  await saveModel(m, dir, { shardBytes: 300 });
  const shards = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort();
  assert.ok(shards.length > 2, `expected several shards, got ${shards.join(', ')}`);
  assert.ok(shards.every((f) => /^group1-shard\d+of\d+\.bin$/.test(f)));
  const m2 = await loadModel(dir);
  assert.equal(maxAbsDiff(m.predict(x) as tf.Tensor, m2.predict(x) as tf.Tensor), 0);

  await saveModel(m, dir); // one shard now
  const after = (await readdir(dir)).sort();
  assert.deepEqual(after, ['group1-shard1of1.bin', 'model.json'], 'stale shards and temp files are gone');
});

test('broken folders fail with ModelFileError', async () => {
  const dir = join(root, 'broken');
  await saveModel(smallModel(), dir, { shardBytes: 300 });
  await truncate(join(dir, 'group1-shard1of' + (await readdir(dir)).filter((f) => f.endsWith('.bin')).length + '.bin'), 10);
  await assert.rejects(loadModel(dir), (e: Error) => e instanceof ModelFileError && /bytes/.test(e.message));
  await assert.rejects(loadModel(join(root, 'does-not-exist')), ModelFileError);

  const bad = join(root, 'badjson');
  await mkdir(bad);
  await writeFile(join(bad, 'model.json'), '{ not json');
  await assert.rejects(loadModel(bad), (e: Error) => e instanceof ModelFileError && /JSON/.test(e.message));

  const escape = join(root, 'escape');
  await mkdir(escape);
  await writeFile(
    join(escape, 'model.json'),
    JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../plain/group1-shard1of1.bin'], weights: [] }] }),
  );
  await assert.rejects(fileSystemHandler(escape).load!(), (e: Error) => e instanceof ModelFileError && /leaves/.test(e.message));
});

test('file:// URLs work with tfjs save/load once the router is registered', async () => {
  registerFileSystemRouter();
  const dir = join(root, 'router');
  const m = smallModel();
  await m.save(`file://${dir}`);
  const m2 = await tf.loadLayersModel(`file://${join(dir, 'model.json')}`);
  const x = tf.randomUniform([1, 6, 6, 3]);
  assert.equal(maxAbsDiff(m.predict(x) as tf.Tensor, m2.predict(x) as tf.Tensor), 0);
});

test('a converter GraphModel (format graph-model) loads', async () => {
  const dir = join(root, 'graph');
  await mkdir(dir);
  await writeFile(join(dir, 'group1-shard1of1.bin'), Buffer.from(new Float32Array([2, -1]).buffer));
  const f32 = { type: 'DT_FLOAT' };
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }] } } } },
          { name: 'w', op: 'Const', attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }, { size: '1' }] } } } } },
          { name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } } },
        ],
        versions: { producer: 1 },
      },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [2, 1], dtype: 'float32' }] }],
    }),
  );
  const g = await loadGraphModel(dir);
  const y = g.predict(tf.tensor2d([[1, 1], [3, 0]])) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [1, 6]);
});
