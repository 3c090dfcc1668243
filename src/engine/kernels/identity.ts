/**
 * Identity for wasm, replacing the stock kernel, which copies its input. tfjs tensors are
 * immutable, so (as in tfjs' cpu backend) a reference-counted view is enough; the engine calls
 * Identity for every tensor a gradient saves, e.g. twice per softmax over a 128 MB attention map.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, reshape, runStockKernel, type TensorInfo } from './wasmTensors.ts';

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  if (x.dtype === 'string') return runStockKernel(backend, 'Identity', { x });
  return reshape(backend, x, x.shape);
}

export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
