/**
 * Exhaustive grid search over a classifier's hyper-parameters, each combination scored by its
 * mean over the same grouped K folds (scikit-learn GridSearchCV with a group-aware cv). The
 * winner's fold metrics are what `fdft classical` reports; note that, as in GridSearchCV, they are
 * slightly optimistic (the best of several tries) — the held-out evaluation is the unbiased one.
 */
import { type CvResult, type MetricName, METRIC_NAMES, crossValidate } from './cv.ts';
import { CrossValidationError } from './errors.ts';
import type { FeatureMatrix } from './featureMatrix.ts';
import type { Fold } from './groupedKFold.ts';
import { type ParamGrid, expandGrid } from './registry.ts';

export type Scoring = MetricName;

export interface GridSearchResult {
  kind: string;
  scoring: Scoring;
  best: CvResult;
  /** Every combination, in grid order (oof decision values dropped except for the best). */
  all: Omit<CvResult, 'oof'>[];
  seconds: number;
}

export function isScoring(s: string): s is Scoring {
  return (METRIC_NAMES as readonly string[]).includes(s);
}

export async function gridSearch(
  kind: string,
  grid: ParamGrid,
  data: FeatureMatrix,
  folds: Fold[],
  scoring: Scoring = 'f1',
  onResult?: (r: CvResult, index: number, total: number) => void,
): Promise<GridSearchResult> {
  if (!isScoring(scoring)) throw new CrossValidationError(`unknown scoring '${scoring}' (use ${METRIC_NAMES.join(', ')})`);
  const combos = expandGrid(grid);
  const t0 = performance.now();
  let best: CvResult | undefined;
  const all: Omit<CvResult, 'oof'>[] = [];
  for (let i = 0; i < combos.length; i++) {
    const r = await crossValidate(kind, combos[i]!, data, folds);
    const { oof: _oof, ...rest } = r;
    all.push(rest);
    onResult?.(r, i, combos.length);
    // ties keep the earlier (grid-order) combination
    if (!best || r.mean[scoring] > best.mean[scoring]) best = r;
  }
  return { kind, scoring, best: best!, all, seconds: (performance.now() - t0) / 1000 };
}
