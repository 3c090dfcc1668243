/**
 * Low-level helpers for fdft's wasm kernels: they work on `TensorInfo`s (not `tf.Tensor`s), call the
 * backend's own kernels directly (no tape, no engine bookkeeping) and move data on the wasm heap
 * without copies. Every intermediate `TensorInfo` a kernel makes must be released with `release`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type FdftSimd, simdFor } from './simd/index.ts';

export type TensorInfo = tf.TensorInfo;
export type Attrs = Record<string, unknown>;
export type { BackendWasm };

/** A kernel or shape fdft's wasm kernels do not handle (the message says what and what to do). */
export class UnsupportedKernelError extends Error {
  override name = 'UnsupportedKernelError';
}

/** Stock wasm kernels that fdft replaced, kept so the replacements can fall back to them. */
const stockKernels = new Map<string, tf.KernelConfig>();

export function rememberStockKernel(config: tf.KernelConfig): void {
  if (!stockKernels.has(config.kernelName)) stockKernels.set(config.kernelName, config);
}

/** Runs the wasm kernel registered now under `name` (fdft's replacement when there is one). */
export function runKernel(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new UnsupportedKernelError(`wasm kernel '${name}' is not registered`);
  return k.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/** Runs tfjs' own wasm kernel `name`, bypassing fdft's replacement of it. */
export function runStockKernel(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  const k = stockKernels.get(name) ?? tf.getKernel(name, 'wasm');
  if (!k) throw new UnsupportedKernelError(`wasm kernel '${name}' is not registered`);
  return k.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/** Drops this kernel's reference to intermediate results (views share data and count references). */
export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/** A view of `x` with another shape: shares the data (reference counted), costs nothing. */
export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel(backend, 'Transpose', { x }, { perm });
}

/** A float32 view of a tensor's data on the wasm heap. Invalid after any allocation: re-take it. */
export function heapF32(backend: BackendWasm, x: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(x) as Float32Array;
}

export function makeZeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  heapF32(backend, out).fill(0);
  return out;
}

export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * NHWC `x` with `stride - 1` zeros between pixels and `pads` zeros around (a negative pad crops):
 * x[b, h, w] lands at (pads.top + h·sh, pads.left + w·sw). This is the zero-upsampling that turns a
 * strided convolution's input gradient into an ordinary stride-1 convolution.
 */
export function spreadAndPad(backend: BackendWasm, x: TensorInfo, stride: [number, number], pads: Pads): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [sh, sw] = stride;
  const outH = (H - 1) * sh + 1 + pads.top + pads.bottom;
  const outW = (W - 1) * sw + 1 + pads.left + pads.right;
  if (outH <= 0 || outW <= 0) throw new UnsupportedKernelError(`spreadAndPad: empty output ${outH}x${outW}`);
  const out = makeZeros(backend, [B, outH, outW, C]);
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const oh = pads.top + h * sh;
      if (oh < 0 || oh >= outH) continue;
      const srcRow = (b * H + h) * W * C;
      const dstRow = (b * outH + oh) * outW * C;
      if (sw === 1 && pads.left >= 0 && pads.left + W <= outW) {
        dst.set(src.subarray(srcRow, srcRow + W * C), dstRow + pads.left * C);
        continue;
      }
      for (let w = 0; w < W; w++) {
        const ow = pads.left + w * sw;
        if (ow < 0 || ow >= outW) continue;
        const s = srcRow + w * C;
        const d = dstRow + ow * C;
        for (let c = 0; c < C; c++) dst[d + c] = src[s + c];
      }
    }
  }
  return out;
}

/**
 * A conv filter [fh, fw, inC, outC] rotated by 180° in space and with in/out channels swapped:
 * [fh, fw, outC, inC]. Convolving dy with it gives the input gradient of a stride-1 convolution.
 * Each tap's [inC, outC] → [outC, inC] swap runs in fdft's SIMD transpose (a 1x1 filter is one
 * call); `simd` null (no wasm SIMD here, or a test) takes the JavaScript loop. Same values either way.
 */
export function flipFilterSwapChannels(backend: BackendWasm, filter: TensorInfo, simd: FdftSimd | null = simdFor(backend)): TensorInfo {
  const [fh, fw, ci, co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([fh, fw, co, ci], 'float32');
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      swapChannels(backend, filter, ((fh - 1 - i) * fw + (fw - 1 - j)) * ci * co, out, (i * fw + j) * co * ci, ci, co, simd);
    }
  }
  return out;
}

/**
 * One filter tap: `dst` [co, ci] from element `dstAt` = the transpose of `src` [ci, co] from
 * element `srcAt` (float32 tensors on the heap). The SIMD transpose when `simd` is given, else a
 * JavaScript loop.
 */
export function swapChannels(
  backend: BackendWasm,
  src: TensorInfo,
  srcAt: number,
  dst: TensorInfo,
  dstAt: number,
  ci: number,
  co: number,
  simd: FdftSimd | null,
): void {
  if (ci * co === 0) return;
  if (simd) {
    simd.transpose(byteOffset(backend, src) + srcAt * 4, byteOffset(backend, dst) + dstAt * 4, 1, ci, co);
    return;
  }
  const s = heapF32(backend, src);
  const d = heapF32(backend, dst);
  for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) d[dstAt + o * ci + c] = s[srcAt + c * co + o]!;
}

/** Depthwise conv gradients exist for dilation 1 only (tfjs' core has none for dilated ones either). */
export function assertNoDilation(kernel: string, dilations: number | number[] | undefined): void {
  const [dh, dw] = pair(dilations);
  if (dh !== 1 || dw !== 1) {
    throw new UnsupportedKernelError(`${kernel}: dilation ${dh}x${dw} is not supported (only dilation 1 has a gradient on wasm)`);
  }
}

/** A filter [fh, fw, …] rotated by 180° in space (the trailing axes unchanged). */
export function flipFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [fh, fw] = filter.shape as [number, number];
  const inner = filter.shape.slice(2).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(filter.shape, 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const s0 = ((fh - 1 - i) * fw + (fw - 1 - j)) * inner;
      dst.set(src.subarray(s0, s0 + inner), (i * fw + j) * inner);
    }
  }
  return out;
}

/** `[sh, sw]` from a tfjs stride / dilation attribute. */
export function pair(v: number | number[] | undefined, fallback = 1): [number, number] {
  if (v == null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0]!, v[1] ?? v[0]!];
}

export function assertFloat32(kernel: string, ...xs: TensorInfo[]): void {
  for (const x of xs) {
    if (x.dtype !== 'float32') throw new UnsupportedKernelError(`${kernel}: fdft's wasm kernel takes float32 tensors, got ${x.dtype}`);
  }
}

interface HeapRecord {
  id: number;
  memoryOffset: number;
}

function heapRecord(backend: BackendWasm, x: TensorInfo): HeapRecord {
  return (backend.dataIdMap as unknown as { get(d: object): HeapRecord }).get(x.dataId);
}

/** process.env where there is one (Node, workers), else {} (browsers): fdft's kernel switches. */
export function processEnv(): Record<string, string | undefined> {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
}

/** The wasm-side tensor id of `x` (what the backend's C++ functions take). */
export function wasmId(backend: BackendWasm, x: TensorInfo): number {
  return heapRecord(backend, x).id;
}

/**
 * A zero-copy tensor over part of `base`'s memory, starting `elementOffset` floats in. Lets a
 * C++ kernel read or WRITE a sub-block (one batch element) in place. Drop it with `dropHeapView`,
 * never `release` (that would free memory the view does not own).
 */
export function heapView(backend: BackendWasm, base: TensorInfo, elementOffset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, base.dtype, heapRecord(backend, base).memoryOffset + elementOffset * 4);
}

export function dropHeapView(backend: BackendWasm, view: TensorInfo): void {
  const rec = heapRecord(backend, view);
  backend.wasm.tfjs.disposeData(rec.id);
  (backend.dataIdMap as unknown as { delete(d: object): void }).delete(view.dataId);
}

/** Byte address of `x`'s data in the wasm memory. */
export function byteOffset(backend: BackendWasm, x: TensorInfo): number {
  return heapRecord(backend, x).memoryOffset;
}
