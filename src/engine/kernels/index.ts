/**
 * Training kernels fdft adds to (or replaces in) tfjs' wasm backend. Filled in by the engine work;
 * `registerWasmTrainingKernels` is idempotent.
 */
let registered = false;
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
}
