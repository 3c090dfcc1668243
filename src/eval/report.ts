/**
 * The output folder of one evaluation (`fdft eval`, a test split of an experiment, a classical
 * classifier):
 *
 *   metrics.json   EvalMetrics + title + caller's `extra` (model, dataset, backend …) + ROC points
 *                  (simplified to ≤ ~1000 for plotting; scores.csv has everything)
 *   summary.md     every number as Markdown tables, confusion matrices, per-class counts, charts
 *   roc.png        ROC curve with its AUC
 *   histogram.png  real vs fake score distributions, with the 0.5 and EER thresholds
 *   scores.csv     path,label,score per image (label 0 real, 1 fake; score = P(fake))
 *
 * Each file is written atomically (temp + fsync + rename), so an interrupted run never leaves a
 * truncated metrics.json that a later report would read as valid.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { markdownTable, formatCell, ReportError, type Cell } from '../report/html.ts';
import { histogramPng, rocChartPng, simplifyPolyline } from '../report/charts.ts';
import { rocCurve, type EvalMetrics, type OperatingPoint } from './metrics.ts';

export { ReportError };

export interface EvalReportInput {
  metrics: EvalMetrics;
  /** Per-image fake scores, in the same order as `labels` (and `paths`). */
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** Image paths for scores.csv; left empty there when absent. */
  paths?: string[];
  title: string;
  /** Anything that identifies the run (model dir, dataset, backend, seed …); goes into metrics.json and summary.md. */
  extra?: Record<string, unknown>;
}

export interface EvalReportFiles {
  metricsJson: string;
  summaryMd: string;
  rocPng: string;
  histogramPng: string;
  scoresCsv: string;
}

/** One CSV field per RFC 4180: quoted when it holds a comma, quote, CR/LF or edge spaces. */
function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** scores.csv text: `path,label,score`, scores at full precision (round-trips exactly). */
export function scoresCsv(scores: ArrayLike<number>, labels: ArrayLike<number>, paths?: string[]): string {
  const lines = ['path,label,score'];
  for (let i = 0; i < scores.length; i++) lines.push(`${csvField(paths?.[i] ?? '')},${labels[i]},${scores[i]}`);
  return lines.join('\n') + '\n';
}

function extraValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return formatCell(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function pointRow(name: string, p: OperatingPoint): Cell[] {
  return [name, p.threshold, p.accuracy, p.balancedAccuracy, p.precision, p.recall, p.f1];
}

function confusionTable(p: OperatingPoint): string {
  const c = p.confusion;
  return markdownTable(
    ['actual ↓ / predicted →', 'real', 'fake', 'total'],
    [
      ['real', c.tn, c.fp, c.tn + c.fp],
      ['fake', c.fn, c.tp, c.fn + c.tp],
    ],
  );
}

/** The whole summary.md text. */
export function summaryMarkdown(title: string, m: EvalMetrics, extra?: Record<string, unknown>): string {
  const out: string[] = [`# ${title.replace(/\r?\n/g, ' ')}`, ''];
  if (extra && Object.keys(extra).length) {
    out.push(markdownTable(['run', 'value'], Object.entries(extra).map(([k, v]) => [k, extraValue(v)])), '');
  }
  out.push(
    '## Metrics',
    '',
    markdownTable(
      ['metric', 'value'],
      [
        ['images', m.n],
        ['AUROC', m.auroc],
        ['average precision', m.averagePrecision],
        ['EER', m.eer],
        ['EER threshold', m.eerThreshold],
        ['accuracy @ 0.5', m.accuracy],
      ],
    ),
    '',
    '## Per-class counts',
    '',
    markdownTable(
      ['class', 'label', 'images', 'share'],
      [
        ['real', 0, m.counts.real, m.counts.real / m.n],
        ['fake', 1, m.counts.fake, m.counts.fake / m.n],
      ],
    ),
    '',
    '## Operating points',
    '',
    'Predicted fake when score ≥ threshold. Recall is on fakes (true-positive rate).',
    '',
    markdownTable(
      ['operating point', 'threshold', 'accuracy', 'balanced acc.', 'precision', 'recall', 'F1'],
      [pointRow('threshold 0.5', m.at05), pointRow('EER threshold', m.atEer)],
    ),
    '',
    '### Confusion matrix @ 0.5',
    '',
    confusionTable(m.at05),
    '',
    `### Confusion matrix @ EER threshold (${formatCell(m.atEer.threshold)})`,
    '',
    confusionTable(m.atEer),
    '',
    '## Charts',
    '',
    '![ROC curve](roc.png)',
    '',
    '![Score histogram](histogram.png)',
    '',
  );
  return out.join('\n');
}

/** A compact aligned table for the terminal (`fdft eval` without --json). */
export function formatMetricsTable(m: EvalMetrics): string {
  const f = (v: number) => formatCell(v);
  const lines = [
    `images      ${m.n}  (${m.counts.real} real, ${m.counts.fake} fake)`,
    `AUROC       ${f(m.auroc)}`,
    `AP          ${f(m.averagePrecision)}`,
    `EER         ${f(m.eer)}  (threshold ${f(m.eerThreshold)})`,
    '',
  ];
  const headers = ['', 'threshold', 'accuracy', 'bal.acc', 'precision', 'recall', 'F1', 'TP', 'FP', 'TN', 'FN'];
  const rows = [
    ['@ 0.5', m.at05],
    ['@ EER', m.atEer],
  ].map(([name, p]) => {
    const op = p as OperatingPoint;
    const c = op.confusion;
    return [name as string, f(op.threshold), f(op.accuracy), f(op.balancedAccuracy), f(op.precision), f(op.recall), f(op.f1), `${c.tp}`, `${c.fp}`, `${c.tn}`, `${c.fn}`];
  });
  const widths = headers.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const fmt = (cells: string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd();
  lines.push(fmt(headers), ...rows.map(fmt));
  return lines.join('\n');
}

function checkInput(input: EvalReportInput): void {
  if (!input || !input.metrics) throw new ReportError('writeEvalReport needs metrics (from evaluateScores)');
  const { scores, labels, paths, metrics } = input;
  if (!scores || !labels || scores.length !== labels.length) {
    throw new ReportError(`scores and labels differ in length (${scores?.length} vs ${labels?.length})`);
  }
  if (scores.length !== metrics.n) {
    throw new ReportError(`metrics were computed on ${metrics.n} images but ${scores.length} scores were given`);
  }
  if (paths && paths.length !== scores.length) throw new ReportError(`${paths.length} paths for ${scores.length} scores`);
  if (typeof input.title !== 'string' || input.title.trim() === '') throw new ReportError('writeEvalReport needs a title');
}

/** Write the five report files into `dir` (created if missing); returns their paths. */
export async function writeEvalReport(dir: string, input: EvalReportInput): Promise<EvalReportFiles> {
  checkInput(input);
  const { metrics, scores, labels, paths, title, extra } = input;
  const roc = rocCurve(scores, labels);
  const pts = simplifyPolyline(roc.fpr, roc.tpr); // for plotting; exact values come from scores.csv
  const [rocPng, histPng] = await Promise.all([
    rocChartPng([{ name: title, fpr: roc.fpr, tpr: roc.tpr, auc: metrics.auroc }], { title: `ROC — ${title}` }),
    histogramPng({
      scores,
      labels,
      title: `Scores — ${title}`,
      markers: [
        { name: '0.5', value: 0.5 },
        { name: 'EER thr.', value: metrics.eerThreshold },
      ],
    }),
  ]);
  const files: EvalReportFiles = {
    metricsJson: join(dir, 'metrics.json'),
    summaryMd: join(dir, 'summary.md'),
    rocPng: join(dir, 'roc.png'),
    histogramPng: join(dir, 'histogram.png'),
    scoresCsv: join(dir, 'scores.csv'),
  };
  // Data first, metrics.json last: its presence means the folder is complete.
  await writeFileAtomic(files.scoresCsv, scoresCsv(scores, labels, paths));
  await writeFileAtomic(files.rocPng, rocPng);
  await writeFileAtomic(files.histogramPng, histPng);
  await writeFileAtomic(files.summaryMd, summaryMarkdown(title, metrics, extra));
  await writeJsonAtomic(files.metricsJson, { title, ...(extra ? { extra } : {}), metrics, roc: { fpr: pts.x, tpr: pts.y } });
  return files;
}
