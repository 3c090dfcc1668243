/**
 * C-support-vector classifier (linear or RBF kernel) trained by libsvm (`libsvm-js`, libsvm compiled
 * to wasm), with decision values computed here from the trained model.
 *
 * libsvm-js only returns predicted labels (or Platt probabilities at ~7× training cost), but
 * ROC/AUC and threshold tuning need the signed margin
 *     f(x) = Σ_i α_i y_i K(sv_i, x) − ρ            (libsvm's decision value)
 * so after training we read the dual coefficients α_i y_i and ρ from `svm_save_model`'s text
 * (printed with %.17g: exact) and take the support vectors themselves, exactly, from our own
 * (standardised) training rows via `svm_get_sv_indices`. libsvm's f(x) > 0 means the FIRST label
 * of its `label` line, so the sign is flipped when that is 0 (real): here f > 0 always means fake.
 * For the linear kernel the support vectors collapse to one weight vector w = Σ α_i y_i sv_i.
 *
 * Nothing stays in wasm memory after `fit` (model and problem are freed).
 */
import { type Classifier, type SerializedClassifier, checkFitArgs, checkPredictArgs, sigmoid } from '../classifier.ts';
import { ClassifierError } from '../errors.ts';
import { type ScalerState, fitScaler, transform } from '../standardScaler.ts';
import { type EmscriptenModule, allocCString, loadLibsvm, readCString } from './wasmRuntimes.ts';

export type SvcKernel = 'linear' | 'rbf';

export interface SvcParams {
  C: number;
  kernel: SvcKernel;
  /** RBF width; 'scale' = 1 / (nCols · variance of the (standardised) training matrix), as scikit-learn. */
  gamma: number | 'scale';
  standardize: boolean;
  /** libsvm stopping tolerance (-e). */
  tol: number;
  /** libsvm kernel cache in MB (-m). */
  cacheMB: number;
}

export const SVC_DEFAULTS: SvcParams = { C: 1, kernel: 'rbf', gamma: 'scale', standardize: true, tol: 1e-3, cacheMB: 200 };

/** Model state parsed from libsvm's saved model text. */
export interface LibsvmModelText {
  kernel: string;
  gamma: number;
  rho: number;
  labels: number[];
  coefs: number[];
}

/** Parse the header and the dual coefficients (first column of each SV line) of a 2-class model. */
export function parseLibsvmModel(text: string): LibsvmModelText {
  const lines = text.split('\n');
  const head = new Map<string, string>();
  let i = 0;
  for (; i < lines.length && lines[i]!.trim() !== 'SV'; i++) {
    const line = lines[i]!.trim();
    const sp = line.indexOf(' ');
    if (sp > 0) head.set(line.slice(0, sp), line.slice(sp + 1));
  }
  if (head.get('nr_class') !== '2') throw new ClassifierError(`svc: expected a 2-class libsvm model, got nr_class ${head.get('nr_class')}`);
  const coefs: number[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    coefs.push(Number(line.slice(0, line.indexOf(' ') > 0 ? line.indexOf(' ') : undefined)));
  }
  const totalSv = Number(head.get('total_sv'));
  if (coefs.length !== totalSv) throw new ClassifierError(`svc: model text lists ${coefs.length} SVs, header says ${totalSv}`);
  return {
    kernel: head.get('kernel_type') ?? '',
    gamma: Number(head.get('gamma') ?? 0),
    rho: Number(head.get('rho')),
    labels: (head.get('label') ?? '').split(/\s+/).map(Number),
    coefs,
  };
}

export class SVC implements Classifier {
  readonly kind = 'svc' as const;
  private readonly p: SvcParams;
  private nCols?: number;
  private scaler?: ScalerState;
  private gammaUsed = 0;
  private rho = 0;
  /** Linear: weight vector in the standardised space. RBF: support vectors (nSv × nCols) and α_i y_i. */
  private w?: Float64Array;
  private sv?: Float64Array;
  private coefs?: Float64Array;
  /** +1 when libsvm's positive side is label 1 (fake), else −1. */
  private sign = 1;
  /** The raw libsvm model text of the last fit (kept for diagnostics and tests, not serialised). */
  modelText?: string;

  private constructor(
    private readonly lib: EmscriptenModule,
    params: Partial<SvcParams>,
  ) {
    this.p = { ...SVC_DEFAULTS, ...params };
    if (!(this.p.C > 0) || !Number.isFinite(this.p.C)) throw new ClassifierError(`svc: C must be a positive number (got ${this.p.C})`);
    if (this.p.kernel !== 'linear' && this.p.kernel !== 'rbf') throw new ClassifierError(`svc: kernel must be linear or rbf (got ${this.p.kernel})`);
    if (this.p.gamma !== 'scale' && !(this.p.gamma > 0)) throw new ClassifierError(`svc: gamma must be 'scale' or > 0 (got ${this.p.gamma})`);
    if (!(this.p.tol > 0) || !(this.p.cacheMB > 0)) throw new ClassifierError('svc: tol and cacheMB must be > 0');
  }

  /** Async because the libsvm wasm module loads once, asynchronously. */
  static async create(params: Partial<SvcParams> = {}): Promise<SVC> {
    return new SVC(await loadLibsvm(), params);
  }

  fit(X: Float32Array, nRows: number, nCols: number, y: Uint8Array): void {
    checkFitArgs(X, nRows, nCols, y);
    const lib = this.lib;
    const scaler = this.p.standardize ? fitScaler(X, nRows, nCols) : undefined;
    const Z = scaler ? transform(scaler, X, nRows) : Float64Array.from(X);
    let gamma = 0;
    if (this.p.kernel === 'rbf') gamma = this.p.gamma === 'scale' ? 1 / (nCols * Math.max(variance(Z), 1e-12)) : this.p.gamma;
    const fn = lib as unknown as Record<string, (...a: number[]) => number>;
    const prob = fn._create_svm_nodes!(nRows, nCols);
    const row = lib._malloc(nCols * 8);
    let model = 0;
    let cmd = 0;
    let idx = 0;
    try {
      for (let i = 0; i < nRows; i++) {
        lib.HEAPF64.set(Z.subarray(i * nCols, (i + 1) * nCols), row / 8);
        fn._add_instance!(prob, row, nCols, y[i]!, i);
      }
      // -s 0 C-SVC, -t 0 linear / 2 RBF, -q quiet. parse_command_line exits the process on an
      // unknown option, so only these fixed, validated flags are ever passed.
      const flags = `-s 0 -t ${this.p.kernel === 'linear' ? 0 : 2} -c ${this.p.C} -e ${this.p.tol} -m ${this.p.cacheMB} -h 1 -q 1` +
        (this.p.kernel === 'rbf' ? ` -g ${gamma}` : '');
      cmd = allocCString(lib, flags);
      model = fn._libsvm_train_problem!(prob, cmd);
      if (!model) throw new ClassifierError('svc: libsvm returned no model');
      const textPtr = fn._serialize_model!(model);
      if (!textPtr) throw new ClassifierError('svc: libsvm could not serialise the model');
      const text = readCString(lib, textPtr);
      lib._free(textPtr);
      const parsed = parseLibsvmModel(text);
      const nSv = parsed.coefs.length;
      idx = lib._malloc(Math.max(nSv, 1) * 4);
      fn._svm_get_sv_indices!(model, idx);
      const svIdx = Array.from(lib.HEAP32.subarray(idx / 4, idx / 4 + nSv), (k) => k - 1);
      this.modelText = text;
      this.sign = parsed.labels[0] === 1 ? 1 : -1;
      this.rho = parsed.rho;
      this.gammaUsed = gamma;
      this.coefs = Float64Array.from(parsed.coefs);
      if (this.p.kernel === 'linear') {
        const w = new Float64Array(nCols);
        for (let s = 0; s < nSv; s++) {
          const a = parsed.coefs[s]!;
          const o = svIdx[s]! * nCols;
          for (let j = 0; j < nCols; j++) w[j]! += a * Z[o + j]!;
        }
        this.w = w;
        this.sv = undefined;
      } else {
        const sv = new Float64Array(nSv * nCols);
        for (let s = 0; s < nSv; s++) sv.set(Z.subarray(svIdx[s]! * nCols, (svIdx[s]! + 1) * nCols), s * nCols);
        this.sv = sv;
        this.w = undefined;
      }
      this.scaler = scaler;
      this.nCols = nCols;
    } finally {
      if (idx) lib._free(idx);
      if (cmd) lib._free(cmd);
      lib._free(row);
      if (model) fn._svm_free_model!(model);
      fn._free_problem!(prob);
    }
  }

  decisionFunction(X: Float32Array, nRows: number): Float64Array {
    const d = checkPredictArgs(X, nRows, this.nCols);
    const Z = this.scaler ? transform(this.scaler, X, nRows) : Float64Array.from(X);
    const out = new Float64Array(nRows);
    if (this.w) {
      const w = this.w;
      for (let i = 0; i < nRows; i++) {
        let s = -this.rho;
        const o = i * d;
        for (let j = 0; j < d; j++) s += w[j]! * Z[o + j]!;
        out[i] = this.sign * s;
      }
      return out;
    }
    const sv = this.sv!;
    const coefs = this.coefs!;
    const nSv = coefs.length;
    const g = this.gammaUsed;
    for (let i = 0; i < nRows; i++) {
      const o = i * d;
      let s = -this.rho;
      for (let k = 0; k < nSv; k++) {
        const q = k * d;
        let dist = 0;
        for (let j = 0; j < d; j++) {
          const t = Z[o + j]! - sv[q + j]!;
          dist += t * t;
        }
        s += coefs[k]! * Math.exp(-g * dist);
      }
      out[i] = this.sign * s;
    }
    return out;
  }

  /** sigmoid(margin): monotone in the margin with 0.5 at margin 0, but NOT calibrated (no Platt scaling). */
  predictProba(X: Float32Array, nRows: number): Float64Array {
    return this.decisionFunction(X, nRows).map((d) => this.probabilityOfDecision(d));
  }

  probabilityOfDecision(decision: number): number {
    return sigmoid(decision);
  }

  /** Number of support vectors of the last fit. */
  get supportVectorCount(): number {
    return this.coefs?.length ?? 0;
  }

  params(): Record<string, unknown> {
    return { ...this.p };
  }

  toJSON(): SerializedClassifier {
    if (this.nCols === undefined) throw new ClassifierError('svc: cannot serialise an unfitted model');
    return {
      kind: 'svc',
      params: this.params(),
      state: {
        nCols: this.nCols,
        scaler: this.scaler ?? null,
        gamma: this.gammaUsed,
        rho: this.rho,
        sign: this.sign,
        coefs: Array.from(this.coefs!),
        w: this.w ? encodeF64(this.w) : null,
        sv: this.sv ? encodeF64(this.sv) : null,
      },
    };
  }

  static async fromJSON(s: SerializedClassifier): Promise<SVC> {
    const m = await SVC.create(s.params as Partial<SvcParams>);
    const st = s.state as {
      nCols: number; scaler: ScalerState | null; gamma: number; rho: number; sign: number; coefs: number[]; w: string | null; sv: string | null;
    };
    if (typeof st.nCols !== 'number' || !Array.isArray(st.coefs) || (st.w === null && st.sv === null)) {
      throw new ClassifierError('svc: saved state is incomplete');
    }
    m.nCols = st.nCols;
    m.scaler = st.scaler ?? undefined;
    m.gammaUsed = st.gamma;
    m.rho = st.rho;
    m.sign = st.sign;
    m.coefs = Float64Array.from(st.coefs);
    m.w = st.w ? decodeF64(st.w) : undefined;
    m.sv = st.sv ? decodeF64(st.sv) : undefined;
    return m;
  }
}

/**
 * libsvm's own predicted labels (0/1) for X under a saved model text — used to cross-check the
 * decision values computed above. X must already be in the space the model was trained in.
 */
export async function libsvmPredictLabels(modelText: string, X: Float64Array, nRows: number, nCols: number): Promise<number[]> {
  const lib = await loadLibsvm();
  const fn = lib as unknown as Record<string, (...a: number[]) => number>;
  const str = allocCString(lib, modelText);
  const model = fn._deserialize_model!(str);
  lib._free(str);
  const row = lib._malloc(nCols * 8);
  try {
    const out: number[] = [];
    for (let i = 0; i < nRows; i++) {
      lib.HEAPF64.set(X.subarray(i * nCols, (i + 1) * nCols), row / 8);
      out.push(fn._libsvm_predict_one!(model, row, nCols));
    }
    return out;
  } finally {
    lib._free(row);
    fn._svm_free_model!(model);
  }
}

function variance(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i]!;
  m /= a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i]! - m) ** 2;
  return v / a.length;
}

function encodeF64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function decodeF64(s: string): Float64Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float64Array(b.length / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}
