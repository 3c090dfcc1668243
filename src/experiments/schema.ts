/**
 * Declarative experiment files (`experiments/*.json`): which datasets × backbones × variants to
 * run, with which schedule overrides and seeds. Validated with a JSON schema (ajv) so a typo
 * gives a clear error naming the file and the offending field instead of a silent default.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** baseline = the pretrained backbone with its classification top (the paper's "baseline" rows). */
export type Variant = 'baseline' | 'fdftnet' | 'fdftnet-noftt';

export interface ExperimentDataset {
  /** Name used in the tables (e.g. PGGAN, gan). */
  name: string;
  /** Dataset root; relative paths resolve against the experiment file. null = not available here (a paper dataset the user points at their own copy). */
  path: string | null;
  /** Published FDFtNet paper numbers for this dataset, when it is one of the paper's. */
  paper?: Partial<Record<string, { acc?: number; auroc?: number }>>;
  /** Options for this dataset only (e.g. cutoutBeta 10 for Deepfake/Face2Face). */
  train?: Record<string, unknown>;
  pretrain?: Record<string, unknown>;
  groupBy?: string;
}

export interface Experiment {
  name: string;
  description?: string;
  datasets: ExperimentDataset[];
  backbones: string[];
  variants: Variant[];
  /** Seeds; `--repeat K` uses the first K of seeds ∪ 1..K. */
  seeds?: number[];
  /** Option overrides for every pretrain / fine-tune (same names as the CLI, camelCase). */
  pretrain?: Record<string, unknown>;
  train?: Record<string, unknown>;
  /**
   * Overrides for one backbone's runs (e.g. a lower learning rate for SqueezeNet, which has no
   * BatchNorm). They apply over the experiment-wide ones; a dataset's own options apply over both.
   */
  perBackbone?: Partial<Record<string, { pretrain?: Record<string, unknown>; train?: Record<string, unknown> }>>;
  /** The file it came from (filled in on load). */
  file?: string;
}

const optionBag = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epochs: { type: 'integer', minimum: 1 },
    stepsPerEpoch: { type: ['integer', 'null'], minimum: 1 },
    batch: { type: 'integer', minimum: 1 },
    lr: { type: 'number', exclusiveMinimum: 0 },
    optimizer: { enum: ['sgd', 'adam'] },
    momentum: { type: 'number', minimum: 0, maximum: 1 },
    schedule: { enum: ['cosine', 'constant'] },
    patience: { type: 'integer', minimum: 1 },
    monitor: { enum: ['val_loss', 'val_auroc'] },
    bnMomentum: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    preciseBn: { type: 'integer', minimum: 0 },
    M: { type: 'integer', minimum: 1 },
    N: { type: 'integer', minimum: 1 },
    bottleneck: { type: 'integer', minimum: 1 },
    l2: { type: 'number', minimum: 0 },
    inputSize: { type: 'integer', minimum: 16 },
    fit: { enum: ['squash', 'crop'] },
    augment: { type: 'boolean' },
    translate: { type: 'number', minimum: 0 },
    rotation: { type: 'number', minimum: 0 },
    zoom: { type: 'number', minimum: 0 },
    hflip: { type: 'boolean' },
    cutoutAlpha: { type: 'integer', minimum: 0 },
    cutoutBeta: { type: 'integer', minimum: 1 },
  },
} as const;

const BACKBONES = ['xception', 'resnetv2', 'squeezenet', 'shallownetv3'] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'datasets', 'backbones', 'variants'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    description: { type: 'string' },
    datasets: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'path'],
        properties: {
          name: { type: 'string', minLength: 1 },
          path: { type: ['string', 'null'] },
          groupBy: { type: 'string' },
          paper: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              additionalProperties: false,
              properties: { acc: { type: 'number' }, auroc: { type: 'number' } },
            },
          },
          train: optionBag,
          pretrain: optionBag,
        },
      },
    },
    backbones: { type: 'array', minItems: 1, items: { enum: BACKBONES } },
    variants: { type: 'array', minItems: 1, items: { enum: ['baseline', 'fdftnet', 'fdftnet-noftt'] } },
    seeds: { type: 'array', items: { type: 'integer' } },
    pretrain: optionBag,
    train: optionBag,
    perBackbone: {
      type: 'object',
      propertyNames: { enum: BACKBONES },
      additionalProperties: { type: 'object', additionalProperties: false, properties: { pretrain: optionBag, train: optionBag } },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(schema);

function describe(errors: ErrorObject[]): string {
  return errors
    // ajv reports a bad key twice: the enum error naming it, then a generic "property name must be valid".
    .filter((e) => e.keyword !== 'propertyNames')
    .map((e) => {
      const where = e.instancePath || '(top level)';
      if (e.propertyName !== undefined && e.keyword === 'enum') return `${where}: unknown backbone '${e.propertyName}': must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      if (e.keyword === 'additionalProperties') return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
      if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      return `${where}: ${e.message}`;
    })
    .join('\n  ');
}

/** Parse and validate an experiment; dataset paths become absolute (relative to the file). */
export function parseExperiment(value: unknown, file = '<inline>'): Experiment {
  if (!validate(value)) throw new ExperimentError(`${file} is not a valid experiment:\n  ${describe(validate.errors ?? [])}`);
  const exp = structuredClone(value) as unknown as Experiment;
  const base = file === '<inline>' ? process.cwd() : dirname(resolve(file));
  for (const d of exp.datasets) if (d.path) d.path = d.path === 'synthetic' ? 'synthetic' : resolve(base, d.path);
  const names = new Set<string>();
  for (const d of exp.datasets) {
    if (names.has(d.name)) throw new ExperimentError(`${file}: dataset name '${d.name}' appears twice`);
    names.add(d.name);
  }
  exp.file = file;
  return exp;
}

export async function loadExperiment(file: string): Promise<Experiment> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ExperimentError(`cannot read experiment file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ExperimentError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseExperiment(json, file);
}
