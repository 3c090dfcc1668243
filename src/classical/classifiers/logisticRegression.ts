/**
 * L2-regularised logistic regression with an (unpenalised) intercept, fitted by L-BFGS.
 *
 * Objective (scikit-learn's `LogisticRegression(penalty='l2', C)` convention):
 *     min_{w,b}  C · Σ_i [ log(1 + e^{z_i}) − y_i z_i ] + ½‖w‖²,   z_i = w·x_i + b
 * solved as that objective divided by C·n (same minimiser, better scaled).
 *
 * Hand-written because `ml-logistic-regression` has neither an intercept nor regularisation (and
 * inverts the score of one class); the objective is smooth and convex, so ~100 lines of L-BFGS
 * give the exact optimum. With `standardize` (default) the penalty applies to the weights of the
 * standardised features (= a StandardScaler + LogisticRegression pipeline); the fitted weights are
 * then folded back so that decisions use raw features: z = coef·x + intercept.
 */
import { type Classifier, type SerializedClassifier, checkFitArgs, checkPredictArgs, sigmoid } from '../classifier.ts';
import { ClassifierError } from '../errors.ts';
import { minimizeLbfgs } from '../lbfgs.ts';
import { fitScaler, transform } from '../standardScaler.ts';

export interface LogisticRegressionParams {
  /** Inverse regularisation strength (larger = weaker penalty). */
  C: number;
  /** Standardise features (on the training rows) before fitting. */
  standardize: boolean;
  /**
   * L-BFGS stops when max |∇| of the objective scaled by 1/n (mean loss) is below this — scikit-learn's
   * lbfgs `tol` (1e-4 there too). The tests use 1e-9 to compare with closed-form optima.
   */
  tol: number;
  maxIter: number;
}

export const LR_DEFAULTS: LogisticRegressionParams = { C: 1, standardize: true, tol: 1e-4, maxIter: 500 };

export class LogisticRegression implements Classifier {
  readonly kind = 'lr' as const;
  private readonly p: LogisticRegressionParams;
  private coef?: Float64Array;
  private intercept = 0;
  /** Optimiser diagnostics of the last fit. */
  fitInfo?: { iterations: number; converged: boolean; gradNorm: number };

  constructor(params: Partial<LogisticRegressionParams> = {}) {
    this.p = { ...LR_DEFAULTS, ...params };
    if (!(this.p.C > 0) || !Number.isFinite(this.p.C)) throw new ClassifierError(`lr: C must be a positive number (got ${this.p.C})`);
  }

  fit(X: Float32Array, nRows: number, nCols: number, y: Uint8Array): void {
    checkFitArgs(X, nRows, nCols, y);
    const scaler = this.p.standardize ? fitScaler(X, nRows, nCols) : undefined;
    const Z: Float32Array | Float64Array = scaler ? transform(scaler, X, nRows) : X;
    const n = nRows;
    const d = nCols;
    const invCn = 1 / (this.p.C * n);
    const z = new Float64Array(n);
    // params = [w_0 … w_{d-1}, b]
    const fg = (wb: Float64Array, grad: Float64Array): number => {
      const b = wb[d]!;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const o = i * d;
        let s = b;
        for (let j = 0; j < d; j++) s += Z[o + j]! * wb[j]!;
        z[i] = s;
        // log(1 + e^s) − y s, computed without overflow
        loss += (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - y[i]! * s;
      }
      grad.fill(0);
      let gb = 0;
      for (let i = 0; i < n; i++) {
        const r = sigmoid(z[i]!) - y[i]!;
        if (r === 0) continue;
        const o = i * d;
        for (let j = 0; j < d; j++) grad[j]! += r * Z[o + j]!;
        gb += r;
      }
      let reg = 0;
      for (let j = 0; j < d; j++) {
        grad[j] = grad[j]! / n + invCn * wb[j]!;
        reg += wb[j]! * wb[j]!;
      }
      grad[d] = gb / n;
      return loss / n + 0.5 * invCn * reg;
    };
    const res = minimizeLbfgs(fg, new Float64Array(d + 1), { gradTol: this.p.tol, maxIter: this.p.maxIter });
    this.fitInfo = { iterations: res.iterations, converged: res.converged, gradNorm: res.gradNorm };
    const w = res.x.subarray(0, d);
    let b = res.x[d]!;
    const coef = new Float64Array(d);
    if (scaler) {
      for (let j = 0; j < d; j++) {
        coef[j] = w[j]! / scaler.std[j]!;
        b -= coef[j]! * scaler.mean[j]!;
      }
    } else coef.set(w);
    this.coef = coef;
    this.intercept = b;
  }

  decisionFunction(X: Float32Array, nRows: number): Float64Array {
    const d = checkPredictArgs(X, nRows, this.coef?.length);
    const coef = this.coef!;
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) {
      let s = this.intercept;
      const o = i * d;
      for (let j = 0; j < d; j++) s += X[o + j]! * coef[j]!;
      out[i] = s;
    }
    return out;
  }

  predictProba(X: Float32Array, nRows: number): Float64Array {
    return this.decisionFunction(X, nRows).map((d) => this.probabilityOfDecision(d));
  }

  probabilityOfDecision(decision: number): number {
    return sigmoid(decision);
  }

  /** Fitted weights on the raw features and the intercept. */
  get coefficients(): { coef: Float64Array; intercept: number } {
    if (!this.coef) throw new ClassifierError('lr: not fitted');
    return { coef: this.coef, intercept: this.intercept };
  }

  params(): Record<string, unknown> {
    return { ...this.p };
  }

  toJSON(): SerializedClassifier {
    if (!this.coef) throw new ClassifierError('lr: cannot serialise an unfitted model');
    return { kind: 'lr', params: this.params(), state: { coef: Array.from(this.coef), intercept: this.intercept } };
  }

  static fromJSON(s: SerializedClassifier): LogisticRegression {
    const m = new LogisticRegression(s.params as Partial<LogisticRegressionParams>);
    const coef = s.state.coef;
    if (!Array.isArray(coef) || typeof s.state.intercept !== 'number') throw new ClassifierError('lr: saved state lacks coef/intercept');
    m.coef = Float64Array.from(coef as number[]);
    m.intercept = s.state.intercept;
    return m;
  }
}
