/**
 * A Node filesystem `tf.io.IOHandler` for pure `@tensorflow/tfjs` (the `file://` handler lives in
 * tfjs-node, which fdft does not require).
 *
 * Layout = the standard tfjs web format, so the same folder loads with `tf.loadLayersModel(url)` /
 * `tf.loadGraphModel(url)` in a browser:
 *
 *   dir/model.json              { modelTopology, weightsManifest: [{ paths, weights }], format, … }
 *   dir/group1-shard1ofN.bin    the weight bytes, split in 4 MiB shards (tfjs-converter's default)
 *
 * Saving is atomic per file: every file is written to a temporary name in the same folder, fsynced,
 * then renamed over the target; model.json is renamed LAST, so a reader never sees a model.json whose
 * shards are missing. Shards of an earlier save that the new manifest no longer names are removed
 * afterwards. Loading checks that the shards hold exactly the bytes the manifest describes, so a
 * truncated or mixed-up folder fails with a `ModelFileError` instead of loading garbage weights.
 */
import * as tf from '@tensorflow/tfjs';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
// Registers fdft's custom layer classes, so that `loadModel` can rebuild FDFtNet models.
import '../../layers/index.ts';

/** Bad or missing model files. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

export const MODEL_JSON = 'model.json';
/** Shard size used by tfjs-converter and by browsers' http loader: 4 MiB. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface FileSystemHandlerOptions {
  /** Maximum bytes per weight shard (default 4 MiB). */
  shardBytes?: number;
}

const SHARD_RE = /^group\d+-shard\d+of\d+\.bin$/;

/** Bytes per element of a weight as stored in the binary (after quantization). */
function storedBytesPerElement(spec: tf.io.WeightsManifestEntry): number | undefined {
  const q = spec.quantization?.dtype;
  if (q) return q === 'uint8' ? 1 : 2; // uint16 and float16
  switch (spec.dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'bool':
      return 1;
    default:
      return undefined; // 'string' (variable length) or complex: cannot check
  }
}

/** Total bytes the manifest's weight specs occupy, or undefined if not computable. */
export function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    const per = storedBytesPerElement(s);
    if (per === undefined) return undefined;
    total += per * s.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/** fsync a directory so the renames in it are durable (best effort: Windows cannot open folders). */
async function fsyncDir(path: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, fsConstants.O_RDONLY);
    await fh.sync();
  } catch {
    // not supported on this platform
  } finally {
    await fh?.close();
  }
}

/** Write `data` to `tmp` and fsync it (rename comes later, for all files together). */
async function writeSynced(tmp: string, data: Uint8Array | string): Promise<void> {
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await fsp.readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new ModelFileError(`${what} ${path} does not exist`);
    throw new ModelFileError(`cannot read ${what} ${path}: ${err.message}`);
  }
}

class FileSystemHandler implements tf.io.IOHandler {
  readonly dir: string;
  readonly modelJsonPath: string;
  private readonly shardBytes: number;

  constructor(path: string, opts: FileSystemHandlerOptions = {}) {
    const p = resolve(path.startsWith('file://') ? path.slice('file://'.length) : path);
    // Accept a folder or the path of its model.json.
    if (p.endsWith('.json')) {
      this.dir = dirname(p);
      this.modelJsonPath = p;
    } else {
      this.dir = p;
      this.modelJsonPath = join(p, MODEL_JSON);
    }
    this.shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
    if (!(this.shardBytes > 0)) throw new ModelFileError(`shardBytes must be > 0, got ${this.shardBytes}`);
  }

  save = async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new ModelFileError('binary (protobuf) model topologies cannot be saved; only JSON topologies');
    }
    await fsp.mkdir(this.dir, { recursive: true });
    const st = await fsp.stat(this.dir);
    if (!st.isDirectory()) throw new ModelFileError(`${this.dir} exists and is not a directory`);

    const weights = new tf.io.CompositeArrayBuffer(artifacts.weightData ?? []);
    const total = weights.byteLength;
    const nShards = Math.max(1, Math.ceil(total / this.shardBytes));
    const shardNames: string[] = [];
    const shardData: Uint8Array[] = [];
    for (let i = 0; i < nShards; i++) {
      shardNames.push(`group1-shard${i + 1}of${nShards}.bin`);
      shardData.push(new Uint8Array(weights.slice(i * this.shardBytes, Math.min(total, (i + 1) * this.shardBytes))));
    }
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology ?? {},
      weightsManifest: [{ paths: shardNames, weights: artifacts.weightSpecs ?? [] }],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    };
    if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.signature != null) modelJson.signature = artifacts.signature;
    if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
    if (artifacts.initializerSignature != null) modelJson.initializerSignature = artifacts.initializerSignature;

    const tag = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const files: Array<[target: string, data: Uint8Array | string]> = shardNames.map((n, i) => [join(this.dir, n), shardData[i]!]);
    files.push([this.modelJsonPath, JSON.stringify(modelJson)]);
    const temps: string[] = [];
    try {
      for (const [target, data] of files) {
        const tmp = target + tag;
        temps.push(tmp);
        await writeSynced(tmp, data);
      }
      // Shards first, model.json last: the manifest never points at shards that are not there.
      for (const [target] of files) await fsp.rename(target + tag, target);
    } catch (e) {
      await Promise.all(temps.map((t) => fsp.rm(t, { force: true })));
      throw e;
    }
    await fsyncDir(this.dir);

    // Remove shards left by an earlier save with a different shard count.
    const keep = new Set(shardNames);
    for (const f of await fsp.readdir(this.dir)) {
      if (SHARD_RE.test(f) && !keep.has(f)) await fsp.rm(join(this.dir, f), { force: true });
    }
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  };

  load = async (): Promise<tf.io.ModelArtifacts> => {
    const text = (await readOrFail(this.modelJsonPath, 'model file')).toString('utf8');
    let modelJson: tf.io.ModelJSON;
    try {
      modelJson = JSON.parse(text) as tf.io.ModelJSON;
    } catch (e) {
      throw new ModelFileError(`${this.modelJsonPath} is not valid JSON: ${(e as Error).message}`);
    }
    if (modelJson == null || typeof modelJson !== 'object' || modelJson.modelTopology == null) {
      throw new ModelFileError(`${this.modelJsonPath} has no modelTopology: not a tfjs model.json`);
    }
    return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => this.loadWeights(manifest));
  };

  private async loadWeights(manifest: tf.io.WeightsManifestConfig): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
    if (!Array.isArray(manifest)) throw new ModelFileError(`${this.modelJsonPath}: weightsManifest is not an array`);
    const base = dirname(this.modelJsonPath);
    const buffers: ArrayBuffer[] = [];
    const specs: tf.io.WeightsManifestEntry[] = [];
    for (const group of manifest) {
      for (const p of group.paths) {
        // Paths are relative to model.json; refuse to wander outside its folder.
        const full = resolve(base, p);
        if (!full.startsWith(base + sep)) {
          throw new ModelFileError(`weight path '${p}' in ${this.modelJsonPath} leaves the model folder`);
        }
        buffers.push(toArrayBuffer(await readOrFail(full, 'weight shard')));
      }
      specs.push(...group.weights);
    }
    const data = tf.io.concatenateArrayBuffers(buffers);
    const expected = expectedWeightBytes(specs);
    if (expected !== undefined && expected !== data.byteLength) {
      throw new ModelFileError(
        `${this.modelJsonPath}: the weight shards hold ${data.byteLength} bytes but the manifest describes ${expected}` +
          ' (truncated or mismatched .bin files)',
      );
    }
    return [specs, data];
  }
}

/**
 * IOHandler that saves to / loads from a folder (or a `…/model.json` path; a `file://` prefix is
 * accepted). Use with `model.save(h)`, `tf.loadLayersModel(h)` or `tf.loadGraphModel(h)`.
 */
export function fileSystemHandler(dir: string, opts?: FileSystemHandlerOptions): tf.io.IOHandler {
  return new FileSystemHandler(dir, opts);
}

/** Save a LayersModel to `dir` in the standard tfjs layout (atomic per file). */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  opts: { includeOptimizer?: boolean; shardBytes?: number } = {},
): Promise<tf.io.SaveResult> {
  return model.save(fileSystemHandler(dir, { shardBytes: opts.shardBytes }), { includeOptimizer: opts.includeOptimizer ?? false });
}

/**
 * Load a LayersModel saved by `saveModel` (or by any tfjs/Keras converter in the same layout).
 * fdft's custom layers are registered first, so FDFtNet models reload.
 */
export async function loadModel(dir: string, opts: tf.io.LoadOptions = {}): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystemHandler(dir), opts);
}

/** Load a GraphModel (tfjs-converter output: format 'graph-model') from a folder. */
export async function loadGraphModel(dir: string, opts: tf.io.LoadOptions = {}): Promise<tf.GraphModel> {
  return tf.loadGraphModel(fileSystemHandler(dir), opts);
}

let routerRegistered = false;
/**
 * Make `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work with pure
 * @tensorflow/tfjs. Skipped when another `file://` handler (tfjs-node) is already registered, since
 * tfjs refuses URLs that two routers claim.
 */
export function registerFileSystemRouter(): void {
  if (routerRegistered) return;
  routerRegistered = true;
  const probe = 'file://probe';
  if (tf.io.getSaveHandlers(probe).length > 0 || tf.io.getLoadHandlers(probe).length > 0) return;
  // tfjs routers return null for URLs they do not serve (its IORouter type omits that).
  const router = ((url: string | string[]) =>
    typeof url === 'string' && url.startsWith('file://') ? fileSystemHandler(url) : null) as unknown as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}
