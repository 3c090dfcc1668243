/**
 * The images of a training batch that count. A training graph has static shapes, built for the
 * run's batch size; a smaller batch (an epoch's last) runs in the same graph padded to that size,
 * the padding's images masked out: they count in neither the loss nor BatchNormalization's batch
 * statistics, and get no gradient, so the step is the smaller batch's (to float rounding). Without
 * this, every other batch size had a graph and an onnxruntime session of its own, and a session
 * keeps the memory of its largest run: at batch 128 with Xception the last batch's session held
 * 1.2 GiB more (BENCHMARKS.md, twelfth session).
 *
 * The mask is one [batch] input of 1s and 0s; what the graph derives from it (broadcast forms, a
 * row per row count, the number of images) is built once per graph and shared.
 */
import { attr, type OnnxGraph, type TrainingBindings } from './onnxGraph.ts';

/** The mask input's name (feeds are by name). */
export const IMAGE_MASK = 'image_mask';

function training(g: OnnxGraph): TrainingBindings {
  if (!g.training) throw new Error('internal: the image mask belongs to training graphs');
  return g.training;
}

function values(g: OnnxGraph): NonNullable<TrainingBindings['imageMask']> {
  const t = training(g);
  if (!t.imageMask) {
    const input = g.addInput(IMAGE_MASK, [t.batch]);
    if (input !== IMAGE_MASK) throw new Error(`internal: the graph already has a value named ${IMAGE_MASK}`);
    t.imageMask = { input, derived: new Map() };
  }
  return t.imageMask;
}

function derived(g: OnnxGraph, key: string, build: (mask: string) => string): string {
  const m = values(g);
  let v = m.derived.get(key);
  // A pass may have removed it since (the exporter drops the forward graph's dead nodes before
  // the gradient is added): then it is built again, after the nodes already there.
  if (v && !g.nodes.some((n) => n.outputs.includes(v!))) v = undefined;
  if (!v) {
    v = build(m.input);
    m.derived.set(key, v);
  }
  return v;
}

/** The [batch] mask input (added to the graph on first use). */
export function imageMask(g: OnnxGraph): string {
  return values(g).input;
}

/** The mask as [batch, 1, …, 1] of `rank`, to broadcast against a batch-first value. */
export function imageMaskBroadcast(g: OnnxGraph, rank: number): string {
  return derived(g, `broadcast${rank}`, (mask) =>
    g.op('Reshape', [mask, g.addInt64(`image_mask/rank${rank}`, [training(g).batch, ...Array<number>(rank - 1).fill(1)])], `image_mask/rank${rank}`),
  );
}

/** The mask as a [1, rows] row, each image's entry repeated rows/batch times (the rows of a batch-first value viewed as [rows, C]). */
export function imageMaskRow(g: OnnxGraph, rows: number): string {
  const batch = training(g).batch;
  if (rows % batch !== 0) throw new Error(`internal: ${rows} rows are not a whole number per image of a batch of ${batch}`);
  if (rows === batch) return derived(g, `row${rows}`, (mask) => g.op('Reshape', [mask, g.addInt64(`image_mask/row${rows}`, [1, rows])], `image_mask/row${rows}`));
  return derived(g, `row${rows}`, () => {
    const perImage = rows / batch;
    const repeated = g.op('Mul', [imageMaskBroadcast(g, 2), g.addFloat(`image_mask/ones${perImage}`, new Float32Array(perImage).fill(1), [1, perImage])], `image_mask/repeat${perImage}`);
    return g.op('Reshape', [repeated, g.addInt64(`image_mask/row${rows}`, [1, rows])], `image_mask/row${rows}`);
  });
}

/** The scalar 1 / (images that count × `perImage`): what turns a masked sum into a mean. */
export function inverseMaskedCount(g: OnnxGraph, perImage: number): string {
  return derived(g, `inverse${perImage}`, (mask) => {
    let count = derived(g, 'count', () => g.op('ReduceSum', [mask, g.addInt64('image_mask/axes', [0])], 'image_mask/count', { keepdims: attr.int(0) }));
    // The count is an integer, exact in float32 (< 2^24): one rounding, in the Reciprocal.
    if (perImage !== 1) count = g.op('Mul', [count, g.addFloat(`image_mask/per_image${perImage}`, Float32Array.of(perImage), [])], `image_mask/count${perImage}`);
    return g.op('Reciprocal', [count], `image_mask/inverse${perImage}`);
  });
}
