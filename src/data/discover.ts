/**
 * Dataset discovery. Two layouts, detected automatically:
 *   pre-split  ROOT/{train,val,test,finetune}/{real,fake}/**  (paper Table 4 splits; Keras
 *              flow_from_directory convention, but with fdft's labels: real = 0, fake = 1)
 *   flat       ROOT/{real,fake}/**  → split here with a seed (see split.ts)
 * Only folders named exactly real / fake (any case) count as classes; other files and folders
 * next to them are ignored, and everything unusable inside them is reported in `skipped`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { DatasetError, DataOptionsError } from './errors.ts';
import { balancedSubset, DEFAULT_SPLIT, splitSamples, type SplitSpec } from './split.ts';
import { checkFileTraits, fileTraitWarnings } from './fileTraits.ts';
import { buildSummary } from './summary.ts';
import { SPLIT_NAMES, type DatasetIndex, type Label, type Sample, type SkippedFile, type SplitName, type Splits } from './types.ts';
import { listImageFiles } from './walk.ts';

export interface DiscoverOptions {
  /** Seed of the flat-layout split (and of a fine-tune subset sampled from train). Default 0. */
  seed?: number;
  /** Identity regex: the first capture group of the path relative to ROOT (with '/') is the group. */
  groupBy?: string | RegExp;
  /** Split sizes for the flat layout; `finetuneMax` also caps a sampled fine-tune set. */
  split?: SplitSpec;
  /** Image extensions to accept (default jpg jpeg png webp bmp tif tiff). */
  extensions?: readonly string[];
}

const SPLIT_ALIASES: Record<string, SplitName> = {
  train: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
  finetune: 'finetune',
  'fine-tune': 'finetune',
  fine_tune: 'finetune',
};

async function subdirs(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) isDir = await stat(p).then((s) => s.isDirectory(), () => false);
    if (isDir) out.set(e.name.toLowerCase(), p);
  }
  return out;
}

function compileGroupBy(groupBy: string | RegExp | undefined): RegExp | undefined {
  if (groupBy === undefined || groupBy === '') return undefined;
  if (groupBy instanceof RegExp) return groupBy;
  try {
    return new RegExp(groupBy);
  } catch (e) {
    throw new DataOptionsError(`--group-by is not a valid regular expression: ${(e as Error).message}`);
  }
}

/** Samples of one folder holding real/ and fake/, and what was skipped there. */
async function readClassFolders(dir: string, opts: DiscoverOptions, where: string) {
  const sub = await subdirs(dir);
  const samples: Sample[] = [];
  const skipped: SkippedFile[] = [];
  for (const [name, label] of [['real', 0], ['fake', 1]] as [string, Label][]) {
    const classDir = sub.get(name);
    if (!classDir) throw new DatasetError(`${where}: no '${name}' folder in ${dir} (expected ${dir}${sep}{real,fake}${sep}…)`);
    const listing = await listImageFiles(classDir, { extensions: opts.extensions });
    skipped.push(...listing.skipped);
    if (listing.files.length === 0) {
      throw new DatasetError(
        `${where}: no usable image in ${classDir}` +
          (listing.skipped.length ? ` (${listing.skipped.length} file(s) skipped: ${[...new Set(listing.skipped.map((s) => s.reason))].join(', ')})` : ''),
      );
    }
    for (const path of listing.files) samples.push({ path, label });
  }
  return { samples, skipped };
}

function assignGroups(samples: Sample[], root: string, re: RegExp | undefined): number {
  if (!re) return 0;
  let unmatched = 0;
  for (const s of samples) {
    const rel = relative(root, s.path).split(sep).join('/');
    const m = re.exec(rel);
    if (m && m[1] !== undefined) s.group = m[1];
    else {
      s.group = rel; // its own group: cannot leak anything
      unmatched++;
    }
  }
  return unmatched;
}

/** Finds the images of a dataset, skips what cannot be used, and splits it. */
export async function discoverDataset(root: string, opts: DiscoverOptions = {}): Promise<DatasetIndex> {
  const absRoot = resolve(root);
  const seed = opts.seed ?? 0;
  const st = await stat(absRoot).catch(() => undefined);
  if (!st) throw new DatasetError(`dataset folder ${absRoot} does not exist`);
  if (!st.isDirectory()) throw new DatasetError(`dataset path ${absRoot} is not a folder`);
  const re = compileGroupBy(opts.groupBy);
  const top = await subdirs(absRoot).catch((e: NodeJS.ErrnoException) => {
    throw new DatasetError(`cannot list dataset folder ${absRoot} (${e.code})`);
  });
  const splitDirs = new Map<SplitName, string>();
  for (const [name, path] of top) {
    const split = SPLIT_ALIASES[name];
    if (split && !splitDirs.has(split)) splitDirs.set(split, path);
  }

  let splits: Splits;
  const skipped: SkippedFile[] = [];
  const warnings: string[] = [];
  let layout: DatasetIndex['layout'];
  let finetuneSource: 'folder' | 'split' | 'sampled-from-train';
  let ungrouped = 0;

  if (splitDirs.has('train')) {
    layout = 'pre-split';
    splits = { train: [], val: [], test: [], finetune: [] };
    for (const name of SPLIT_NAMES) {
      const dir = splitDirs.get(name);
      if (!dir) continue;
      const r = await readClassFolders(dir, opts, `${name} split`);
      splits[name] = r.samples;
      skipped.push(...r.skipped);
      ungrouped += assignGroups(r.samples, absRoot, re);
    }
    for (const name of ['val', 'test'] as const) {
      if (!splitDirs.has(name)) warnings.push(`no ${name}/ folder: the ${name} split is empty`);
    }
    if (splitDirs.has('finetune')) finetuneSource = 'folder';
    else {
      finetuneSource = 'sampled-from-train';
      const max = opts.split?.finetuneMax ?? DEFAULT_SPLIT.finetuneMax;
      splits.finetune = balancedSubset(splits.train, max, seed);
      warnings.push(`no finetune/ folder: fine-tune set = a balanced random subset of train (${splits.finetune.length} images)`);
    }
    if (re) {
      // The user fixed the splits; report identities that appear in more than one of them.
      const seen = new Map<string, Set<SplitName>>();
      for (const name of ['train', 'val', 'test'] as const) {
        for (const s of splits[name]) {
          let set = seen.get(s.group!);
          if (!set) seen.set(s.group!, (set = new Set()));
          set.add(name);
        }
      }
      const leaking = [...seen.values()].filter((s) => s.size > 1).length;
      if (leaking) warnings.push(`${leaking} identity group(s) appear in more than one of train/val/test`);
    }
  } else if (top.has('real') || top.has('fake')) {
    layout = 'flat';
    finetuneSource = 'split';
    const r = await readClassFolders(absRoot, opts, 'dataset');
    skipped.push(...r.skipped);
    ungrouped = assignGroups(r.samples, absRoot, re);
    splits = splitSamples(r.samples, opts.split, seed);
    if (re) {
      const ft = splits.finetune;
      const real = ft.filter((s) => s.label === 0).length;
      if (real * 2 !== ft.length) warnings.push(`grouped split: fine-tune set is ${real} real + ${ft.length - real} fake (whole groups kept together)`);
    }
  } else {
    throw new DatasetError(
      `${absRoot} has no recognised layout: expected ${absRoot}${sep}{real,fake}${sep}… (flat) or ` +
        `${absRoot}${sep}{train,val,test,finetune}${sep}{real,fake}${sep}… (pre-split)`,
    );
  }
  if (re && ungrouped) warnings.push(`${ungrouped} file(s) did not match --group-by ${re.source}; each is its own group`);

  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const fileTraits = await checkFileTraits(SPLIT_NAMES.flatMap((n) => splits[n]));
  warnings.push(...fileTraitWarnings(fileTraits));
  const summary = buildSummary(
    { root: absRoot, layout, splits, skipped },
    { seed, groupBy: re?.source, finetuneSource, warnings, ungrouped: re ? ungrouped : undefined, fileTraits },
  );
  return { root: absRoot, layout, splits, skipped, summary };
}
