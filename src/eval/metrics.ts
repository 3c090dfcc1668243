/**
 * Binary-classification metrics: the single implementation every evaluator in fdft uses
 * (`fdft eval`, experiment reports, the classical pipeline).
 *
 * Conventions (everywhere in this file):
 *   - label 1 = fake = the positive class, label 0 = real;
 *   - a higher score means "more fake";
 *   - an image is predicted fake when `score >= threshold`.
 *
 * The curve metrics reproduce scikit-learn exactly, so numbers can be compared with papers and
 * Python baselines: `auroc` = `roc_auc_score` (rank based, ties count one half),
 * `averagePrecision` = `average_precision_score` (step-wise sum, no interpolation),
 * `rocCurve` / `precisionRecallCurve` = `roc_curve(drop_intermediate=False)` /
 * `precision_recall_curve`.
 */

/** Bad input to a metric: mismatched lengths, labels other than 0/1, NaN scores, one class only. */
export class MetricsError extends Error {
  override name = 'MetricsError';
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  precision: number;
  /** = true-positive rate = sensitivity (on the fake class). */
  recall: number;
  f1: number;
  balancedAccuracy: number;
  /** = true-negative rate (on the real class). */
  specificity: number;
}

export interface RocCurve {
  /** Non-decreasing, from 0 to 1. */
  fpr: number[];
  /** Non-decreasing, from 0 to 1. */
  tpr: number[];
  /** Decreasing; `thresholds[0]` is `Infinity` (the point "nothing predicted fake"), as in sklearn ≥ 1.3. */
  thresholds: number[];
}

export interface PrecisionRecallCurve {
  /** One entry per threshold, then a final 1 (sklearn's convention). */
  precision: number[];
  /** One entry per threshold, then a final 0; non-increasing. */
  recall: number[];
  /** The distinct scores, increasing (sklearn's order). */
  thresholds: number[];
}

/** Metrics at one decision threshold. */
export interface OperatingPoint {
  threshold: number;
  confusion: Confusion;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  balancedAccuracy: number;
}

/** Everything `fdft eval` reports. */
export interface EvalMetrics {
  n: number;
  counts: { real: number; fake: number };
  /** Accuracy at threshold 0.5 (= `at05.accuracy`). */
  accuracy: number;
  auroc: number;
  eer: number;
  eerThreshold: number;
  averagePrecision: number;
  at05: OperatingPoint;
  atEer: OperatingPoint;
}

export type ThresholdCriterion = 'f1' | 'balanced-accuracy' | { targetRecall: number };

export interface BestThreshold extends OperatingPoint {
  /** The criterion's value at `threshold` (F1, balanced accuracy, or the recall reached). */
  value: number;
}

// ---------------------------------------------------------------------------------------------
// Input checks and the shared sorted view

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores == null || labels == null) throw new MetricsError('scores and labels are required');
  if (scores.length !== labels.length) {
    throw new MetricsError(`scores and labels differ in length (${scores.length} vs ${labels.length})`);
  }
  if (scores.length === 0) throw new MetricsError('no samples: scores and labels are empty');
  for (let i = 0; i < scores.length; i++) {
    const l = labels[i];
    if (l !== 0 && l !== 1) throw new MetricsError(`label at index ${i} is ${String(l)}; labels must be 0 (real) or 1 (fake)`);
    if (!Number.isFinite(scores[i])) throw new MetricsError(`score at index ${i} is ${String(scores[i])}; scores must be finite numbers`);
  }
}

function countPositives(labels: ArrayLike<number>): number {
  let p = 0;
  for (let i = 0; i < labels.length; i++) p += labels[i];
  return p;
}

function requireBothClasses(labels: ArrayLike<number>, what: string): { pos: number; neg: number } {
  const pos = countPositives(labels);
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) {
    throw new MetricsError(
      `${what} is undefined when only one class is present (${pos} fake, ${neg} real); evaluate on a set with both real and fake images`,
    );
  }
  return { pos, neg };
}

interface ClfCurve {
  tps: number[];
  fps: number[];
  thresholds: number[];
}

/**
 * Cumulative counts at each distinct score, highest score first — sklearn's `_binary_clf_curve`:
 * `tps[k]`, `fps[k]` = true / false positives when predicting fake for `score >= thresholds[k]`.
 * Fake and real scores are sorted separately (native numeric typed-array sort, no comparator) and
 * merged from the top; tied scores share one threshold.
 */
function binaryClfCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): ClfCurve {
  const nPos = countPositives(labels);
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(scores.length - nPos);
  for (let i = 0, p = 0, q = 0; i < scores.length; i++) {
    if (labels[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let i = pos.length - 1;
  let j = neg.length - 1;
  while (i >= 0 || j >= 0) {
    const t = i < 0 ? neg[j] : j < 0 ? pos[i] : Math.max(pos[i], neg[j]);
    while (i >= 0 && pos[i] === t) i--;
    while (j >= 0 && neg[j] === t) j--;
    tps.push(pos.length - 1 - i);
    fps.push(neg.length - 1 - j);
    thresholds.push(t);
  }
  return { tps, fps, thresholds };
}

// ---------------------------------------------------------------------------------------------
// Threshold-free metrics

/**
 * Area under the ROC curve = P(score of a random fake > score of a random real) + ½·P(equal):
 * the Mann–Whitney U statistic with ties counted one half, equal to sklearn `roc_auc_score`.
 * Computed as the trapezoid area under the ROC points in integer counts (exact until the final
 * division), which is the same quantity as the average-rank formula.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs(scores, labels);
  const { pos, neg } = requireBothClasses(labels, 'AUROC');
  return aurocOfCurve(binaryClfCurve(scores, labels), pos, neg);
}

function aurocOfCurve(c: ClfCurve, pos: number, neg: number): number {
  let twiceArea = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let k = 0; k < c.tps.length; k++) {
    twiceArea += (c.fps[k] - prevFp) * (c.tps[k] + prevTp);
    prevTp = c.tps[k];
    prevFp = c.fps[k];
  }
  return twiceArea / (2 * pos * neg);
}

/** The ROC curve at every distinct score (sklearn `roc_curve(..., drop_intermediate=False)`). */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocCurve {
  checkInputs(scores, labels);
  const { pos, neg } = requireBothClasses(labels, 'the ROC curve');
  return rocOfCurve(binaryClfCurve(scores, labels), pos, neg);
}

function rocOfCurve(c: ClfCurve, pos: number, neg: number): RocCurve {
  return {
    fpr: [0, ...c.fps.map((f) => f / neg)],
    tpr: [0, ...c.tps.map((t) => t / pos)],
    thresholds: [Infinity, ...c.thresholds],
  };
}

/** Precision–recall pairs at every distinct score, in sklearn `precision_recall_curve`'s layout. */
export function precisionRecallCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): PrecisionRecallCurve {
  checkInputs(scores, labels);
  requireBothClasses(labels, 'the precision-recall curve');
  const c = binaryClfCurve(scores, labels);
  const totalPos = c.tps[c.tps.length - 1];
  const precision = c.tps.map((t, k) => t / (t + c.fps[k]));
  const recall = c.tps.map((t) => t / totalPos);
  return {
    precision: [...precision.reverse(), 1],
    recall: [...recall.reverse(), 0],
    thresholds: [...c.thresholds].reverse(),
  };
}

/**
 * Average precision = Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct thresholds (highest first), R₀ = 0:
 * sklearn `average_precision_score` (no interpolation, unlike the 11-point VOC AP).
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs(scores, labels);
  const { pos } = requireBothClasses(labels, 'average precision');
  return averagePrecisionOfCurve(binaryClfCurve(scores, labels), pos);
}

function averagePrecisionOfCurve(c: ClfCurve, pos: number): number {
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const recall = c.tps[k] / pos;
    ap += (recall - prevRecall) * (c.tps[k] / (c.tps[k] + c.fps[k]));
    prevRecall = recall;
  }
  return ap;
}

/**
 * Equal error rate: where the false-positive rate (reals called fake) equals the false-negative
 * rate (fakes called real). FPR and FNR = 1 − TPR are taken from the full ROC curve and linearly
 * interpolated between the two ROC points where FPR − FNR changes sign.
 *
 * `threshold` is the score threshold of the ROC point nearest the crossing (smallest |FPR − FNR|),
 * i.e. an operating point that is actually reachable with `confusionAt(scores, labels, threshold)`.
 */
export function equalErrorRate(scores: ArrayLike<number>, labels: ArrayLike<number>): { eer: number; threshold: number } {
  return eerOfRoc(rocCurve(scores, labels));
}

function eerOfRoc(roc: RocCurve): { eer: number; threshold: number } {
  const diff = roc.fpr.map((f, k) => f - (1 - roc.tpr[k])); // −1 at the first point, +1 at the last
  let i = diff.findIndex((d) => d >= 0); // always ≥ 1: diff[0] = 0 − 1 < 0
  const d0 = diff[i - 1];
  const d1 = diff[i];
  const t = d0 / (d0 - d1); // in (0, 1]
  const eer = roc.fpr[i - 1] + t * (roc.fpr[i] - roc.fpr[i - 1]);
  // Nearest real point; on a tie prefer the finite (lower) threshold.
  if (Math.abs(d0) < Math.abs(d1)) i = i - 1;
  return { eer, threshold: roc.thresholds[i] };
}

// ---------------------------------------------------------------------------------------------
// Thresholded metrics

/** Confusion counts when predicting fake for `score >= threshold`. */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Confusion {
  checkInputs(scores, labels);
  if (Number.isNaN(threshold)) throw new MetricsError('threshold is NaN');
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const predictedFake = scores[i] >= threshold;
    if (labels[i] === 1) predictedFake ? c.tp++ : c.fn++;
    else predictedFake ? c.fp++ : c.tn++;
  }
  return c;
}

/** a / b, or 0 when b is 0 (sklearn's `zero_division=0`): no NaN ever leaves this module. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function checkConfusion(c: Confusion): void {
  for (const k of ['tp', 'fp', 'tn', 'fn'] as const) {
    const v = c?.[k];
    if (!Number.isInteger(v) || v < 0) throw new MetricsError(`confusion.${k} must be a non-negative integer, got ${String(v)}`);
  }
}

/** (TPR + TNR) / 2: the accuracy a balanced set would give (sklearn `balanced_accuracy_score`). */
export function balancedAccuracy(c: Confusion): number {
  checkConfusion(c);
  const present = (c.tp + c.fn > 0 ? 1 : 0) + (c.tn + c.fp > 0 ? 1 : 0);
  // With one class only, sklearn averages over the classes present (i.e. that class's recall).
  return present === 0 ? 0 : (ratio(c.tp, c.tp + c.fn) + ratio(c.tn, c.tn + c.fp)) / present;
}

/** Accuracy, precision, recall, F1, balanced accuracy and specificity of one confusion matrix. */
export function classificationMetrics(c: Confusion): ClassificationMetrics {
  checkConfusion(c);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return {
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    precision,
    recall,
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn), // = 2PR/(P+R), and 0 when undefined
    balancedAccuracy: balancedAccuracy(c),
    specificity: ratio(c.tn, c.tn + c.fp),
  };
}

/** Confusion and metrics at one threshold. */
export function operatingPoint(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): OperatingPoint {
  const confusion = confusionAt(scores, labels, threshold);
  const m = classificationMetrics(confusion);
  return {
    threshold,
    confusion,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    accuracy: m.accuracy,
    balancedAccuracy: m.balancedAccuracy,
  };
}

/**
 * The decision threshold, among the distinct scores, that is best by `criterion`:
 *   'f1' / 'balanced-accuracy' → maximises it (ties: the highest such threshold);
 *   { targetRecall }           → the highest threshold whose recall on fakes is ≥ targetRecall
 *                                 (so the fewest reals are flagged for that recall).
 * Used for threshold tuning on a validation set, then applied unchanged to the test set.
 */
export function bestThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>, criterion: ThresholdCriterion): BestThreshold {
  checkInputs(scores, labels);
  const { pos, neg } = requireBothClasses(labels, 'a tuned threshold');
  let target: number | undefined;
  if (typeof criterion === 'object' && criterion !== null) {
    target = criterion.targetRecall;
    if (!(typeof target === 'number' && target >= 0 && target <= 1)) {
      throw new MetricsError(`targetRecall must be a number in [0, 1], got ${String(target)}`);
    }
  } else if (criterion !== 'f1' && criterion !== 'balanced-accuracy') {
    throw new MetricsError(`unknown threshold criterion '${String(criterion)}' (use 'f1', 'balanced-accuracy' or {targetRecall})`);
  }
  const c = binaryClfCurve(scores, labels);
  let best = -1;
  let bestValue = -Infinity;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.tps[k];
    const fp = c.fps[k];
    const conf: Confusion = { tp, fp, fn: pos - tp, tn: neg - fp };
    if (target !== undefined) {
      // Recall only grows as the threshold falls: the first threshold reaching the target wins.
      const recall = tp / pos;
      if (recall >= target) {
        best = k;
        bestValue = recall;
        break;
      }
      continue;
    }
    const m = classificationMetrics(conf);
    const value = criterion === 'f1' ? m.f1 : m.balancedAccuracy;
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  const point = operatingPoint(scores, labels, c.thresholds[best]);
  return { ...point, value: bestValue };
}

// ---------------------------------------------------------------------------------------------
// Summaries

/**
 * Mean and standard deviation, e.g. of a metric over cross-validation folds.
 * `ddof` 1 (default) gives the sample standard deviation (pandas' `std`); 0 the population one
 * (numpy's `std`). A single value has std 0.
 */
export function meanStd(values: ArrayLike<number>, opts: { ddof?: 0 | 1 } = {}): { mean: number; std: number; n: number } {
  const n = values?.length ?? 0;
  if (n === 0) throw new MetricsError('meanStd of no values');
  const ddof = opts.ddof ?? 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new MetricsError(`value at index ${i} is ${String(values[i])}; values must be finite`);
    sum += values[i];
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = n - ddof > 0 ? Math.sqrt(ss / (n - ddof)) : 0;
  return { mean, std, n };
}

/** Everything `fdft eval` reports, from per-image fake scores (e.g. softmax P(fake)) and labels. */
export function evaluateScores(scores: ArrayLike<number>, labels: ArrayLike<number>): EvalMetrics {
  checkInputs(scores, labels);
  const { pos, neg } = requireBothClasses(labels, 'evaluation (AUROC, EER)');
  const curve = binaryClfCurve(scores, labels); // one sort serves AUROC, AP and EER
  const { eer, threshold: eerThreshold } = eerOfRoc(rocOfCurve(curve, pos, neg));
  const at05 = operatingPoint(scores, labels, 0.5);
  return {
    n: scores.length,
    counts: { real: neg, fake: pos },
    accuracy: at05.accuracy,
    auroc: aurocOfCurve(curve, pos, neg),
    eer,
    eerThreshold,
    averagePrecision: averagePrecisionOfCurve(curve, pos),
    at05,
    atEer: operatingPoint(scores, labels, eerThreshold),
  };
}
