/**
 * Thin, leak-free access to XGBoost compiled to wasm (`ml-xgboost`'s emscripten build, XGBoost
 * ~0.7x: `tree_method exact`, `colsample_bylevel`, no `colsample_bynode`).
 *
 * We call its exported C functions directly: the training matrix is `_malloc`ed on the heap (its
 * JS wrapper passes it on the 5 MB emscripten stack and crashes above ~1500 × 768 rows). After
 * training the booster is saved to bytes and freed at once (it also holds a copy of the training
 * DMatrix); prediction loads the bytes into a temporary booster and frees it again, so nothing
 * accumulates in wasm memory across the hundreds of fits of a grid search.
 *
 * The wrapper builds every DMatrix with missing = −1 (hard-coded in ml-xgboost's C glue), so a
 * feature exactly equal to −1 would be read as "missing": such values are nudged to the next
 * float32 towards 0 (−0.99999994).
 */
import { ClassifierError } from '../errors.ts';
import { type EmscriptenModule, allocCString, loadXgboost } from './wasmRuntimes.ts';

type Fn = Record<string, (...a: number[]) => number>;

const MISSING = -1;
const NUDGED = Math.fround(-1 + 2 ** -24);

/** Copy a float32 matrix onto the heap, replacing the wrapper's "missing" sentinel. Caller frees. */
function heapMatrix(m: EmscriptenModule, X: Float32Array): number {
  const ptr = m._malloc(Math.max(X.length, 1) * 4);
  const heap = m.HEAPF32;
  heap.set(X, ptr / 4);
  for (let i = ptr / 4, e = ptr / 4 + X.length; i < e; i++) if (heap[i] === MISSING) heap[i] = NUDGED;
  return ptr;
}

export async function xgboostModule(): Promise<EmscriptenModule> {
  return loadXgboost();
}

/**
 * Train `rounds` boosting rounds with the given XGBoost parameters (strings, XGBoost's own names)
 * and return the saved model bytes.
 */
export function trainBooster(
  m: EmscriptenModule,
  X: Float32Array,
  nRows: number,
  nCols: number,
  y: Uint8Array,
  params: Record<string, string | number>,
  rounds: number,
): Uint8Array {
  const fn = m as unknown as Fn;
  const data = heapMatrix(m, X);
  const labels = m._malloc(nRows * 4);
  m.HEAPF32.set(Float32Array.from(y), labels / 4);
  let model = 0;
  try {
    model = fn._create_model!(data, labels, nRows, nCols);
    if (!model) throw new ClassifierError('xgboost: could not create the booster');
  } finally {
    m._free(data); // XGDMatrixCreateFromMat copied them
    m._free(labels);
  }
  try {
    for (const [k, v] of Object.entries(params)) {
      const kp = allocCString(m, k);
      const vp = allocCString(m, String(v));
      fn._set_param!(model, kp, vp);
      m._free(kp);
      m._free(vp);
    }
    fn._train_full_model!(model, rounds);
    const size = fn._save_model!(model);
    if (size <= 0) throw new ClassifierError('xgboost: could not save the trained booster');
    const buf = m._malloc(size);
    try {
      fn._get_file_content!(buf, size);
      return m.HEAPU8.slice(buf, buf + size);
    } finally {
      m._free(buf);
    }
  } finally {
    fn._free_memory_model!(model);
  }
}

/** XGBoost's prediction (probability for binary:logistic) for each row, from saved model bytes. */
export function predictBooster(m: EmscriptenModule, bytes: Uint8Array, X: Float32Array, nRows: number, nCols: number): Float64Array {
  const fn = m as unknown as Fn;
  const mb = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, mb);
  const model = fn._load_model!(mb, bytes.length);
  m._free(mb);
  if (!model) throw new ClassifierError('xgboost: could not load the saved booster');
  const data = heapMatrix(m, X);
  const out = m._malloc(16);
  try {
    const res = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) {
      const len = fn._predict_one!(model, data + i * nCols * 4, nCols, out);
      if (len !== 1) throw new ClassifierError(`xgboost: expected 1 output per row, got ${len}`);
      res[i] = m.HEAPF32[out / 4]!;
    }
    return res;
  } finally {
    m._free(out);
    m._free(data);
    fn._free_memory_model!(model);
  }
}
