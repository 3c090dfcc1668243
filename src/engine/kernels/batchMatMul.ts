/**
 * BatchMatMul for wasm, replacing the stock kernel, whose only fast path (XNNPACK, ~10–40 GFLOP/s
 * on 2 cores) is ONE matrix product without transposes; any batch > 1 or any transpose runs a
 * generic loop at 0.6–3 GFLOP/s. Attention (softmax(F·Gᵀ)·H and its gradients) is exactly that.
 *
 * Here every product becomes per-batch plain products on zero-copy views of the operands and of
 * the output. Transposes are done explicitly on the heap, on whichever side is cheaper, using
 * Cᵀ = op(B)ᵀ·op(A)ᵀ: e.g. the attention gradient Aᵀ·dO (A is N×N) is computed as (dOᵀ·A)ᵀ,
 * transposing two N×C matrices instead of one N×N.
 */
import * as tf from '@tensorflow/tfjs';
import { transposeOnHeap } from './transpose.ts';
import {
  type BackendWasm,
  dropHeapView,
  heapView,
  release,
  reshape,
  runStockKernel,
  type TensorInfo,
  wasmId,
} from './wasmTensors.ts';

type RawBatchMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

let rawBatchMatMul: RawBatchMatMul | undefined;

function setup(backend: unknown): void {
  const wasm = (backend as BackendWasm).wasm as unknown as { cwrap(n: string, r: null, a: string[]): RawBatchMatMul };
  rawBatchMatMul = wasm.cwrap('BatchMatMul', null, [
    'number',
    'array',
    'number',
    'number',
    'array',
    'number',
    'number',
    'number',
    'number',
  ]);
}

const PACK_COST = 3;

const shapeBytes = (s: number[]): Uint8Array => new Uint8Array(new Int32Array(s).buffer);

/** out[i] = a[i]·b[i] for each batch element, no transposes: the fast XNNPACK path, in place. */
function plainProducts(backend: BackendWasm, a: TensorInfo, b: TensorInfo, out: TensorInfo): void {
  const [batchA, M, K] = a.shape as [number, number, number];
  const [batchB, , N] = b.shape as [number, number, number];
  const batch = Math.max(batchA, batchB);
  const aShape = shapeBytes([1, M, K]);
  const bShape = shapeBytes([1, K, N]);
  const call = rawBatchMatMul!;
  if (batch === 1) {
    call(wasmId(backend, a), aShape, 3, wasmId(backend, b), bShape, 3, false, false, wasmId(backend, out));
    return;
  }
  // A broadcast operand gets one view for all products (XNNPACK packs a right operand once per id).
  const aShared = batchA === 1 ? heapView(backend, a, 0, [1, M, K]) : undefined;
  const bShared = batchB === 1 ? heapView(backend, b, 0, [1, K, N]) : undefined;
  for (let i = 0; i < batch; i++) {
    const av = aShared ?? heapView(backend, a, i * M * K, [1, M, K]);
    const bv = bShared ?? heapView(backend, b, i * K * N, [1, K, N]);
    const ov = heapView(backend, out, i * M * N, [1, M, N]);
    call(wasmId(backend, av), aShape, 3, wasmId(backend, bv), bShape, 3, false, false, wasmId(backend, ov));
    if (!aShared) dropHeapView(backend, av);
    if (!bShared) dropHeapView(backend, bv);
    dropHeapView(backend, ov);
  }
  if (aShared) dropHeapView(backend, aShared);
  if (bShared) dropHeapView(backend, bShared);
}

const swapLast = (x: TensorInfo, backend: BackendWasm): TensorInfo => transposeOnHeap(backend, x, [0, 2, 1]);

export function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const size = (s: number[]): number => s.reduce((p, q) => p * q, 1);
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const M = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const Ka = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const Kb = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const N = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  const batchOk = batchA === batchB || batchA === 1 || batchB === 1;
  if (rawBatchMatMul == null) setup(backend); // registered after the backend initialised
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !batchOk || Ka !== Kb || M * N * Ka === 0) {
    return runStockKernel(backend, 'BatchMatMul', { a, b }, args.attrs ?? {}); // stock checks and errors
  }
  const K = Ka;
  const batch = Math.max(batchA, batchB);
  const outShape = [
    ...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)),
    M,
    N,
  ];
  const a3 = reshape(backend, a, transposeA ? [batchA, K, M] : [batchA, M, K]);
  const b3 = reshape(backend, b, transposeB ? [batchB, N, K] : [batchB, K, N]);
  const aSize = batchA * M * K;
  const bSize = batchB * K * N;
  // Cost in element moves: each explicit transpose, plus packing the right-hand operand, which
  // XNNPACK redoes for every product and which costs ~3 transposes per element.
  const direct = (transposeA ? aSize : 0) + (transposeB ? bSize : 0) + PACK_COST * bSize;
  const swapped = (transposeA ? 0 : aSize) + (transposeB ? 0 : bSize) + batch * M * N + PACK_COST * aSize;
  let out: TensorInfo;
  if (direct <= swapped) {
    const aa = transposeA ? swapLast(a3, backend) : a3;
    const bb = transposeB ? swapLast(b3, backend) : b3;
    const prod = backend.makeOutput([batch, M, N], 'float32');
    plainProducts(backend, aa, bb, prod);
    if (aa !== a3) release(backend, aa);
    if (bb !== b3) release(backend, bb);
    out = reshape(backend, prod, outShape);
    release(backend, prod);
  } else {
    // Cᵀ = op(B)ᵀ · op(A)ᵀ, then one transpose of the (small) result.
    const bt = transposeB ? b3 : swapLast(b3, backend); // [batchB, N, K]
    const at = transposeA ? a3 : swapLast(a3, backend); // [batchA, K, M]
    const prodT = backend.makeOutput([batch, N, M], 'float32');
    plainProducts(backend, bt, at, prodT);
    if (bt !== b3) release(backend, bt);
    if (at !== a3) release(backend, at);
    const prod = swapLast(prodT, backend);
    release(backend, prodT);
    out = reshape(backend, prod, outShape);
    release(backend, prod);
  }
  release(backend, a3, b3);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  setupFunc: setup as tf.KernelSetupFunc,
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
