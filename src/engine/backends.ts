/**
 * The tensor backends fdft can run on, and what each implies for where the rest of the work goes.
 * Kept free of imports so that the CLI's option parsing can read the choices without loading tfjs.
 */

export type BackendChoice = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const satisfies readonly BackendChoice[];

/**
 * Backends whose own kernels already use the whole machine — tfjs-node's native threads, the GPU
 * (webgpu): training steps stay in tfjs on them, on one thread (no onnxruntime step, no workers).
 */
export function tfjsUsesWholeMachine(backend: string): boolean {
  return backend === 'tensorflow' || backend === 'webgpu';
}

/**
 * Whether `--engine auto` keeps the frozen backbone (and eval, predict, scoring) in tfjs: on the
 * GPU (webgpu), whose feature maps then stay on the GPU for the heads.
 */
export function autoKeepsBackboneInTfjs(backend: string): boolean {
  return backend === 'webgpu';
}
