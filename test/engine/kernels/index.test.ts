/** Registration of fdft's wasm kernels and the clear errors for what they do not support. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  ADDED_KERNELS,
  REPLACED_KERNELS,
  registerWasmTrainingKernels,
  wasmTrainingKernelNames,
} from '../../../src/engine/kernels/index.ts';
import { useWasmEngine } from '../backendPair.ts';

before(async () => {
  await useWasmEngine();
  tf.setBackend('wasm');
});

test('the three gradient kernels tfjs-backend-wasm lacks are registered, plus the replacements', () => {
  const names = wasmTrainingKernelNames();
  for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(names.includes(k), k);
  }
  for (const k of [...ADDED_KERNELS, ...REPLACED_KERNELS]) {
    assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, `${k.kernelName} is fdft's`);
  }
  registerWasmTrainingKernels(); // idempotent: no second registration, no warning, same kernels
  for (const k of REPLACED_KERNELS) assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc);
});

test('dilated depthwise gradients fail with a named, explicit error', () => {
  const x = tf.ones([1, 7, 7, 2]);
  const dy = tf.ones([1, 3, 3, 2]);
  const filter = tf.ones([3, 3, 2, 1]);
  const attrs = { strides: 1, pad: 'valid', dilations: 2 };
  assert.throws(
    () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 2, 1] }),
    { name: 'UnsupportedKernelError', message: /dilation 2x2 is not supported/ },
  );
  assert.throws(
    () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...attrs, inputShape: [1, 7, 7, 2] }),
    { name: 'UnsupportedKernelError', message: /dilation 2x2 is not supported/ },
  );
  tf.dispose([x, dy, filter]);
});

test('NCHW conv gradients fail with a named, explicit error', () => {
  const x = tf.ones([1, 2, 5, 5]);
  const dy = tf.ones([1, 3, 5, 5]);
  assert.throws(
    () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] }),
    { name: 'UnsupportedKernelError', message: /NHWC only/ },
  );
  tf.dispose([x, dy]);
});
