/**
 * StridedSlice for wasm: the stock kernel sends its common cases (a plain slice) through the stock
 * whole-input-copying Slice; this sends them through fdft's and leaves real strides to the stock C++.
 */
import * as tf from '@tensorflow/tfjs';
import { sliceOnHeap } from './slice.ts';
import { type BackendWasm, release, reshape, runStockKernel, type TensorInfo } from './wasmTensors.ts';

function stridedSlice(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const a = args.attrs as unknown as tf.StridedSliceAttrs;
  const info = tf.slice_util.sliceInfo(
    x.shape,
    a.begin,
    a.end,
    a.strides,
    a.beginMask,
    a.endMask,
    a.ellipsisMask,
    a.newAxisMask,
    a.shrinkAxisMask,
  );
  if (x.dtype === 'string' || info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
    return runStockKernel(backend, 'StridedSlice', { x }, args.attrs ?? {});
  }
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  const sliced = sliceOnHeap(backend, x, info.begin, size);
  const out = reshape(backend, sliced, info.finalShape);
  release(backend, sliced);
  return out;
}

export const stridedSliceConfig: tf.KernelConfig = {
  kernelName: 'StridedSlice',
  backendName: 'wasm',
  kernelFunc: stridedSlice as unknown as tf.KernelFunc,
};
