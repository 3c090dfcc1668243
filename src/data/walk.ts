/**
 * Lists the image files under one class folder (e.g. `ROOT/train/real`) with fast-glob, and
 * accounts for everything else found there: files with other extensions, unreadable folders,
 * symbolic-link loops, broken links and files reached twice through links each become a
 * `SkippedFile` with a named reason, so nothing disappears silently.
 *
 * Symbolic links are not followed by fast-glob itself (a link to an ancestor would make it walk
 * the same tree until the OS's ELOOP limit, listing every file ~40 times); they are resolved here
 * with realpath, loops are detected by path prefix and linked folders are walked once.
 */
import fs from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import type { SkippedFile } from './types.ts';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'bmp', 'tif', 'tiff'] as const;

export interface FileListing {
  /** Absolute paths of candidate image files, sorted. */
  files: string[];
  skipped: SkippedFile[];
}

export interface ListOptions {
  /** Lower-case extensions without the dot (default IMAGE_EXTENSIONS). */
  extensions?: readonly string[];
}

function errnoReason(code: string | undefined): SkippedFile['reason'] {
  switch (code) {
    case 'ELOOP':
      return 'symlink-loop';
    case 'ENOENT':
      return 'broken-symlink';
    case 'EACCES':
    case 'EPERM':
      return 'unreadable';
    default:
      return 'unreadable';
  }
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** All image files under `dir` (recursively), plus what was skipped and why. */
export async function listImageFiles(dir: string, opts: ListOptions = {}): Promise<FileListing> {
  const extensions = new Set((opts.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase().replace(/^\./, '')));
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const realFiles = new Set<string>();
  const walkedRealDirs = new Set<string>();
  const root = resolve(dir);

  // Each walked tree: `path` as the user sees it, `real` its resolved location.
  const queue: { path: string; real: string }[] = [{ path: root, real: await realpath(root) }];
  while (queue.length) {
    const tree = queue.shift()!;
    walkedRealDirs.add(tree.real);
    const readdirErrors: { path: string; err: NodeJS.ErrnoException }[] = [];
    // fast-glob suppresses unreadable folders; this adapter records them instead of losing them.
    const readdir = ((p: string, ...rest: unknown[]) => {
      const cb = rest.pop() as (err: NodeJS.ErrnoException | null, res: unknown) => void;
      (fs.readdir as (...a: unknown[]) => void)(p, ...rest, (err: NodeJS.ErrnoException | null, res: unknown) => {
        if (err) readdirErrors.push({ path: p, err });
        cb(err, res);
      });
    }) as unknown as typeof fs.readdir;
    const entries = await fg('**/*', {
      cwd: tree.path,
      absolute: true,
      onlyFiles: false,
      objectMode: true,
      followSymbolicLinks: false,
      suppressErrors: true,
      dot: false,
      fs: { readdir },
    });
    const links: string[] = [];
    for (const e of entries) {
      const d = e.dirent;
      if (d.isDirectory()) {
        walkedRealDirs.add(join(tree.real, e.path.slice(tree.path.length)));
      } else if (d.isSymbolicLink()) {
        links.push(e.path);
      } else if (d.isFile()) {
        if (extensions.has(extname(e.path).slice(1).toLowerCase())) {
          files.push(e.path);
          realFiles.add(join(tree.real, e.path.slice(tree.path.length)));
        } else {
          skipped.push({ path: e.path, reason: 'unsupported-extension', detail: `not one of .${[...extensions].join(', .')}` });
        }
      } else {
        skipped.push({ path: e.path, reason: 'not-a-file', detail: 'a FIFO, socket or device node' });
      }
    }
    for (const { path, err } of readdirErrors) {
      skipped.push({ path, reason: 'unreadable-directory', detail: `${err.code}: cannot list the folder` });
    }
    for (const link of links.sort()) {
      let target: string;
      let isDir: boolean;
      try {
        const st = await stat(link);
        target = await realpath(link);
        isDir = st.isDirectory();
        if (!isDir && !st.isFile()) {
          skipped.push({ path: link, reason: 'not-a-file', detail: `link to ${target}` });
          continue;
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        skipped.push({ path: link, reason: errnoReason(code), detail: `${code ?? 'error'} resolving the symbolic link` });
        continue;
      }
      if (isDir) {
        const realParent = await realpath(dirname(link));
        if (isInside(realParent, target)) {
          skipped.push({ path: link, reason: 'symlink-loop', detail: `links back to its ancestor ${target}` });
        } else if ([...walkedRealDirs].some((w) => isInside(target, w)) || queue.some((q) => q.real === target)) {
          skipped.push({ path: link, reason: 'duplicate', detail: `folder ${target} is already listed` });
        } else {
          queue.push({ path: link, real: target });
        }
      } else if (!extensions.has(extname(link).slice(1).toLowerCase())) {
        skipped.push({ path: link, reason: 'unsupported-extension', detail: `not one of .${[...extensions].join(', .')}` });
      } else if (realFiles.has(target)) {
        skipped.push({ path: link, reason: 'duplicate', detail: `same file as ${target}` });
      } else {
        realFiles.add(target);
        files.push(link);
      }
    }
  }
  files.sort();
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}
