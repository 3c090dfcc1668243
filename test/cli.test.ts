import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('fdft --help lists the commands and exits 0', () => {
  const out = execFileSync(process.execPath, ['bin/fdft.js', '--help'], { encoding: 'utf8' });
  assert.match(out, /fdft <command>|Commands:/);
  assert.match(out, /--backend/);
});
