/**
 * Gradient-boosted trees (XGBoost, binary:logistic) behind the Classifier interface.
 * Decision value = boosted margin log(p / (1 − p)); predictProba = XGBoost's probability.
 */
import { type Classifier, type SerializedClassifier, checkFitArgs, checkPredictArgs, sigmoid } from '../classifier.ts';
import { ClassifierError } from '../errors.ts';
import type { EmscriptenModule } from './wasmRuntimes.ts';
import { predictBooster, trainBooster, xgboostModule } from './xgboostBooster.ts';

export interface XgboostParams {
  /** Boosting rounds (= number of trees). */
  nEstimators: number;
  maxDepth: number;
  /** Shrinkage η. */
  learningRate: number;
  /** Fraction of features sampled per tree. */
  colsampleBytree: number;
  /** Fraction of rows sampled per tree. */
  subsample: number;
  minChildWeight: number;
  /** L2 penalty on leaf weights. */
  lambda: number;
  seed: number;
}

export const XGB_DEFAULTS: XgboostParams = {
  nEstimators: 100,
  maxDepth: 4,
  learningRate: 0.1,
  colsampleBytree: 1,
  subsample: 1,
  minChildWeight: 1,
  lambda: 1,
  seed: 0,
};

/** Probabilities are float32 inside XGBoost: clamp before the logit so saturated rows stay finite. */
const P_EPS = 1e-7;

export class XGBoostClassifier implements Classifier {
  readonly kind = 'xgb' as const;
  private readonly p: XgboostParams;
  private bytes?: Uint8Array;
  private nCols?: number;

  private constructor(
    private readonly lib: EmscriptenModule,
    params: Partial<XgboostParams>,
  ) {
    this.p = { ...XGB_DEFAULTS, ...params };
    const { nEstimators, maxDepth, learningRate, colsampleBytree, subsample } = this.p;
    if (!Number.isInteger(nEstimators) || nEstimators < 1) throw new ClassifierError(`xgb: nEstimators must be an integer ≥ 1 (got ${nEstimators})`);
    if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new ClassifierError(`xgb: maxDepth must be an integer ≥ 1 (got ${maxDepth})`);
    if (!(learningRate > 0 && learningRate <= 1)) throw new ClassifierError(`xgb: learningRate must be in (0, 1] (got ${learningRate})`);
    if (!(colsampleBytree > 0 && colsampleBytree <= 1)) throw new ClassifierError(`xgb: colsampleBytree must be in (0, 1] (got ${colsampleBytree})`);
    if (!(subsample > 0 && subsample <= 1)) throw new ClassifierError(`xgb: subsample must be in (0, 1] (got ${subsample})`);
  }

  static async create(params: Partial<XgboostParams> = {}): Promise<XGBoostClassifier> {
    return new XGBoostClassifier(await xgboostModule(), params);
  }

  fit(X: Float32Array, nRows: number, nCols: number, y: Uint8Array): void {
    checkFitArgs(X, nRows, nCols, y);
    const p = this.p;
    this.bytes = trainBooster(this.lib, X, nRows, nCols, y, {
      objective: 'binary:logistic',
      base_score: 0.5,
      tree_method: 'exact',
      eta: p.learningRate,
      max_depth: p.maxDepth,
      min_child_weight: p.minChildWeight,
      subsample: p.subsample,
      colsample_bytree: p.colsampleBytree,
      lambda: p.lambda,
      seed: p.seed,
      silent: 1,
    }, p.nEstimators);
    this.nCols = nCols;
  }

  predictProba(X: Float32Array, nRows: number): Float64Array {
    const d = checkPredictArgs(X, nRows, this.nCols);
    return predictBooster(this.lib, this.bytes!, X, nRows, d);
  }

  decisionFunction(X: Float32Array, nRows: number): Float64Array {
    return this.predictProba(X, nRows).map((q) => {
      const c = Math.min(1 - P_EPS, Math.max(P_EPS, q));
      return Math.log(c / (1 - c));
    });
  }

  /** The inverse of decisionFunction's logit (exact but for the P_EPS clamp). */
  probabilityOfDecision(decision: number): number {
    return sigmoid(decision);
  }

  params(): Record<string, unknown> {
    return { ...this.p };
  }

  toJSON(): SerializedClassifier {
    if (!this.bytes) throw new ClassifierError('xgb: cannot serialise an unfitted model');
    return { kind: 'xgb', params: this.params(), state: { nCols: this.nCols, model: Buffer.from(this.bytes).toString('base64') } };
  }

  static async fromJSON(s: SerializedClassifier): Promise<XGBoostClassifier> {
    const m = await XGBoostClassifier.create(s.params as Partial<XgboostParams>);
    if (typeof s.state.model !== 'string' || typeof s.state.nCols !== 'number') throw new ClassifierError('xgb: saved state is incomplete');
    m.bytes = new Uint8Array(Buffer.from(s.state.model, 'base64'));
    m.nCols = s.state.nCols;
    return m;
  }
}
