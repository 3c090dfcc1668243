/**
 * Backends whose own kernels already use the whole machine — tfjs-node's native threads, the GPU
 * (webgpu): training steps stay in tfjs on them, on one thread (no onnxruntime step, no workers).
 */
export function tfjsUsesWholeMachine(backend: string): boolean {
  return backend === 'tensorflow' || backend === 'webgpu';
}
