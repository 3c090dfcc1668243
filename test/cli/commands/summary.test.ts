import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initEngine } from '../../../src/engine/index.ts';
import { createFdftNet, paramCounts } from '../../../src/models/index.ts';

const run = promisify(execFile);
const fdft = (args: string[]) => run(process.execPath, ['bin/fdft.js', '--backend', 'wasm', ...args], { encoding: 'utf8' });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

before(async () => {
  await initEngine('wasm', () => {});
});

/** The description of option `name` in a --help text (yargs lists one-letter options as `-M`). */
function helpLine(help: string, name: string): string {
  const line = help.split('\n').find((l) => new RegExp(`^\\s+--?${name}\\s`).test(l));
  assert.ok(line, `no --${name} in the help`);
  return line.replace(/^\s+--?\S+\s+/, '').replace(/\s*\[(number|boolean|string)\].*$/, '');
}

test('fdft summary takes the model options of fdft train with the same meanings', async () => {
  const [train, summary] = await Promise.all([fdft(['train', '--help']), fdft(['summary', '--help'])]);
  for (const name of ['M', 'N', 'ftt', 'bottleneck', 'l2', 'input-size']) {
    assert.equal(helpLine(summary.stdout, name), helpLine(train.stdout, name), `--${name}`);
  }
});

test('fdft summary --bottleneck is the attention bottleneck b that fdft train builds with', async () => {
  const opts = { backbone: 'shallownetv3' as const, M: 1, N: 1 };
  const s = lastJson((await fdft(['summary', '--backbone', 'shallownetv3', '--M', '1', '--N', '1', '--bottleneck', '4', '--json'])).stdout);
  // src/train/finetune.ts maps train's --bottleneck to attentionReduction.
  const trained = createFdftNet({ ...opts, attentionReduction: 4 }).model;
  const paperB = createFdftNet(opts).model;
  try {
    assert.equal(s.total, paramCounts(trained).total);
    assert.equal(s.trainable, paramCounts(trained).trainable);
    // b changes the self-attention's f and g widths, so the counts tell b = 4 from the default 8.
    assert.notEqual(paramCounts(trained).total, paramCounts(paperB).total);
    const defaults = lastJson((await fdft(['summary', '--backbone', 'shallownetv3', '--M', '1', '--N', '1', '--json'])).stdout);
    assert.equal(defaults.total, paramCounts(createFdftNet({ ...opts, attentionReduction: 8 }).model).total);
  } finally {
    trained.dispose();
    paperB.dispose();
  }
});

test('fdft summary refuses what fdft train refuses, and labels frozen params by model kind', async () => {
  await assert.rejects(fdft(['summary', '--M', '4']), (e: Error & { code?: number; stderr?: string }) => e.code === 2 && /--M must be 1, 2 or 3/.test(e.stderr ?? ''));
  const baseline = (await fdft(['summary', '--backbone', 'shallownetv3', '--baseline', '--quiet'])).stdout;
  assert.match(baseline, /Frozen params: +[\d,]+ +\(BN moving statistics\)/);
  assert.doesNotMatch(baseline, /frozen backbone/);
  const fdftNet = (await fdft(['summary', '--backbone', 'shallownetv3', '--N', '1', '--quiet'])).stdout;
  assert.match(fdftNet, /Frozen params: +[\d,]+ +\(frozen backbone \+ BN moving statistics\)/);
});
