/**
 * `--backend webgpu` (src/engine/webgpu.ts): the AddN split that keeps every program within the
 * device's storage-buffer limit (on the cpu backend, everywhere), the named error where the optional
 * packages or a GPU are missing, and — where Dawn finds a GPU — FDFtNet's loss and gradients on
 * webgpu against the cpu backend. Each test file runs in its own process, so this one may choose
 * its own backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { EngineError, initEngine } from '../../src/engine/index.ts';
import { addNInGroups } from '../../src/engine/webgpu.ts';
import { createFdftNet } from '../../src/models/fdftnet.ts';
import { localGradients } from '../../src/train/loop.ts';
import { randomValues } from './backendPair.ts';

type AddN = Parameters<typeof addNInGroups>[0];

test('addNInGroups sums in groups of at most maxInputs and frees the partial sums', async () => {
  await tf.setBackend('cpu');
  const cpuAddN = tf.getKernel('AddN', 'cpu')!.kernelFunc as unknown as AddN;
  const widest: number[] = [];
  const counted: AddN = (args) => {
    widest.push(Object.values(args.inputs).length);
    return cpuAddN(args);
  };
  const inputs = Array.from({ length: 39 }, (_, i) => tf.tensor(randomValues(6, i + 1), [2, 3]));
  const want = tf.tidy(() => tf.addN(inputs).dataSync());
  const backend = tf.backend();
  const before = backend.numDataIds();
  for (const maxInputs of [2, 3, 7, 38, 39, 100]) {
    widest.length = 0;
    const out = addNInGroups(counted, maxInputs)({ inputs: inputs as unknown as tf.TensorInfo[], backend });
    const got = backend.readSync(out.dataId) as Float32Array;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5 * Math.max(1, Math.abs(want[i]!)), `maxInputs ${maxInputs}: ${got[i]} vs ${want[i]}`);
    assert.ok(Math.max(...widest) <= maxInputs, `maxInputs ${maxInputs}: a program summed ${Math.max(...widest)} inputs`);
    backend.disposeData(out.dataId);
    assert.equal(backend.numDataIds(), before, `maxInputs ${maxInputs}: partial sums left behind`);
  }
  assert.throws(() => addNInGroups(cpuAddN, 1), RangeError);
  tf.dispose(inputs);
});

test('--backend webgpu is a named error where its packages or a GPU are missing, and the backend where not', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'engine', '--json', '--backend', 'webgpu'], { encoding: 'utf8' });
  if (r.status === 0) {
    assert.equal(JSON.parse(r.stdout).backend, 'webgpu');
    assert.equal(JSON.parse(r.stdout).onnxruntime.trainingStep, 'tfjs', 'the step stays on the GPU');
  } else {
    assert.match(r.stderr, /EngineError: --backend webgpu: (it needs the optional packages webgpu and @tensorflow\/tfjs-backend-webgpu \(npm install --no-save webgpu@[\d.]+ @tensorflow\/tfjs-backend-webgpu@4\.22\.0\)|Dawn found no GPU adapter)/);
  }
});

test("on a GPU: FDFtNet's loss and gradients on webgpu agree with the cpu backend", async (t) => {
  // The cpu backend's figures first: switching from webgpu to another backend reads the GPU's data
  // synchronously, which the webgpu backend cannot do in Node (its dataSync needs OffscreenCanvas).
  await tf.setBackend('cpu');
  const net = createFdftNet({ backbone: 'shallownetv3', M: 2, N: 2, inputSize: 64, seed: 3 });
  const xs = tf.tensor(randomValues(4 * 64 * 64 * 3, 9).map((v) => (v + 1) / 2), [4, 64, 64, 3]) as tf.Tensor4D;
  const ys = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2).toFloat() as tf.Tensor2D;
  // γ starts at 0 (FTT, paper): set it so that the attention's own gradients are not trivially 0.
  for (const w of net.head.trainableWeights) if (/gamma/.test(w.name) && w.shape.length === 1 && w.shape[0] === 1) w.write(tf.scalar(0.5).reshape([1]));
  const gradients = localGradients(net.head, (x) => [x, net.backbone.predict(x) as tf.Tensor], 1e-5);
  const onCpu = await gradients({ xs, ys }, 'k');
  const cpuGrads = Object.fromEntries(Object.entries(onCpu.grads).map(([k, v]) => [k, v.dataSync().slice()]));
  tf.dispose(Object.values(onCpu.grads));
  try {
    await initEngine('webgpu', () => {});
  } catch (e) {
    assert.ok(e instanceof EngineError);
    net.model.dispose();
    tf.dispose([xs, ys]);
    t.skip(`no WebGPU here (${(e as Error).message.slice(0, 120)}…)`);
    return;
  }
  assert.equal(tf.getBackend(), 'webgpu');
  // The AddN that broke: a sum wider than WebGPU's default 8 storage buffers.
  const many = Array.from({ length: 40 }, (_, i) => tf.fill([3], i + 1));
  assert.deepEqual(Array.from(await tf.addN(many).data()), [820, 820, 820]);
  tf.dispose(many);

  const onGpu = await gradients({ xs, ys }, 'k');
  assert.ok(Math.abs(onGpu.loss - onCpu.loss) < 1e-4 * Math.max(1, Math.abs(onCpu.loss)), `loss ${onGpu.loss} vs ${onCpu.loss}`);
  assert.equal(Object.keys(onGpu.grads).length, Object.keys(cpuGrads).length);
  for (const [name, want] of Object.entries(cpuGrads)) {
    const got = await onGpu.grads[name]!.data();
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    }
    assert.ok(diff <= 1e-3 * Math.max(scale, 1e-6) + 1e-6, `${name}: max |diff| ${diff} for max |g| ${scale}`);
  }
  tf.dispose(Object.values(onGpu.grads));
  net.model.dispose();
  tf.dispose([xs, ys]);
});
