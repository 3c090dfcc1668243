/** Mean for wasm: fast over outer / mixed axes too (see reduceOverAxes.ts). */
import * as tf from '@tensorflow/tfjs';
import { reduceOverAxes } from './reduceOverAxes.ts';
import type { BackendWasm, TensorInfo } from './wasmTensors.ts';

function mean(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
  return reduceOverAxes(args.backend as BackendWasm, 'Mean', args.inputs.x!, axis, keepDims);
}

export const meanConfig: tf.KernelConfig = { kernelName: 'Mean', backendName: 'wasm', kernelFunc: mean as unknown as tf.KernelFunc };
