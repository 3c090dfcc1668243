/**
 * Tile for wasm, replacing the stock kernel (its C++ computes every output index: 50–150 ms to
 * broadcast a [1,1,1,32] batch-norm gradient to [32,32,32,32]). Here: each source row is copied
 * once, then whole blocks are duplicated with `copyWithin` (a memmove, doubling the copied run
 * each time), outermost axis last.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, runStockKernel, type TensorInfo } from './wasmTensors.ts';

function tile(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const reps = (args.attrs as unknown as tf.TileAttrs).reps;
  const r = x.shape.length;
  if (x.dtype === 'string' || r === 0) return runStockKernel(backend, 'Tile', { x }, { reps });
  const outShape = x.shape.map((n, i) => n * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((n) => n === 0)) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const xStride = new Array<number>(r);
  const oStride = new Array<number>(r);
  xStride[r - 1] = 1;
  oStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) {
    xStride[i] = xStride[i + 1]! * x.shape[i + 1]!;
    oStride[i] = oStride[i + 1]! * outShape[i + 1]!;
  }
  const fill = (o: number, s: number, axis: number): void => {
    const n = x.shape[axis]!;
    if (axis === r - 1) {
      dst.set(src.subarray(s, s + n), o);
    } else {
      for (let i = 0; i < n; i++) fill(o + i * oStride[axis]!, s + i * xStride[axis]!, axis + 1);
    }
    // Repeat the block by doubling: log2(reps) memmoves, not reps − 1 (broadcasting a [.., 1]
    // column along the innermost axis would otherwise cost one call per output element).
    const total = n * oStride[axis]! * reps[axis]!;
    for (let len = n * oStride[axis]!; len < total; ) {
      const run = Math.min(len, total - len);
      dst.copyWithin(o + len, o, o + run);
      len += run;
    }
  };
  fill(0, 0, 0);
  return out;
}

export const tileConfig: tf.KernelConfig = {
  kernelName: 'Tile',
  backendName: 'wasm',
  kernelFunc: tile as unknown as tf.KernelFunc,
};
