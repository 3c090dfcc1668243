/** Unpack (tf.unstack) for wasm: the stock kernel copies the whole input once per output; this slices heap to heap. */
import * as tf from '@tensorflow/tfjs';
import { sliceOnHeap } from './slice.ts';
import { type BackendWasm, runStockKernel, type TensorInfo } from './wasmTensors.ts';

function unpack(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const value = args.inputs.value!;
  let { axis } = args.attrs as unknown as tf.UnpackAttrs;
  if (value.dtype === 'string') return runStockKernel(backend, 'Unpack', { value }, { axis }) as unknown as TensorInfo[];
  if (axis < 0) axis += value.shape.length;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = [...value.shape];
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]!; i++) {
    begin[axis] = i;
    const part = sliceOnHeap(backend, value, begin, size);
    outs.push({ dataId: part.dataId, dtype: part.dtype, shape: outShape });
  }
  return outs;
}

export const unpackConfig: tf.KernelConfig = {
  kernelName: 'Unpack',
  backendName: 'wasm',
  kernelFunc: unpack as unknown as tf.KernelFunc,
};
