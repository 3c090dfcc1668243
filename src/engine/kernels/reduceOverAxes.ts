/**
 * Sum / mean of a float32 tensor over any axes, for fdft's Sum and Mean kernels. The stock wasm
 * reductions only run fast over the innermost axes; for any other axes they first call the stock
 * (slow) Transpose. Batch norm reduces NHWC over [0, 1, 2] — the OUTER axes — in every forward and
 * backward pass. Outer axes are summed here row by row (fdft's SIMD column sum, float64 accumulators);
 * mixed axes go through fdft's Transpose, then the stock inner reduction.
 */
import * as tf from '@tensorflow/tfjs';
import { transposeOnHeap } from './transpose.ts';
import { simdFor } from './simd/index.ts';
import {
  type BackendWasm,
  byteOffset,
  heapF32,
  makeZeros,
  release,
  reshape,
  runStockKernel,
  type TensorInfo,
} from './wasmTensors.ts';

export function reduceOverAxes(
  backend: BackendWasm,
  kernel: 'Sum' | 'Mean',
  x: TensorInfo,
  axis: number | number[],
  keepDims: boolean,
): TensorInfo {
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const innermost = axes.every((a, i) => a === r - axes.length + i);
  if (x.dtype !== 'float32' || axes.length === 0 || innermost) {
    return runStockKernel(backend, kernel, { x }, { axis, keepDims });
  }
  const keptShape = x.shape.filter((_, i) => !axes.includes(i));
  const outShape = keepDims ? x.shape.map((n, i) => (axes.includes(i) ? 1 : n)) : keptShape;
  const reduced = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const leading = axes.every((a, i) => a === i);
  if (!leading) {
    const perm = [...x.shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
    const xt = transposeOnHeap(backend, x, perm);
    const flat = reshape(backend, xt, [...keptShape, reduced]);
    const red = runStockKernel(backend, kernel, { x: flat }, { axis: keptShape.length, keepDims: false });
    const out = reshape(backend, red, outShape);
    release(backend, xt, flat, red);
    return out;
  }
  const cols = keptShape.reduce((p, n) => p * n, 1);
  const out = backend.makeOutput(outShape, 'float32');
  const scale = kernel === 'Mean' ? 1 / reduced : 1;
  const simd = simdFor(backend);
  if (simd) {
    const scratch = makeZeros(backend, [2 * cols]); // float64[cols]
    simd.colSum(byteOffset(backend, x), byteOffset(backend, scratch), reduced, cols);
    const f = heapF32(backend, scratch);
    const acc = new Float64Array(f.buffer, f.byteOffset, cols);
    const dst = heapF32(backend, out);
    for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
    release(backend, scratch);
    return out;
  }
  const src = heapF32(backend, x);
  const acc = new Float64Array(cols);
  for (let row = 0, o = 0; row < reduced; row++, o += cols) {
    for (let c = 0; c < cols; c++) acc[c]! += src[o + c]!;
  }
  const dst = heapF32(backend, out);
  for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
  return out;
}
