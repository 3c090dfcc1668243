/**
 * MaxPoolGrad for wasm, replacing the stock kernel, which is WRONG in tfjs-backend-wasm 4.22: it
 * starts each window's maximum at 0, so a window whose inputs are all negative (common right after
 * batch norm or a linear conv) passes no gradient at all. Here, as in tfjs' cpu backend, dy goes to
 * the first maximum of each window in row-major order, computed on the heap channel-vectorised
 * (channels are the innermost, contiguous axis).
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, heapF32, makeZeros, type TensorInfo, UnsupportedKernelError } from './wasmTensors.ts';

function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs.dy!;
  const input = args.inputs.input!;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new UnsupportedKernelError(`MaxPoolGrad: fdft's wasm kernel takes float32 tensors, got ${input.dtype}`);
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = makeZeros(backend, input.shape);
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const out = heapF32(backend, dx);
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * sh - pt;
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * sw - pl;
        best.fill(-Infinity);
        at.fill(-1);
        for (let ky = 0; ky < fh; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = x0 + kx;
            if (ix < 0 || ix >= W) continue;
            const base = ((b * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]! || at[c] === -1) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        const gBase = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) if (at[c]! >= 0) out[at[c]!] += g[gBase + c]!;
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
