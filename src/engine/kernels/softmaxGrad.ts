/**
 * The softmax gradient, fused. tfjs' core gradient of Softmax is four passes over the tensor
 * (dy·y, a row sum, a broadcast product, a subtraction): ~140 ms for a 32x1024x1024 attention
 * map. `FdftSoftmaxGrad` does dx = y · (dy − Σ_row y·dy) in one SIMD pass on wasm. The gradient
 * registered for Softmax uses it when the backend is wasm and otherwise computes exactly what
 * tfjs' own gradient computes, so other backends are unaffected.
 */
import * as tf from '@tensorflow/tfjs';
import { simdFor } from './simd/index.ts';
import { type BackendWasm, byteOffset, type TensorInfo, UnsupportedKernelError } from './wasmTensors.ts';

export const FDFT_SOFTMAX_GRAD = 'FdftSoftmaxGrad';

function softmaxGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const y = args.inputs.y!;
  const dy = args.inputs.dy!;
  const simd = simdFor(backend);
  if (!simd) throw new UnsupportedKernelError(`${FDFT_SOFTMAX_GRAD}: needs WebAssembly SIMD`);
  const cols = y.shape[y.shape.length - 1] ?? 1;
  const rows = y.shape.reduce((a, b) => a * b, 1) / cols;
  const dx = backend.makeOutput(y.shape, 'float32');
  if (rows * cols > 0) simd.softmaxGrad(byteOffset(backend, y), byteOffset(backend, dy), byteOffset(backend, dx), rows, cols);
  return dx;
}

export const softmaxGradKernelConfig: tf.KernelConfig = {
  kernelName: FDFT_SOFTMAX_GRAD,
  backendName: 'wasm',
  kernelFunc: softmaxGradKernel as unknown as tf.KernelFunc,
};

export const softmaxGradientConfig: tf.GradConfig = {
  kernelName: 'Softmax',
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [y] = saved as [tf.Tensor];
    const g = dy as tf.Tensor;
    const dim = (attrs as unknown as tf.SoftmaxAttrs).dim;
    const last = dim === -1 || dim === y.rank - 1;
    if (tf.getBackend() === 'wasm' && last && y.dtype === 'float32' && g.dtype === 'float32' && simdReady()) {
      return { logits: () => tf.engine().runKernel(FDFT_SOFTMAX_GRAD, { y, dy: g }, {}) as tf.Tensor };
    }
    // tfjs-core's own softmax gradient.
    const dyTimesY = tf.mul(g, y);
    return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
  },
};

function simdReady(): boolean {
  return simdFor(tf.backend() as unknown as BackendWasm) != null;
}

/**
 * dx = y · (dy − Σ_last y·dy): the gradient of softmax over the last axis, given its output y.
 * For hand-written backward passes (e.g. attention that recomputes softmax): one fused SIMD pass
 * on wasm, tfjs ops elsewhere.
 */
export function softmaxBackward(y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm' && y.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(FDFT_SOFTMAX_GRAD, 'wasm') && simdReady()) {
    return tf.engine().runKernel(FDFT_SOFTMAX_GRAD, { y, dy }, {}) as tf.Tensor;
  }
  return tf.tidy(() => {
    const dyTimesY = tf.mul(dy, y);
    return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, -1, true), y));
  });
}
