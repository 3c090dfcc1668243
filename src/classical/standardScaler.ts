/**
 * Per-column standardisation z = (x − mean) / std, fitted on training rows only (a fold's test rows
 * must not leak into the statistics). Constant columns keep std = 1, like scikit-learn.
 */
export interface ScalerState {
  mean: number[];
  std: number[];
}

export function fitScaler(X: Float32Array, nRows: number, nCols: number): ScalerState {
  const mean = new Float64Array(nCols);
  const m2 = new Float64Array(nCols);
  for (let i = 0; i < nRows; i++) {
    const o = i * nCols;
    for (let j = 0; j < nCols; j++) mean[j]! += X[o + j]!;
  }
  for (let j = 0; j < nCols; j++) mean[j]! /= nRows;
  for (let i = 0; i < nRows; i++) {
    const o = i * nCols;
    for (let j = 0; j < nCols; j++) {
      const d = X[o + j]! - mean[j]!;
      m2[j]! += d * d;
    }
  }
  const std = Array.from(m2, (v) => {
    const s = Math.sqrt(v / nRows);
    return s > 1e-12 ? s : 1;
  });
  return { mean: Array.from(mean), std };
}

export function transform(s: ScalerState, X: Float32Array, nRows: number): Float64Array {
  const nCols = s.mean.length;
  const out = new Float64Array(nRows * nCols);
  for (let i = 0; i < nRows; i++) {
    const o = i * nCols;
    for (let j = 0; j < nCols; j++) out[o + j] = (X[o + j]! - s.mean[j]!) / s.std[j]!;
  }
  return out;
}
