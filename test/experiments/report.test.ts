/**
 * The experiment report on hand-made run directories (no training): a model that is degenerate or
 * at chance carries a † and a footnote in report.md, report.html and the console table, no gain or
 * Table 6 Δ is computed from it, and a zero change shows no direction.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateScores } from '../../src/eval/metrics.ts';
import { scoresCsv } from '../../src/eval/report.ts';
import { parseExperiment, type Variant } from '../../src/experiments/schema.ts';
import type { CellOutcome } from '../../src/experiments/runner.ts';
import {
  ablationTable,
  collectResults,
  degenerateNotes,
  formatChange,
  table5,
  writeExperimentReport,
  type ExperimentResults,
} from '../../src/experiments/report.ts';

/** 150 fake then 150 real test images, as in the quick experiment. */
const labels = [...Array<number>(150).fill(1), ...Array<number>(150).fill(0)];
const scored = (score: (label: number, i: number) => number) => labels.map((l, i) => score(l, i));

/** The quick experiment as QA saw it: SqueezeNet learned nothing, ShallowNetV3 did. */
const testScores: Record<string, Record<Variant, number[]>> = {
  squeezenet: {
    baseline: scored(() => 0.4963), // dead ReLUs: one output for every image
    fdftnet: scored((_, i) => (i % 10) / 10), // varies, ranks nothing
    'fdftnet-noftt': scored((l, i) => (l ? 0.1 : 0.6) + (i % 10) / 50), // ranks the wrong way round
  },
  shallownetv3: {
    baseline: scored((l, i) => (l ? 0.45 : 0.1) + (i % 10) / 20),
    fdftnet: scored((l, i) => (l ? 0.55 : 0.1) + (i % 10) / 20),
    'fdftnet-noftt': scored((l, i) => (l ? 0.45 : 0.1) + (i % 10) / 20), // exactly the baseline: a zero change
  },
};

const exp = parseExperiment({
  name: 'quick-like',
  datasets: [{ name: 'synthetic', path: 'synthetic' }],
  backbones: ['squeezenet', 'shallownetv3'],
  variants: ['baseline', 'fdftnet', 'fdftnet-noftt'],
});
let work: string;
let results: ExperimentResults;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fdft-report-'));
  const outcomes: CellOutcome[] = [];
  for (const [backbone, byVariant] of Object.entries(testScores)) {
    for (const [variant, scores] of Object.entries(byVariant) as [Variant, number[]][]) {
      const runDir = join(work, `${backbone}-${variant}`);
      await mkdir(join(runDir, 'eval-test'), { recursive: true });
      await writeFile(join(runDir, 'eval-test', 'scores.csv'), scoresCsv(scores, labels));
      await writeFile(join(runDir, 'eval-test', 'metrics.json'), JSON.stringify({ metrics: evaluateScores(scores, labels) }));
      outcomes.push({ dataset: 'synthetic', backbone, variant, seed: 1, status: 'finished', runDir, trained: true });
    }
  }
  results = await collectResults(exp, outcomes, [1]);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('formatChange: a change that rounds to zero reads ±0.00, others keep their direction', () => {
  assert.equal(formatChange(0, 'arrow'), '±0.00');
  assert.equal(formatChange(0.004, 'arrow'), '±0.00');
  assert.equal(formatChange(-0.004, 'sign'), '±0.00');
  assert.equal(formatChange(0.33, 'arrow'), '▲0.33');
  assert.equal(formatChange(-9.8, 'arrow'), '▼9.80');
  assert.equal(formatChange(12.39, 'sign'), '+12.39');
  assert.equal(formatChange(-1, 'sign'), '-1.00');
});

test('each run carries what makes it meaningless, read from its own scores', () => {
  const reasons = (backbone: string, variant: Variant) =>
    results.cells.find((c) => c.backbone === backbone && c.variant === variant)!.runs[0]!.degenerate.map((f) => f.reason);
  assert.deepEqual(reasons('squeezenet', 'baseline'), ['constant-scores']);
  assert.deepEqual(reasons('squeezenet', 'fdftnet'), ['chance']);
  assert.deepEqual(reasons('squeezenet', 'fdftnet-noftt'), ['chance']);
  for (const variant of ['baseline', 'fdftnet', 'fdftnet-noftt'] as const) assert.deepEqual(reasons('shallownetv3', variant), []);
  const squeeze = results.ablation.find((a) => a.backbone === 'squeezenet')!;
  assert.deepEqual(squeeze.meaningful, { acc: false, auroc: false });
  assert.deepEqual(results.ablation.find((a) => a.backbone === 'shallownetv3')!.meaningful, { acc: true, auroc: true });
});

test('Table 5 marks the degenerate cells, computes no gain from them and bolds none of them', () => {
  const t = table5(exp, results);
  const row = (model: string, backbone: string) => t.rows.findIndex((r) => r[0] === model && r[1] === backbone);
  for (const model of ['Baseline', 'FDFtNet', 'FDFtNet w/o FTT']) {
    const i = row(model, 'squeezenet');
    for (const cell of t.rows[i]!.slice(2)) {
      assert.match(cell, /^\d+\.\d\d†$/, `${model} squeezenet: "${cell}" is marked and has no ▲/▼`);
    }
    assert.deepEqual(t.bold[i]!.slice(2), [false, false]);
  }
  assert.match(t.rows[row('FDFtNet', 'shallownetv3')]![3]!, /^\d+\.\d\d \(▲\d+\.\d\d\)$/);
  assert.match(t.rows[row('FDFtNet w/o FTT', 'shallownetv3')]![3]!, / \(±0\.00\)$/, 'a zero change has no arrow');
  assert.doesNotMatch(t.rows.flat().join(' '), /▲0\.00|▼0\.00/);
  assert.equal(t.bold[row('FDFtNet', 'shallownetv3')]![3], true, 'the best real AUROC is bold');
});

test('Table 6 calls the Δ of a degenerate pair not meaningful and keeps the others', () => {
  const t = ablationTable(results)!;
  const squeeze = t.rows.find((r) => r[1] === 'squeezenet')!;
  assert.equal(squeeze[4], 'not meaningful');
  assert.equal(squeeze[7], 'not meaningful');
  assert.match(squeeze[5]!, /†$/);
  assert.match(squeeze[6]!, /†$/);
  const shallow = t.rows.find((r) => r[1] === 'shallownetv3')!;
  assert.match(shallow[7]!, /^\+\d+\.\d\d$/);
  assert.doesNotMatch(shallow.join(' '), /†|not meaningful/);
});

test('report.md and report.html carry the marks and a footnote naming each run and why', async () => {
  const notes = degenerateNotes(results)!;
  assert.equal(notes.runs.length, 3);
  assert.match(notes.runs[0]!, /^Baseline squeezenet on synthetic, seed 1: constant predictions/);
  const written = await writeExperimentReport(exp, results, join(work, 'report'));
  const md = await readFile(written.markdown, 'utf8');
  assert.match(md, /\| Baseline \| squeezenet \| 50\.00† \| 50\.00† \|/);
  assert.match(md, /^† not a finding: .*Mann–Whitney/m);
  assert.match(md, /^- FDFtNet w\/o FTT squeezenet on synthetic, seed 1: below chance/m);
  assert.match(md, /\| synthetic \| squeezenet \|[^\n]*\| not meaningful \|\n/);
  const html = await readFile(written.html, 'utf8');
  assert.match(html, /<td class="num">50\.00†<\/td>/);
  assert.match(html, /<li>Baseline squeezenet on synthetic, seed 1: constant predictions/);
  assert.match(html, /not meaningful/);
  const json = JSON.parse(await readFile(written.json, 'utf8'));
  assert.equal(json.cells[0].runs[0].degenerate[0].reason, 'constant-scores');
});

test('a report without degenerate models has no marks and no footnote', () => {
  const healthy = { ...results, cells: results.cells.filter((c) => c.backbone === 'shallownetv3'), ablation: results.ablation.filter((a) => a.backbone === 'shallownetv3') };
  assert.equal(degenerateNotes(healthy), undefined);
  const onlyShallow = parseExperiment({ name: exp.name, datasets: exp.datasets, backbones: ['shallownetv3'], variants: exp.variants });
  assert.doesNotMatch(table5(onlyShallow, healthy).rows.flat().join(' '), /†/);
});
