/** The inputs of `fdft prepare`: image and video files under a folder, recursively. */
import { stat } from 'node:fs/promises';
import { extname, relative, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import { PrepareError } from './errors.ts';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'bmp', 'tif', 'tiff', 'gif', 'avif'] as const;
export const VIDEO_EXTENSIONS = ['mp4', 'avi', 'mov', 'mkv', 'webm', 'm4v', 'mpg', 'mpeg', 'wmv', 'flv'] as const;

export type SourceKind = 'image' | 'video';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the input root, '/'-separated: the source's identity in manifests. */
  relPath: string;
  kind: SourceKind;
}

export function sourceKind(path: string): SourceKind | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((VIDEO_EXTENSIONS as readonly string[]).includes(ext)) return 'video';
  return undefined;
}

/**
 * Every image and video under `inputDir` (or the one file it names), sorted by relative path.
 * Files under `excludeDir` (the output folder, when it lies inside the input) are left out.
 */
export async function findSources(inputDir: string, excludeDir?: string): Promise<SourceFile[]> {
  const root = resolve(inputDir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    throw new PrepareError(`--input ${inputDir} does not exist or cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (st.isFile()) {
    const kind = sourceKind(root);
    if (!kind) throw new PrepareError(`--input ${inputDir} is neither an image nor a video (by its extension)`);
    return [{ path: root, relPath: relative(resolve(root, '..'), root), kind }];
  }
  const exts = [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(',');
  const found = await fg(`**/*.{${exts}}`, {
    cwd: root,
    caseSensitiveMatch: false,
    onlyFiles: true,
    suppressErrors: true, // unreadable folders and symlink loops are not fatal
    dot: false,
  });
  const exclude = excludeDir ? resolve(excludeDir) + sep : undefined;
  const out: SourceFile[] = [];
  for (const rel of found) {
    const path = resolve(root, rel);
    if (exclude && path.startsWith(exclude)) continue;
    const kind = sourceKind(rel);
    if (kind) out.push({ path, relPath: rel.split(sep).join('/'), kind });
  }
  return out.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}
