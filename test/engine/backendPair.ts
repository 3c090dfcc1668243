/**
 * Test helper: runs the same computation on tfjs' pure-JS `cpu` backend (the reference) and on
 * wasm with fdft's kernels, in one process, and measures how far apart the results are.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';

let ready: Promise<unknown> | undefined;

/** initEngine('wasm') once per test process (registers fdft's kernels); cpu stays available. */
export function useWasmEngine(): Promise<unknown> {
  ready ??= initEngine('wasm', () => {});
  return ready;
}

/** A deterministic pseudo-random Float32Array in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Runs `f` (which builds its own tensors) on `backend` and returns every output's values. */
export function runOn(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    const outs = tf.tidy(() => {
      const r = f();
      return Array.isArray(r) ? r : [r];
    });
    const values = outs.map((t) => Float32Array.from(t.dataSync() as ArrayLike<number>));
    tf.dispose(outs);
    return values;
  } finally {
    tf.setBackend(previous);
  }
}

/** max |a − b| / max |b| (b = the cpu reference; absolute when b is all zeros). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) diff = d; // NaN-propagating max
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}

/** Largest relative error over all outputs of `f`, wasm vs cpu. */
export function wasmVsCpu(f: () => tf.Tensor | tf.Tensor[]): number {
  const ref = runOn('cpu', f);
  const got = runOn('wasm', f);
  if (ref.length !== got.length) return Infinity;
  return Math.max(...ref.map((r, i) => relativeError(got[i]!, r)));
}

export const TOLERANCE = 1e-4;
