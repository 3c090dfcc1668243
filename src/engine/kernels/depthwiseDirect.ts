/**
 * Depthwise-conv gradients as direct loops over the wasm heap, for the case where the stock-conv
 * compositions (depthwiseConv2dBackpropFilter.ts / …Input.ts) spend their time on set-up rather
 * than arithmetic: many channels over a few pixels. MBblockV3's 5x5 depthwise convs run on the
 * 1x1 map of the MB head (B·C = 9,216 "channels" for the stock depthwise conv to pack, 230 k
 * multiply-adds): 8.6 ms through the stock conv, 0.3 ms here (scratch microbench, fourth session).
 * Over larger maps (the FTT's stages) the stock convs are as fast or faster, so the rule below
 * keeps them there.
 */
import type * as tf from '@tensorflow/tfjs';

/** Shapes of one depthwise conv (NHWC, channel multiplier M), after tfjs' computeConv2DInfo. */
export interface DepthwiseGeometry {
  B: number;
  H: number;
  W: number;
  C: number;
  M: number;
  OH: number;
  OW: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  /** Top and left padding. */
  pt: number;
  pl: number;
}

/**
 * Whether the direct loops beat the stock composition: ≥ 64 channels per pixel over at most 4 output
 * pixels per image, at any batch size (measured: 128 images of MBblockV3's 5x5 on 1x1, filter
 * gradient 20.6 → 0.9 ms, input 1.7 → 1.1 ms). On larger maps the stock input gradient stays far
 * ahead (64 channels on 8x8 at batch 128: 13 ms vs 48 ms direct), so they keep it.
 */
export function depthwiseDirectApplies(g: DepthwiseGeometry): boolean {
  return g.C * g.M >= 64 && g.OH * g.OW <= 4;
}

/**
 * Visits every (output pixel, filter tap) pair that reads an input pixel:
 * visit(dyOffset, xOffset, wOffset), each the start of a C·M (dY, W) or C (X) channel run.
 */
function forEachTap(g: DepthwiseGeometry, visit: (dyAt: number, xAt: number, wAt: number) => void): void {
  const CM = g.C * g.M;
  for (let b = 0; b < g.B; b++) {
    for (let oy = 0; oy < g.OH; oy++) {
      for (let ox = 0; ox < g.OW; ox++) {
        const dyAt = ((b * g.OH + oy) * g.OW + ox) * CM;
        for (let i = 0; i < g.fh; i++) {
          const iy = oy * g.sh + i - g.pt;
          if (iy < 0 || iy >= g.H) continue;
          for (let j = 0; j < g.fw; j++) {
            const ix = ox * g.sw + j - g.pl;
            if (ix < 0 || ix >= g.W) continue;
            visit(dyAt, ((b * g.H + iy) * g.W + ix) * g.C, (i * g.fw + j) * CM);
          }
        }
      }
    }
  }
}

/** dW[i, j, c, m] = Σ_{b, y, x} X[b, y·sh + i − pt, x·sw + j − pl, c] · dY[b, y, x, c·M + m], into `dW` (zeroed). */
export function depthwiseFilterGradient(g: DepthwiseGeometry, x: Float32Array, dy: Float32Array, dW: Float32Array): void {
  const { C, M } = g;
  forEachTap(g, (dyAt, xAt, wAt) => {
    for (let c = 0; c < C; c++) {
      const xv = x[xAt + c]!;
      for (let m = 0; m < M; m++) dW[wAt + c * M + m]! += xv * dy[dyAt + c * M + m]!;
    }
  });
}

/** dX[b, h, w, c] = Σ dY[b, y, x, c·M + m] · W[i, j, c, m] over the taps that read (h, w), into `dX` (zeroed). */
export function depthwiseInputGradient(g: DepthwiseGeometry, dy: Float32Array, w: Float32Array, dX: Float32Array): void {
  const { C, M } = g;
  forEachTap(g, (dyAt, xAt, wAt) => {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dy[dyAt + c * M + m]! * w[wAt + c * M + m]!;
      dX[xAt + c]! += s;
    }
  });
}

/** The geometry of a kernel call from tfjs' conv info and the filter's channel multiplier. */
export function geometryOf(info: tf.backend_util.Conv2DInfo, M: number): DepthwiseGeometry {
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    C: info.inChannels,
    M,
    OH: info.outHeight,
    OW: info.outWidth,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
}
