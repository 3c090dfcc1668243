/**
 * Conv2D and FusedConv2D for wasm, replacing the stock kernels for ONE case: a 1x1, stride-1 conv
 * (a pointwise conv, e.g. MBblockV3's expand 2048→576 or Xception's 728→728) with large weights
 * over few pixels, whose filter tensor the stock kernel has not seen before. There the stock kernel
 * spends most of its time not computing: for every new filter tensor it transposes the weights from
 * HWIO to XNNPACK's OHWI (a strided, cache-missing copy) before packing them, and in training every
 * step's weights are a new tensor. Measured on this machine (scratch microbench, fourth session):
 * 2048→576 over 64 pixels, 32 ms with new weights vs 9.5 ms with cached ones — the same product as a
 * matrix multiply ([pixels, C] · [C, O], which needs no transpose: HWIO with H = W = 1 IS [C, O])
 * takes 13 ms either way.
 *
 * So such a conv runs as a matrix product while its filter is new, and as the stock conv once it has
 * been reused (inference: the stock kernel's cached operator is then faster).
 * The rule below comes from the same measurements: the transpose costs ~4 ns per weight while the
 * weights fit in cache, ~11 ns from 2^18 weights and ~19 ns from 2^19; the matrix product is ~1.2–1.6x
 * slower than the stock conv's GEMM; so the product wins only for large weights over few pixels.
 * Conv2DBackpropInput's 1x1 case (a conv with the flipped, hence always new, filter) benefits too.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, pair, processEnv as env, release, reshape, runStockKernel, type TensorInfo } from './wasmTensors.ts';

/** Whether a conv with `weights` = C·O over `pixels` = B·H·W runs faster as a matrix product. */
export function pointwiseAsMatMul(weights: number, pixels: number): boolean {
  if (weights >= 2 ** 19) return pixels <= 384;
  if (weights >= 2 ** 18) return pixels <= 256;
  return false;
}

/**
 * Uses so far of each filter (by data id). The first two run as products, later ones on the stock
 * kernel, which then pays the transpose once and caches its operator: a filter used once (a training
 * step's forward) or twice never pays it, one used many times (inference) amortises it.
 */
const filterUses = new WeakMap<object, number>();
const PRODUCT_USES = 2;

/** How many Conv2D / FusedConv2D calls ran as products since the process started (tests, profiles). */
export let pointwiseProducts = 0;

function isZeroPad(pad: unknown): boolean {
  if (pad === 'valid' || pad === 'same' || pad === 0) return true; // identical for a 1x1 stride-1 conv
  return Array.isArray(pad) && pad.flat().every((p) => p === 0);
}

/** The [pixels, C] · [C, O] shapes when this call is a pointwise conv to run as a product. */
function asProduct(x: TensorInfo, filter: TensorInfo, attrs: tf.Conv2DAttrs): { pixels: number; C: number; O: number } | undefined {
  const [fh, fw, C, O] = filter.shape as [number, number, number, number];
  if (fh !== 1 || fw !== 1 || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  if (attrs.dataFormat === 'NCHW' || x.shape[3] !== C) return undefined;
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  if (sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1 || !isZeroPad(attrs.pad)) return undefined;
  const pixels = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  if (!pointwiseAsMatMul(C * O, pixels)) return undefined;
  if (env().FDFT_POINTWISE_PRODUCT === '0') return undefined; // A/B timing, or to rule it out when debugging
  const uses = (filterUses.get(filter.dataId) ?? 0) + 1;
  filterUses.set(filter.dataId, uses);
  if (uses > PRODUCT_USES) return undefined;
  pointwiseProducts++;
  return { pixels, C, O };
}

/**
 * Conv2D (no bias, linear) and FusedConv2D alike: tfjs' stock _FusedMatMul (XNNPACK's fully
 * connected operator, which packs [C, O] weights directly) on [1, pixels, C] · [1, C, O] views.
 */
function pointwiseConv(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }, kernel: 'Conv2D' | 'FusedConv2D'): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter, bias, preluActivationWeights: prelu } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
  // PReLU weights that are a scalar or per channel broadcast alike over [B, H, W, O] and [1, pixels, O].
  const preluSize = prelu?.shape.reduce((s, d) => s * d, 1);
  const perChannel = prelu === undefined || preluSize === 1 || preluSize === filter!.shape[3];
  const p = perChannel ? asProduct(x!, filter!, attrs) : undefined;
  if (!p) return runStockKernel(backend, kernel, args.inputs as Record<string, TensorInfo>, args.attrs ?? {});
  const a = reshape(backend, x!, [1, p.pixels, p.C]);
  const b = reshape(backend, filter!, [1, p.C, p.O]);
  const w = prelu && reshape(backend, prelu, [preluSize!]);
  const y = runStockKernel(
    backend,
    '_FusedMatMul',
    { a, b, ...(bias && { bias }), ...(w && { preluActivationWeights: w }) },
    { transposeA: false, transposeB: false, activation: attrs.activation ?? 'linear', leakyreluAlpha: attrs.leakyreluAlpha },
  );
  const out = reshape(backend, y, [...x!.shape.slice(0, 3), p.O]);
  release(backend, a, b, y, ...(w ? [w] : []));
  return out;
}

export const conv2dConfig: tf.KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: ((args: Parameters<typeof pointwiseConv>[0]) => pointwiseConv(args, 'Conv2D')) as unknown as tf.KernelFunc,
};

export const fusedConv2dConfig: tf.KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: ((args: Parameters<typeof pointwiseConv>[0]) => pointwiseConv(args, 'FusedConv2D')) as unknown as tf.KernelFunc,
};
