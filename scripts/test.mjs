#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx. Node 20's `--test` takes no globs,
// so the files are listed here (portable, unlike a shell `$(find …)`). Extra args pass through,
// e.g. `npm test -- test/layers` to run one folder.
import { spawnSync } from 'node:child_process';
import fg from 'fast-glob';

const args = process.argv.slice(2);
const roots = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const patterns = roots.length ? roots.map((r) => (r.endsWith('.ts') ? r : `${r.replace(/\/$/, '')}/**/*.test.ts`)) : ['test/**/*.test.ts'];
const files = (await fg(patterns)).sort();
if (files.length === 0) {
  console.error(`no test files match ${patterns.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
