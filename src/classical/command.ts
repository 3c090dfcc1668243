/** The `fdft classical` handler: options → runClassical per feature file → report. */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { CLASSIFIER_NAMES, type ClassifierName } from './classifier.ts';
import { ClassifierError, CrossValidationError } from './errors.ts';
import { readFeatureFile } from './featureFile.ts';
import { isScoring } from './gridSearch.ts';
import { runClassical } from './pipeline.ts';
import { type ParamGrid, isClassifierName } from './registry.ts';
import { type LabelledRun, classicalMarkdown, writeClassicalReport } from './report.ts';
import { criterionName, parseCriterion } from './threshold.ts';

export interface ClassicalCommandArgs {
  features?: string[];
  /** Embed --data with each of these extractors first (the features are saved in `out`). */
  extractor?: string[];
  data?: string;
  split?: string;
  cacheDir?: string;
  checkpoints?: string;
  classifiers: string;
  folds: number;
  groupBy?: string;
  scoring: string;
  grid?: string;
  holdout: number;
  testFeatures?: string;
  criterion: string;
  seed: number;
  allowLeak: boolean;
  out: string;
  charts: boolean;
  quiet: boolean;
  json: boolean;
}

export function parseClassifierList(s: string): ClassifierName[] {
  const names = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  if (!names.length) throw new ClassifierError('--classifiers is empty');
  for (const n of names) if (!isClassifierName(n)) throw new ClassifierError(`unknown classifier '${n}' (use ${CLASSIFIER_NAMES.join(', ')})`);
  return [...new Set(names)] as ClassifierName[];
}

export async function parseGridOption(s: string | undefined): Promise<Partial<Record<ClassifierName, ParamGrid>> | undefined> {
  if (!s) return undefined;
  const text = s.trim().startsWith('{') ? s : await readFile(s, 'utf8').catch((e: Error) => {
    throw new ClassifierError(`--grid: not JSON and not a readable file (${e.message})`);
  });
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (e) {
    throw new ClassifierError(`--grid is not valid JSON: ${(e as Error).message}`);
  }
  if (!g || typeof g !== 'object') throw new ClassifierError('--grid must be an object {classifier: {param: [values]}}');
  for (const [k, v] of Object.entries(g)) {
    if (!isClassifierName(k)) throw new ClassifierError(`--grid: unknown classifier '${k}'`);
    if (!v || typeof v !== 'object') throw new ClassifierError(`--grid.${k} must be {param: [values]}`);
    for (const [p, vals] of Object.entries(v as object)) {
      if (!Array.isArray(vals) || !vals.length) throw new ClassifierError(`--grid.${k}.${p} must be a non-empty array of values`);
    }
  }
  return g as Partial<Record<ClassifierName, ParamGrid>>;
}

export async function runClassicalCommand(argv: ClassicalCommandArgs): Promise<LabelledRun[]> {
  const log = argv.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
  const warn = (m: string) => process.stderr.write(m + '\n');
  const files = [...(argv.features ?? [])];
  if (argv.extractor?.length) {
    if (!argv.data) throw new CrossValidationError('--extractor needs --data (the images to embed)');
    const { extractFeatureFile } = await import('./featureExtraction.ts');
    const { DEFAULT_CACHE_DIR } = await import('../train/runData.ts');
    await mkdir(argv.out, { recursive: true });
    for (const [i, source] of argv.extractor.entries()) {
      const out = join(argv.out, `features-${i + 1}-${basename(source).replace(/[^A-Za-z0-9._-]+/g, '_')}.feat`);
      const r = await extractFeatureFile({
        source,
        data: argv.data,
        out,
        split: (argv.split ?? 'all') as never,
        groupBy: argv.groupBy,
        checkpointsRoot: argv.checkpoints,
        cacheDir: argv.cacheDir ?? join(process.cwd(), DEFAULT_CACHE_DIR),
        log,
      });
      log(`${out}: ${r.rows} × ${r.cols} features in ${r.seconds.toFixed(1)} s`);
      files.push(out);
    }
  }
  if (!files.length) throw new CrossValidationError('name at least one feature file (--features FILE, written by fdft features) or --extractor with --data');
  if (!isScoring(argv.scoring)) throw new CrossValidationError(`unknown --scoring '${argv.scoring}'`);
  const classifiers = parseClassifierList(argv.classifiers);
  const grids = await parseGridOption(argv.grid);
  const criterion = parseCriterion(argv.criterion);
  const testFeatures = argv.testFeatures ? await readFeatureFile(argv.testFeatures) : undefined;
  const runs: LabelledRun[] = [];
  const names = new Set<string>();
  for (const path of files) {
    const file = await readFeatureFile(path);
    let name = basename(path, extname(path));
    while (names.has(name)) name += '+';
    names.add(name);
    log(`== ${name}`);
    const run = await runClassical(file, {
      classifiers,
      grids,
      folds: argv.folds,
      groupBy: argv.groupBy,
      scoring: argv.scoring,
      seed: argv.seed,
      holdout: argv.holdout,
      testFeatures,
      criterion,
      allowLeak: argv.allowLeak,
      log,
      warn,
    });
    runs.push({ name, featuresPath: path, extractor: file.header.extractor, run });
  }
  const opts = { scoring: argv.scoring, folds: argv.folds, criterion: criterionName(criterion) };
  const written = await writeClassicalReport(argv.out, runs, { ...opts, charts: argv.charts, log });
  if (argv.json) {
    console.log(JSON.stringify({ out: argv.out, files: written, runs: runs.map((r) => ({ name: r.name, classifiers: r.run.classifiers.map((o) => ({ kind: o.kind, bestParams: o.bestParams, cv: { mean: o.cv.mean, std: o.cv.std }, heldOut: o.heldOut, threshold: { tuned: o.threshold.tunedThreshold, atDefault: o.threshold.atDefault, atTuned: o.threshold.atTuned }, gridSeconds: o.gridSeconds })) })) }));
  } else {
    console.log(classicalMarkdown(runs, opts));
    console.log(`written: ${argv.out}/ (results.md, results.json, ${written.filter((f) => f.endsWith('.png')).length} PNG, ${written.filter((f) => /model-.*\.json$/.test(f)).length} models)`);
  }
  return runs;
}
