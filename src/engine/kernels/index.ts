/**
 * Training kernels fdft adds to (or replaces in) tfjs' wasm backend. tfjs 4.22's wasm backend runs
 * the forward pass fast (XNNPACK, SIMD) but lacks three gradient kernels, so training any conv net
 * on it fails with "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"; and a few of
 * its stock kernels are far slower than what its fast kernels can do when composed (and its
 * MaxPoolGrad is wrong).
 *
 * Call `registerWasmTrainingKernels()` after importing '@tensorflow/tfjs-backend-wasm' and BEFORE
 * `tf.setBackend('wasm')`: tfjs runs each kernel's setup (binding its wasm function) when the
 * backend initialises, and replaced stock kernels pass their setup on through ours.
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulConfig } from './batchMatMul.ts';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter.ts';
import { conv2dBackpropInputConfig } from './conv2dBackpropInput.ts';
import { depthwiseConv2dBackpropFilterConfig } from './depthwiseConv2dBackpropFilter.ts';
import { depthwiseConv2dBackpropInputConfig } from './depthwiseConv2dBackpropInput.ts';
import { fusedAttentionGradKernelConfig, fusedAttentionKernelConfig } from './fusedAttention.ts';
import { identityConfig } from './identity.ts';
import { maxPoolGradConfig } from './maxPoolGrad.ts';
import { meanConfig } from './mean.ts';
import { conv2dConfig, fusedConv2dConfig } from './pointwiseConv.ts';
import { REDUCTION_GRADIENTS } from './reductionGrads.ts';
import { softmaxGradientConfig, softmaxGradKernelConfig } from './softmaxGrad.ts';
import { sliceConfig } from './slice.ts';
import { splitVConfig } from './splitV.ts';
import { stridedSliceConfig } from './stridedSlice.ts';
import { sumConfig } from './sum.ts';
import { tileConfig } from './tile.ts';
import { transposeConfig } from './transpose.ts';
import { unpackConfig } from './unpack.ts';
import { rememberStockKernel, UnsupportedKernelError } from './wasmTensors.ts';

export { UnsupportedKernelError } from './wasmTensors.ts';

/** Kernels the stock wasm backend lacks. */
export const ADDED_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  softmaxGradKernelConfig,
  fusedAttentionKernelConfig,
  fusedAttentionGradKernelConfig,
];

/** Stock wasm kernels replaced: by faster compositions (or, for Conv2D / FusedConv2D, in one case), and MaxPoolGrad, which is wrong in 4.22. */
export const REPLACED_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropInputConfig,
  conv2dConfig,
  fusedConv2dConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  transposeConfig,
  sliceConfig,
  splitVConfig,
  unpackConfig,
  stridedSliceConfig,
  tileConfig,
  identityConfig,
  sumConfig,
  meanConfig,
];

/** Names of every kernel fdft registers for wasm. */
export function wasmTrainingKernelNames(): string[] {
  return [...ADDED_KERNELS, ...REPLACED_KERNELS].map((k) => k.kernelName);
}

function replaceStockKernel(config: tf.KernelConfig): void {
  const stock = tf.getKernel(config.kernelName, 'wasm');
  if (!stock) {
    throw new UnsupportedKernelError(
      `wasm kernel '${config.kernelName}' to replace is not registered: import '@tensorflow/tfjs-backend-wasm' first`,
    );
  }
  rememberStockKernel(stock);
  tf.unregisterKernel(config.kernelName, 'wasm');
  // Our kernel may fall back to the stock one, whose wasm binding is made in its setup.
  const setups = [stock.setupFunc, config.setupFunc].filter((f): f is tf.KernelSetupFunc => f != null);
  tf.registerKernel({ ...config, setupFunc: (backend) => setups.forEach((f) => f(backend)) });
}

let registered = false;

/** Registers fdft's wasm kernels. Idempotent. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const k of ADDED_KERNELS) {
    if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  }
  for (const k of REPLACED_KERNELS) replaceStockKernel(k);
  // Uses the fused kernel on wasm only; elsewhere it computes what tfjs' own gradient does.
  tf.registerGradient(softmaxGradientConfig);
  // Sum and Mean gradients without tfjs' uploaded ones tensor; the same values on every backend.
  for (const g of REDUCTION_GRADIENTS) tf.registerGradient(g);
  registered = true;
}
