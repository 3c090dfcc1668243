/**
 * The feature file written by `fdft features` and read by `fdft classical`: ONE binary file,
 *
 *   bytes 0–7    magic "FDFTFEAT"
 *   bytes 8–11   uint32 LE format version (1)
 *   bytes 12–15  uint32 LE byte length H of the JSON header
 *   16 … 16+H    UTF-8 JSON header (space-padded so the matrix starts on a 4-byte boundary)
 *   16+H …       rows × cols float32, little-endian, row-major (one feature vector per image)
 *
 * so the header is readable with `head -c 4000 FILE` and a 2000 × 2048 matrix is 16 MB instead of
 * ~40 MB of JSON numbers. The header carries labels, paths, identity groups, content hashes (for
 * the leakage guard) and a description of the extractor, including the images it was trained on.
 * Written atomically (temp file + fsync + rename).
 */
import { open, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../util/atomic.ts';
import { FeatureFileError } from './errors.ts';
import type { FeatureMatrix } from './featureMatrix.ts';

export const FEATURE_MAGIC = 'FDFTFEAT';
export const FEATURE_VERSION = 1;
const PREFIX = 16;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** What the extractor was trained on (for the leakage guard). */
export interface TrainedOnInfo {
  /** How this was established: from a checkpoint's run config, given by the user, or unknown. */
  source: 'run-config' | 'user' | 'unknown';
  /** Run directory / config file it came from. */
  runConfig?: string;
  dataRoot?: string;
  split?: string;
  /** Content hashes (see hashImageFile) and paths of the training images. */
  hashes?: string[];
  paths?: string[];
  /** Why it is unknown, or other remarks. */
  note?: string;
}

export interface ExtractorInfo {
  /** 'backbone-checkpoint' (an `fdft pretrain` run), 'layers-model' or 'graph-model' (any tfjs model.json). */
  kind: 'backbone-checkpoint' | 'layers-model' | 'graph-model';
  /** The checkpoint directory or model.json path. */
  source: string;
  backbone?: string;
  /** Layer / node whose output is the feature (undefined = the model's output or the `features` layer). */
  layer?: string;
  inputSize: number;
  preprocess: string;
  fit: string;
  /** 'gap' = global average pooling of a 4-D feature map; 'none' = already a vector (flattened if not). */
  pooling: 'gap' | 'flatten' | 'none';
  trainedOn: TrainedOnInfo;
}

export interface FeatureHeader {
  format: 'fdft-features';
  version: number;
  rows: number;
  cols: number;
  dtype: 'float32';
  byteOrder: 'little';
  labels: number[];
  paths: string[];
  /** Identity group per row (null: none). */
  groups: (string | null)[];
  /** Content hash per row (sha256 of the file bytes, 16 hex digits). */
  hashes: string[];
  /** Dataset root the paths were discovered under, and which split(s). */
  dataRoot?: string;
  split?: string;
  groupBy?: string;
  extractor: ExtractorInfo;
  createdAt: string;
  /** Files that could not be decoded (left out of the matrix). */
  skipped?: { path: string; reason: string }[];
  /** Free-form extras (e.g. extraction time). */
  extra?: Record<string, unknown>;
}

export interface FeatureFile {
  header: FeatureHeader;
  matrix: FeatureMatrix;
}

export async function writeFeatureFile(path: string, header: Omit<FeatureHeader, 'format' | 'version' | 'dtype' | 'byteOrder' | 'rows' | 'cols'>, data: { X: Float32Array; nRows: number; nCols: number }): Promise<void> {
  const { X, nRows, nCols } = data;
  if (X.length !== nRows * nCols) throw new FeatureFileError(`matrix has ${X.length} values, not ${nRows} × ${nCols}`);
  for (const k of ['labels', 'paths', 'groups', 'hashes'] as const) {
    const arr: unknown[] = header[k];
    if (arr.length !== nRows) throw new FeatureFileError(`header.${k} has ${arr.length} entries for ${nRows} rows`);
  }
  const full: FeatureHeader = { format: 'fdft-features', version: FEATURE_VERSION, rows: nRows, cols: nCols, dtype: 'float32', byteOrder: 'little', ...header };
  let json = Buffer.from(JSON.stringify(full), 'utf8');
  const pad = (4 - ((PREFIX + json.length) % 4)) % 4;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(PREFIX + json.length + X.length * 4);
  out.write(FEATURE_MAGIC, 0, 'latin1');
  out.writeUInt32LE(FEATURE_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, PREFIX);
  const body = PREFIX + json.length;
  if (LITTLE_ENDIAN_HOST) Buffer.from(X.buffer, X.byteOffset, X.byteLength).copy(out, body);
  else for (let i = 0; i < X.length; i++) out.writeFloatLE(X[i]!, body + i * 4);
  await writeFileAtomic(path, out);
}

function parseHeader(path: string, buf: Buffer): { header: FeatureHeader; body: number } {
  if (buf.length < PREFIX || buf.toString('latin1', 0, 8) !== FEATURE_MAGIC) {
    throw new FeatureFileError(`${path} is not an fdft feature file (no ${FEATURE_MAGIC} magic; write one with fdft features)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== FEATURE_VERSION) throw new FeatureFileError(`${path}: feature file version ${version} is not supported (expected ${FEATURE_VERSION})`);
  const h = buf.readUInt32LE(12);
  if (PREFIX + h > buf.length) throw new FeatureFileError(`${path} is truncated: the header claims ${h} bytes, the file has ${buf.length - PREFIX}`);
  let header: FeatureHeader;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + h)) as FeatureHeader;
  } catch (e) {
    throw new FeatureFileError(`${path}: the JSON header is corrupt (${(e as Error).message})`);
  }
  const { rows, cols } = header;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) throw new FeatureFileError(`${path}: bad shape ${rows} × ${cols} in header`);
  for (const k of ['labels', 'paths', 'groups', 'hashes'] as const) {
    if (!Array.isArray(header[k]) || header[k].length !== rows) throw new FeatureFileError(`${path}: header.${k} must list ${rows} entries`);
  }
  if (header.labels.some((l) => l !== 0 && l !== 1)) throw new FeatureFileError(`${path}: labels must be 0 (real) or 1 (fake)`);
  return { header, body: PREFIX + h };
}

/** Read a whole feature file (header + matrix). */
export async function readFeatureFile(path: string): Promise<FeatureFile> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new FeatureFileError(`cannot read feature file ${path}: ${(e as Error).message}`);
  }
  const { header, body } = parseHeader(path, buf);
  const expected = header.rows * header.cols * 4;
  if (buf.length - body !== expected) {
    throw new FeatureFileError(`${path} is truncated or padded: ${buf.length - body} matrix bytes, expected ${header.rows} × ${header.cols} × 4 = ${expected}`);
  }
  const X = new Float32Array(header.rows * header.cols);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(X.buffer).set(buf.subarray(body, body + expected));
  else for (let i = 0; i < X.length; i++) X[i] = buf.readFloatLE(body + i * 4);
  return { header, matrix: { X, y: Uint8Array.from(header.labels), nRows: header.rows, nCols: header.cols } };
}

/** Only the header (reads the first bytes of the file). */
export async function readFeatureHeader(path: string): Promise<FeatureHeader> {
  const fh = await open(path, 'r').catch((e: Error) => {
    throw new FeatureFileError(`cannot read feature file ${path}: ${e.message}`);
  });
  try {
    const pre = Buffer.alloc(PREFIX);
    await fh.read(pre, 0, PREFIX, 0);
    if (pre.toString('latin1', 0, 8) !== FEATURE_MAGIC) throw new FeatureFileError(`${path} is not an fdft feature file`);
    const h = pre.readUInt32LE(12);
    const buf = Buffer.alloc(PREFIX + h);
    const { bytesRead } = await fh.read(buf, 0, PREFIX + h, 0);
    if (bytesRead < PREFIX + h) throw new FeatureFileError(`${path} is truncated inside its header`);
    return parseHeader(path, buf).header;
  } finally {
    await fh.close();
  }
}
