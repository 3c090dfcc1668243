/**
 * DepthwiseConv2dNativeBackpropInput for wasm (tfjs 4.22's wasm backend has none): the gradient
 * of a depthwise conv (channel multiplier M) with respect to its input,
 *
 *   dX[b, h, w, c] = Σ_{y, x, i, j, m : y·sh + i − pt = h, x·sw + j − pl = w} dY[b, y, x, c·M + m] · W[i, j, c, m],
 *
 * computed as ONE stock depthwise conv (multiplier 1 over the C·M channels of dY) of dY
 * zero-upsampled by the stride and padded by (f − 1 − pad), with the filter rotated by 180°;
 * for M > 1 a sum over m follows. Many channels over a few pixels (MBblockV3 on the 1x1 map) take
 * direct loops instead (depthwiseDirect.ts). Dilated depthwise convs have no gradient here (nor in tfjs' core).
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertFloat32,
  assertNoDilation,
  type BackendWasm,
  flipFilter,
  heapF32,
  makeZeros,
  pair,
  release,
  reshape,
  runKernel,
  spreadAndPad,
  type TensorInfo,
} from './wasmTensors.ts';
import { depthwiseDirectApplies, depthwiseInputGradient, geometryOf } from './depthwiseDirect.ts';

export function depthwiseConv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  assertFloat32('DepthwiseConv2dNativeBackpropInput', dy, filter);
  assertNoDilation('DepthwiseConv2dNativeBackpropInput', attrs.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const M = filter.shape[3]!;
  const geometry = geometryOf(info, M);
  if (depthwiseDirectApplies(geometry)) {
    const dX = makeZeros(backend, [B, H, W, C]);
    depthwiseInputGradient(geometry, heapF32(backend, dy), heapF32(backend, filter), heapF32(backend, dX));
    return dX;
  }
  const [sh, sw] = pair(attrs.strides);
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const spread = spreadAndPad(backend, dy, [sh, sw], {
    top,
    left,
    bottom: H + fh - 1 - top - ((OH - 1) * sh + 1),
    right: W + fw - 1 - left - ((OW - 1) * sw + 1),
  });
  const flipped = flipFilter(backend, filter); // [fh, fw, C, M]
  const flat = reshape(backend, flipped, [fh, fw, C * M, 1]); // channel c·M + m, like dY
  const conv = runKernel(backend, 'DepthwiseConv2dNative', { x: spread, filter: flat }, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
  }); // [B, H, W, C·M]
  release(backend, spread, flipped, flat);
  if (M === 1) return conv;
  const split = reshape(backend, conv, [B * H * W * C, M]);
  const summed = runKernel(backend, 'Sum', { x: split }, { axis: [1], keepDims: false });
  const dx = reshape(backend, summed, [B, H, W, C]);
  release(backend, conv, split, summed);
  return dx;
}

export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropInput as unknown as tf.KernelFunc,
};
