/**
 * The dataset summary: counts per split and class, skipped files with reasons, warnings. Printed
 * by commands and written as JSON beside each run (`dataset.json`).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SPLIT_NAMES, type ClassCounts, type DatasetIndex, type DatasetSummary, type ImageSet, type Sample, type SkippedFile, type SplitName, type Splits } from './types.ts';

export function countSamples(samples: readonly Pick<Sample, 'label' | 'group'>[]): ClassCounts {
  let real = 0;
  let fake = 0;
  const groups = new Set<string>();
  for (const s of samples) {
    if (s.label === 0) real++;
    else fake++;
    if (s.group !== undefined) groups.add(s.group);
  }
  const c: ClassCounts = { real, fake, total: real + fake };
  if (groups.size) c.groups = groups.size;
  return c;
}

function skippedBlock(files: SkippedFile[]): DatasetSummary['skipped'] {
  const byReason: Record<string, number> = {};
  for (const f of files) byReason[f.reason] = (byReason[f.reason] ?? 0) + 1;
  return { total: files.length, byReason, files };
}

export interface SummaryMeta {
  seed: number;
  groupBy?: string;
  finetuneSource: DatasetSummary['finetuneSource'];
  warnings: string[];
  ungrouped?: number;
  fileTraits?: DatasetSummary['fileTraits'];
}

/**
 * The summary of a discovered dataset, with decoded counts and the files the decoder skipped
 * (truncated, not-an-image, too-large …) when the decoded splits are passed.
 */
export function summarizeDataset(index: DatasetIndex, loaded?: Partial<Record<SplitName, Pick<ImageSet, 'samples' | 'skipped'>>>): DatasetSummary {
  const base = structuredClone(index.summary);
  if (!loaded) return base;
  const decoded: Partial<Record<SplitName, ClassCounts>> = {};
  const extra = new Map<string, SkippedFile>();
  for (const name of SPLIT_NAMES) {
    const set = loaded[name];
    if (!set) continue;
    decoded[name] = countSamples(set.samples);
    for (const s of set.skipped) extra.set(s.path, s);
  }
  const known = new Set(base.skipped.files.map((f) => f.path));
  const files = [...base.skipped.files, ...[...extra.values()].filter((f) => !known.has(f.path))];
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  base.skipped = skippedBlock(files);
  base.decoded = decoded;
  return base;
}

/** The summary of a freshly discovered dataset (used by discoverDataset). */
export function buildSummary(index: Pick<DatasetIndex, 'root' | 'layout' | 'splits' | 'skipped'>, meta?: SummaryMeta): DatasetSummary {
  const splits = {} as Record<SplitName, ClassCounts>;
  for (const name of SPLIT_NAMES) splits[name] = countSamples(index.splits[name]);
  const s: DatasetSummary = {
    root: index.root,
    layout: index.layout,
    seed: meta?.seed ?? 0,
    finetuneSource: meta?.finetuneSource ?? (index.layout === 'flat' ? 'split' : 'folder'),
    splits,
    skipped: skippedBlock([...index.skipped]),
    warnings: [...(meta?.warnings ?? [])],
  };
  if (meta?.groupBy !== undefined) s.groupBy = meta.groupBy;
  if (meta?.ungrouped !== undefined) s.ungrouped = meta.ungrouped;
  if (meta?.fileTraits) s.fileTraits = meta.fileTraits;
  return s;
}

/** A plain-text table of the summary (what commands print). */
export function formatDatasetSummary(s: DatasetSummary, opts: { maxSkipped?: number; fileTraits?: boolean } = {}): string {
  const maxSkipped = opts.maxSkipped ?? 10;
  const lines: string[] = [];
  lines.push(`dataset ${s.root} (${s.layout}${s.layout === 'flat' ? `, split seed ${s.seed}` : ''}${s.groupBy ? `, grouped by /${s.groupBy}/` : ''})`);
  const hasGroups = SPLIT_NAMES.some((n) => s.splits[n].groups !== undefined);
  const head = ['split', 'real', 'fake', 'total', ...(hasGroups ? ['groups'] : []), ...(s.decoded ? ['decoded'] : [])];
  const rows = SPLIT_NAMES.map((n) => {
    const c = s.splits[n];
    const d = s.decoded?.[n];
    return [
      n + (n === 'finetune' && s.finetuneSource === 'sampled-from-train' ? ' (⊂ train)' : ''),
      String(c.real),
      String(c.fake),
      String(c.total),
      ...(hasGroups ? [String(c.groups ?? '')] : []),
      ...(s.decoded ? [d ? `${d.total}` : '-'] : []),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  lines.push(fmt(head), ...rows.map(fmt));
  if (s.skipped.total) {
    const reasons = Object.entries(s.skipped.byReason).map(([r, n]) => `${r} ${n}`).join(', ');
    lines.push(`skipped ${s.skipped.total} file(s): ${reasons}`);
    for (const f of s.skipped.files.slice(0, maxSkipped)) lines.push(`  ${f.reason.padEnd(22)} ${f.path}${f.detail ? ` — ${f.detail}` : ''}`);
    if (s.skipped.total > maxSkipped) lines.push(`  … ${s.skipped.total - maxSkipped} more in the JSON summary`);
  } else {
    lines.push('skipped 0 files');
  }
  if (opts.fileTraits && s.fileTraits) {
    const { inspected, traits } = s.fileTraits;
    lines.push(`file traits (header of ${inspected.real} real + ${inspected.fake} fake files; separation = balanced accuracy of that trait alone)`);
    for (const t of traits) lines.push(`  ${t.trait.padEnd(12)} ${(t.balancedAccuracy * 100).toFixed(0).padStart(3)} %   real: ${t.real}   fake: ${t.fake}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** Writes the summary as JSON (temp file + rename, so a reader never sees half a file). */
export async function writeDatasetSummary(path: string, summary: DatasetSummary): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(summary, null, 2) + '\n');
  await rename(tmp, path);
}

/** Counts of a split object, e.g. for quick logging. */
export function splitCounts(splits: Splits): Record<SplitName, ClassCounts> {
  return Object.fromEntries(SPLIT_NAMES.map((n) => [n, countSamples(splits[n])])) as Record<SplitName, ClassCounts>;
}
