import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeDrawnPhoto } from './fixtures.ts';

const run = promisify(execFile);

test('fdft prepare --help documents every option', async () => {
  const { stdout } = await run(process.execPath, ['bin/fdft.js', 'prepare', '--help'], { encoding: 'utf8' });
  for (const opt of ['--input', '--out', '--size', '--margin', '--frames-per-video', '--fps', '--label', '--labels-from-path', '--min-face', '--max-faces', '--group-by', '--min-score', '--align', '--save-frames', '--pick']) {
    assert.match(stdout, new RegExp(`${opt}\\b`), opt);
  }
});

test('fdft prepare crops a photo end to end and prints a JSON summary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-prepare-cli-'));
  try {
    await writeDrawnPhoto(join(dir, 'in', 'face.jpg'), { width: 300, height: 220, faceWidth: 90 });
    const { stdout } = await run(
      process.execPath,
      ['bin/fdft.js', 'prepare', '--input', join(dir, 'in'), '--out', join(dir, 'out'), '--label', 'fake', '--size', '48', '--json', '--backend', 'wasm'],
      { encoding: 'utf8' },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.faces, 1);
    assert.equal(summary.byLabel.fake, 1);
    await assert.rejects(
      run(process.execPath, ['bin/fdft.js', 'prepare', '--input', join(dir, 'in'), '--out', join(dir, 'out2')], { encoding: 'utf8' }),
      (e: { stderr?: string }) => /--label/.test(e.stderr ?? ''),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
