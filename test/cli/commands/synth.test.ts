import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const fdft = (args: string[]) => run(process.execPath, ['bin/fdft.js', ...args], { encoding: 'utf8' });

test('fdft synth writes a flat set and a contact sheet; fdft data summarises it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-cli-synth-'));
  try {
    const out = join(dir, 'faces');
    const sheet = join(dir, 'sheet.png');
    const r = await fdft(['synth', '--out', out, '--count', '10', '--seed', '2', '--contact-sheet', sheet, '--json']);
    const res = JSON.parse(r.stdout);
    assert.equal(res.count, 10);
    assert.equal((await readdir(join(out, 'real'))).length, 10);
    assert.equal((await readdir(join(out, 'fake'))).length, 10);
    assert.ok((await stat(sheet)).size > 1000);
    const summaryFile = join(dir, 'summary.json');
    const d = await fdft(['data', '--data', out, '--decode', '--cache-dir', join(dir, 'cache'), '--out', summaryFile, '--json']);
    const summary = JSON.parse(d.stdout);
    assert.equal(summary.layout, 'flat');
    assert.equal(summary.splits.train.total + summary.splits.val.total + summary.splits.test.total + summary.splits.finetune.total, 20);
    assert.equal(summary.decoded.train.total, summary.splits.train.total);
    assert.ok((await stat(summaryFile)).size > 100);
    // A bad option is refused with a clear message.
    await assert.rejects(fdft(['synth', '--out', out, '--count', '3']), (e: Error & { stderr?: string }) => /not empty/.test(e.stderr ?? ''));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
