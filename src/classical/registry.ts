/**
 * Classifier factory, loader and the default hyper-parameter grids of `fdft classical`
 * (issue: LR / SVC C over a log grid, SVC linear and RBF; RF trees, depth, min samples per leaf;
 * XGBoost trees, depth, learning rate, column-sample fraction).
 */
import { CLASSIFIER_NAMES, type Classifier, type ClassifierName, type SerializedClassifier } from './classifier.ts';
import { ClassifierError } from './errors.ts';
import { LogisticRegression } from './classifiers/logisticRegression.ts';
import { RandomForest } from './classifiers/randomForest.ts';
import { SVC } from './classifiers/svc.ts';
import { XGBoostClassifier } from './classifiers/xgboost.ts';

export type ParamValue = number | string | boolean;
export type ParamSet = Record<string, ParamValue>;
/** Each key lists the values to try; the grid is their Cartesian product. */
export type ParamGrid = Record<string, ParamValue[]>;

export function isClassifierName(s: string): s is ClassifierName {
  return (CLASSIFIER_NAMES as readonly string[]).includes(s);
}

export async function createClassifier(kind: string, params: ParamSet = {}): Promise<Classifier> {
  switch (kind) {
    case 'lr':
      return new LogisticRegression(params);
    case 'svc':
      return SVC.create(params);
    case 'rf':
      return RandomForest.create(params);
    case 'xgb':
      return XGBoostClassifier.create(params);
    default:
      throw new ClassifierError(`unknown classifier '${kind}' (use ${CLASSIFIER_NAMES.join(', ')})`);
  }
}

export async function classifierFromJSON(s: SerializedClassifier): Promise<Classifier> {
  if (!s || typeof s !== 'object' || typeof s.kind !== 'string' || !s.state) throw new ClassifierError('not a saved classifier (kind/params/state missing)');
  switch (s.kind) {
    case 'lr':
      return LogisticRegression.fromJSON(s);
    case 'svc':
      return SVC.fromJSON(s);
    case 'rf':
      return RandomForest.fromJSON(s);
    case 'xgb':
      return XGBoostClassifier.fromJSON(s);
    default:
      throw new ClassifierError(`unknown saved classifier kind '${String(s.kind)}'`);
  }
}

/**
 * Default grids, sized so that the four grid searches with 5-fold CV on 2000 × 768 features finish
 * in minutes on 2 CPU cores (see BENCHMARKS.md); pass your own grid for a wider search.
 */
export const DEFAULT_GRIDS: Record<ClassifierName, ParamGrid> = {
  lr: { C: [1e-3, 1e-2, 1e-1, 1, 10, 100] },
  svc: { kernel: ['linear', 'rbf'], C: [1e-2, 1e-1, 1] },
  rf: { nEstimators: [100, 300], maxDepth: [8, 16], minSamplesLeaf: [1, 5] },
  xgb: { nEstimators: [50, 150], maxDepth: [2, 4], learningRate: [0.1, 0.3], colsampleBytree: [0.2, 0.5] },
};

/** All parameter combinations of a grid, in a stable order (first key varies slowest). */
export function expandGrid(grid: ParamGrid): ParamSet[] {
  let out: ParamSet[] = [{}];
  for (const [k, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) throw new ClassifierError(`grid: '${k}' must list at least one value`);
    out = out.flatMap((p) => values.map((v) => ({ ...p, [k]: v })));
  }
  return out;
}
