/**
 * Loads the two emscripten builds used by the classical classifiers — libsvm (`libsvm-js`) and
 * XGBoost (`ml-xgboost`) — as raw emscripten modules, whose exported C functions we call directly.
 *
 * Why not their JS wrappers:
 * - both pass data through emscripten's 5 MB stack (`cwrap(..., 'array')`): ml-xgboost crashes
 *   above ~1500 × 768 rows that way. We `_malloc` the matrices on the heap instead;
 * - libsvm-js hides decision values (we compute them from the model, see svc.ts).
 *
 * Side effects neutralised at load:
 * - libsvm-js installs `process.on('unhandledRejection', () => process.exit(1))` and ml-xgboost
 *   `process.on('uncaughtException', rethrow)`: both would hijack the host process (a rejected
 *   promise anywhere would silently exit fdft). Listeners added during `require` are removed.
 * - On Node ≥ 18 emscripten tries `fetch(<file path>)` for the .wasm, fails, and prints a warning
 *   before falling back to reading the file: `WebAssembly.instantiateStreaming` is hidden during
 *   the (synchronous) require so it reads the file directly.
 */
import { createRequire } from 'node:module';

/** The subset of an emscripten module we use. HEAP views are re-read on each use (memory grows). */
export interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
  [fn: string]: unknown;
}

const require = createRequire(import.meta.url);

function requireQuietly(id: string): unknown {
  // Listener lists are compared as plain functions (the two events have different signatures).
  const listeners = (e: 'unhandledRejection' | 'uncaughtException'): Function[] =>
    e === 'unhandledRejection' ? process.listeners('unhandledRejection') : process.listeners('uncaughtException');
  const events = ['unhandledRejection', 'uncaughtException'] as const;
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  const wasm = WebAssembly as { instantiateStreaming?: unknown };
  const streaming = wasm.instantiateStreaming;
  wasm.instantiateStreaming = undefined;
  try {
    return require(id);
  } finally {
    wasm.instantiateStreaming = streaming;
    for (const e of events) {
      for (const l of listeners(e)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l as (...a: unknown[]) => void);
      }
    }
  }
}

let libsvm: Promise<EmscriptenModule> | undefined;
let xgboost: Promise<EmscriptenModule> | undefined;

export function loadLibsvm(): Promise<EmscriptenModule> {
  libsvm ??= (async () => {
    const m = requireQuietly('libsvm-js/out/wasm/libsvm.js') as EmscriptenModule & { load(): Promise<void> };
    await m.load();
    return notThenable(m);
  })();
  return libsvm;
}

export function loadXgboost(): Promise<EmscriptenModule> {
  xgboost ??= (async () => {
    const m = requireQuietly('ml-xgboost/dist/wasm/xgboost.js') as EmscriptenModule & { isReady: Promise<unknown> };
    await m.isReady;
    return notThenable(m);
  })();
  return xgboost;
}

/**
 * Emscripten modules of this vintage define `Module.then(cb)` (calls cb(Module)): a promise
 * resolved with such a module adopts it as a thenable and loops forever. Drop that method.
 */
function notThenable<T extends object>(m: T): T {
  delete (m as { then?: unknown }).then;
  return m;
}

/** Copy a JS string into the module heap as a NUL-terminated C string. Caller frees. */
export function allocCString(m: EmscriptenModule, s: string): number {
  const bytes = new TextEncoder().encode(s);
  const ptr = m._malloc(bytes.length + 1);
  m.HEAPU8.set(bytes, ptr);
  m.HEAPU8[ptr + bytes.length] = 0;
  return ptr;
}

/** Read a NUL-terminated C string from the heap. */
export function readCString(m: EmscriptenModule, ptr: number): string {
  const heap = m.HEAPU8;
  let end = ptr;
  while (heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.subarray(ptr, end));
}
