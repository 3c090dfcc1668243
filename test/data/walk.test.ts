import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listImageFiles } from '../../src/data/walk.ts';
import { BAD_FILES, isRoot, probeAsUnprivileged, writeBadCorpus, writeJpeg } from './badCorpus.ts';

test('listImageFiles: lists images recursively and names every other entry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-walk-'));
  try {
    const good = await writeBadCorpus(dir);
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await writeJpeg(join(dir, 'sub', 'deeper', 'nested.JPEG'));
    await symlink(dir, join(dir, 'sub', 'up')); // a folder link back to an ancestor
    await symlink(join(dir, good[0]!), join(dir, 'sub', 'alias.jpg')); // the same file twice
    await mkdir(join(dir, 'sub', 'locked'));
    const { files, skipped } = await listImageFiles(dir);
    const rel = (p: string) => p.slice(dir.length + 1);
    const reasons = Object.fromEntries(skipped.map((s) => [rel(s.path), s.reason]));
    // Decodable or not is decided later; here only the file system matters.
    for (const g of good) assert.ok(files.map(rel).includes(g), g);
    assert.ok(files.map(rel).includes('sub/deeper/nested.JPEG'), 'upper-case extension, nested');
    assert.equal(reasons['loop.jpg'], BAD_FILES['loop.jpg']);
    assert.equal(reasons['broken.jpg'], BAD_FILES['broken.jpg']);
    assert.equal(reasons['notes.txt'], BAD_FILES['notes.txt']);
    assert.equal(reasons['sub/up'], 'symlink-loop');
    assert.equal(reasons['sub/alias.jpg'], 'duplicate');
    // Every entry is accounted for exactly once.
    const all = [...files.map(rel), ...skipped.map((s) => rel(s.path))];
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(files, [...files].sort());
  } finally {
    await chmod(join(dir, 'unreadable.jpg'), 0o644).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

test('listImageFiles: a linked folder outside the tree is walked once', async () => {
  const base = await mkdtemp(join(tmpdir(), 'fdft-walk-'));
  try {
    const outside = join(base, 'outside');
    const root = join(base, 'root');
    await mkdir(outside);
    await mkdir(root);
    await writeJpeg(join(outside, 'x.jpg'));
    await writeJpeg(join(root, 'y.jpg'));
    await symlink(outside, join(root, 'link1'));
    await symlink(outside, join(root, 'link2'));
    const { files, skipped } = await listImageFiles(root);
    assert.deepEqual(files.map((f) => f.slice(root.length + 1)), ['link1/x.jpg', 'y.jpg']);
    assert.deepEqual(skipped.map((s) => [s.path.slice(root.length + 1), s.reason]), [['link2', 'duplicate']]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('listImageFiles: an unreadable folder is reported, not lost', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-walk-'));
  try {
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'locked'));
    await writeJpeg(join(dir, 'locked', 'a.jpg'));
    await writeJpeg(join(dir, 'b.jpg'));
    await chmod(join(dir, 'locked'), 0o000);
    // Root ignores permission bits: then look as an unprivileged user.
    const listing = (isRoot ? await probeAsUnprivileged('walk', dir) : await listImageFiles(dir)) as Awaited<ReturnType<typeof listImageFiles>> | undefined;
    if (!listing) return t.skip('running as root and cannot run a child process as an unprivileged user');
    const { files, skipped } = listing;
    assert.equal(files.length, 1);
    assert.deepEqual(skipped.map((s) => s.reason), ['unreadable-directory']);
  } finally {
    await chmod(join(dir, 'locked'), 0o755).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
