/**
 * Fused self-attention kernels for wasm (GitHub issue 9, lever 3): O = softmax(G Fᵀ) H and its
 * gradients without materialising the N×N attention map (FlashAttention-style row blocks; the
 * maths is in assembly/fusedAttention.ts, compiled to wasm SIMD by `npm run build:wasm`).
 *
 * For the first FTT stage (N = 32·32, C = 32, C/8 = 4) the plain path writes and re-reads a
 * 1024×1024 map per image several times per step (GEMMs with an inner dimension of 4 are memory
 * bound, then softmax, then its gradient); here every map row stays in L1.
 *
 *   FdftAttention      {f, g, h}                  → [o, stats]     stats [B, N, 2] = (m_j, 1/l_j)
 *   FdftAttentionGrad  {f, g, h, o, stats, dy}    → [df, dg, dh]
 *
 * Registered for the wasm backend only; `fusedAttentionApplies` says when layers/attentionCore.ts
 * may use them (wasm, SIMD available, N and C multiples of 8).
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_ATTENTION_RELAXED_WASM_BASE64, FUSED_ATTENTION_WASM_BASE64 } from './fusedAttentionBinary.ts';
import { HeapModule } from './heapModule.ts';
import { type BackendWasm, byteOffset, processEnv as env, release, type TensorInfo, UnsupportedKernelError } from './wasmTensors.ts';

export const FUSED_ATTENTION = 'FdftAttention';
export const FUSED_ATTENTION_GRAD = 'FdftAttentionGrad';

interface FusedAttentionModule {
  forwardScratch(n: number, d: number, c: number): number;
  backwardScratch(n: number, d: number, c: number): number;
  attentionForward(f: number, g: number, h: number, o: number, stats: number, scratch: number, batch: number, n: number, d: number, c: number): void;
  attentionBackward(
    f: number, g: number, h: number, o: number, stats: number, dO: number,
    dF: number, dG: number, dH: number, scratch: number,
    batch: number, n: number, d: number, c: number,
  ): void;
}

/** The relaxed-SIMD build (fused multiply-add) where the runtime has it, else baseline SIMD. `FDFT_RELAXED_SIMD=0` forces baseline. */
const fusedModule = new HeapModule<FusedAttentionModule>(
  env().FDFT_RELAXED_SIMD === '0' ? [FUSED_ATTENTION_WASM_BASE64] : [FUSED_ATTENTION_RELAXED_WASM_BASE64, FUSED_ATTENTION_WASM_BASE64],
);

/** Which build of the fused kernels runs (for logs and benchmarks), or 'none'. */
export function fusedAttentionBuild(): 'relaxed-simd' | 'simd' | 'none' {
  if (tf.getBackend() !== 'wasm' || !moduleFor(tf.backend() as unknown as BackendWasm)) return 'none';
  return fusedModule.candidates[fusedModule.chosen] === FUSED_ATTENTION_RELAXED_WASM_BASE64 ? 'relaxed-simd' : 'simd';
}

/** The kernels' module on this backend's memory, or null (no wasm SIMD, or a tfjs build hiding its memory). */
function moduleFor(backend: BackendWasm): FusedAttentionModule | null {
  return fusedModule.on(backend);
}

/** `FDFT_FUSED_ATTENTION=0` turns the fused kernels off (A/B benchmarks, or to rule them out when debugging). */
function disabledByEnv(): boolean {
  return env().FDFT_FUSED_ATTENTION === '0';
}

/** Whether attention on f [B, N, D], h [B, N, C] can run on the fused kernels right now. */
export function fusedAttentionApplies(fShape: number[], hShape: number[]): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(FUSED_ATTENTION, 'wasm') || disabledByEnv()) return false;
  const [, n, d] = fShape as [number, number, number];
  const c = hShape[2]!;
  if (n % 8 !== 0 || c % 8 !== 0 || d < 1 || n === 0) return false;
  return moduleFor(tf.backend() as unknown as BackendWasm) != null;
}

function dims(f: TensorInfo, h: TensorInfo): { batch: number; n: number; d: number; c: number } {
  const [batch, n, d] = f.shape as [number, number, number];
  const c = h.shape[2]!;
  if (n % 8 !== 0 || c % 8 !== 0) throw new UnsupportedKernelError(`${FUSED_ATTENTION}: N (${n}) and C (${c}) must be multiples of 8`);
  return { batch, n, d, c };
}

function assertInputs(name: string, ts: TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32' || t.shape.length !== 3) throw new UnsupportedKernelError(`${name}: float32 [B, N, ·] inputs expected, got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

function forwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { f, g, h } = args.inputs as { f: TensorInfo; g: TensorInfo; h: TensorInfo };
  assertInputs(FUSED_ATTENTION, [f, g, h]);
  const mod = moduleFor(backend);
  if (!mod) throw new UnsupportedKernelError(`${FUSED_ATTENTION}: needs WebAssembly SIMD`);
  const { batch, n, d, c } = dims(f, h);
  const o = backend.makeOutput([batch, n, c], 'float32');
  const stats = backend.makeOutput([batch, n, 2], 'float32');
  const scratch = backend.makeOutput([mod.forwardScratch(n, d, c)], 'float32');
  const at = (t: TensorInfo) => byteOffset(backend, t); // after every allocation (addresses are stable)
  mod.attentionForward(at(f), at(g), at(h), at(o), at(stats), at(scratch), batch, n, d, c);
  release(backend, scratch);
  return [o, stats];
}

function backwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { f, g, h, o, stats, dy } = args.inputs as Record<'f' | 'g' | 'h' | 'o' | 'stats' | 'dy', TensorInfo>;
  assertInputs(FUSED_ATTENTION_GRAD, [f, g, h, o, stats, dy]);
  const mod = moduleFor(backend);
  if (!mod) throw new UnsupportedKernelError(`${FUSED_ATTENTION_GRAD}: needs WebAssembly SIMD`);
  const { batch, n, d, c } = dims(f, h);
  const df = backend.makeOutput([batch, n, d], 'float32');
  const dg = backend.makeOutput([batch, n, d], 'float32');
  const dh = backend.makeOutput([batch, n, c], 'float32');
  const scratch = backend.makeOutput([mod.backwardScratch(n, d, c)], 'float32');
  const at = (t: TensorInfo) => byteOffset(backend, t);
  mod.attentionBackward(at(f), at(g), at(h), at(o), at(stats), at(dy), at(df), at(dg), at(dh), at(scratch), batch, n, d, c);
  release(backend, scratch);
  return [df, dg, dh];
}

export const fusedAttentionKernelConfig: tf.KernelConfig = {
  kernelName: FUSED_ATTENTION,
  backendName: 'wasm',
  kernelFunc: forwardKernel as unknown as tf.KernelFunc,
};

export const fusedAttentionGradKernelConfig: tf.KernelConfig = {
  kernelName: FUSED_ATTENTION_GRAD,
  backendName: 'wasm',
  kernelFunc: backwardKernel as unknown as tf.KernelFunc,
};

/** Forward on the fused kernel: [o, stats] (stats are what `fusedAttentionGrad` needs). */
export function fusedAttention(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
  return tf.engine().runKernel(FUSED_ATTENTION, { f, g, h }, {}) as unknown as [tf.Tensor3D, tf.Tensor3D];
}

/** [dF, dG, dH] from the forward's inputs, its output and stats, and dO. */
export function fusedAttentionGrad(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D, o: tf.Tensor3D, stats: tf.Tensor3D, dy: tf.Tensor3D): tf.Tensor3D[] {
  return tf.engine().runKernel(FUSED_ATTENTION_GRAD, { f, g, h, o, stats, dy }, {}) as unknown as tf.Tensor3D[];
}
