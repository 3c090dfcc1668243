/**
 * `fdft classical` for one feature file: identity groups → (grouped) held-out split → leakage
 * guard → per classifier an F1 (or other) grid search inside grouped K-fold CV (Table 1) → refit
 * of the best parameters on all CV rows → threshold tuned on the out-of-fold decision values and
 * evaluated on the held-out rows (Table 2).
 */
import { relative, sep } from 'node:path';
import { type RocCurve, rocCurve } from '../eval/metrics.ts';
import type { ClassifierName, SerializedClassifier } from './classifier.ts';
import { type CvResult, type FoldMetrics, scoreDecisions } from './cv.ts';
import { CrossValidationError } from './errors.ts';
import type { FeatureFile } from './featureFile.ts';
import { type FeatureMatrix, takeRows } from './featureMatrix.ts';
import { type GridSearchResult, type Scoring, gridSearch } from './gridSearch.ts';
import { groupedHoldout, groupedKFold } from './groupedKFold.ts';
import { type LeakageCheck, checkLeakage, enforceLeakageGuard } from './leakage.ts';
import { DEFAULT_GRIDS, type ParamGrid, createClassifier } from './registry.ts';
import { type ThresholdReport, criterionName, tuneThreshold } from './threshold.ts';
import type { ThresholdCriterion } from '../eval/metrics.ts';

export interface ClassicalOptions {
  classifiers: ClassifierName[];
  /** Per-classifier grids replacing the defaults. */
  grids?: Partial<Record<ClassifierName, ParamGrid>>;
  folds: number;
  /** Identity regex (first capture group) over each path relative to the features' data root. */
  groupBy?: string;
  scoring: Scoring;
  seed: number;
  /** Fraction of groups held out for the final evaluation (0 = none: threshold metrics are then out-of-fold). */
  holdout: number;
  /** Separate held-out features (overrides `holdout`). */
  testFeatures?: FeatureFile;
  criterion: ThresholdCriterion;
  allowLeak: boolean;
  log?: (m: string) => void;
  warn?: (m: string) => void;
}

export interface ClassifierOutcome {
  kind: ClassifierName;
  grid: ParamGrid;
  scoring: Scoring;
  bestParams: Record<string, unknown>;
  /** Table 1: the best combination's metrics over the CV folds. */
  cv: { mean: FoldMetrics; std: FoldMetrics; folds: FoldMetrics[] };
  /** Every combination tried. */
  all: { params: Record<string, unknown>; mean: FoldMetrics; std: FoldMetrics; seconds: number }[];
  gridSeconds: number;
  refitSeconds: number;
  /** The refit model's metrics on the held-out rows at its default threshold. */
  heldOut?: FoldMetrics & { n: number };
  /** Table 2. `evaluatedOn` says whether `atDefault`/`atTuned` are held-out or out-of-fold. */
  threshold: ThresholdReport & { evaluatedOn: 'held-out' | 'out-of-fold' };
  /** ROC of the evaluation scores (held-out, else out-of-fold). */
  roc: RocCurve & { auc: number };
  /** Threshold-sweep input: the evaluation scores and labels. */
  evalScores: Float64Array;
  evalLabels: Uint8Array;
  model: SerializedClassifier;
}

export interface ClassicalRun {
  rows: number;
  cols: number;
  groups: { source: 'group-by' | 'feature-file' | 'none'; count: number; unmatched: number };
  split: { cvRows: number; heldOutRows: number; heldOut: 'groups' | 'test-features' | 'none'; folds: number };
  leakage: LeakageCheck[];
  classifiers: ClassifierOutcome[];
  seconds: number;
}

/** Identity group of each row: --group-by over the path relative to the data root, else the file's groups. */
export function rowGroups(file: FeatureFile, groupBy: string | undefined): { groups: string[] | undefined; source: ClassicalRun['groups']['source']; unmatched: number } {
  const h = file.header;
  if (groupBy) {
    let re: RegExp;
    try {
      re = new RegExp(groupBy);
    } catch (e) {
      throw new CrossValidationError(`--group-by is not a valid regular expression: ${(e as Error).message}`);
    }
    let unmatched = 0;
    const groups = h.paths.map((p) => {
      const rel = h.dataRoot ? relative(h.dataRoot, p).split(sep).join('/') : p;
      const m = re.exec(rel);
      if (m && (m[1] ?? m[0]) !== undefined) return `g:${m[1] ?? m[0]}`;
      unmatched++;
      return `path:${p}`; // its own group: cannot leak anything
    });
    return { groups, source: 'group-by', unmatched };
  }
  if (h.groups.some((g) => g !== null && g !== undefined)) {
    let unmatched = 0;
    const groups = h.groups.map((g, i) => {
      if (g === null || g === undefined) {
        unmatched++;
        return `path:${h.paths[i]}`;
      }
      return `g:${g}`;
    });
    return { groups, source: 'feature-file', unmatched };
  }
  return { groups: undefined, source: 'none', unmatched: 0 };
}

export async function runClassical(file: FeatureFile, opts: ClassicalOptions): Promise<ClassicalRun> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const warn = opts.warn ?? log;
  const data = file.matrix;
  const g = rowGroups(file, opts.groupBy);
  if (g.source === 'none') {
    warn('warning: no identity groups (--group-by, or fdft features --group-by): folds are split per image, so images of one identity can be in both train and test of a fold');
  } else if (g.unmatched) {
    warn(`warning: ${g.unmatched} path(s) did not match the group pattern; each is its own group`);
  }
  const nGroups = g.groups ? new Set(g.groups).size : data.nRows;

  // Held-out rows (never used for model or threshold selection).
  let cvIdx: Uint32Array;
  let holdIdx: Uint32Array | undefined;
  let heldOut: ClassicalRun['split']['heldOut'] = 'none';
  if (opts.testFeatures) {
    if (opts.testFeatures.matrix.nCols !== data.nCols) {
      throw new CrossValidationError(`--test-features has ${opts.testFeatures.matrix.nCols} features per image, --features ${data.nCols}`);
    }
    cvIdx = Uint32Array.from({ length: data.nRows }, (_, i) => i);
    heldOut = 'test-features';
  } else if (opts.holdout > 0) {
    const split = groupedHoldout(g.groups, data.y, opts.holdout, opts.seed);
    cvIdx = split.train;
    holdIdx = split.test;
    heldOut = 'groups';
  } else {
    cvIdx = Uint32Array.from({ length: data.nRows }, (_, i) => i);
  }

  // Leakage guard over every row that will be used (CV and held-out).
  const leakage = [checkLeakage(file.header)];
  if (opts.testFeatures) leakage.push(checkLeakage(opts.testFeatures.header));
  for (const c of leakage) {
    enforceLeakageGuard(c, opts.allowLeak, warn);
    if (c.status === 'clean') log(`leakage guard: ${c.message}`);
  }

  const cv: FeatureMatrix = takeRows(data, cvIdx);
  const cvGroups = g.groups ? Array.from(cvIdx, (i) => g.groups![i]!) : undefined;
  const folds = groupedKFold(cvGroups, cv.y, opts.folds, opts.seed);
  const evalSet: FeatureMatrix | undefined = opts.testFeatures ? opts.testFeatures.matrix : holdIdx ? takeRows(data, holdIdx) : undefined;
  log(
    `${data.nRows} images × ${data.nCols} features, ${nGroups} groups: ${cv.nRows} in ${opts.folds}-fold grouped CV` +
      (evalSet ? `, ${evalSet.nRows} held out (${heldOut})` : ', none held out'),
  );

  const outcomes: ClassifierOutcome[] = [];
  for (const kind of opts.classifiers) {
    let grid = opts.grids?.[kind] ?? DEFAULT_GRIDS[kind];
    // Tree models sample rows/columns: --seed fixes them too (unless the grid varies it).
    if ((kind === 'rf' || kind === 'xgb') && !('seed' in grid)) grid = { ...grid, seed: [opts.seed] };
    const gs: GridSearchResult = await gridSearch(kind, grid, cv, folds, opts.scoring, (r: CvResult, i, n) =>
      log(`  ${kind} ${i + 1}/${n} ${JSON.stringify(r.params)}: ${opts.scoring} ${r.mean[opts.scoring].toFixed(3)} ± ${r.std[opts.scoring].toFixed(3)} (${r.seconds.toFixed(1)} s)`),
    );
    const best = gs.best;
    const t1 = performance.now();
    const model = await createClassifier(kind, best.params);
    model.fit(cv.X, cv.nRows, cv.nCols, cv.y);
    const refitSeconds = (performance.now() - t1) / 1000;
    let evalScores: Float64Array;
    let evalLabels: Uint8Array;
    let heldOutMetrics: ClassifierOutcome['heldOut'];
    if (evalSet) {
      evalScores = model.decisionFunction(evalSet.X, evalSet.nRows);
      evalLabels = evalSet.y;
      heldOutMetrics = { n: evalSet.nRows, ...scoreDecisions(evalScores, evalLabels) };
    } else {
      evalScores = best.oof;
      evalLabels = cv.y;
    }
    const threshold = tuneThreshold(best.oof, cv.y, evalScores, evalLabels, opts.criterion, 0);
    const roc = rocCurve(evalScores, evalLabels);
    outcomes.push({
      kind,
      grid,
      scoring: opts.scoring,
      bestParams: model.params(),
      cv: { mean: best.mean, std: best.std, folds: best.folds },
      all: gs.all.map((r) => ({ params: r.params, mean: r.mean, std: r.std, seconds: r.seconds })),
      gridSeconds: gs.seconds,
      refitSeconds,
      heldOut: heldOutMetrics,
      threshold: { ...threshold, evaluatedOn: evalSet ? 'held-out' : 'out-of-fold' },
      roc: { ...roc, auc: scoreDecisions(evalScores, evalLabels).auc },
      evalScores,
      evalLabels,
      model: model.toJSON(),
    });
    log(
      `${kind}: best ${JSON.stringify(best.params)} — CV ${opts.scoring} ${best.mean[opts.scoring].toFixed(3)} ± ${best.std[opts.scoring].toFixed(3)}, ` +
        `AUC ${best.mean.auc.toFixed(3)}` +
        (heldOutMetrics ? `; held-out AUC ${heldOutMetrics.auc.toFixed(3)}, F1 ${heldOutMetrics.f1.toFixed(3)}` : '') +
        `; threshold (${criterionName(opts.criterion)}) ${threshold.tunedThreshold.toPrecision(4)} (grid ${gs.seconds.toFixed(1)} s)`,
    );
  }
  return {
    rows: data.nRows,
    cols: data.nCols,
    groups: { source: g.source, count: nGroups, unmatched: g.unmatched },
    split: { cvRows: cv.nRows, heldOutRows: evalSet?.nRows ?? 0, heldOut, folds: opts.folds },
    leakage,
    classifiers: outcomes,
    seconds: (performance.now() - t0) / 1000,
  };
}
