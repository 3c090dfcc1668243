/**
 * `npm run bench [-- NAME…]`: runs bench/<NAME>.bench.ts (all when none named). Each module's
 * default export prints its own figures (Markdown tables) to stdout; nothing here asserts a timing.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import { describeCpu } from '../src/util/cpuInfo.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const names = wanted.length ? wanted : all;
for (const n of names) if (!all.includes(n)) throw new Error(`no bench '${n}' (have: ${all.join(', ')})`);

console.log(`# fdft bench — ${new Date().toISOString().slice(0, 10)}`);
console.log(`machine: ${describeCpu()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${os.platform()}-${os.arch()}`);
console.log(`command: npm run bench${wanted.length ? ' -- ' + wanted.join(' ') : ''}\n`);
for (const n of names) {
  const mod = (await import(pathToFileURL(join(dir, `${n}.bench.ts`)).href)) as { default: () => Promise<void> };
  console.log(`\n## ${n}\n`);
  await mod.default();
}
