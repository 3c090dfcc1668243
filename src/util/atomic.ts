/**
 * Crash-safe file writes. A reader (or a resumed run) sees either the old complete file or the new
 * complete file, never a partial one: data goes to a temp file in the same directory (same file
 * system, so rename is atomic), the temp file is fsync'ed, renamed over the target, and the
 * directory is fsync'ed so the rename itself survives a power loss.
 */
import { open, readdir, rename, rm, stat, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';
}

export interface AtomicWriteOptions {
  /**
   * Called after the temp file is complete and fsync'ed, just before the rename. Exists for tests
   * that simulate a crash at the worst moment; a throw here aborts the write and removes the temp.
   */
  beforeCommit?: (tempPath: string) => void | Promise<void>;
}

/** Temp files written by this module are named `<name>.tmp-<pid>-<random>`; tools may ignore them. */
export function isTempName(name: string): boolean {
  return /\.tmp-\d+(-[0-9a-f]+)?$/.test(name);
}

function tempPathFor(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync a directory so that entries created / renamed in it are durable. No-op where unsupported (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Windows cannot open or fsync directories; some file systems refuse directory fsync.
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw e;
  } finally {
    await fh?.close();
  }
}

/** fsync every file and directory under `root` (inclusive), e.g. before renaming a finished temp dir. */
export async function fsyncTree(root: string): Promise<void> {
  const st = await stat(root);
  if (!st.isDirectory()) {
    // Windows needs write access to flush a file; POSIX fsyncs a read-only descriptor too.
    const fh = await open(root, 'r+').catch(() => open(root, 'r'));
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return;
  }
  for (const entry of await readdir(root)) await fsyncTree(join(root, entry));
  await fsyncDir(root);
}

/**
 * Write `data` to `path` atomically (temp file in the same directory, fsync, rename, fsync dir).
 * The parent directory is created if missing.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  let committed = false;
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.beforeCommit) await opts.beforeCommit(tmp);
    await rename(tmp, path);
    committed = true;
    await fsyncDir(dir);
  } finally {
    if (!committed) await rm(tmp, { force: true });
  }
}

/** `writeFileAtomic` of pretty-printed JSON (2-space indent, trailing newline). NaN/±Infinity become null, as in JSON.stringify. */
export async function writeJsonAtomic(path: string, value: unknown, opts: AtomicWriteOptions = {}): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new AtomicWriteError(`writeJsonAtomic(${path}): value is not JSON-serialisable`);
  await writeFileAtomic(path, text + '\n', opts);
}

/**
 * Append one line (a newline is added unless present) and fsync, e.g. one epoch of history.jsonl.
 * A line must not contain an inner newline: one record = one line is what readers rely on.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  const text = line.endsWith('\n') ? line : line + '\n';
  if (text.indexOf('\n') !== text.length - 1) throw new AtomicWriteError(`appendLine(${path}): the line contains a newline`);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  let existed = true;
  try {
    await stat(path);
  } catch {
    existed = false;
  }
  const fh = await open(path, 'a');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (!existed) await fsyncDir(dir);
}

/** `<dir>.tmp-<pid>` (being written) and `<dir>.old-<pid>` (being replaced) siblings of a directory. */
function siblingDirs(entries: string[], base: string, kind: 'tmp' | 'old'): string[] {
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.${kind}-\\d+$`);
  return entries.filter((e) => re.test(e));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * After a crash between `writeDirAtomic`'s two renames: the name (in `entries`, the listing of
 * `dir`'s parent) of the complete version — the `.tmp-<pid>` twin of the `.old-<pid>` folder (it was
 * fsync'ed before the old one was moved aside), else the `.old-<pid>` itself; null without one.
 * Only one writer per directory, so there is at most one `.old-<pid>`.
 */
function completeSibling(entries: string[], base: string): string | null {
  const old = siblingDirs(entries, base, 'old')[0];
  if (!old) return null;
  const twin = `${base}.tmp-${old.slice(base.length + '.old-'.length)}`;
  return entries.includes(twin) ? twin : old;
}

/**
 * Bring `dir` back after a crash inside `writeDirAtomic`. If the crash fell between its two renames
 * (`dir` missing, `dir.old-<pid>` present), the new version `dir.tmp-<pid>` (complete by then) or
 * else the old one becomes `dir`. Leftover `dir.tmp-*` (incomplete writes) and `dir.old-*` siblings
 * are removed. Returns whether `dir` exists afterwards.
 */
export async function recoverDir(dir: string): Promise<boolean> {
  const parent = dirname(dir);
  const base = basename(dir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return false;
  }
  const source = completeSibling(entries, base);
  if (source && !(await exists(dir))) {
    await rename(join(parent, source), dir);
    await fsyncDir(parent);
  }
  const now = await readdir(parent);
  for (const name of [...siblingDirs(now, base, 'tmp'), ...siblingDirs(now, base, 'old')]) {
    await rm(join(parent, name), { recursive: true, force: true });
  }
  return exists(dir);
}

/**
 * Where a reader finds the complete current version of a `writeDirAtomic` directory, without
 * changing anything (a writer may be running): `dir` itself, or during/after a crash between the
 * two renames the complete `dir.tmp-<pid>` or `dir.old-<pid>`. Null when there is none.
 * Other `dir.tmp-*` folders are incomplete writes and are ignored.
 */
export async function readableDir(dir: string): Promise<string | null> {
  if (await exists(dir)) return dir;
  const parent = dirname(dir);
  const base = basename(dir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return null;
  }
  const source = completeSibling(entries, base);
  return source ? join(parent, source) : null;
}

/**
 * Replace directory `dir` as a unit: `fill(tmp)` writes the new content into `dir.tmp-<pid>/`,
 * everything is fsync'ed, then the old `dir` is renamed to `dir.old-<pid>`, the temp dir to `dir`,
 * and the old one removed. POSIX cannot rename a directory over a non-empty one, hence two renames;
 * a crash between them leaves the old complete version in `dir.old-<pid>`, which `recoverDir` (run
 * by the next write and by readers) moves back. If `fill` throws, `dir` is untouched.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>, opts: AtomicWriteOptions = {}): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  await recoverDir(dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
    await fsyncTree(tmp);
    if (opts.beforeCommit) await opts.beforeCommit(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const hadOld = await exists(dir);
  if (hadOld) {
    await rm(old, { recursive: true, force: true });
    await rename(dir, old);
  }
  await rename(tmp, dir);
  await fsyncDir(parent);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
