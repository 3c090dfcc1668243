/**
 * fdft's own WebAssembly SIMD helpers (fdftSimd.wat), instantiated on the tfjs wasm backend's
 * memory so they work on tensors in place: a 4x4-register transpose (~4x faster than the best
 * JavaScript loop), the fused softmax gradient and float64 column sums. `null` when this runtime
 * cannot run them (no wasm SIMD, or a tfjs build that hides its memory): callers then use JS.
 */
import type { BackendWasm } from '../wasmTensors.ts';
import { HeapModule } from '../heapModule.ts';
import { FDFT_SIMD_WASM_BASE64 } from './fdftSimdBinary.ts';

export interface FdftSimd {
  /** dst[b][j][i] = src[b][i][j], float32/int32 blocks [rows, cols]; byte addresses. */
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
  /** dx = y · (dy − Σ_row y·dy) over rows of `cols` float32 values. */
  softmaxGrad(y: number, dy: number, dx: number, rows: number, cols: number): void;
  /** acc[c] += Σ_r src[r·cols + c]; acc is float64[cols]. */
  colSum(src: number, acc: number, rows: number, cols: number): void;
}

const simd = new HeapModule<FdftSimd>(FDFT_SIMD_WASM_BASE64);

export function simdFor(backend: BackendWasm): FdftSimd | null {
  return simd.on(backend);
}
