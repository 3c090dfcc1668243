/**
 * Loads a tfjs graph model (model JSON + weight shards) from local files with fdft's own tfjs, so
 * that detector weights shipped inside an npm package run on our engine without the package's
 * runtime (which bundles its own tfjs) and without any network access.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DetectorError } from './errors.ts';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: object;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: object;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Reads `jsonPath` and the shards its manifest names (relative to its folder). */
export async function readGraphModelArtifacts(jsonPath: string): Promise<tf.io.ModelArtifacts> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson;
  } catch (e) {
    throw new DetectorError(`cannot read model file ${jsonPath}: ${(e as Error).message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DetectorError(`${jsonPath} is not a tfjs graph model (no modelTopology / weightsManifest)`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(dirname(jsonPath), p);
      try {
        shards.push(await readFile(file));
      } catch (e) {
        throw new DetectorError(`missing weight shard ${file} of ${jsonPath}: ${(e as Error).message}`);
      }
    }
  }
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
  };
}

/** `tf.loadGraphModel` on a local model JSON (no fetch). */
export async function loadGraphModelFile(jsonPath: string): Promise<tf.GraphModel> {
  const artifacts = await readGraphModelArtifacts(jsonPath);
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}
