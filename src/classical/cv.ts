/**
 * Cross-validated scores of one classifier configuration: fit on each fold's train rows, score its
 * test rows, and summarise AUC, recall, F1, accuracy, precision (and balanced accuracy) as
 * mean ± std over folds — the seed paper's Table 1. Metrics come from src/eval/metrics.ts (the one
 * implementation shared with `fdft eval`); thresholded metrics use the classifier's natural
 * threshold, decision value ≥ 0 (= P(fake) ≥ 0.5).
 */
import { auroc, classificationMetrics, confusionAt, meanStd } from '../eval/metrics.ts';
import type { Classifier } from './classifier.ts';
import { type FeatureMatrix, takeRows } from './featureMatrix.ts';
import type { Fold } from './groupedKFold.ts';
import { type ParamSet, createClassifier } from './registry.ts';

export const METRIC_NAMES = ['auc', 'recall', 'f1', 'accuracy', 'precision', 'balancedAccuracy'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type FoldMetrics = Record<MetricName, number>;

export interface CvResult {
  kind: string;
  params: ParamSet;
  folds: FoldMetrics[];
  mean: FoldMetrics;
  /** Sample standard deviation over folds (ddof 1, like pandas). */
  std: FoldMetrics;
  /** Out-of-fold decision value of every row (each from the fold model that did not see it). */
  oof: Float64Array;
  /** Wall time of the k fits + predictions. */
  seconds: number;
}

/** Metrics of decision values at threshold 0 (plus the threshold-free AUC). */
export function scoreDecisions(decisions: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0): FoldMetrics {
  const m = classificationMetrics(confusionAt(decisions, labels, threshold));
  return {
    auc: auroc(decisions, labels),
    recall: m.recall,
    f1: m.f1,
    accuracy: m.accuracy,
    precision: m.precision,
    balancedAccuracy: m.balancedAccuracy,
  };
}

export function summarizeFolds(folds: FoldMetrics[]): { mean: FoldMetrics; std: FoldMetrics } {
  const mean = {} as FoldMetrics;
  const std = {} as FoldMetrics;
  for (const k of METRIC_NAMES) {
    const s = meanStd(folds.map((f) => f[k]));
    mean[k] = s.mean;
    std[k] = s.std;
  }
  return { mean, std };
}

export async function crossValidate(kind: string, params: ParamSet, data: FeatureMatrix, folds: Fold[]): Promise<CvResult> {
  const t0 = performance.now();
  const oof = new Float64Array(data.nRows);
  const perFold: FoldMetrics[] = [];
  for (const fold of folds) {
    const train = takeRows(data, fold.train);
    const test = takeRows(data, fold.test);
    const clf: Classifier = await createClassifier(kind, params);
    clf.fit(train.X, train.nRows, train.nCols, train.y);
    const d = clf.decisionFunction(test.X, test.nRows);
    fold.test.forEach((row, r) => (oof[row] = d[r]!));
    perFold.push(scoreDecisions(d, test.y));
  }
  const { mean, std } = summarizeFolds(perFold);
  return { kind, params, folds: perFold, mean, std, oof, seconds: (performance.now() - t0) / 1000 };
}
