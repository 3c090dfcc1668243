/**
 * DepthwiseConv2dNativeBackpropFilter for wasm (tfjs 4.22's wasm backend has none): the gradient
 * of a depthwise conv (channel multiplier M) with respect to its filter,
 *
 *   dW[i, j, c, m] = Σ_{b, y, x} X[b, y·sh + i − pt, x·sw + j − pl, c] · dY[b, y, x, c·M + m],
 *
 * computed as ONE stock depthwise conv with batch and channels folded together: X as
 * [1, H, W, B·C], dY as the filter [OH, OW, B·C, M], stride 1 and dilation = the forward stride,
 * giving [1, fh, fw, B·C·M]; a sum over the batch axis then gives [fh, fw, C, M].
 * Many channels over a few pixels (MBblockV3 on the 1x1 map) take direct loops instead (depthwiseDirect.ts).
 * Dilated depthwise convs have no gradient here (nor in tfjs' core): a clear error says so.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertFloat32,
  assertNoDilation,
  type BackendWasm,
  heapF32,
  makeZeros,
  pair,
  release,
  reshape,
  runKernel,
  transpose,
  type TensorInfo,
} from './wasmTensors.ts';
import { depthwiseDirectApplies, depthwiseFilterGradient, geometryOf } from './depthwiseDirect.ts';

export function depthwiseConv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  assertFloat32('DepthwiseConv2dNativeBackpropFilter', x, dy);
  assertNoDilation('DepthwiseConv2dNativeBackpropFilter', attrs.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const M = attrs.filterShape[3];
  const geometry = geometryOf(info, M);
  if (depthwiseDirectApplies(geometry)) {
    const dW = makeZeros(backend, [fh, fw, C, M]);
    depthwiseFilterGradient(geometry, heapF32(backend, x), heapF32(backend, dy), heapF32(backend, dW));
    return dW;
  }
  const [sh, sw] = pair(attrs.strides);
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const pb = fh + (OH - 1) * sh - H - pt;
  const pr = fw + (OW - 1) * sw - W - pl;

  let xc = x;
  if (pb < 0 || pr < 0) {
    xc = runKernel(backend, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [B, H + Math.min(pb, 0), W + Math.min(pr, 0), C] });
  }
  const Hc = xc.shape[1]!;
  const Wc = xc.shape[2]!;
  // Batch into channels: [B, H, W, C] → [H, W, B, C] → [1, H, W, B·C].
  const xT = transpose(backend, xc, [1, 2, 0, 3]);
  if (xc !== x) release(backend, xc);
  const xFolded = reshape(backend, xT, [1, Hc, Wc, B * C]);
  // dY [B, OH, OW, C·M] → [OH, OW, B, C·M] → filter [OH, OW, B·C, M].
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const dyFilter = reshape(backend, dyT, [OH, OW, B * C, M]);
  const conv = runKernel(backend, 'DepthwiseConv2dNative', { x: xFolded, filter: dyFilter }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [pt, Math.max(pb, 0)],
      [pl, Math.max(pr, 0)],
      [0, 0],
    ],
    dilations: [sh, sw],
  }); // [1, fh, fw, B·C·M]
  release(backend, xT, xFolded, dyT, dyFilter);
  let out: TensorInfo;
  if (B === 1) {
    out = reshape(backend, conv, [fh, fw, C, M]);
  } else {
    const perBatch = reshape(backend, conv, [fh * fw, B, C * M]);
    const summed = runKernel(backend, 'Sum', { x: perBatch }, { axis: [1], keepDims: false }); // [fh·fw, C·M]
    out = reshape(backend, summed, [fh, fw, C, M]);
    release(backend, perBatch, summed);
  }
  release(backend, conv);
  return out;
}

export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropFilter as unknown as tf.KernelFunc,
};
