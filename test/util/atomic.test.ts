import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile, mkdir, rename, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  appendLine,
  AtomicWriteError,
  isTempName,
  readableDir,
  recoverDir,
  writeDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../src/util/atomic.ts';

const made: string[] = [];
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fdft-atomic-'));
  made.push(d);
  return d;
};
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

test('writeFileAtomic writes and replaces a file, leaving no temp file', async () => {
  const dir = await fresh();
  const p = join(dir, 'sub', 'a.txt');
  await writeFileAtomic(p, 'one');
  assert.equal(await readFile(p, 'utf8'), 'one');
  await writeFileAtomic(p, new Uint8Array([104, 105]));
  assert.equal(await readFile(p, 'utf8'), 'hi');
  assert.deepEqual(await readdir(join(dir, 'sub')), ['a.txt']);
});

test('a failure after the temp file is written never replaces the good file', async () => {
  const dir = await fresh();
  const p = join(dir, 'state.json');
  await writeJsonAtomic(p, { epoch: 1 });
  let tempSeen = '';
  await assert.rejects(
    writeJsonAtomic(p, { epoch: 2 }, {
      beforeCommit: async (tmp) => {
        tempSeen = tmp;
        // The new content is complete in the temp file at this point …
        assert.deepEqual(JSON.parse(await readFile(tmp, 'utf8')), { epoch: 2 });
        throw new Error('simulated crash before rename');
      },
    }),
    /simulated crash/,
  );
  assert.ok(isTempName(tempSeen.split('/').pop()!), `temp name ${tempSeen}`);
  // … but the target still holds the old version, and the temp file was cleaned up.
  assert.deepEqual(JSON.parse(await readFile(p, 'utf8')), { epoch: 1 });
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('a process killed (SIGKILL) between temp write and rename leaves the old file intact', async () => {
  const dir = await fresh();
  const p = join(dir, 'model.bin');
  await writeFileAtomic(p, 'GOOD');
  const mod = pathToFileURL(join(process.cwd(), 'src/util/atomic.ts')).href;
  const code = `
    const { writeFileAtomic } = await import(${JSON.stringify(mod)});
    await writeFileAtomic(${JSON.stringify(p)}, 'PARTIAL-NEW-CONTENT', { beforeCommit: () => process.kill(process.pid, 'SIGKILL') });
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', `child should die by SIGKILL: ${r.stderr}`);
  assert.equal(await readFile(p, 'utf8'), 'GOOD');
  const names = await readdir(dir);
  // The killed writer's temp file remains (nobody cleaned it up) but is recognisable as such.
  assert.equal(names.filter((n) => !isTempName(n)).join(), 'model.bin');
  assert.equal(names.filter(isTempName).length, 1);
});

test('writeJsonAtomic rejects values JSON cannot represent', async () => {
  const dir = await fresh();
  await assert.rejects(writeJsonAtomic(join(dir, 'x.json'), undefined), AtomicWriteError);
});

test('appendLine appends one line per call and refuses embedded newlines', async () => {
  const dir = await fresh();
  const p = join(dir, 'logs', 'history.jsonl');
  await appendLine(p, '{"epoch":1}');
  await appendLine(p, '{"epoch":2}\n');
  assert.equal(await readFile(p, 'utf8'), '{"epoch":1}\n{"epoch":2}\n');
  await assert.rejects(appendLine(p, 'a\nb'), AtomicWriteError);
});

test('writeDirAtomic swaps a directory as a unit; a failing fill leaves the old one', async () => {
  const root = await fresh();
  const d = join(root, 'checkpoint');
  await writeDirAtomic(d, async (tmp) => {
    await writeFile(join(tmp, 'a'), '1');
    await writeFile(join(tmp, 'b'), '1');
  });
  await writeDirAtomic(d, async (tmp) => writeFile(join(tmp, 'a'), '2'));
  assert.deepEqual(await readdir(d), ['a']);
  assert.equal(await readFile(join(d, 'a'), 'utf8'), '2');
  await assert.rejects(
    writeDirAtomic(d, async (tmp) => {
      await writeFile(join(tmp, 'a'), '3');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(await readFile(join(d, 'a'), 'utf8'), '2');
  assert.deepEqual(await readdir(root), ['checkpoint']);
});

test('after a crash between the two renames, readers and the next writer find a complete version', async () => {
  const root = await fresh();
  const d = join(root, 'checkpoint');
  await writeDirAtomic(d, async (tmp) => writeFile(join(tmp, 'epoch'), '4'));
  // State a crash leaves: new version complete in .tmp-<pid>, old one moved to .old-<pid>, no `checkpoint`.
  await mkdir(`${d}.tmp-4242`);
  await writeFile(join(`${d}.tmp-4242`, 'epoch'), '5');
  await rename(d, `${d}.old-4242`);
  // An unrelated incomplete write from another process must be ignored.
  await mkdir(`${d}.tmp-99`);
  const readable = await readableDir(d);
  assert.equal(readable, `${d}.tmp-4242`);
  assert.equal(await readFile(join(readable!, 'epoch'), 'utf8'), '5');
  assert.equal(await recoverDir(d), true);
  assert.equal(await readFile(join(d, 'epoch'), 'utf8'), '5');
  assert.deepEqual(await readdir(root), ['checkpoint']);

  // Without the new version, the old one comes back.
  await rename(d, `${d}.old-7`);
  assert.equal(await readableDir(d), `${d}.old-7`);
  await writeDirAtomic(d, async (tmp) => writeFile(join(tmp, 'epoch'), '6'));
  assert.equal(await readFile(join(d, 'epoch'), 'utf8'), '6');
  assert.deepEqual(await readdir(root), ['checkpoint']);
  assert.equal(await readableDir(join(root, 'missing')), null);
});
