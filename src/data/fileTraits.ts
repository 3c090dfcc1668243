/**
 * File-trait bias check: does something other than the face tell real from fake? Public deepfake
 * sets often store their classes differently — the real photos as JPEG quality 90 and the fakes as
 * quality 95, PNG against JPEG, 4:2:0 against 4:4:4 chroma, 250x250 against 256x256. A CNN that sees
 * native-resolution pixels can learn the compression instead of the manipulation, and its AUROC then
 * says nothing about deepfakes (the shared faceswap set is such a case: LFW photos are JPEG q90, the
 * swaps q95). This reads only the first bytes of each file (container, pixel size, JPEG quantisation
 * table and chroma subsampling) and reports every trait whose per-class distribution alone separates
 * the classes.
 *
 * Written by hand: sharp's metadata gives format, size and chroma but not the quantisation tables,
 * and no maintained npm package estimates JPEG quality from the header without decoding the image.
 */
import { open } from 'node:fs/promises';
import { isBmp, readBmpHeader } from './bmp.ts';
import { isJpeg, isPng } from './signatures.ts';
import type { Label } from './types.ts';

/** What the first bytes of an image file say about how it was stored. */
export interface FileTraits {
  format: 'jpeg' | 'png' | 'webp' | 'bmp' | 'tiff' | 'gif' | 'other';
  width?: number;
  height?: number;
  /** IJG quality (1–100) whose scaled standard luminance table is nearest the file's (JPEG only). */
  jpegQuality?: number;
  /** Chroma subsampling of a 3-component JPEG: '4:4:4', '4:2:2', '4:2:0', … */
  chroma?: string;
}

export type TraitName = 'format' | 'dimensions' | 'jpegQuality' | 'chroma';

/** One trait's per-class distribution and how well it alone separates the classes. */
export interface TraitSeparation {
  trait: TraitName;
  /**
   * Balanced accuracy of the best rule that looks only at this trait (per value, the class whose
   * share of files is larger): 0.5 = says nothing, 1 = separates every inspected file.
   */
  balancedAccuracy: number;
  /** The most common values per class, e.g. 'q90 800' (value and count). */
  real: string;
  fake: string;
}

export interface FileTraitsReport {
  /** Files inspected per class (an evenly spaced subset of at most `maxPerClass`). */
  inspected: { real: number; fake: number };
  /** Every trait the files have, most separating first. */
  traits: TraitSeparation[];
}

/** A trait at or above this balanced accuracy is reported as a warning. */
export const TRAIT_WARNING_ACCURACY = 0.75;
const HEADER_BYTES = 64 * 1024;

// IJG's standard luminance table (JPEG Annex K.1) in zig-zag order, as a DQT segment stores it.
const STD_LUMINANCE_ZIGZAG = [
  16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68,
  87, 69, 55, 56, 80, 109, 81, 87, 95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
];

/** The IJG luminance table for `quality` (libjpeg's jpeg_quality_scaling, baseline-clamped). */
function ijgTable(quality: number): number[] {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - quality * 2;
  return STD_LUMINANCE_ZIGZAG.map((t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}
const IJG_TABLES = Array.from({ length: 100 }, (_, i) => ijgTable(i + 1));

/** The IJG quality whose table is nearest (sum of absolute differences) to a luminance table. */
export function estimateJpegQuality(table: ArrayLike<number>): number {
  let best = 1;
  let bestErr = Infinity;
  IJG_TABLES.forEach((t, i) => {
    let err = 0;
    for (let k = 0; k < 64; k++) err += Math.abs(t[k]! - table[k]!);
    if (err <= bestErr) [best, bestErr] = [i + 1, err]; // ties: the higher quality
  });
  return best;
}

function readJpeg(b: Uint8Array, traits: FileTraits): void {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return; // lost sync: header damaged or past the bytes read
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    const seg = b.subarray(i + 4, Math.min(b.length, i + 2 + len));
    if (marker === 0xdb) {
      for (let p = 0; p < seg.length; ) {
        const precision = seg[p]! >> 4;
        const id = seg[p]! & 15;
        const n = precision ? 128 : 64;
        if (p + 1 + n > seg.length) break;
        if (id === 0 && traits.jpegQuality === undefined) {
          const table = Array.from({ length: 64 }, (_, k) => (precision ? (seg[p + 1 + 2 * k]! << 8) | seg[p + 2 + 2 * k]! : seg[p + 1 + k]!));
          traits.jpegQuality = estimateJpegQuality(table);
        }
        p += 1 + n;
      }
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      // SOFn: precision, height, width, components (id, sampling factors, table).
      if (seg.length >= 6) {
        traits.height = (seg[1]! << 8) | seg[2]!;
        traits.width = (seg[3]! << 8) | seg[4]!;
        const nc = seg[5]!;
        if (nc === 3 && seg.length >= 6 + 9) {
          const h = [0, 1, 2].map((c) => seg[7 + 3 * c]! >> 4);
          const v = [0, 1, 2].map((c) => seg[7 + 3 * c]! & 15);
          const [hr, vr] = [h[0]! / Math.max(1, h[1]!), v[0]! / Math.max(1, v[1]!)];
          traits.chroma = hr === 1 && vr === 1 ? '4:4:4' : hr === 2 && vr === 1 ? '4:2:2' : hr === 2 && vr === 2 ? '4:2:0' : `${h.join('')}x${v.join('')}`;
        } else if (nc === 1) traits.chroma = 'grey';
      }
      return; // the tables a decoder needs come before the frame header
    } else if (marker === 0xda || marker === 0xd9) return;
    i += 2 + len;
  }
}

/** The traits of one file's first bytes (never throws on odd content: unknown → 'other'). */
export function fileTraitsOf(b: Uint8Array): FileTraits {
  if (isJpeg(b)) {
    const t: FileTraits = { format: 'jpeg' };
    readJpeg(b, t);
    return t;
  }
  if (isPng(b)) {
    // IHDR is the first chunk: width and height big-endian at bytes 16 and 20.
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return b.length >= 24 ? { format: 'png', width: v.getUint32(16), height: v.getUint32(20) } : { format: 'png' };
  }
  if (isBmp(b)) {
    try {
      const { width, height } = readBmpHeader(b);
      return { format: 'bmp', width, height };
    } catch {
      return { format: 'bmp' }; // a damaged header: the decoder reports it, with its reason
    }
  }
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return { format: 'webp' };
  if (ascii(0, 3) === 'GIF') return { format: 'gif' };
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return { format: 'tiff' };
  return { format: 'other' };
}

async function readHead(path: string): Promise<Uint8Array | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = new Uint8Array(HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined; // unreadable files are the decoder's to report, with their reason
  }
}

function traitValue(t: FileTraits, trait: TraitName): string | undefined {
  switch (trait) {
    case 'format':
      return t.format;
    case 'dimensions':
      return t.width !== undefined && t.height !== undefined ? `${t.width}x${t.height}` : undefined;
    case 'jpegQuality':
      return t.jpegQuality === undefined ? undefined : `q${t.jpegQuality}`;
    case 'chroma':
      return t.chroma;
  }
}

/**
 * How well one trait separates the classes: per value, predict the class with the larger share of
 * its files; balanced accuracy over the files that have the trait. Files without it (a PNG has no
 * JPEG quality) form their own value, so a format split shows up in every JPEG-only trait too.
 * Values seen fewer than max(3, 1 % of the files) times are pooled into one: otherwise a trait
 * with a different value per file (photos of every size) would "separate" the classes perfectly.
 */
export function separation(real: readonly (string | undefined)[], fake: readonly (string | undefined)[]): number {
  if (!real.length || !fake.length) return 0.5;
  const key = (v: string | undefined) => v ?? '\0none';
  const seen = new Map<string, number>();
  for (const v of [...real, ...fake]) seen.set(key(v), (seen.get(key(v)) ?? 0) + 1);
  const rare = Math.max(3, 0.01 * (real.length + fake.length));
  const counts = new Map<string, [number, number]>();
  for (const [vals, c] of [[real, 0], [fake, 1]] as const) {
    for (const v of vals) {
      const k = seen.get(key(v))! < rare ? '\0rare' : key(v);
      const e = counts.get(k) ?? [0, 0];
      e[c]++;
      counts.set(k, e);
    }
  }
  let acc = 0;
  for (const [r, f] of counts.values()) acc += Math.max(r / real.length, f / fake.length);
  return acc / 2;
}

function topValues(vals: readonly (string | undefined)[], max = 3): string {
  const counts = new Map<string, number>();
  for (const v of vals) counts.set(v ?? '—', (counts.get(v ?? '—') ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, max).map(([v, n]) => `${v} ${n}`);
  if (sorted.length > max) shown.push(`… ${sorted.length - max} more`);
  return shown.join(', ');
}

/** An evenly spaced subset of at most n items (deterministic: no seed to carry around). */
function evenlySpaced<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

/** Inspects up to `maxPerClass` files of each class and reports how separable each trait makes them. */
export async function checkFileTraits(samples: readonly { path: string; label: Label }[], opts: { maxPerClass?: number } = {}): Promise<FileTraitsReport> {
  const max = opts.maxPerClass ?? 500;
  const byClass = [0, 1].map((label) =>
    evenlySpaced(
      [...new Set(samples.filter((s) => s.label === label).map((s) => s.path))].sort(),
      max,
    ),
  );
  const traits = await Promise.all(
    byClass.map(async (paths) => {
      const out: FileTraits[] = [];
      // Bounded concurrency: enough to hide disk latency without opening thousands of handles.
      for (let i = 0; i < paths.length; i += 32) {
        const heads = await Promise.all(paths.slice(i, i + 32).map(readHead));
        for (const h of heads) if (h?.length) out.push(fileTraitsOf(h));
      }
      return out;
    }),
  );
  const [real, fake] = traits as [FileTraits[], FileTraits[]];
  const names: TraitName[] = ['format', 'dimensions', 'jpegQuality', 'chroma'];
  const rows = names
    .filter((n) => real.some((t) => traitValue(t, n) !== undefined) || fake.some((t) => traitValue(t, n) !== undefined))
    .map((trait) => {
      const r = real.map((t) => traitValue(t, trait));
      const f = fake.map((t) => traitValue(t, trait));
      return { trait, balancedAccuracy: separation(r, f), real: topValues(r), fake: topValues(f) };
    })
    .sort((a, b) => b.balancedAccuracy - a.balancedAccuracy);
  return { inspected: { real: real.length, fake: fake.length }, traits: rows };
}

const TRAIT_WORDS: Record<TraitName, string> = {
  format: 'file format',
  dimensions: 'pixel size',
  jpegQuality: 'JPEG quality',
  chroma: 'JPEG chroma subsampling',
};

/** Warnings for the traits that separate the classes by themselves. */
export function fileTraitWarnings(report: FileTraitsReport): string[] {
  return report.traits
    .filter((t) => t.balancedAccuracy >= TRAIT_WARNING_ACCURACY)
    .map(
      (t) =>
        `real and fake files differ in ${TRAIT_WORDS[t.trait]} (real: ${t.real}; fake: ${t.fake}): this alone tells ` +
        `${(t.balancedAccuracy * 100).toFixed(0)} % of them apart (balanced), so a detector can score well without ` +
        'seeing any manipulation; re-encode both classes alike before trusting such a result',
    );
}
