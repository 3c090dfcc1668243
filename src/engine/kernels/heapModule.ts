/**
 * fdft's own WebAssembly modules (simd/fdftSimd.wat, assembly/fusedAttention.ts) run on the tfjs
 * wasm backend's memory, imported as env.memory, so they read and write tensors in place. One
 * instance per memory, compiled once per process.
 */
import type { BackendWasm } from './wasmTensors.ts';

export class HeapModule<T> {
  private compiled: WebAssembly.Module | null | undefined;
  private readonly instances = new WeakMap<object, T | null>();

  constructor(private readonly base64: string) {}

  /** The module's exports on `backend`'s memory, or null (no wasm SIMD, or a tfjs build that hides its memory). */
  on(backend: BackendWasm): T | null {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) return null;
    const cached = this.instances.get(memory);
    if (cached !== undefined) return cached;
    let exports: T | null = null;
    try {
      // atob, not Buffer: layers/ (and so these kernels) are also bundled for the browser by `fdft web`.
      this.compiled ??= new WebAssembly.Module(Uint8Array.from(atob(this.base64), (ch) => ch.charCodeAt(0)));
      exports = new WebAssembly.Instance(this.compiled, { env: { memory } }).exports as unknown as T;
    } catch {
      this.compiled = null;
    }
    this.instances.set(memory, exports);
    return exports;
  }
}
