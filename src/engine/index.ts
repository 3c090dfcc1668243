/**
 * The one place that chooses and prepares the tensor backend.
 *
 *   auto       → @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (optional peers, used when
 *                the user installed one), else wasm with fdft's training kernels, else cpu.
 *   tensorflow → tfjs-node-gpu or tfjs-node, error if neither loads.
 *   webgpu     → @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` package): optional peers,
 *                explicit only (webgpu.ts; never picked by auto: see README, "GPU").
 *   wasm / cpu → that backend.
 *
 * Everything else in fdft imports `@tensorflow/tfjs` and calls `initEngine` once before work.
 */
import * as tf from '@tensorflow/tfjs';
import v8 from 'node:v8';
import { BACKEND_CHOICES, type BackendChoice } from './backends.ts';
import { registerWasmTrainingKernels } from './kernels/index.ts';

export { UnsupportedKernelError } from './kernels/index.ts';
export { softmaxBackward } from './kernels/softmaxGrad.ts';
export { autoKeepsBackboneInTfjs, BACKEND_CHOICES, type BackendChoice, tfjsUsesWholeMachine } from './backends.ts';

export interface EngineInfo {
  /** tfjs backend name actually in use: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'. */
  backend: string;
  /** The package that provides it. */
  provider: string;
  /** Why it was chosen (logged once). */
  reason: string;
}

export class EngineError extends Error {
  override name = 'EngineError';
}

let current: EngineInfo | undefined;

async function tryTensorflow(): Promise<{ provider: string } | { error: string }> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (tf.findBackend('tensorflow')) return { provider: pkg };
      errors.push(`${pkg}: loaded but registered no 'tensorflow' backend (a second copy of @tensorflow/tfjs?)`);
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { error: errors.join('; ') };
}

/**
 * WebAssembly relaxed SIMD gives fdft's fused attention kernels a fused multiply-add
 * (src/engine/kernels/fusedAttention.ts). Node ≥ 22 has it on; Node 20's V8 (11.3) implements it
 * behind a flag, which must be set before the module is compiled. `FDFT_RELAXED_SIMD=0` opts out
 * (the kernels then use their baseline-SIMD build).
 */
function enableRelaxedSimd(): void {
  if (process.env.FDFT_RELAXED_SIMD === '0' || Number(process.versions.node.split('.')[0]) !== 20) return;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
}

async function useWasm(): Promise<void> {
  enableRelaxedSimd();
  await import('@tensorflow/tfjs-backend-wasm');
  // Training kernels must be registered before the backend is set (tfjs binds kernels at init).
  registerWasmTrainingKernels();
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new EngineError('the wasm backend failed to initialise');
  await tf.ready();
}

/** Select and initialise the backend. Idempotent: later calls return the first choice. */
export async function initEngine(
  choice: BackendChoice = (process.env.FDFT_BACKEND as BackendChoice) || 'auto',
  log: (msg: string) => void = (m) => process.stderr.write(m + '\n'),
): Promise<EngineInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new EngineError(`unknown backend '${choice}': use auto, tensorflow, webgpu, wasm or cpu`);
  }
  if (current) return current;
  let info: EngineInfo;
  if (choice === 'tensorflow' || choice === 'auto') {
    const r = await tryTensorflow();
    if ('provider' in r) {
      await tf.setBackend('tensorflow');
      await tf.ready();
      info = { backend: 'tensorflow', provider: r.provider, reason: `${choice}: ${r.provider} is installed and loads` };
    } else if (choice === 'tensorflow') {
      throw new EngineError(
        `--backend tensorflow needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (see README, "GPU"): ${r.error}`,
      );
    } else {
      try {
        await useWasm();
        info = {
          backend: 'wasm',
          provider: '@tensorflow/tfjs-backend-wasm + fdft training kernels',
          reason: 'auto: no tfjs-node(-gpu) installed; wasm (SIMD) is the fastest pure-npm engine',
        };
      } catch (e) {
        await tf.setBackend('cpu');
        await tf.ready();
        info = { backend: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', reason: `auto: wasm failed (${(e as Error).message})` };
      }
    }
  } else if (choice === 'webgpu') {
    const { WebGpuUnavailableError, describeAdapter, registerWebGpuBackend } = await import('./webgpu.ts');
    let adapter;
    try {
      adapter = await registerWebGpuBackend();
      if (!(await tf.setBackend('webgpu'))) throw new WebGpuUnavailableError('the webgpu backend failed to initialise (its device request was refused)');
    } catch (e) {
      throw new EngineError(`--backend webgpu: ${(e as Error).message}`);
    }
    await tf.ready();
    info = { backend: 'webgpu', provider: '@tensorflow/tfjs-backend-webgpu on Dawn (webgpu)', reason: `requested: ${describeAdapter(adapter)}` };
  } else if (choice === 'wasm') {
    await useWasm();
    info = { backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm + fdft training kernels', reason: 'requested' };
  } else {
    await tf.setBackend('cpu');
    await tf.ready();
    info = { backend: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', reason: 'requested (slow: for reference only)' };
  }
  current = info;
  log(`[fdft] backend ${info.backend} (${info.provider}) — ${info.reason}`);
  return info;
}

/** The engine chosen by `initEngine`, if any. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}
