/**
 * Conv2DBackpropFilter for wasm (tfjs 4.22's wasm backend has none): the gradient of a conv2d
 * with respect to its filter,
 *
 *   dW[i, j, c, o] = Σ_{b, y, x} X[b, y·sh + i − pt, x·sw + j − pl, c] · dY[b, y, x, o],
 *
 * computed as ONE stock (XNNPACK) conv2d: the input transposed to [C, H, W, B] (channels become
 * the batch, the batch becomes the channels) convolved with dY transposed to [OH, OW, B, O] as
 * the filter, stride 1 and dilation = the forward stride, giving [C, fh, fw, O].
 * A 1x1 stride-1 conv needs no spatial search: dW = Xᵀ·dY, one plain matMul.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertFloat32,
  type BackendWasm,
  pair,
  release,
  reshape,
  runKernel,
  transpose,
  type TensorInfo,
  UnsupportedKernelError,
} from './wasmTensors.ts';

export function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertFloat32('Conv2DBackpropFilter', x, dy);
  if (attrs.dataFormat === 'NCHW') {
    throw new UnsupportedKernelError('Conv2DBackpropFilter: fdft\'s wasm kernel supports dataFormat NHWC only');
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const [sh, sw] = pair(attrs.strides);
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W) {
    // dW[c, o] = Σ_n X[n, c] · dY[n, o]: transpose X once, then a plain (fast) 2-D matMul.
    const x2 = reshape(backend, x, [B * H * W, C]);
    const xT = transpose(backend, x2, [1, 0]);
    const a = reshape(backend, xT, [1, C, B * H * W]);
    const b = reshape(backend, dy, [1, B * H * W, O]);
    const prod = runKernel(backend, 'BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    const out = reshape(backend, prod, [1, 1, C, O]);
    release(backend, x2, xT, a, b, prod);
    return out;
  }

  // Rows of X the filter sweep touches: fh + (OH−1)·sh after the top pad. More rows are cropped
  // away (a 'valid' conv whose stride does not divide), fewer are zero-padded at the bottom.
  const pb = fh + (OH - 1) * sh - H - pt;
  const pr = fw + (OW - 1) * sw - W - pl;
  let xc = x;
  if (pb < 0 || pr < 0) {
    xc = runKernel(backend, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [B, H + Math.min(pb, 0), W + Math.min(pr, 0), C] });
  }
  const xT = transpose(backend, xc, [3, 1, 2, 0]); // [C, H, W, B]
  if (xc !== x) release(backend, xc);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [OH, OW, B, O]
  const pad = [
    [0, 0],
    [pt, Math.max(pb, 0)],
    [pl, Math.max(pr, 0)],
    [0, 0],
  ];
  const conv = runKernel(backend, 'Conv2D', { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad,
    dilations: [sh, sw],
    dataFormat: 'NHWC',
  }); // [C, fh, fw, O]
  release(backend, xT, dyT);
  const out = transpose(backend, conv, [1, 2, 0, 3]); // [fh, fw, C, O]
  release(backend, conv);
  return out;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
