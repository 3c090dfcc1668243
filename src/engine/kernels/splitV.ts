/** SplitV for wasm: the stock kernel slices with the stock (whole-input-copying) Slice; this uses fdft's. */
import * as tf from '@tensorflow/tfjs';
import { sliceOnHeap } from './slice.ts';
import { type BackendWasm, runStockKernel, type TensorInfo } from './wasmTensors.ts';

function splitV(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  if (x.dtype === 'string') return runStockKernel(backend, 'SplitV', { x }, { numOrSizeSplits, axis }) as unknown as TensorInfo[];
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const part = sliceOnHeap(backend, x, [...begin], size);
    begin[ax]! += n;
    return part;
  });
}

export const splitVConfig: tf.KernelConfig = {
  kernelName: 'SplitV',
  backendName: 'wasm',
  kernelFunc: splitV as unknown as tf.KernelFunc,
};
