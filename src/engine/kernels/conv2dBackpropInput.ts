/**
 * Conv2DBackpropInput for wasm, replacing the stock kernel (3–4 GFLOP/s): the gradient of a
 * conv2d with respect to its input (= a transposed convolution),
 *
 *   dX[b, h, w, c] = Σ_{y, x, i, j, o : y·sh + i − pt = h, x·sw + j − pl = w} dY[b, y, x, o] · W[i, j, c, o],
 *
 * computed as ONE stock (XNNPACK) stride-1 conv2d of dY — zero-upsampled by the stride and padded
 * by (f − 1 − pad) — with the filter rotated by 180° and its channels swapped.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertFloat32,
  type BackendWasm,
  flipFilterSwapChannels,
  pair,
  release,
  runKernel,
  spreadAndPad,
  type TensorInfo,
  UnsupportedKernelError,
} from './wasmTensors.ts';

export function conv2dBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertFloat32('Conv2DBackpropInput', dy, filter);
  if (attrs.dataFormat === 'NCHW') {
    throw new UnsupportedKernelError('Conv2DBackpropInput: fdft\'s wasm kernel supports dataFormat NHWC only');
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: fh, filterWidth: fw } = info;
  const [sh, sw] = pair(attrs.strides);
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const spread = spreadAndPad(backend, dy, [sh, sw], {
    top,
    left,
    bottom: H + fh - 1 - top - ((OH - 1) * sh + 1),
    right: W + fw - 1 - left - ((OW - 1) * sw + 1),
  });
  const flipped = flipFilterSwapChannels(backend, filter);
  const dx = runKernel(backend, 'Conv2D', { x: spread, filter: flipped }, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
    dataFormat: 'NHWC',
  });
  release(backend, spread, flipped);
  return dx;
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
