/**
 * `fdft classical` output: the seed paper's Table 1 (grid-searched classifiers, mean ± std over
 * grouped CV folds) and Table 2 (default vs tuned threshold) as Markdown and JSON, ROC and
 * metric-vs-threshold PNGs, and one saved model per (features, classifier).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import type { FoldMetrics } from './cv.ts';
import { slimExtractorInfo, saveClassicalModel } from './classicalModel.ts';
import type { ExtractorInfo } from './featureFile.ts';
import type { ClassicalRun, ClassifierOutcome } from './pipeline.ts';
import { criterionName, thresholdSweep } from './threshold.ts';

export interface LabelledRun {
  /** Row label, e.g. the feature file's name. */
  name: string;
  featuresPath: string;
  extractor: ExtractorInfo;
  run: ClassicalRun;
}

const CLASSIFIER_TITLES: Record<string, string> = { lr: 'Logistic regression', svc: 'SVC', rf: 'Random forest', xgb: 'XGBoost' };

const pm = (m: FoldMetrics, s: FoldMetrics, k: keyof FoldMetrics) => `${m[k].toFixed(3)} ± ${s[k].toFixed(3)}`;
const f3 = (v: number) => v.toFixed(3);

function paramsText(o: ClassifierOutcome): string {
  return Object.keys(o.grid)
    .filter((k) => k !== 'seed' || o.grid.seed!.length > 1)
    .map((k) => `${k}=${String(o.bestParams[k])}`)
    .join(', ');
}

export function classicalMarkdown(runs: LabelledRun[], opts: { scoring: string; folds: number; criterion: string }): string {
  const out: string[] = [];
  out.push(`### Grouped ${opts.folds}-fold CV, grid search scored by ${opts.scoring} (mean ± std over folds)`, '');
  out.push('| features | classifier | best parameters | AUC | recall | F1 | accuracy | precision | grid time |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    for (const o of r.run.classifiers) {
      const { mean, std } = o.cv;
      out.push(
        `| ${r.name} | ${CLASSIFIER_TITLES[o.kind] ?? o.kind} | ${paramsText(o)} | ${pm(mean, std, 'auc')} | ${pm(mean, std, 'recall')} | ${pm(mean, std, 'f1')} | ${pm(mean, std, 'accuracy')} | ${pm(mean, std, 'precision')} | ${o.gridSeconds.toFixed(1)} s (${o.all.length} × ${opts.folds} fits) |`,
      );
    }
  }
  const held = runs.filter((r) => r.run.split.heldOutRows > 0);
  if (held.length) {
    out.push('', '### Held-out evaluation of the refit best model (default threshold)', '');
    out.push('| features | classifier | n | AUC | accuracy | precision | recall | F1 |');
    out.push('|---|---|---|---|---|---|---|---|');
    for (const r of held) {
      for (const o of r.run.classifiers) {
        const h = o.heldOut!;
        out.push(`| ${r.name} | ${CLASSIFIER_TITLES[o.kind] ?? o.kind} | ${h.n} | ${f3(h.auc)} | ${f3(h.accuracy)} | ${f3(h.precision)} | ${f3(h.recall)} | ${f3(h.f1)} |`);
      }
    }
  }
  out.push('', `### Threshold tuning (criterion: ${opts.criterion}; tuned on out-of-fold decision values)`, '');
  out.push('| features | classifier | evaluated on | threshold | accuracy | precision | recall | F1 |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    for (const o of r.run.classifiers) {
      const t = o.threshold;
      const where = t.evaluatedOn === 'held-out' ? `held-out (${r.run.split.heldOutRows})` : 'out-of-fold (optimistic)';
      for (const [label, p] of [[`default ${t.defaultThreshold}`, t.atDefault], [`tuned ${t.tunedThreshold.toPrecision(4)}`, t.atTuned]] as const) {
        out.push(`| ${r.name} | ${CLASSIFIER_TITLES[o.kind] ?? o.kind} | ${where} | ${label} | ${f3(p.accuracy)} | ${f3(p.precision)} | ${f3(p.recall)} | ${f3(p.f1)} |`);
      }
    }
  }
  out.push('');
  for (const r of runs) {
    for (const c of r.run.leakage) out.push(`- ${r.name}: leakage guard ${c.status}: ${c.message}`);
    out.push(`- ${r.name}: ${r.run.rows} images × ${r.run.cols} features, groups: ${r.run.groups.source} (${r.run.groups.count}), total ${r.run.seconds.toFixed(1)} s`);
  }
  return out.join('\n') + '\n';
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Write results.md, results.json, PNGs and models into `dir`; returns the files written. */
export async function writeClassicalReport(
  dir: string,
  runs: LabelledRun[],
  opts: { scoring: string; folds: number; criterion: string; charts: boolean; log?: (m: string) => void },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const md = classicalMarkdown(runs, opts);
  await writeFile(join(dir, 'results.md'), md);
  files.push(join(dir, 'results.md'));
  const json = runs.map((r) => ({
    name: r.name,
    features: r.featuresPath,
    extractor: slimExtractorInfo(r.extractor),
    ...r.run,
    classifiers: r.run.classifiers.map(({ evalScores: _s, evalLabels: _l, model: _m, roc: _r, ...rest }) => rest),
  }));
  await writeJsonAtomic(join(dir, 'results.json'), { scoring: opts.scoring, folds: opts.folds, criterion: opts.criterion, runs: json });
  files.push(join(dir, 'results.json'));
  for (const r of runs) {
    for (const o of r.run.classifiers) {
      const p = join(dir, `model-${safe(r.name)}-${o.kind}.json`);
      await saveClassicalModel(p, {
        extractor: slimExtractorInfo(r.extractor),
        classifier: o.model,
        nCols: r.run.cols,
        threshold: { default: o.threshold.defaultThreshold, tuned: o.threshold.tunedThreshold, criterion: criterionName(o.threshold.criterion) },
        trainedOn: { features: r.featuresPath, rows: r.run.split.cvRows },
      });
      files.push(p);
    }
  }
  if (opts.charts) {
    const { rocChartPng, thresholdChartPng } = await import('../report/charts.ts');
    for (const r of runs) {
      if (!r.run.classifiers.length) continue;
      const where = r.run.split.heldOutRows ? 'held-out' : 'out-of-fold';
      const roc = await rocChartPng(
        r.run.classifiers.map((o) => ({ name: CLASSIFIER_TITLES[o.kind] ?? o.kind, fpr: o.roc.fpr, tpr: o.roc.tpr, auc: o.roc.auc })),
        { title: `ROC — ${r.name} (${where})` },
      );
      const rp = join(dir, `roc-${safe(r.name)}.png`);
      await writeFile(rp, roc);
      files.push(rp);
      for (const o of r.run.classifiers) {
        const sweep = thresholdSweep(o.evalScores, o.evalLabels);
        const png = await thresholdChartPng(
          {
            thresholds: sweep.thresholds,
            metrics: sweep.metrics,
            title: `${CLASSIFIER_TITLES[o.kind] ?? o.kind} — ${r.name} (${where} decision values)`,
            markers: [
              { name: 'default', value: o.threshold.defaultThreshold },
              { name: `tuned (${criterionName(o.threshold.criterion)})`, value: o.threshold.tunedThreshold },
            ],
          },
          {},
        );
        const tp = join(dir, `threshold-${safe(r.name)}-${o.kind}.png`);
        await writeFile(tp, png);
        files.push(tp);
      }
    }
  }
  return files;
}
