/**
 * The experiment report (`reports/<name>/`): the paper's Table 5 (ACC % and AUROC % per dataset for
 * each baseline and FDFtNet row, best in bold, gains over the baseline marked), the paper's
 * published numbers beside ours, the Table 6 ablation (with/without FTT and the difference), ROC
 * curves per cell, training curves, run settings, seeds, wall times, machine and backend.
 * Every number comes from the runs' own `eval-test/metrics.json` — nothing is typed in.
 * Numbers of models that are degenerate or at chance on the test split (./degenerate.ts) carry a
 * † and a footnote, and no gain or Δ is computed from them: those would compare noise.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import type { Experiment, Variant } from './schema.ts';
import type { CellOutcome } from './runner.ts';
import { meanStd, type EvalMetrics } from '../eval/metrics.ts';
import { degenerateFindings, CHANCE_ALPHA, type DegenerateFinding, type TableMetric } from './degenerate.ts';

export const VARIANT_LABEL: Record<Variant, string> = {
  baseline: 'Baseline',
  fdftnet: 'FDFtNet',
  'fdftnet-noftt': 'FDFtNet w/o FTT',
};

export interface CellResult {
  dataset: string;
  backbone: string;
  variant: Variant;
  /** One entry per finished seed. */
  runs: {
    seed: number;
    runDir: string;
    accuracy: number;
    auroc: number;
    eer: number;
    seconds: number;
    epochs: number;
    /** Why this run's test result measures nothing; empty when it is a real result. */
    degenerate: DegenerateFinding[];
  }[];
  /** Mean and sample std over seeds, in %. */
  acc?: { mean: number; std: number };
  auroc?: { mean: number; std: number };
  status: 'finished' | 'partial' | 'missing';
  reason?: string;
}

export interface ExperimentResults {
  experiment: string;
  file?: string;
  generatedAt: string;
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string };
  backend?: string;
  seeds: number[];
  cells: CellResult[];
  ablation: {
    dataset: string;
    backbone: string;
    with: CellResult;
    without: CellResult;
    dAcc?: number;
    dAuroc?: number;
    /** False where either model is degenerate or at chance on that metric: the Δ is not a finding. */
    meaningful: Record<TableMetric, boolean>;
  }[];
}

/** Marks a number whose model measures nothing on the test split; explained in a footnote. */
export const DEGENERATE_MARK = '†';

/** Whether any seed of the cell is degenerate or at chance on this metric. */
export function isDegenerate(c: CellResult | undefined, metric: TableMetric): boolean {
  return !!c?.runs.some((run) => run.degenerate.some((f) => f.voids.includes(metric)));
}

/** A change in points; one that rounds to zero has no direction and reads ±0.00. */
export function formatChange(change: number, style: 'arrow' | 'sign'): string {
  const size = Math.abs(change).toFixed(2);
  if (Number(size) === 0) return `±${size}`;
  if (style === 'arrow') return change > 0 ? `▲${size}` : `▼${size}`;
  return change > 0 ? `+${size}` : `-${size}`;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function collectResults(exp: Experiment, outcomes: CellOutcome[], seeds: number[]): Promise<ExperimentResults> {
  const cells: CellResult[] = [];
  let backend: string | undefined;
  for (const d of exp.datasets) {
    for (const backbone of exp.backbones) {
      for (const variant of exp.variants) {
        const mine = outcomes.filter((o) => o.dataset === d.name && o.backbone === backbone && o.variant === variant);
        const runs: CellResult['runs'] = [];
        for (const o of mine) {
          if (o.status !== 'finished' || !o.runDir) continue;
          const m = (await readJson<{ metrics: EvalMetrics }>(join(o.runDir, 'eval-test', 'metrics.json')))?.metrics;
          const info = await readJson<{ seconds?: number; epochsCompleted?: number; engine?: { backend?: string } }>(join(o.runDir, 'run.json'));
          if (!m) continue;
          const scores = await readScores(o.runDir);
          backend ??= info?.engine?.backend;
          runs.push({
            seed: o.seed,
            runDir: o.runDir,
            accuracy: m.accuracy * 100,
            auroc: m.auroc * 100,
            eer: m.eer * 100,
            seconds: info?.seconds ?? 0,
            epochs: info?.epochsCompleted ?? 0,
            degenerate: degenerateFindings(m, scores?.scores),
          });
        }
        const reason = mine.find((o) => o.reason)?.reason;
        cells.push({
          dataset: d.name,
          backbone,
          variant,
          runs,
          acc: runs.length ? meanStd(runs.map((r) => r.accuracy)) : undefined,
          auroc: runs.length ? meanStd(runs.map((r) => r.auroc)) : undefined,
          status: runs.length === 0 ? 'missing' : runs.length < seeds.length ? 'partial' : 'finished',
          reason,
        });
      }
    }
  }
  const ablation: ExperimentResults['ablation'] = [];
  for (const d of exp.datasets) {
    for (const backbone of exp.backbones) {
      const w = cells.find((c) => c.dataset === d.name && c.backbone === backbone && c.variant === 'fdftnet');
      const wo = cells.find((c) => c.dataset === d.name && c.backbone === backbone && c.variant === 'fdftnet-noftt');
      if (!w || !wo) continue;
      ablation.push({
        dataset: d.name,
        backbone,
        with: w,
        without: wo,
        dAcc: w.acc && wo.acc ? w.acc.mean - wo.acc.mean : undefined,
        dAuroc: w.auroc && wo.auroc ? w.auroc.mean - wo.auroc.mean : undefined,
        meaningful: {
          acc: !isDegenerate(w, 'acc') && !isDegenerate(wo, 'acc'),
          auroc: !isDegenerate(w, 'auroc') && !isDegenerate(wo, 'auroc'),
        },
      });
    }
  }
  return {
    experiment: exp.name,
    file: exp.file,
    generatedAt: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()}-${os.arch()}`,
      node: process.version,
    },
    backend,
    seeds,
    cells,
    ablation,
  };
}

const fmt = (v: { mean: number; std: number } | undefined, n: number) =>
  v === undefined ? '—' : n > 1 ? `${v.mean.toFixed(2)} ± ${v.std.toFixed(2)}` : v.mean.toFixed(2);

interface TableModel {
  headers: string[];
  rows: string[][];
  bold: boolean[][];
}

/** Table 5 in the paper's shape: one row per (variant, backbone), ACC/AUROC columns per dataset. */
export function table5(exp: Experiment, r: ExperimentResults): TableModel {
  const datasets = exp.datasets.map((d) => d.name);
  const headers = ['Model', 'Backbone', ...datasets.flatMap((d) => [`${d} ACC %`, `${d} AUROC %`])];
  const rowsKey: { variant: Variant; backbone: string }[] = [];
  for (const variant of exp.variants) for (const backbone of exp.backbones) rowsKey.push({ variant, backbone });
  const get = (d: string, b: string, v: Variant) => r.cells.find((c) => c.dataset === d && c.backbone === b && c.variant === v);
  // Best value per column (bold), among the models that measure something.
  const best: Record<string, number> = {};
  for (const d of datasets) {
    for (const metric of ['acc', 'auroc'] as const) {
      const vals = rowsKey
        .map((k) => get(d, k.backbone, k.variant))
        .filter((c) => !isDegenerate(c, metric))
        .map((c) => c?.[metric]?.mean)
        .filter((x): x is number => x !== undefined);
      if (vals.length) best[`${d}/${metric}`] = Math.max(...vals);
    }
  }
  const n = r.seeds.length;
  const rows: string[][] = [];
  const bold: boolean[][] = [];
  for (const k of rowsKey) {
    const row = [VARIANT_LABEL[k.variant], k.backbone];
    const b = [false, false];
    for (const d of datasets) {
      const c = get(d, k.backbone, k.variant);
      const base = get(d, k.backbone, 'baseline');
      for (const metric of ['acc', 'auroc'] as const) {
        const v = c?.[metric]?.mean;
        const bv = base?.[metric]?.mean;
        const degenerate = isDegenerate(c, metric);
        let text = fmt(c?.[metric], n) + (degenerate ? DEGENERATE_MARK : '');
        if (k.variant !== 'baseline' && v !== undefined && bv !== undefined && !degenerate && !isDegenerate(base, metric)) {
          text += ` (${formatChange(v - bv, 'arrow')})`;
        }
        if (c?.status === 'missing') text = c.reason?.includes('no path') ? 'n/a' : '—';
        row.push(text);
        b.push(v !== undefined && !degenerate && v === best[`${d}/${metric}`]);
      }
    }
    rows.push(row);
    bold.push(b);
  }
  return { headers, rows, bold };
}

/** The paper's own numbers where the experiment file carries them. */
export function paperTable(exp: Experiment): TableModel | undefined {
  const rows: string[][] = [];
  for (const d of exp.datasets) {
    for (const [cell, v] of Object.entries(d.paper ?? {})) {
      if (!v) continue;
      const [variant, backbone] = cell.split('/');
      rows.push([d.name, VARIANT_LABEL[variant as Variant] ?? variant!, backbone ?? '', v.acc?.toFixed(2) ?? '—', v.auroc?.toFixed(2) ?? '—']);
    }
  }
  if (!rows.length) return undefined;
  return { headers: ['Dataset', 'Model', 'Backbone', 'paper ACC %', 'paper AUROC %'], rows, bold: rows.map(() => []) };
}

export function ablationTable(r: ExperimentResults): TableModel | undefined {
  if (!r.ablation.length) return undefined;
  const n = r.seeds.length;
  const value = (c: CellResult, metric: TableMetric) => fmt(c[metric], n) + (c[metric] && isDegenerate(c, metric) ? DEGENERATE_MARK : '');
  const change = (d: number | undefined, meaningful: boolean) => (d === undefined ? '—' : meaningful ? formatChange(d, 'sign') : 'not meaningful');
  const rows = r.ablation.map((a) => [
    a.dataset,
    a.backbone,
    value(a.with, 'acc'),
    value(a.without, 'acc'),
    change(a.dAcc, a.meaningful.acc),
    value(a.with, 'auroc'),
    value(a.without, 'auroc'),
    change(a.dAuroc, a.meaningful.auroc),
  ]);
  return {
    headers: ['Dataset', 'Backbone', 'ACC % with FTT', 'ACC % w/o FTT', 'Δ ACC', 'AUROC % with FTT', 'AUROC % w/o FTT', 'Δ AUROC'],
    rows,
    bold: rows.map(() => []),
  };
}

export interface DegenerateNotes {
  /** What the mark means. */
  legend: string;
  /** One line per run that measures nothing: the cell, the seed and why. */
  runs: string[];
}

/** The footnote of the marks, or undefined when every run is a real result. */
export function degenerateNotes(r: ExperimentResults): DegenerateNotes | undefined {
  const runs: string[] = [];
  for (const c of r.cells) {
    for (const run of c.runs) {
      for (const f of run.degenerate) runs.push(`${VARIANT_LABEL[c.variant]} ${c.backbone} on ${c.dataset}, seed ${run.seed}: ${f.detail}`);
    }
  }
  if (!runs.length) return undefined;
  return {
    legend:
      `${DEGENERATE_MARK} not a finding: the model is degenerate or at chance on the test split (constant predictions, one predicted class, ` +
      `or a test AUROC not above 50 % by a one-sided Mann–Whitney test at p < ${CHANCE_ALPHA}); ` +
      'no ▲/▼ gain or Table 6 Δ is computed from it.',
    runs,
  };
}

function mdTable(t: TableModel): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const line = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [
    line(t.headers),
    line(t.headers.map((_, j) => (j < 2 ? '---' : '---:'))),
    ...t.rows.map((row, i) => line(row.map((c, j) => (t.bold[i]?.[j] ? `**${c}**` : c)))),
  ].join('\n');
}

function runsTable(r: ExperimentResults): TableModel {
  const rows: string[][] = [];
  for (const c of r.cells) {
    for (const run of c.runs) {
      const mark = (metric: TableMetric) => (run.degenerate.some((f) => f.voids.includes(metric)) ? DEGENERATE_MARK : '');
      rows.push([
        c.dataset,
        c.backbone,
        VARIANT_LABEL[c.variant],
        String(run.seed),
        run.accuracy.toFixed(2) + mark('acc'),
        run.auroc.toFixed(2) + mark('auroc'),
        String(run.epochs),
        run.seconds.toFixed(0),
        run.runDir,
      ]);
    }
    if (!c.runs.length) rows.push([c.dataset, c.backbone, VARIANT_LABEL[c.variant], '—', '—', '—', '—', '—', c.reason ?? 'not run']);
  }
  return { headers: ['Dataset', 'Backbone', 'Model', 'Seed', 'ACC %', 'AUROC %', 'Epochs', 'Train s', 'Run'], rows, bold: rows.map(() => []) };
}

async function readScores(runDir: string): Promise<{ scores: number[]; labels: number[] } | undefined> {
  try {
    const lines = (await readFile(join(runDir, 'eval-test', 'scores.csv'), 'utf8')).trim().split('\n').slice(1);
    const scores: number[] = [];
    const labels: number[] = [];
    for (const line of lines) {
      const parts = line.split(',');
      scores.push(Number(parts[parts.length - 1]));
      labels.push(Number(parts[parts.length - 2]));
    }
    return { scores, labels };
  } catch {
    return undefined;
  }
}

async function readHistory(runDir: string): Promise<Record<string, number>[]> {
  try {
    return (await readFile(join(runDir, 'history.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, number>);
  } catch {
    return [];
  }
}

export interface WrittenReport {
  dir: string;
  markdown: string;
  html: string;
  json: string;
  images: string[];
}

export async function writeExperimentReport(exp: Experiment, r: ExperimentResults, outDir: string): Promise<WrittenReport> {
  const { rocCurve } = await import('../eval/metrics.ts');
  const { rocChartPng, lineChartPng } = await import('../report/charts.ts');
  const { htmlPage, imageHtml, escapeHtml } = await import('../report/html.ts');
  await mkdir(outDir, { recursive: true });
  const images: { file: string; caption: string; png: Buffer }[] = [];

  // ROC curves: one chart per (dataset, backbone), one curve per variant (first seed).
  for (const d of exp.datasets) {
    for (const backbone of exp.backbones) {
      const curves = [];
      for (const variant of exp.variants) {
        const c = r.cells.find((x) => x.dataset === d.name && x.backbone === backbone && x.variant === variant);
        const run = c?.runs[0];
        if (!run) continue;
        const s = await readScores(run.runDir);
        if (!s) continue;
        const roc = rocCurve(s.scores, s.labels);
        curves.push({ name: VARIANT_LABEL[variant], fpr: roc.fpr, tpr: roc.tpr, auc: run.auroc / 100 });
      }
      if (curves.length) {
        images.push({
          file: `roc-${d.name}-${backbone}.png`,
          caption: `ROC — ${backbone} on ${d.name} (test, seed ${r.seeds[0]})`,
          png: await rocChartPng(curves, { title: `${backbone} on ${d.name}` }),
        });
      }
    }
  }
  // Training curves per trained cell (first seed).
  for (const c of r.cells) {
    const run = c.runs[0];
    if (!run) continue;
    const h = await readHistory(run.runDir);
    if (!h.length) continue;
    const x = h.map((e) => e.epoch!);
    images.push({
      file: `curves-${c.dataset}-${c.backbone}-${c.variant}.png`,
      caption: `${VARIANT_LABEL[c.variant]} ${c.backbone} on ${c.dataset}: loss, accuracy and val AUROC per epoch`,
      png: await lineChartPng({
        title: `${VARIANT_LABEL[c.variant]} ${c.backbone} on ${c.dataset}`,
        xLabel: 'epoch',
        yLabel: 'value',
        series: [
          { name: 'train loss', x, y: h.map((e) => e.loss!) },
          { name: 'val loss', x, y: h.map((e) => e.valLoss!) },
          { name: 'train acc', x, y: h.map((e) => e.acc!) },
          { name: 'val acc', x, y: h.map((e) => e.valAcc!) },
          { name: 'val AUROC', x, y: h.map((e) => (Number.isFinite(e.valAuroc) ? e.valAuroc! : 0.5)) },
        ],
      }),
    });
  }
  for (const img of images) await writeFile(join(outDir, img.file), img.png);

  const t5 = table5(exp, r);
  const paper = paperTable(exp);
  const abl = ablationTable(r);
  const runs = runsTable(r);
  const notes = degenerateNotes(r);
  const mdNotes = notes ? `\n${notes.legend}\n\n${notes.runs.map((l) => `- ${l}`).join('\n')}\n` : '';
  const htmlNotes = notes
    ? `<p>${escapeHtml(notes.legend)}</p><ul>${notes.runs.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
    : '';
  const settings = [
    `experiment: ${exp.name}${exp.file ? ` (${exp.file})` : ''}`,
    `seeds: ${r.seeds.join(', ')}${r.seeds.length > 1 ? ' (mean ± sample std over seeds)' : ''}`,
    `machine: ${r.machine.cpu} × ${r.machine.cores}, ${r.machine.memoryGiB} GiB, ${r.machine.platform}, node ${r.machine.node}`,
    `backend: ${r.backend ?? 'unknown'}`,
    `pretrain overrides: ${JSON.stringify(exp.pretrain ?? {})}`,
    `fine-tune overrides: ${JSON.stringify(exp.train ?? {})}`,
    `generated: ${r.generatedAt}`,
  ];
  const md = [
    `# ${exp.name}: FDFtNet Table 5${abl ? ' and Table 6' : ''}`,
    exp.description ? `\n${exp.description}\n` : '',
    `## Table 5 — ACC % and AUROC % on the test split`,
    '',
    'Best value per column in bold; ▲/▼ = change over the same backbone\'s baseline. n/a = dataset path not set.',
    '',
    mdTable(t5),
    mdNotes,
    paper ? `\n## The paper's published numbers\n\n${mdTable(paper)}` : '',
    abl ? `\n## Table 6 — ablation of the Fine-Tune Transformer\n\n${mdTable(abl)}${notes ? `\n\n${DEGENERATE_MARK} and "not meaningful": see the note under Table 5.` : ''}` : '',
    `\n## Runs\n\n${mdTable(runs)}`,
    `\n## Settings\n\n${settings.map((s) => `- ${s}`).join('\n')}`,
    images.length ? `\n## Figures\n\n${images.map((i) => `![${i.caption}](${i.file})`).join('\n')}` : '',
    '',
  ].join('\n');

  const htmlTableOf = (t: TableModel) =>
    `<table><thead><tr>${t.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((row, i) => `<tr>${row.map((c, j) => `<td${j >= 2 ? ' class="num"' : ''}>${t.bold[i]?.[j] ? `<b>${escapeHtml(c)}</b>` : escapeHtml(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  const html = htmlPage({
    title: `${exp.name}: FDFtNet Table 5${abl ? ' and Table 6' : ''}`,
    sections: [
      { heading: 'Table 5 — ACC % and AUROC % (test split)', html: `<p>Best per column in bold; ▲/▼ = change over the baseline.</p>${htmlTableOf(t5)}${htmlNotes}` },
      ...(paper ? [{ heading: "The paper's published numbers", html: htmlTableOf(paper) }] : []),
      ...(abl ? [{ heading: 'Table 6 — Fine-Tune Transformer ablation', html: htmlTableOf(abl) + htmlNotes }] : []),
      { heading: 'ROC curves and training curves', html: images.map((i) => imageHtml(i.png, i.caption, { width: 460 })).join('\n') },
      { heading: 'Runs', html: htmlTableOf(runs) },
      { heading: 'Settings', html: `<ul>${settings.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` },
    ],
    footer: 'Generated by fdft experiment. Every number is read from the runs\' eval-test/metrics.json.',
  });
  const { writeFileAtomic } = await import('../util/atomic.ts');
  const paths = { markdown: join(outDir, 'report.md'), html: join(outDir, 'report.html'), json: join(outDir, 'results.json') };
  await writeFileAtomic(paths.markdown, md);
  await writeFileAtomic(paths.html, html);
  await writeFileAtomic(paths.json, JSON.stringify(r, null, 2) + '\n');
  return { dir: outDir, ...paths, images: images.map((i) => join(outDir, i.file)) };
}
