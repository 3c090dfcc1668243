/** OnnxRunner (src/engine/onnxBackbone.ts): the frozen-backbone runner on onnxruntime-node. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { OnnxRunError, OnnxRunner, onnxAvailable, onnxUnavailableReason } from '../../src/engine/onnxBackbone.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { createBackboneRunner } from '../../src/engine/onnxBackboneRunner.ts';
import { call, randomizeWeights } from './helpers.ts';

let skipReason: string | undefined;
let model: tf.LayersModel;
let bytes: Uint8Array;

before(async () => {
  await initEngine('wasm', () => {});
  if (!(await onnxAvailable())) skipReason = `onnxruntime-node unavailable: ${await onnxUnavailableReason()}`;
  const x = tf.input({ shape: [10, 10, 3], name: 'image' });
  let h = call(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), x);
  h = call(tf.layers.batchNormalization({}), h);
  h = call(tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'features' }), h);
  model = tf.model({ inputs: x, outputs: h });
  randomizeWeights(model, 3);
  bytes = exportOnnx(model);
});

test('onnxAvailable() and onnxUnavailableReason() agree', async () => {
  const ok = await onnxAvailable();
  const why = await onnxUnavailableReason();
  assert.equal(ok, why === undefined);
});

test('predictTensor(xs) = backbone.predict(xs): a tfjs tensor of the same shape and values, for batch 1 and 5', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const runner = await OnnxRunner.create(bytes, { threads: 1 });
  assert.deepEqual(runner.inputNames, ['image']);
  for (const batch of [1, 5]) {
    const xs = tf.randomUniform([batch, 10, 10, 3], 0, 1, 'float32', batch);
    const got = await runner.predictTensor(xs);
    const want = model.predict(xs) as tf.Tensor;
    assert.ok(got instanceof tf.Tensor);
    assert.deepEqual(got.shape, want.shape);
    const d = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
    assert.ok(d < 1e-4, `max diff ${d}`);
    tf.dispose([xs, got, want]);
  }
  await runner.dispose();
});

test('2 threads give the same result as 1 thread', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const xs = tf.randomUniform([4, 10, 10, 3], 0, 1, 'float32', 9);
  const data = xs.dataSync() as Float32Array;
  const one = await OnnxRunner.create(bytes, { threads: 1 });
  const two = await OnnxRunner.create(bytes, { threads: 2, spin: true });
  const a = await one.run(data, xs.shape);
  const b = await two.run(data, xs.shape);
  assert.deepEqual(a.dims, [4, 5, 5, 6]);
  assert.deepEqual(b.dims, a.dims);
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
  assert.ok(d < 1e-5, `1 vs 2 threads differ by ${d}`);
  await one.dispose();
  await two.dispose();
  xs.dispose();
});

test('bad input, bad bytes and bad options give OnnxRunError', async (t) => {
  if (skipReason) return t.skip(skipReason);
  await assert.rejects(OnnxRunner.create(new Uint8Array([1, 2, 3, 4])), (e: Error) => e instanceof OnnxRunError && e.name === 'OnnxRunError');
  await assert.rejects(OnnxRunner.create(bytes, { threads: 0 }), OnnxRunError);
  const runner = await OnnxRunner.create(bytes);
  await assert.rejects(runner.run(new Float32Array(10), [1, 10, 10, 3]), (e: Error) => e instanceof OnnxRunError && /300/.test(e.message) === false && /10 values/.test(e.message));
  await assert.rejects(runner.run(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]), OnnxRunError); // wrong image size
  await assert.rejects(runner.predictTensor(tf.zeros([1, 10, 10, 3], 'int32')), OnnxRunError);
  await assert.rejects(runner.runFeeds({}), (e: Error) => e instanceof OnnxRunError && /missing input 'image'/.test(e.message));
  await runner.dispose();
});

test("createBackboneRunner: 'auto' picks onnxruntime and predicts like tfjs; 'tfjs' uses model.predict", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const auto = await createBackboneRunner(model, { engine: 'auto', threads: 1 });
  assert.equal(auto.engine, 'onnx');
  const plain = await createBackboneRunner(model, { engine: 'tfjs' });
  assert.equal(plain.engine, 'tfjs');
  const xs = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 17);
  const a = await auto.predict(xs);
  const b = await plain.predict(xs);
  assert.deepEqual(a.shape, b.shape);
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-4);
  tf.dispose([xs, a, b]);
  await auto.dispose();
  await plain.dispose();
});

test("createBackboneRunner: 'onnx-webgpu' predicts like tfjs on a GPU, and is a named OnnxRunError where Dawn finds none", async (t) => {
  if (skipReason) return t.skip(skipReason);
  let gpu;
  try {
    gpu = await createBackboneRunner(model, { engine: 'onnx-webgpu', threads: 1 });
  } catch (e) {
    // No fallback to the CPU: the user asked for the GPU.
    assert.equal((e as Error).name, 'OnnxRunError');
    assert.match((e as Error).message, /WebGPU adapter|webgpu/i);
    return t.skip(`no WebGPU adapter here: ${(e as Error).message.split('\n')[0]!.slice(-80)}`);
  }
  assert.equal(gpu.engine, 'onnx');
  assert.match(gpu.reason, /WebGPU/);
  const xs = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 17);
  const a = await gpu.predict(xs);
  const b = model.predict(xs) as tf.Tensor;
  assert.deepEqual(a.shape, b.shape);
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-4);
  tf.dispose([xs, a, b]);
  await gpu.dispose();
});

test("createBackboneRunner: a model that does not export falls back to tfjs under 'auto', throws under 'onnx'", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const x = tf.input({ shape: [4, 4, 2] });
  const up = tf.model({ inputs: x, outputs: call(tf.layers.upSampling2d({}), x) });
  const r = await createBackboneRunner(up, { engine: 'auto' });
  assert.equal(r.engine, 'tfjs');
  assert.match(r.reason, /does not export/);
  await assert.rejects(createBackboneRunner(up, { engine: 'onnx' }), (e: Error) => e.name === 'OnnxExportError');
});

test('predictTensor with maxBatch runs slices and joins them: the same tensor as one run (one input and two)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const { createFdftNet } = await import('../../src/models/fdftnet.ts');
  const net = createFdftNet({ backbone: 'shallownetv3', inputSize: 32, M: 1, N: 1, seed: 4 });
  const xs = tf.randomUniform([7, 32, 32, 3], 0, 1, 'float32', 5);
  const maps = net.backbone.predict(xs) as tf.Tensor;
  for (const [model, inputs] of [[net.model, xs], [net.head, [xs, maps]]] as const) {
    const runner = await OnnxRunner.create(exportOnnx(model), { threads: 2 });
    const whole = await runner.predictTensor(inputs);
    for (const maxBatch of [3, 7, 1]) {
      const sliced = await runner.predictTensor(inputs, tf, maxBatch);
      assert.deepEqual(sliced.shape, whole.shape);
      // Images are independent and each keeps its sums' order: equal bit for bit.
      assert.deepEqual(Array.from(sliced.dataSync()), Array.from(whole.dataSync()), `maxBatch ${maxBatch}`);
      sliced.dispose();
    }
    whole.dispose();
    await runner.dispose();
  }
  await assert.rejects(
    (await OnnxRunner.create(exportOnnx(net.head), { threads: 1 })).predictTensor([xs, tf.slice(maps, 0, 3)], tf, 2),
    (e: Error) => e instanceof OnnxRunError && /batch sizes differ: 7, 3/.test(e.message),
  );
  tf.dispose([xs, maps]);
  net.model.dispose();
});
