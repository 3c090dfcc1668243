/**
 * Conv2DBackpropInput for wasm, replacing the stock kernel (3–4 GFLOP/s): the gradient of a
 * conv2d with respect to its input (= a transposed convolution),
 *
 *   dX[b, h, w, c] = Σ_{y, x, i, j, o : y·sh + i − pt = h, x·sw + j − pl = w} dY[b, y, x, o] · W[i, j, c, o],
 *
 * computed with stock (XNNPACK) stride-1 conv2ds and the filter rotated by 180°, channels swapped.
 * Stride 1: one conv of dY padded by (f − 1 − pad) (XNNPACK pads; no copy). Stride s > 1: the s² output phases
 * (h mod s, w mod s) are each one conv of dY with the taps of W that reach that phase
 * (sub-pixel decomposition), interleaved into dX — the FLOPs of the forward conv, where
 * zero-upsampling dY would cost s² times more.
 */
import * as tf from '@tensorflow/tfjs';
import { simdFor } from './simd/index.ts';
import {
  assertFloat32,
  type BackendWasm,
  flipFilterSwapChannels,
  heapF32,
  makeZeros,
  type Pads,
  pair,
  release,
  runKernel,
  spreadAndPad,
  swapChannels,
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
  if (sh > 1 || sw > 1) return byPhases(backend, dy, filter, info, sh, sw);
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const pads = { top, left, bottom: H + fh - 1 - top - OH, right: W + fw - 1 - left - OW };
  const flipped = flipFilterSwapChannels(backend, filter);
  const dx = convPadded(backend, dy, flipped, pads);
  release(backend, flipped);
  return dx;
}

/** Stride-1 'valid' conv of x padded by `pads`: XNNPACK pads itself; negative pads crop first. */
function convPadded(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, pads: Pads): TensorInfo {
  const attrs = { strides: [1, 1], dilations: [1, 1], dataFormat: 'NHWC' };
  if (pads.top >= 0 && pads.bottom >= 0 && pads.left >= 0 && pads.right >= 0) {
    const pad = [
      [0, 0],
      [pads.top, pads.bottom],
      [pads.left, pads.right],
      [0, 0],
    ];
    return runKernel(backend, 'Conv2D', { x, filter }, { ...attrs, pad });
  }
  const padded = spreadAndPad(backend, x, [1, 1], pads);
  const out = runKernel(backend, 'Conv2D', { x: padded, filter }, { ...attrs, pad: 'valid' });
  release(backend, padded);
  return out;
}

/** One phase axis: which filter taps (φ, φ + s, …) and which dY rows feed output rows r, r + s, …. */
function phase(r: number, s: number, pad: number, f: number, inSize: number, outSize: number) {
  const phi = (((r + pad) % s) + s) % s;
  const taps = phi < f ? Math.ceil((f - phi) / s) : 0;
  const delta = Math.floor((r + pad) / s);
  const count = r < inSize ? Math.ceil((inSize - r) / s) : 0; // output rows of this phase
  const before = taps - 1 - delta; // dY padding (negative: crop)
  const after = count + taps - 1 - before - outSize;
  return { phi, taps, count, before, after };
}

function byPhases(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  sh: number,
  sw: number,
): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: fh, filterWidth: fw, outChannels: O } = info;
  const dx = makeZeros(backend, [B, H, W, C]);
  const simd = simdFor(backend);
  for (let ry = 0; ry < sh; ry++) {
    const py = phase(ry, sh, info.padInfo.top, fh, H, OH);
    if (py.taps === 0 || py.count === 0) continue;
    for (let rx = 0; rx < sw; rx++) {
      const px = phase(rx, sw, info.padInfo.left, fw, W, OW);
      if (px.taps === 0 || px.count === 0) continue;
      // Sub-filter: taps φ, φ + s, … of W, rotated by 180°, in/out channels swapped: [My, Mx, O, C].
      const sub = backend.makeOutput([py.taps, px.taps, O, C], 'float32');
      for (let m = 0; m < py.taps; m++) {
        for (let n = 0; n < px.taps; n++) {
          const i = py.phi + sh * (py.taps - 1 - m);
          const j = px.phi + sw * (px.taps - 1 - n);
          swapChannels(backend, filter, (i * fw + j) * C * O, sub, (m * px.taps + n) * O * C, C, O, simd);
        }
      }
      const part = convPadded(backend, dy, sub, { top: py.before, bottom: py.after, left: px.before, right: px.after });
      release(backend, sub); // part: [B, count_y, count_x, C]
      // Interleave: dX[b, ry + sh·qy, rx + sw·qx, :] = part[b, qy, qx, :].
      const p = heapF32(backend, part);
      const out = heapF32(backend, dx);
      for (let b = 0; b < B; b++) {
        for (let qy = 0; qy < py.count; qy++) {
          const rowOut = (b * H + ry + sh * qy) * W;
          const rowIn = (b * py.count + qy) * px.count;
          for (let qx = 0; qx < px.count; qx++) {
            const o = (rowOut + rx + sw * qx) * C;
            const s = (rowIn + qx) * C;
            for (let c = 0; c < C; c++) out[o + c] = p[s + c]!;
          }
        }
      }
      release(backend, part);
    }
  }
  return dx;
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
