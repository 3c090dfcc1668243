/**
 * Transpose for wasm, replacing the stock kernel (its C++ runs ~16 ns per element unless the
 * innermost axis stays put: 0.5–0.6 s for a 32x1024x1024 tensor). Here: axes of size 1 dropped,
 * axes that stay neighbours merged; a swap of the last two axes runs in fdft's SIMD kernel
 * (simd/fdftSimd.wat), any other permutation in a cache-blocked JavaScript copy on the heap;
 * the stock kernel keeps the cases it does fast (innermost axis unchanged).
 */
import * as tf from '@tensorflow/tfjs';
import { simdFor } from './simd/index.ts';
import { type BackendWasm, byteOffset, release, reshape, runStockKernel, type TensorInfo } from './wasmTensors.ts';

/** The same transpose on fewer axes: size-1 axes dropped, runs of neighbouring axes merged. */
export function simplifyTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const keep = shape.map((n, i) => (n !== 1 ? i : -1)).filter((i) => i >= 0);
  const renumber = new Map(keep.map((axis, k) => [axis, k]));
  const s1 = keep.map((i) => shape[i]!);
  const p1 = perm.filter((a) => renumber.has(a)).map((a) => renumber.get(a)!);
  // Merge output-neighbour axes that are also input neighbours in the same order.
  const groups: number[][] = [];
  for (const a of p1) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1]! + 1 === a) last.push(a);
    else groups.push([a]);
  }
  const byInputOrder = [...groups].sort((g, h) => g[0]! - h[0]!);
  const newShape = byInputOrder.map((g) => g.reduce((n, a) => n * s1[a]!, 1));
  const newPerm = groups.map((g) => byInputOrder.indexOf(g));
  return { shape: newShape, perm: newPerm };
}

const TILE = 32;

/** The whole wasm heap as 4-byte words, and a tensor's offset in it (in words). */
function heapWords(backend: BackendWasm, x: TensorInfo): { heap: Int32Array; at: number } {
  const f = backend.typedArrayFromHeap(x);
  return { heap: new Int32Array(f.buffer), at: f.byteOffset >> 2 };
}

/**
 * Transpose of a float32 or int32 tensor (4-byte elements are moved as Int32 bit patterns, so one
 * monomorphic loop serves both).
 */
export function transposeOnHeap(backend: BackendWasm, x: TensorInfo, perm: readonly number[]): TensorInfo {
  const out = backend.makeOutput(
    perm.map((a) => x.shape[a]!),
    x.dtype,
  );
  const { shape, perm: p } = simplifyTranspose(x.shape, perm);
  // A (batched) swap of the last two axes: the SIMD kernel.
  const swap2 = p.length === 2 && p[0] === 1;
  const swap3 = p.length === 3 && p[0] === 0 && p[1] === 2 && p[2] === 1;
  const simd = swap2 || swap3 ? simdFor(backend) : null;
  if (simd) {
    const [batch, rows, cols] = swap2 ? [1, shape[0]!, shape[1]!] : (shape as [number, number, number]);
    simd.transpose(byteOffset(backend, x), byteOffset(backend, out), batch, rows, cols);
    return out;
  }
  const src = heapWords(backend, x);
  const dst = heapWords(backend, out);
  const size = shape.reduce((a, b) => a * b, 1);
  if (p.length <= 1) src.heap.copyWithin(dst.at, src.at, src.at + size);
  else permuteWords(src.heap, src.at, dst.at, shape, p);
  return out;
}

/**
 * out[o] = in[i] for an axis permutation `p` of `shape` (no size-1 axes, no mergeable neighbours).
 * Two axes are walked in TILE×TILE blocks: the output's innermost (contiguous writes) and the one
 * that is the input's innermost (contiguous reads); the others are walked by an odometer.
 */
function permuteWords(heap: Int32Array, srcAt: number, dstAt: number, shape: number[], p: number[]): void {
  const r = p.length;
  const inStride = new Array<number>(r);
  inStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) inStride[i] = inStride[i + 1]! * shape[i + 1]!;
  const oShape = p.map((a) => shape[a]!);
  const oStride = new Array<number>(r);
  oStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) oStride[i] = oStride[i + 1]! * oShape[i + 1]!;
  const srcStrideOfOut = p.map((a) => inStride[a]!);
  const q = p.indexOf(r - 1); // output axis that is contiguous in the input
  if (q === r - 1) {
    copyRows(heap, srcAt, dstAt, oShape, srcStrideOfOut);
    return;
  }
  const nB = oShape[r - 1]!; // along the output's innermost axis
  const sB = srcStrideOfOut[r - 1]!;
  const nQ = oShape[q]!;
  const oQ = oStride[q]!;
  const outer = [...oShape.keys()].filter((k) => k !== q && k !== r - 1);
  const outerN = outer.map((k) => oShape[k]!);
  const outerIn = outer.map((k) => srcStrideOfOut[k]!);
  const outerOut = outer.map((k) => oStride[k]!);
  const count = outerN.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(outer.length).fill(0);
  let iBase = srcAt;
  let oBase = dstAt;
  for (let n = 0; n < count; n++) {
    for (let q0 = 0; q0 < nQ; q0 += TILE) {
      const q1 = Math.min(q0 + TILE, nQ);
      for (let b0 = 0; b0 < nB; b0 += TILE) {
        const b1 = Math.min(b0 + TILE, nB);
        for (let iq = q0; iq < q1; iq++) {
          let i = iBase + iq + b0 * sB;
          const d = oBase + iq * oQ;
          for (let b = b0; b < b1; b++, i += sB) heap[d + b] = heap[i]!;
        }
      }
    }
    for (let k = outer.length - 1; k >= 0; k--) {
      idx[k]!++;
      iBase += outerIn[k]!;
      oBase += outerOut[k]!;
      if (idx[k]! < outerN[k]!) break;
      iBase -= outerIn[k]! * outerN[k]!;
      oBase -= outerOut[k]! * outerN[k]!;
      idx[k] = 0;
    }
  }
}

/** The innermost axis stays put: whole rows are copied, the other axes walked by an odometer. */
function copyRows(heap: Int32Array, srcAt: number, dstAt: number, oShape: number[], srcStrideOfOut: number[]): void {
  const r = oShape.length;
  const run = oShape[r - 1]!;
  const outerN = oShape.slice(0, r - 1);
  const outerIn = srcStrideOfOut.slice(0, r - 1);
  const count = outerN.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(r - 1).fill(0);
  let i = srcAt;
  for (let n = 0, o = dstAt; n < count; n++, o += run) {
    copyWords(heap, i, o, run);
    for (let k = r - 2; k >= 0; k--) {
      idx[k]!++;
      i += outerIn[k]!;
      if (idx[k]! < outerN[k]!) break;
      i -= outerIn[k]! * outerN[k]!;
      idx[k] = 0;
    }
  }
}

/** Copies `run` words inside the heap: a plain loop for short runs (no call overhead), else a memmove. */
export function copyWords(heap: Int32Array, from: number, to: number, run: number): void {
  if (run < 16) for (let k = 0; k < run; k++) heap[to + k] = heap[from + k]!;
  else heap.copyWithin(to, from, from + run);
}

function transposeKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  const perm = (args.attrs as unknown as tf.TransposeAttrs).perm;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return runStockKernel(backend, 'Transpose', { x }, { perm });
  const { shape, perm: p } = simplifyTranspose(x.shape, perm);
  const r = p.length;
  // The stock kernel copies whole rows fast when the innermost axis stays innermost.
  if (r > 1 && p[r - 1] === r - 1) return runStockKernel(backend, 'Transpose', { x }, { perm });
  if (r >= 3 && p[r - 1] === 0 && simdFor(backend)) {
    // The outermost axis becomes the innermost (e.g. NHWC → CHWN): one SIMD 2-D swap
    // [n0, rest] → [rest, n0], then a row-preserving permutation of the rest (stock, fast).
    const rest = shape.slice(1);
    const flat = reshape(backend, x, [shape[0]!, rest.reduce((a, b) => a * b, 1)]);
    const swapped = transposeOnHeap(backend, flat, [1, 0]);
    const moved = reshape(backend, swapped, [...rest, shape[0]!]);
    const perm2 = [...p.slice(0, r - 1).map((a) => a - 1), r - 1];
    const permuted = perm2.every((a, i) => a === i) ? moved : runStockKernel(backend, 'Transpose', { x: moved }, { perm: perm2 });
    const out = reshape(backend, permuted, perm.map((a) => x.shape[a]!));
    release(backend, flat, swapped, moved);
    if (permuted !== moved) release(backend, permuted);
    return out;
  }
  return transposeOnHeap(backend, x, perm);
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: 'Transpose',
  backendName: 'wasm',
  kernelFunc: transposeKernel as unknown as tf.KernelFunc,
};
