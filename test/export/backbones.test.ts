/**
 * Every backbone of `createBackbone(name, { includeTop: false })`, and whole FDFtNet models, run by
 * onnxruntime from `exportOnnx` agree with tfjs within 1e-4 (random weights, BN statistics
 * far from the identity, 64x64 inputs, batch 2).
 */
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/index.ts';
import { onnxAvailable, onnxUnavailableReason } from '../../src/engine/onnxBackbone.ts';
import { BACKBONE_NAMES, createBackbone } from '../../src/models/backbones/index.ts';
import { createFdftNet } from '../../src/models/fdftnet.ts';
import { assertOnnxMatchesTfjs, randomizeWeights } from './helpers.ts';

let skipReason: string | undefined;
before(async () => {
  await initEngine('wasm', () => {});
  if (!(await onnxAvailable())) skipReason = `onnxruntime-node unavailable: ${await onnxUnavailableReason()}`;
});

for (const name of BACKBONE_NAMES) {
  test(`${name} (includeTop: false): onnxruntime feature map = tfjs within 1e-4`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const m = createBackbone(name, { includeTop: false, seed: 3 });
    randomizeWeights(m, 11, { keepKernels: true });
    await assertOnnxMatchesTfjs(m);
    m.dispose();
  });
}

test('FDFtNet (SqueezeNet backbone, M=3, N=2, with FTT and self-attention): whole model and its frozen feature map', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const f = createFdftNet({ backbone: 'squeezenet', M: 3, N: 2, seed: 5 });
  randomizeWeights(f.model, 21, { keepKernels: true });
  await assertOnnxMatchesTfjs(f.model, { minMagnitude: 0.3 }); // softmax(2) outputs
  await assertOnnxMatchesTfjs(f.model, { outputLayer: 'features' });
  f.model.dispose();
});

test('FDFtNet without FTT (Table 6 ablation; SelectInput keeps the head signature)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const f = createFdftNet({ backbone: 'shallownetv3', useFtt: false, N: 2, seed: 6 });
  randomizeWeights(f.model, 31, { keepKernels: true });
  await assertOnnxMatchesTfjs(f.model, { minMagnitude: 0.3 });
  f.model.dispose();
});
