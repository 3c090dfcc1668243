/**
 * Run directories: `<root>/<YYYYMMDD-HHMMSS>-<backbone>-<dataset>-<hash>/` where the timestamp is
 * local time and `<hash>` is the first 8 hex digits of the SHA-256 of the resolved config in
 * canonical JSON (sorted keys), so two runs with the same settings share a suffix. Every run has a
 * `run.json` (kind, backbone, dataset, config, status) that `findRuns` reads, e.g. to find a
 * finished pretrain of the same backbone and dataset for `fdft train`.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';

export class RunDirError extends Error {
  override name = 'RunDirError';
}

export const RUN_INFO_FILE = 'run.json';

export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

export interface RunInfo {
  /** Directory name (also the run's id). */
  name: string;
  /** What produced it, e.g. 'pretrain' or 'train'. */
  kind?: string;
  backbone: string;
  dataset: string;
  configHash: string;
  config: unknown;
  /** ISO 8601. */
  createdAt: string;
  status: RunStatus;
  finishedAt?: string;
  [extra: string]: unknown;
}

/** A run found on disk: its info plus the directory path. */
export interface FoundRun extends RunInfo {
  dir: string;
}

export interface CreateRunDirOptions {
  /** Parent of all runs (default 'checkpoints'). */
  root?: string;
  backbone: string;
  /** Dataset name (e.g. `datasetName(dataDir)`); sanitised for the directory name. */
  dataset: string;
  /** The fully resolved config: every hyper-parameter and the seed. Must be JSON-serialisable. */
  config: unknown;
  kind?: string;
  /** Extra fields for run.json (e.g. dataset summary). */
  extra?: Record<string, unknown>;
  /** Creation time (default now); fixes the name in tests. */
  now?: Date;
}

/** JSON with object keys sorted at every level, undefined members dropped: equal configs → equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}

/** First 8 hex digits of SHA-256(canonicalJson(config)). */
export function configHash(config: unknown): string {
  const text = canonicalJson(config);
  if (text === undefined) throw new RunDirError('the config is not JSON-serialisable');
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** `YYYYMMDD-HHMMSS` in local time. */
export function formatRunTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** A safe directory-name part: letters, digits, '.', '_' kept; anything else becomes '_'. */
export function sanitizeNamePart(s: string): string {
  const out = s.replace(/[^A-Za-z0-9._]+/g, '_').replace(/^[._]+|_+$/g, '');
  return out || 'unnamed';
}

/** Dataset name for run directories: the data folder's base name, or 'synthetic' without one. */
export function datasetName(dataDir?: string): string {
  return dataDir ? sanitizeNamePart(basename(resolve(dataDir))) : 'synthetic';
}

/** Create a new run directory with its run.json (status 'running'); returns its path. */
export async function createRunDir(opts: CreateRunDirOptions): Promise<string> {
  const root = opts.root ?? 'checkpoints';
  if (!opts.backbone) throw new RunDirError('createRunDir: backbone is required');
  if (!opts.dataset) throw new RunDirError('createRunDir: dataset is required');
  const now = opts.now ?? new Date();
  const hash = configHash(opts.config);
  const base = `${formatRunTimestamp(now)}-${sanitizeNamePart(opts.backbone)}-${sanitizeNamePart(opts.dataset)}-${hash}`;
  await mkdir(root, { recursive: true });
  // Same second and same config (e.g. a script starting runs in a loop): add a counter.
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    const dir = join(root, name);
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && i < 1000) continue;
      throw e;
    }
    const info: RunInfo = {
      ...opts.extra,
      name,
      ...(opts.kind ? { kind: opts.kind } : {}),
      backbone: opts.backbone,
      dataset: opts.dataset,
      configHash: hash,
      config: opts.config,
      createdAt: now.toISOString(),
      status: 'running',
    };
    await writeJsonAtomic(join(dir, RUN_INFO_FILE), info);
    return dir;
  }
}

export async function readRunInfo(dir: string): Promise<RunInfo> {
  const path = join(dir, RUN_INFO_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new RunDirError(`${dir} is not a run directory (no readable ${RUN_INFO_FILE}: ${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let info: RunInfo;
  try {
    info = JSON.parse(text) as RunInfo;
  } catch (e) {
    throw new RunDirError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof info !== 'object' || info === null || typeof info.backbone !== 'string' || typeof info.status !== 'string') {
    throw new RunDirError(`${path} lacks backbone/status: not an fdft run`);
  }
  return info;
}

/** Merge `patch` into run.json (atomically) and return the result. */
export async function updateRunInfo(dir: string, patch: Partial<RunInfo>): Promise<RunInfo> {
  const info = { ...(await readRunInfo(dir)), ...patch } as RunInfo;
  await writeJsonAtomic(join(dir, RUN_INFO_FILE), info);
  return info;
}

/** Set status 'finished' and finishedAt, plus any extra fields (e.g. test metrics). */
export async function markRunFinished(dir: string, extra: Record<string, unknown> = {}): Promise<RunInfo> {
  return updateRunInfo(dir, { ...extra, status: 'finished', finishedAt: new Date().toISOString() });
}

export interface RunFilter {
  kind?: string;
  backbone?: string;
  dataset?: string;
  status?: RunStatus;
  configHash?: string;
}

/**
 * Runs under `root` matching `filter`, newest first. Directories without a valid run.json (temp
 * dirs, foreign folders, a run.json torn by a crash) are skipped. A missing root gives [].
 */
export async function findRuns(root: string, filter: RunFilter | ((run: FoundRun) => boolean) = {}): Promise<FoundRun[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const match =
    typeof filter === 'function'
      ? filter
      : (r: FoundRun) => Object.entries(filter).every(([k, v]) => v === undefined || r[k] === v);
  const runs: FoundRun[] = [];
  for (const name of entries) {
    const dir = join(root, name);
    let info: RunInfo;
    try {
      if (!(await stat(dir)).isDirectory()) continue;
      info = await readRunInfo(dir);
    } catch {
      continue;
    }
    const run: FoundRun = { ...info, name: info.name ?? name, dir };
    if (match(run)) runs.push(run);
  }
  return runs.sort((a, b) => (a.createdAt === b.createdAt ? (a.name < b.name ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
}

/**
 * Resolve `--checkpoint RUN` / `--resume RUN`: an existing directory path, a run name under `root`,
 * or a unique prefix of one.
 */
export async function resolveRunDir(ref: string, root = 'checkpoints'): Promise<string> {
  const isDir = async (p: string) => {
    try {
      return (await stat(p)).isDirectory();
    } catch {
      return false;
    }
  };
  if (await isDir(ref)) return ref;
  if (await isDir(join(root, ref))) return join(root, ref);
  let names: string[] = [];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith(ref));
  } catch {
    /* no root: fall through to the error */
  }
  if (names.length === 1 && (await isDir(join(root, names[0]!)))) return join(root, names[0]!);
  if (names.length > 1) throw new RunDirError(`'${ref}' matches ${names.length} runs in ${root}: ${names.slice(0, 5).join(', ')}…`);
  throw new RunDirError(`no run '${ref}': not a directory, and no run of that name in ${root}/`);
}
