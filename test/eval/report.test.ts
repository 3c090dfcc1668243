import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import seedrandom from 'seedrandom';
import { evaluateScores } from '../../src/eval/metrics.ts';
import { formatMetricsTable, scoresCsv, summaryMarkdown, writeEvalReport, ReportError } from '../../src/eval/report.ts';

function sample(n: number, seed: string) {
  const rng = seedrandom(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = i % 2;
    labels.push(l);
    scores.push(Math.min(1, Math.max(0, 0.35 + 0.3 * l + (rng() - 0.5) * 0.6)));
  }
  return { labels, scores, paths: labels.map((l, i) => `/data/${l ? 'fake' : 'real'}/${i}.jpg`) };
}

test('writeEvalReport writes the five files, atomically and consistently', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-eval-report-'));
  try {
    const { labels, scores, paths } = sample(80, 'report');
    paths[3] = '/data/real/a, "quoted".jpg';
    const metrics = evaluateScores(scores, labels);
    const out = join(dir, 'nested', 'run');
    const files = await writeEvalReport(out, { metrics, scores, labels, paths, title: 'unit test', extra: { model: 'tiny', seed: 7 } });
    assert.deepEqual((await readdir(out)).sort(), ['histogram.png', 'metrics.json', 'roc.png', 'scores.csv', 'summary.md']);

    const json = JSON.parse(await readFile(files.metricsJson, 'utf8'));
    assert.equal(json.title, 'unit test');
    assert.deepEqual(json.extra, { model: 'tiny', seed: 7 });
    assert.deepEqual(json.metrics, JSON.parse(JSON.stringify(metrics)));
    assert.equal(json.roc.fpr.length, json.roc.tpr.length);
    assert.deepEqual([json.roc.fpr[0], json.roc.tpr[0]], [0, 0]);

    const csv = (await readFile(files.scoresCsv, 'utf8')).trimEnd().split('\n');
    assert.equal(csv[0], 'path,label,score');
    assert.equal(csv.length, 81);
    assert.equal(csv[1], `${paths[0]},${labels[0]},${scores[0]}`);
    assert.equal(csv[4], `"/data/real/a, ""quoted"".jpg",${labels[3]},${scores[3]}`);
    assert.equal(Number(csv[80].split(',').at(-1)), scores[79]); // full precision round trip

    const md = await readFile(files.summaryMd, 'utf8');
    assert.match(md, /^# unit test/);
    assert.match(md, new RegExp(`\\| AUROC \\| ${metrics.auroc.toFixed(4)} \\|`));
    assert.match(md, /\| model \| tiny \|/);
    assert.match(md, new RegExp(`\\| real \\| ${metrics.at05.confusion.tn} \\| ${metrics.at05.confusion.fp} \\| 40 \\|`));
    assert.match(md, /!\[ROC curve\]\(roc\.png\)/);

    for (const f of [files.rocPng, files.histogramPng]) {
      const meta = await sharp(await readFile(f)).metadata();
      assert.equal(meta.format, 'png');
      assert.ok((meta.width ?? 0) > 300 && (meta.height ?? 0) > 300, `${f}: ${meta.width}×${meta.height}`);
    }
    assert.ok((await readdir(out)).every((f) => !f.includes('.tmp-')), 'no temp files left behind');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeEvalReport rejects inconsistent input with ReportError', async () => {
  const { labels, scores } = sample(10, 'bad');
  const metrics = evaluateScores(scores, labels);
  const dir = join(tmpdir(), 'fdft-never-written');
  await assert.rejects(writeEvalReport(dir, { metrics, scores: scores.slice(1), labels: labels.slice(1), title: 't' }), ReportError);
  await assert.rejects(writeEvalReport(dir, { metrics, scores, labels, paths: ['a'], title: 't' }), ReportError);
  await assert.rejects(writeEvalReport(dir, { metrics, scores, labels, title: '' }), ReportError);
});

test('formatMetricsTable and summaryMarkdown show every headline number', () => {
  const { labels, scores } = sample(40, 'table');
  const m = evaluateScores(scores, labels);
  const t = formatMetricsTable(m);
  for (const v of [m.auroc, m.averagePrecision, m.eer, m.at05.accuracy, m.atEer.f1]) assert.ok(t.includes(v.toFixed(4)), `${v} in\n${t}`);
  assert.match(t, /40 {2}\(20 real, 20 fake\)/);
  const lines = t.split('\n').slice(-3);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'aligned columns');
  const md = summaryMarkdown('T', m);
  assert.match(md, /\| fake \| 1 \| 20 \| 0\.5000 \|/);
  assert.equal(scoresCsv([0.5], [1]), 'path,label,score\n,1,0.5\n');
});

test('the ROC legend of an eval report keeps the whole AUC, and the whole name when it fits', async () => {
  const { rocChartSvg } = await import('../../src/report/charts.ts');
  const legendLabels = (svg: string) => [...svg.matchAll(/font-size="11px"[^>]*>([^<]*\(AUC [^<]*)<\/text>/g)].map((m) => m[1]);
  const curve = (name: string) => ({ name, fpr: [0, 0.2, 1], tpr: [0, 0.8, 1], auc: 0.9123 });
  // The title writeEvalReport gives its ROC: once cut to "… (AUC 0.91…" by vega's own text estimate.
  const title = 'Baseline shallownetv3 on synthetic (test)';
  assert.deepEqual(legendLabels(await rocChartSvg([curve(title)], { title: `ROC — ${title}` })), [`${title} (AUC 0.912)`]);
  // A name too long for the chart gives way in its middle; both its ends and the AUC stay.
  const long = 'FDFtNet xception on a_dataset_with_a_really_quite_long_folder_name_for_testing (finetune)';
  const [label] = legendLabels(await rocChartSvg([curve(long)], { title: 'ROC' }));
  assert.match(label!, /^FDFtNet xception .*….* \(finetune\) \(AUC 0\.912\)$/);
  assert.ok(label!.length < long.length, label);
});
