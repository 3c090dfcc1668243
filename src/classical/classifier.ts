/**
 * The one interface every classical classifier implements (LR, SVC, random forest, XGBoost), so
 * grid search, cross-validation, threshold tuning and `fdft classical predict` treat them alike.
 *
 * Data layout everywhere: X is a row-major Float32Array of nRows × nCols (one feature vector per
 * row), y is a Uint8Array of 0 (real) / 1 (fake). Scores follow src/eval/metrics.ts: higher = more fake.
 */
import { ClassifierError } from './errors.ts';

export const CLASSIFIER_NAMES = ['lr', 'svc', 'rf', 'xgb'] as const;
export type ClassifierName = (typeof CLASSIFIER_NAMES)[number];

export interface SerializedClassifier {
  /** Which implementation, e.g. 'lr'. */
  kind: ClassifierName;
  /** The hyper-parameters it was created with (`params()`). */
  params: Record<string, unknown>;
  /** Everything learned by `fit` (coefficients, support vectors, boosted trees …), JSON-safe. */
  state: Record<string, unknown>;
}

export interface Classifier {
  readonly kind: ClassifierName;
  /** Train on X (nRows × nCols, row-major) with labels y ∈ {0,1}. Replaces any earlier fit. */
  fit(X: Float32Array, nRows: number, nCols: number, y: Uint8Array): void;
  /**
   * Real-valued score per row, higher = more fake: LR logit, SVC signed margin, boosted margin.
   * The natural threshold is 0.
   */
  decisionFunction(X: Float32Array, nRows: number): Float64Array;
  /** P(fake) per row in [0, 1]; the natural threshold is 0.5. */
  predictProba(X: Float32Array, nRows: number): Float64Array;
  /**
   * P(fake) of a row whose decision value is `decision`: predictProba is this non-decreasing
   * function of decisionFunction, so a threshold on decision values has this equivalent on P(fake).
   */
  probabilityOfDecision(decision: number): number;
  /** The hyper-parameters in effect (defaults filled in). */
  params(): Record<string, unknown>;
  toJSON(): SerializedClassifier;
}

/** Shared argument checks, so every implementation fails the same clear way. */
export function checkFitArgs(X: Float32Array, nRows: number, nCols: number, y: Uint8Array): void {
  if (!Number.isInteger(nRows) || !Number.isInteger(nCols) || nRows < 1 || nCols < 1) {
    throw new ClassifierError(`fit: nRows and nCols must be positive integers (got ${nRows} × ${nCols})`);
  }
  if (X.length !== nRows * nCols) {
    throw new ClassifierError(`fit: X has ${X.length} values, expected nRows × nCols = ${nRows * nCols}`);
  }
  if (y.length !== nRows) throw new ClassifierError(`fit: y has ${y.length} labels for ${nRows} rows`);
  let pos = 0;
  for (let i = 0; i < nRows; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new ClassifierError(`fit: label y[${i}] = ${y[i]} is not 0 or 1`);
    pos += y[i]!;
  }
  if (pos === 0 || pos === nRows) {
    throw new ClassifierError(`fit: the training labels hold a single class (${pos} fake of ${nRows}); need both`);
  }
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i]!)) {
      throw new ClassifierError(`fit: X[${Math.floor(i / nCols)}, ${i % nCols}] is ${X[i]} (features must be finite)`);
    }
  }
}

/** Rows count check for decisionFunction / predictProba. Returns nCols. */
export function checkPredictArgs(X: Float32Array, nRows: number, nCols: number | undefined): number {
  if (nCols === undefined) throw new ClassifierError('predict before fit: call fit() (or load a fitted model) first');
  if (X.length !== nRows * nCols) {
    throw new ClassifierError(`predict: X has ${X.length} values, expected ${nRows} rows × ${nCols} features`);
  }
  return nCols;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
