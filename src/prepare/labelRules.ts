/**
 * Labels (and identity groups) from where a file lies, for `--labels-from-path`:
 *  - FaceForensics++: `original_sequences/…` real, `manipulated_sequences/…` fake;
 *  - Celeb-DF: `Celeb-real/`, `YouTube-real/` real, `Celeb-synthesis/` fake;
 *  - DFDC: a `metadata.json` beside the video (`{"x.mp4": {"label": "FAKE", "original": "y.mp4"}}`),
 *    whose `original` also gives the identity group of a fake;
 *  - generic: a folder named `real` / `fake` (also `0_real` / `1_fake`, `reals` / `fakes`).
 * The deepest matching folder wins.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export type LabelName = 'real' | 'fake';

const FOLDER_LABELS: Record<string, LabelName> = {
  original_sequences: 'real',
  manipulated_sequences: 'fake',
  'celeb-real': 'real',
  'youtube-real': 'real',
  'celeb-synthesis': 'fake',
  real: 'real',
  reals: 'real',
  '0_real': 'real',
  fake: 'fake',
  fakes: 'fake',
  '1_fake': 'fake',
};

/** Label from the folders of `relPath` (relative to the input root), or undefined. */
export function labelFromFolders(relPath: string): LabelName | undefined {
  const dirs = relPath.split(/[\\/]/).slice(0, -1);
  for (let i = dirs.length - 1; i >= 0; i--) {
    const hit = FOLDER_LABELS[dirs[i].toLowerCase()];
    if (hit) return hit;
  }
  return undefined;
}

export interface DfdcEntry {
  label: LabelName;
  /** The real video a fake was made from (DFDC's `original`), its identity group. */
  original?: string;
}

/** Parses a DFDC `metadata.json`; entries without a REAL/FAKE label are left out. */
export function parseDfdcMetadata(text: string): Map<string, DfdcEntry> {
  const out = new Map<string, DfdcEntry>();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return out;
  }
  if (!json || typeof json !== 'object') return out;
  for (const [file, v] of Object.entries(json as Record<string, unknown>)) {
    const e = v as { label?: unknown; original?: unknown } | null;
    const label = typeof e?.label === 'string' ? e.label.toLowerCase() : '';
    if (label !== 'real' && label !== 'fake') continue;
    out.set(file, { label, original: typeof e?.original === 'string' ? e.original : undefined });
  }
  return out;
}

/** Reads (once per folder) DFDC metadata files; a folder without one maps to an empty table. */
export class DfdcMetadataCache {
  private readonly byDir = new Map<string, Promise<Map<string, DfdcEntry>>>();

  async lookup(absPath: string): Promise<DfdcEntry | undefined> {
    const dir = dirname(absPath);
    let table = this.byDir.get(dir);
    if (!table) {
      table = readFile(join(dir, 'metadata.json'), 'utf8').then(parseDfdcMetadata, () => new Map());
      this.byDir.set(dir, table);
    }
    return (await table).get(basename(absPath));
  }
}

/** The file name without folder and extension: the default identity group (video name). */
export function stemOf(path: string): string {
  return basename(path, extname(path));
}

/**
 * The identity group of a source: the first capture group of `groupBy` on the relative path, else
 * `fallback`. Returns whether the regex matched so that misses can be counted.
 */
export function groupOf(relPath: string, groupBy: RegExp | undefined, fallback: string): { group: string; matched: boolean } {
  if (!groupBy) return { group: fallback, matched: true };
  const m = relPath.match(groupBy);
  if (m && (m[1] ?? m[0])) return { group: m[1] ?? m[0], matched: true };
  return { group: fallback, matched: false };
}
