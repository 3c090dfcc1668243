/**
 * fdft's own WebAssembly modules (simd/fdftSimd.wat, assembly/fusedAttention.ts) run on the tfjs
 * wasm backend's memory, imported as env.memory, so they read and write tensors in place. One
 * instance per memory, compiled once per process.
 */
import type { BackendWasm } from './wasmTensors.ts';

export class HeapModule<T> {
  private compiled: WebAssembly.Module | null | undefined;
  private readonly instances = new WeakMap<object, T | null>();
  /** Index in the candidates of the build in use (after the first `on`), or -1 if none compiled. */
  chosen = -1;
  readonly candidates: string[];

  /** `base64`: the module; or several builds, best first (e.g. relaxed SIMD, then baseline): the first this runtime compiles is used. */
  constructor(base64: string | string[]) {
    this.candidates = Array.isArray(base64) ? base64 : [base64];
  }

  private compile(): WebAssembly.Module | null {
    for (const [i, b64] of this.candidates.entries()) {
      try {
        // atob, not Buffer: layers/ (and so these kernels) are also bundled for the browser by `fdft web`.
        const m = new WebAssembly.Module(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
        this.chosen = i;
        return m;
      } catch {
        // e.g. relaxed SIMD unsupported here: try the next build
      }
    }
    return null;
  }

  /** The module's exports on `backend`'s memory, or null (no wasm SIMD, or a tfjs build that hides its memory). */
  on(backend: BackendWasm): T | null {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) return null;
    const cached = this.instances.get(memory);
    if (cached !== undefined) return cached;
    let exports: T | null = null;
    if (this.compiled === undefined) this.compiled = this.compile();
    try {
      if (this.compiled) exports = new WebAssembly.Instance(this.compiled, { env: { memory } }).exports as unknown as T;
    } catch {
      this.compiled = null;
    }
    this.instances.set(memory, exports);
    return exports;
  }
}
