/** Tiny synthetic feature matrices for the classical tests (generated, never read from disk). */
import seedrandom from 'seedrandom';

export interface Synthetic {
  X: Float32Array;
  y: Uint8Array;
  nRows: number;
  nCols: number;
}

function gauss(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * Two Gaussian classes: fakes are shifted by `shift` standard deviations along the first
 * `informative` features; `shift` 0 (or `randomLabels`) gives no signal at all.
 */
export function blobs(nRows: number, nCols: number, opts: { shift?: number; informative?: number; seed?: string; randomLabels?: boolean } = {}): Synthetic {
  const { shift = 4, informative = 3, seed = 'blobs', randomLabels = false } = opts;
  const rng = seedrandom(seed);
  const X = new Float32Array(nRows * nCols);
  const y = new Uint8Array(nRows);
  for (let i = 0; i < nRows; i++) {
    y[i] = i % 2;
    for (let j = 0; j < nCols; j++) X[i * nCols + j] = gauss(rng) + (j < informative && !randomLabels ? y[i]! * shift : 0);
  }
  if (randomLabels) for (let i = 0; i < nRows; i++) y[i] = rng() < 0.5 ? 0 : 1;
  return { X, y, nRows, nCols };
}

/** Rows [from, to) of a synthetic set. */
export function rows(s: Synthetic, from: number, to: number): Synthetic {
  return { X: s.X.slice(from * s.nCols, to * s.nCols), y: s.y.slice(from, to), nRows: to - from, nCols: s.nCols };
}
