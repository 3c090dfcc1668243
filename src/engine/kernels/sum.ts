/** Sum for wasm: fast over outer / mixed axes too (see reduceOverAxes.ts). */
import * as tf from '@tensorflow/tfjs';
import { reduceOverAxes } from './reduceOverAxes.ts';
import type { BackendWasm, TensorInfo } from './wasmTensors.ts';

function sum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  return reduceOverAxes(args.backend as BackendWasm, 'Sum', args.inputs.x!, axis, keepDims);
}

export const sumConfig: tf.KernelConfig = { kernelName: 'Sum', backendName: 'wasm', kernelFunc: sum as unknown as tf.KernelFunc };
