/**
 * `fdft experiment` end to end on tiny generated data: the report's numbers are the runs' own
 * eval-test/metrics.json numbers, a second invocation trains nothing, and an interrupted cell is
 * the only one that runs again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyDataset } from '../train/tinyDataset.ts';
import { parseExperiment } from '../../src/experiments/schema.ts';
import { pretrainConfig, finetuneConfig, type PlannedRun } from '../../src/experiments/runner.ts';

const BIN = join(process.cwd(), 'bin', 'fdft.js');
let work: string;
let expFile: string;

function experiment(): { outcomes: { dataset: string; variant: string; status: string; runDir?: string; trained?: boolean }[]; report: { markdown: string; html: string; json: string; images: string[] } } {
  const r = spawnSync(
    process.execPath,
    [BIN, 'experiment', expFile, '--checkpoints', join(work, 'ck'), '--reports', join(work, 'reports'), '--cache-dir', join(work, 'cache'), '--quiet', '--json'],
    { encoding: 'utf8', env: { ...process.env, FDFT_BACKEND: 'wasm' }, timeout: 300_000 },
  );
  if (r.status !== 0) throw new Error(`fdft experiment failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
}

function dryRun(json: boolean): string {
  const r = spawnSync(
    process.execPath,
    [BIN, 'experiment', expFile, '--dry-run', '--checkpoints', join(work, 'ck'), '--reports', join(work, 'reports'), ...(json ? ['--json'] : [])],
    { encoding: 'utf8', env: { ...process.env, FDFT_BACKEND: 'wasm' }, timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`fdft experiment --dry-run failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fdft-exp-'));
  const data = await writeTinyDataset(join(work, 'tiny'), 24, 32);
  expFile = join(work, 'tiny.json');
  await writeFile(
    expFile,
    JSON.stringify({
      name: 'tiny',
      datasets: [
        { name: 'tiny', path: data },
        { name: 'PGGAN', path: null, paper: { 'fdftnet/xception': { acc: 90.29, auroc: 95.98 } } },
      ],
      backbones: ['shallownetv3'],
      variants: ['baseline', 'fdftnet', 'fdftnet-noftt'],
      seeds: [1],
      pretrain: { epochs: 1, stepsPerEpoch: 2, batch: 8, inputSize: 32 },
      train: { epochs: 1, stepsPerEpoch: 2, batch: 8, inputSize: 32, M: 1, N: 1, lr: 0.01 },
    }),
  );
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('schema errors name the file and the field', () => {
  assert.throws(() => parseExperiment({ name: 'x', datasets: [{ name: 'a', path: null, typo: 1 }], backbones: ['vgg'], variants: ['baseline'] }, 'x.json'), (e: Error) => {
    assert.equal(e.name, 'ExperimentError');
    assert.match(e.message, /x\.json/);
    assert.match(e.message, /unknown field 'typo'/);
    assert.match(e.message, /backbones\/0: must be one of/);
    return true;
  });
});

test('perBackbone options apply to that backbone\'s runs only, and a dataset\'s own options over them', () => {
  const exp = parseExperiment({
    name: 'x',
    datasets: [
      { name: 'a', path: 'synthetic' },
      { name: 'b', path: 'synthetic', pretrain: { lr: 0.01 } },
    ],
    backbones: ['squeezenet', 'shallownetv3'],
    variants: ['baseline', 'fdftnet'],
    pretrain: { epochs: 3, lr: 0.002 },
    perBackbone: { squeezenet: { pretrain: { lr: 1e-4, augment: false } } },
  });
  const [a, b] = exp.datasets as [typeof exp.datasets[0], typeof exp.datasets[0]];
  const squeeze = pretrainConfig(exp, a, 'squeezenet', 1);
  assert.equal(squeeze.lr, 1e-4);
  assert.equal(squeeze.epochs, 3, 'the experiment-wide options still apply');
  assert.equal(squeeze.augment.hflip, false);
  assert.equal(pretrainConfig(exp, a, 'shallownetv3', 1).lr, 0.002);
  assert.equal(pretrainConfig(exp, b, 'squeezenet', 1).lr, 0.01);
  assert.equal(finetuneConfig(exp, a, 'squeezenet', 1, true, '/pre').lr, 0.3, 'pretrain overrides leave fine-tunes alone');
  assert.throws(
    () => parseExperiment({ name: 'y', datasets: [{ name: 'a', path: null }], backbones: ['xception'], variants: ['baseline'], perBackbone: { vgg: {} } }, 'y.json'),
    /y\.json[\s\S]*perBackbone: unknown backbone 'vgg'/,
  );
});

test('--dry-run lists every pretrain and fine-tune with its settings and writes nothing', async () => {
  const { plan } = JSON.parse(dryRun(true).trim().split('\n').pop()!) as { plan: PlannedRun[] };
  const tiny = plan.filter((p) => p.dataset === 'tiny');
  assert.deepEqual(
    tiny.map((p) => [p.kind, p.variant, p.action]),
    [
      ['pretrain', 'baseline', 'train'],
      ['fine-tune', 'fdftnet', 'train'],
      ['fine-tune', 'fdftnet-noftt', 'train'],
    ],
  );
  assert.match(tiny[0]!.settings!, /1 epoch × 2 steps, batch 8, adam lr 0\.001/);
  assert.match(tiny[1]!.settings!, /sgd lr 0\.01 .*FTT M 1, N 1/);
  assert.match(tiny[2]!.settings!, /no FTT, N 1/);
  assert.ok(plan.filter((p) => p.dataset === 'PGGAN').every((p) => p.action === 'skip' && /no path/.test(p.reason!)), 'a dataset without a path would be skipped');
  await assert.rejects(stat(join(work, 'reports')), { code: 'ENOENT' }, 'no report is written');
  await assert.rejects(stat(join(work, 'ck')), { code: 'ENOENT' }, 'no run directory is made');
});

test('the report carries the runs\' own metrics; re-running trains nothing; an interrupted cell alone re-runs', async () => {
  const first = experiment();
  const done = first.outcomes.filter((o) => o.status === 'finished');
  assert.equal(done.length, 3, 'baseline, fdftnet and fdftnet-noftt on the tiny set');
  assert.ok(first.outcomes.filter((o) => o.dataset === 'PGGAN').every((o) => o.status === 'skipped'), 'a dataset without a path is skipped');

  const results = JSON.parse(await readFile(first.report.json, 'utf8'));
  for (const o of done) {
    const m = JSON.parse(await readFile(join(o.runDir!, 'eval-test', 'metrics.json'), 'utf8')).metrics;
    const cell = results.cells.find((c: { dataset: string; variant: string }) => c.dataset === 'tiny' && c.variant === o.variant);
    assert.equal(cell.runs[0].accuracy, m.accuracy * 100);
    assert.equal(cell.runs[0].auroc, m.auroc * 100);
  }
  const md = await readFile(first.report.markdown, 'utf8');
  assert.match(md, /Table 5/);
  assert.match(md, /Table 6/);
  assert.match(md, /90\.29/, "the paper's published number is shown");
  const base = results.cells.find((c: { variant: string; dataset: string }) => c.dataset === 'tiny' && c.variant === 'baseline');
  assert.ok(md.includes(base.acc.mean.toFixed(2)), 'the baseline accuracy appears in report.md');
  const html = await readFile(first.report.html, 'utf8');
  assert.match(html, /data:image\/png;base64,/, 'figures are embedded in the HTML');
  for (const img of first.report.images) assert.ok((await stat(img)).size > 1000);

  const second = experiment();
  assert.equal(second.outcomes.filter((o) => o.trained).length, 0, 'nothing is trained again');

  // Simulate a crash of the fdftnet cell: its run is no longer finished.
  const ft = done.find((o) => o.variant === 'fdftnet')!;
  const info = JSON.parse(await readFile(join(ft.runDir!, 'run.json'), 'utf8'));
  await writeFile(join(ft.runDir!, 'run.json'), JSON.stringify({ ...info, status: 'interrupted' }));
  const third = experiment();
  const retrained = third.outcomes.filter((o) => o.trained);
  assert.deepEqual(retrained.map((o) => o.variant), ['fdftnet'], 'only the interrupted cell runs again');
  assert.equal(retrained[0]!.runDir, ft.runDir, 'it is resumed in its own run directory');

  const listing = dryRun(false);
  assert.match(listing, new RegExp(`would reuse  pretrain \\(baseline row\\) shallownetv3 on tiny, seed 1 in ${first.outcomes[0]!.runDir}`));
  assert.match(listing, /would reuse  fdftnet shallownetv3 on tiny, seed 1 in /);
  assert.match(listing, /would reuse  fdftnet-noftt shallownetv3 on tiny, seed 1 in /);
  assert.match(listing, /would skip   pretrain \(baseline row\) shallownetv3 on PGGAN, seed 1 — dataset PGGAN has no path/);
  assert.match(listing, /6 runs \(2 pretrains, 4 fine-tunes\): 0 would train, 0 would resume, 3 would be reused, 3 skipped/);
});

test('every committed experiment file passes the schema', async () => {
  const { readdir } = await import('node:fs/promises');
  const { loadExperiment } = await import('../../src/experiments/schema.ts');
  // classical-*.json are grids for `fdft classical --grid`, not experiment files.
  const files = (await readdir('experiments')).filter((f) => f.endsWith('.json') && !f.startsWith('classical-'));
  assert.ok(files.includes('table5.json') && files.includes('table6.json') && files.includes('quick.json'), files.join(', '));
  for (const f of files) {
    const exp = await loadExperiment(join('experiments', f));
    assert.equal(`${exp.name}.json`, f, `${f}: its name gives the report folder, so it matches the file name`);
    assert.ok(exp.datasets.length > 0 && exp.variants.length > 0, f);
  }
  const { parseGridOption } = await import('../../src/classical/command.ts');
  for (const f of (await readdir('experiments')).filter((g) => g.startsWith('classical-') && g.endsWith('.json'))) {
    assert.ok(await parseGridOption(join('experiments', f)), `${f} parses as a classifier grid`);
  }
});
