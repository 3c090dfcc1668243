/**
 * Grouped, stratified K-fold split (like scikit-learn's StratifiedGroupKFold): every identity group
 * lies wholly in one fold's test set — so no identity is in both the train and test rows of a fold —
 * and folds get about the same number of reals and fakes.
 *
 * Greedy assignment: groups in a seeded random order, then largest first; each goes to the fold
 * where it most reduces (least increases) the squared distance of that fold's per-class counts
 * from the per-class targets (total/k), ties to the smaller fold. Without groups every row is its own group (plain stratified K-fold).
 */
import seedrandom from 'seedrandom';
import { CrossValidationError } from './errors.ts';

export interface Fold {
  /** Row indices used for fitting. */
  train: Uint32Array;
  /** Row indices scored (no group shared with `train`). */
  test: Uint32Array;
}

export function groupedKFold(
  groups: ArrayLike<string> | undefined,
  labels: ArrayLike<number>,
  k: number,
  seed: number | string = 0,
): Fold[] {
  const n = labels.length;
  if (!Number.isInteger(k) || k < 2) throw new CrossValidationError(`folds must be an integer ≥ 2 (got ${k})`);
  if (groups && groups.length !== n) throw new CrossValidationError(`${groups.length} groups for ${n} labels`);
  // group → member rows and class counts
  const byGroup = new Map<string, { rows: number[]; count: [number, number] }>();
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l !== 0 && l !== 1) throw new CrossValidationError(`label ${i} is ${l}; labels must be 0 or 1`);
    const g = groups ? String(groups[i]) : `#${i}`;
    let e = byGroup.get(g);
    if (!e) byGroup.set(g, (e = { rows: [], count: [0, 0] }));
    e.rows.push(i);
    e.count[l]++;
  }
  const entries = [...byGroup.values()];
  if (entries.length < k) {
    throw new CrossValidationError(`${entries.length} group(s) cannot fill ${k} folds: use fewer folds or a finer --group-by`);
  }
  const rng = seedrandom(`groupedKFold:${seed}`);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  entries.sort((a, b) => b.rows.length - a.rows.length); // stable: the shuffle breaks ties
  const totals = [0, 0];
  for (const e of entries) {
    totals[0] += e.count[0];
    totals[1] += e.count[1];
  }
  const target = totals.map((t) => t / k);
  const foldCount = Array.from({ length: k }, () => [0, 0]);
  const foldOf = new Int32Array(n);
  for (const e of entries) {
    let best = 0;
    let bestCost = Infinity;
    let bestSize = Infinity;
    for (let f = 0; f < k; f++) {
      const c = foldCount[f]!;
      // change of the fold's squared (relative) distance from the per-class targets
      const dist = (a: number, b: number) => ((a - target[0]!) / Math.max(target[0]!, 1)) ** 2 + ((b - target[1]!) / Math.max(target[1]!, 1)) ** 2;
      const cost = dist(c[0]! + e.count[0], c[1]! + e.count[1]) - dist(c[0]!, c[1]!);
      const size = c[0]! + c[1]!;
      if (cost < bestCost - 1e-12 || (Math.abs(cost - bestCost) <= 1e-12 && size < bestSize)) {
        best = f;
        bestCost = cost;
        bestSize = size;
      }
    }
    foldCount[best]![0] += e.count[0];
    foldCount[best]![1] += e.count[1];
    for (const r of e.rows) foldOf[r] = best;
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? test : train).push(i);
    const [r, fk] = foldCount[f]!;
    if (r === 0 || fk === 0) {
      throw new CrossValidationError(
        `fold ${f + 1} of ${k} has ${r} real and ${fk} fake test images: the groups are too few or too one-sided to stratify; use fewer folds`,
      );
    }
    if (totals[0]! - r === 0 || totals[1]! - fk === 0) throw new CrossValidationError(`fold ${f + 1} leaves a single class to train on`);
    folds.push({ train: Uint32Array.from(train), test: Uint32Array.from(test) });
  }
  return folds;
}

/**
 * Identity group of each path: the first capture group of `pattern` (or the whole match), matched
 * against the path; a path that does not match becomes its own group (and is counted).
 */
export function groupsFromPaths(paths: readonly string[], pattern: string | RegExp): { groups: string[]; unmatched: number } {
  let re: RegExp;
  try {
    re = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
  } catch (e) {
    throw new CrossValidationError(`--group-by '${String(pattern)}' is not a valid regular expression: ${(e as Error).message}`);
  }
  let unmatched = 0;
  const groups = paths.map((p) => {
    const m = re.exec(p);
    if (!m) {
      unmatched++;
      return `path:${p}`;
    }
    return `g:${m[1] ?? m[0]}`;
  });
  return { groups, unmatched };
}

/**
 * One grouped, stratified split into (fit, holdout): the holdout is the test part of a
 * round(1/fraction)-fold split, so it shares no group with the fit part.
 */
export function groupedHoldout(groups: ArrayLike<string> | undefined, labels: ArrayLike<number>, fraction: number, seed: number | string = 0): Fold {
  if (!(fraction > 0 && fraction < 1)) throw new CrossValidationError(`holdout fraction must be in (0, 1) (got ${fraction})`);
  const k = Math.max(2, Math.round(1 / fraction));
  return groupedKFold(groups, labels, k, `holdout:${seed}`)[0]!;
}
