/**
 * Classical baseline speed: wall and CPU time of each classifier's default grid search (5-fold
 * grouped CV, every combination of DEFAULT_GRIDS) on 2000 × 768 synthetic "CNN features"
 * (non-negative, correlated: ReLU of 16 latent factors, fakes shifted on 3 of them; 400
 * identities × 5 images). libsvm, XGBoost (wasm) and the L-BFGS logistic regression all run on
 * ONE thread, so CPU time is what the wall time would be on an otherwise idle machine; both are
 * printed because the 2-core development machine is shared.
 *
 * Env: FDFT_BENCH_CLASSIFIERS=lr,svc  FDFT_BENCH_ROWS=2000  FDFT_BENCH_COLS=768  FDFT_BENCH_FOLDS=5
 *      FDFT_BENCH_GRID='{"svc":{"kernel":["linear"],"C":[1]}}' (replaces those grids)
 */
import seedrandom from 'seedrandom';
import { CLASSIFIER_NAMES, type ClassifierName } from '../src/classical/classifier.ts';
import { gridSearch } from '../src/classical/gridSearch.ts';
import { groupedKFold } from '../src/classical/groupedKFold.ts';
import { DEFAULT_GRIDS, expandGrid, type ParamGrid } from '../src/classical/registry.ts';
import { peakRssMiB } from './peakRss.ts';

function syntheticFeatures(nRows: number, nCols: number, seed = 'classical-bench') {
  const rng = seedrandom(seed);
  const gauss = () => {
    let u = 0;
    while (u === 0) u = rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const L = 16;
  const W = Float32Array.from({ length: nCols * L }, gauss);
  const X = new Float32Array(nRows * nCols);
  const y = new Uint8Array(nRows);
  const groups: string[] = [];
  for (let i = 0; i < nRows; i++) {
    const id = Math.floor(i / 5);
    y[i] = id % 2; // an identity is all real or all fake
    groups.push(`id${id}`);
    const z = Array.from({ length: L }, (_, k) => gauss() + (k < 3 && y[i] ? 0.6 : 0));
    for (let j = 0; j < nCols; j++) {
      let s = 0.5 * gauss();
      for (let k = 0; k < L; k++) s += W[j * L + k]! * z[k]! * 0.3;
      X[i * nCols + j] = Math.max(0, s);
    }
  }
  return { X, y, nRows, nCols, groups };
}

export default async function bench(): Promise<void> {
  const rows = Number(process.env.FDFT_BENCH_ROWS ?? 2000);
  const cols = Number(process.env.FDFT_BENCH_COLS ?? 768);
  const k = Number(process.env.FDFT_BENCH_FOLDS ?? 5);
  const kinds = (process.env.FDFT_BENCH_CLASSIFIERS ?? CLASSIFIER_NAMES.join(',')).split(',').map((s) => s.trim()) as ClassifierName[];
  const override = process.env.FDFT_BENCH_GRID ? (JSON.parse(process.env.FDFT_BENCH_GRID) as Partial<Record<ClassifierName, ParamGrid>>) : {};
  const data = syntheticFeatures(rows, cols);
  const folds = groupedKFold(data.groups, data.y, k, 0);
  console.log(`${rows} × ${cols} synthetic features, ${k}-fold grouped CV (${rows / 5} identities), scoring F1, one thread per fit.\n`);
  console.log('| classifier | grid | fits | wall (s) | CPU (s) | CPU s / fit | best parameters | CV AUC | CV F1 | peak RSS (MiB) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const kind of kinds) {
    const grid = override[kind] ?? DEFAULT_GRIDS[kind];
    const combos = expandGrid(grid).length;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const g = await gridSearch(kind, grid, data, folds, 'f1', (r, i, n) =>
      process.stderr.write(`  ${kind} ${i + 1}/${n} ${JSON.stringify(r.params)} ${r.seconds.toFixed(1)} s\n`),
    );
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const gridText = Object.entries(grid).map(([p, v]) => `${p} ∈ {${v.join(', ')}}`).join('; ');
    const best = Object.entries(g.best.params).map(([p, v]) => `${p}=${v}`).join(', ');
    console.log(
      `| ${kind} | ${gridText} | ${combos * k} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} | ${(cpu / (combos * k)).toFixed(2)} | ${best} | ${g.best.mean.auc.toFixed(3)} ± ${g.best.std.auc.toFixed(3)} | ${g.best.mean.f1.toFixed(3)} ± ${g.best.std.f1.toFixed(3)} | ${peakRssMiB().toFixed(0)} |`,
    );
  }
}
