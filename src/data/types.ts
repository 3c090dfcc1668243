/**
 * Shapes shared by the data pipeline and its users (training loop, classical pipeline, CLI).
 * Label convention everywhere in fdft: 0 = real, 1 = fake (fake is the positive class).
 */
import type { FileTraitsReport } from './fileTraits.ts';

export type Label = 0 | 1;
export const CLASS_NAMES = ['real', 'fake'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

export interface Sample {
  /** Absolute path of the image file. */
  path: string;
  label: Label;
  /** Identity group (first capture group of `--group-by`), when grouping is on. */
  group?: string;
}

/**
 * Why a file was left out. Every file under a class folder is either a Sample or one of these,
 * so nothing is lost silently.
 */
export type SkipReason =
  | 'empty-file' // zero bytes
  | 'not-an-image' // no decoder recognises the content (e.g. a text file named .jpg)
  | 'truncated' // the image data ends early
  | 'corrupt' // recognised format, broken data
  | 'too-small' // smaller than `minSide` px on a side (e.g. 1x1)
  | 'too-large' // over sharp's input pixel limit (e.g. 20000x20000)
  | 'unsupported-format' // a known container fdft cannot decode (e.g. RLE BMP)
  | 'unsupported-extension' // not one of the image extensions
  | 'unreadable' // permission denied
  | 'unreadable-directory' // a folder that cannot be listed
  | 'symlink-loop' // a symbolic link that leads back into itself
  | 'broken-symlink' // a symbolic link to nothing
  | 'duplicate' // the same file reached twice through symbolic links
  | 'missing' // vanished between discovery and decoding
  | 'not-a-file' // a FIFO, socket or device node
  | 'decode-error'; // anything else the decoder reports

export interface SkippedFile {
  path: string;
  reason: SkipReason | string;
  detail?: string;
}

export const SPLIT_NAMES = ['train', 'val', 'test', 'finetune'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export type Splits = Record<SplitName, Sample[]>;

export interface ClassCounts {
  real: number;
  fake: number;
  total: number;
  /** Distinct identity groups (with `groupBy`). */
  groups?: number;
}

export interface DatasetSummary {
  root: string;
  layout: 'pre-split' | 'flat';
  seed: number;
  groupBy?: string;
  /** Where the fine-tune split came from. */
  finetuneSource: 'folder' | 'split' | 'sampled-from-train';
  splits: Record<SplitName, ClassCounts>;
  skipped: { total: number; byReason: Record<string, number>; files: SkippedFile[] };
  /** Files whose path did not match `groupBy` (each became its own group). */
  ungrouped?: number;
  warnings: string[];
  /** Filled in once images are decoded (`summarizeDataset(index, loaded)`). */
  decoded?: Partial<Record<SplitName, ClassCounts>>;
  /** How the classes' files are stored, and whether that alone separates them (fileTraits.ts). */
  fileTraits?: FileTraitsReport;
}

export interface DatasetIndex {
  root: string;
  layout: 'pre-split' | 'flat';
  splits: Splits;
  skipped: SkippedFile[];
  summary: DatasetSummary;
}

/** Decoded images of a list of samples: N×size×size×3 RGB bytes, skipped samples removed. */
export interface ImageSet {
  size: number;
  /** N*size*size*3 RGB, row-major (HWC), image i at offset i*size*size*3. */
  images: Uint8Array;
  labels: Uint8Array;
  samples: Sample[];
  skipped: SkippedFile[];
}

export type Fit = 'squash' | 'crop';
