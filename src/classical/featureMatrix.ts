/** A labelled feature matrix in memory: row-major float32 X (nRows × nCols) and labels y (0 real, 1 fake). */
export interface FeatureMatrix {
  X: Float32Array;
  y: Uint8Array;
  nRows: number;
  nCols: number;
}

/** The rows `idx` (in that order) as a new matrix. */
export function takeRows(m: FeatureMatrix, idx: ArrayLike<number>): FeatureMatrix {
  const { nCols } = m;
  const X = new Float32Array(idx.length * nCols);
  const y = new Uint8Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    X.set(m.X.subarray(i * nCols, (i + 1) * nCols), r * nCols);
    y[r] = m.y[i]!;
  }
  return { X, y, nRows: idx.length, nCols };
}
