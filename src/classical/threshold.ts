/**
 * Decision-threshold tuning (the seed paper's Table 2): choose a threshold on tuning data — the
 * out-of-fold decision values of the chosen model, which no fold model saw while fitting — by a
 * criterion (max F1, max balanced accuracy, or the highest threshold reaching a target recall),
 * then report accuracy, precision, recall, F1 at the classifier's default threshold (decision 0)
 * and at the tuned one on HELD-OUT data. Uses `bestThreshold` / `operatingPoint` from
 * src/eval/metrics.ts.
 */
import { type BestThreshold, type OperatingPoint, type ThresholdCriterion, bestThreshold, operatingPoint } from '../eval/metrics.ts';
import { CrossValidationError } from './errors.ts';

export interface ThresholdReport {
  criterion: ThresholdCriterion;
  /** The classifier's own threshold on its decision values. */
  defaultThreshold: number;
  /** The threshold chosen on the tuning data. */
  tunedThreshold: number;
  /** The chosen point on the tuning data (criterion value included). */
  tuning: BestThreshold;
  /** Metrics on the evaluation (held-out) data at each threshold. */
  atDefault: OperatingPoint;
  atTuned: OperatingPoint;
}

/** Parse `f1`, `balanced-accuracy` or `recall=0.95` (a target recall). */
export function parseCriterion(s: string): ThresholdCriterion {
  if (s === 'f1' || s === 'balanced-accuracy') return s;
  const m = /^recall[=:](0?\.\d+|1(?:\.0*)?|0)$/.exec(s);
  if (m) return { targetRecall: Number(m[1]) };
  throw new CrossValidationError(`unknown threshold criterion '${s}' (use f1, balanced-accuracy or recall=0.95)`);
}

export function criterionName(c: ThresholdCriterion): string {
  return typeof c === 'string' ? c : `recall≥${c.targetRecall}`;
}

export function tuneThreshold(
  tuneScores: ArrayLike<number>,
  tuneLabels: ArrayLike<number>,
  evalScores: ArrayLike<number>,
  evalLabels: ArrayLike<number>,
  criterion: ThresholdCriterion,
  defaultThreshold = 0,
): ThresholdReport {
  const tuning = bestThreshold(tuneScores, tuneLabels, criterion);
  return {
    criterion,
    defaultThreshold,
    tunedThreshold: tuning.threshold,
    tuning,
    atDefault: operatingPoint(evalScores, evalLabels, defaultThreshold),
    atTuned: operatingPoint(evalScores, evalLabels, tuning.threshold),
  };
}

/** Accuracy, precision, recall, F1 at up to `maxPoints` thresholds spanning the scores (for the metric-vs-threshold chart). */
export function thresholdSweep(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  maxPoints = 200,
): { thresholds: number[]; metrics: { accuracy: number[]; precision: number[]; recall: number[]; f1: number[] } } {
  const sorted = Float64Array.from(scores).sort();
  const thresholds: number[] = [];
  const n = sorted.length;
  const steps = Math.min(maxPoints, n);
  for (let i = 0; i < steps; i++) {
    const t = sorted[Math.round((i * (n - 1)) / Math.max(steps - 1, 1))]!;
    if (thresholds.length === 0 || t !== thresholds[thresholds.length - 1]) thresholds.push(t);
  }
  const metrics = { accuracy: [] as number[], precision: [] as number[], recall: [] as number[], f1: [] as number[] };
  for (const t of thresholds) {
    const p = operatingPoint(scores, labels, t);
    metrics.accuracy.push(p.accuracy);
    metrics.precision.push(p.precision);
    metrics.recall.push(p.recall);
    metrics.f1.push(p.f1);
  }
  return { thresholds, metrics };
}
