/**
 * Gradient rules, one per ONNX op that fdft's training graphs contain (see autodiff.ts). Each
 * returns the inputs' gradients as new nodes. Conventions: rank-4 values are NCHW; every shape is
 * static (ctx.shape). The convolution gradients are written with ops onnxruntime runs natively:
 *
 *   d input,  stride 1:  a Conv of dY with the spatially flipped, in/out-swapped kernel
 *   d input,  stride >1: ConvTranspose of dY with the kernel itself
 *   d kernel, full conv: one GEMM [out, B·OH·OW] × [B·OH·OW, in] per kernel tap (kh·kw of them),
 *                        over shifted strided slices of the padded input
 *   d kernel, depthwise: per tap, Mul + ReduceSum over batch and pixels
 */
import { attr, type OnnxNode, readAttr } from '../../export/onnxGraph.ts';
import type { GradientContext, GradientRule } from './autodiff.ts';
import { OnnxTrainingError } from './errors.ts';
import { int64Values, type Dims } from './shapes.ts';

export const INT64_MAX = 2 ** 62; // "to the end" for Slice (exact in a double, converted to int64)

const { int, ints, float } = readAttr;

/** ONNX TensorProto.DataType FLOAT. */
const FLOAT = 1;

const base = (n: OnnxNode) => n.name;

/** The permutation that swaps the last two axes (a batched matrix transpose). */
const swapLastTwo = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

/**
 * Gradient passes unchanged where `mask` (a bool value) holds, else 0. Written as dY · float(mask):
 * onnxruntime's Where with a broadcast scalar takes its generic path, ~4x the time of Cast + Mul
 * (7 vs 2 ms on a [32, 29, 29, 128] value, ReLU gradients being ~4 % of a pretraining step).
 */
function masked(ctx: GradientContext, mask: string, dy: string, b: string): string {
  return ctx.op('Mul', [dy, ctx.op('Cast', [mask], `${b}/mask`, { to: attr.int(FLOAT) })], `${b}/masked`);
}

/** Elementwise binary op with broadcasting: each operand's gradient summed back to its shape. */
function binary(compute: (ctx: GradientContext, n: OnnxNode, dy: string, which: 0 | 1) => string): GradientRule {
  return (ctx, n, [dy]) => {
    const out = ctx.shape(n.outputs[0]!);
    return n.inputs.map((x, k) => {
      if (!ctx.needs(x) || k > 1) return undefined;
      return ctx.unbroadcast(compute(ctx, n, dy!, k as 0 | 1), out, ctx.shape(x), `${base(n)}/d${k}`);
    });
  };
}

const add = binary((_ctx, _n, dy) => dy);
const sub = binary((ctx, n, dy, k) => (k === 0 ? dy : ctx.op('Neg', [dy], `${base(n)}/neg`)));
const mul = binary((ctx, n, dy, k) => ctx.op('Mul', [dy, n.inputs[1 - k]!], `${base(n)}/d${k}_mul`));
const div = binary((ctx, n, dy, k) => {
  const b = n.inputs[1]!;
  if (k === 0) return ctx.op('Div', [dy, b], `${base(n)}/d0_div`);
  // d(a/b)/db = −(a/b)/b
  return ctx.op('Neg', [ctx.op('Div', [ctx.op('Mul', [dy, n.outputs[0]!], `${base(n)}/dy_y`), b], `${base(n)}/d1_div`)], `${base(n)}/d1`);
});

/** Binary Max / Min: the gradient goes to the operand that was selected (the first on ties, as tfjs). */
function select(op: 'Max' | 'Min'): GradientRule {
  return (ctx, n, [dy]) => {
    if (n.inputs.length !== 2) throw new OnnxTrainingError(`${op} '${n.name}': only the binary form is differentiated`);
    const b = base(n);
    const [a, c] = n.inputs as [string, string];
    const out = ctx.shape(n.outputs[0]!);
    const firstWins = ctx.op(op === 'Max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, c], `${b}/first`);
    return [
      ctx.needs(a) ? ctx.unbroadcast(masked(ctx, firstWins, dy!, `${b}/d0`), out, ctx.shape(a), `${b}/d0`) : undefined,
      ctx.needs(c) ? ctx.unbroadcast(masked(ctx, ctx.op('Not', [firstWins], `${b}/second`), dy!, `${b}/d1`), out, ctx.shape(c), `${b}/d1`) : undefined,
    ];
  };
}

/** Variadic Sum: every operand receives dY (unbroadcast). */
const sum: GradientRule = (ctx, n, [dy]) => {
  const out = ctx.shape(n.outputs[0]!);
  return n.inputs.map((x, k) => (ctx.needs(x) ? ctx.unbroadcast(dy!, out, ctx.shape(x), `${base(n)}/d${k}`) : undefined));
};

const relu: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  return [masked(ctx, ctx.op('Greater', [n.outputs[0]!, ctx.scalar(`${b}/zero_y`, 0)], `${b}/positive`), dy!, b)];
};

/** Clip(x, min, max): passes where min ≤ x ≤ max (tfjs' clipByValue gradient). */
const clip: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const x = n.inputs[0]!;
  let mask: string | undefined;
  if (n.inputs[1]) mask = ctx.op('GreaterOrEqual', [x, n.inputs[1]], `${b}/above_min`);
  if (n.inputs[2]) {
    const below = ctx.op('LessOrEqual', [x, n.inputs[2]], `${b}/below_max`);
    mask = mask ? ctx.op('And', [mask, below], `${b}/inside`) : below;
  }
  return [mask ? masked(ctx, mask, dy!, b) : dy];
};

/** HardSigmoid(α, β) = clip(αx + β, 0, 1): α where 0 < αx + β ≤ 1 (as fdft's HardSigmoid layer). */
const hardSigmoid: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const alpha = float(n, 'alpha', 0.2);
  const beta = float(n, 'beta', 0.5);
  const x = n.inputs[0]!;
  const inside = ctx.op(
    'And',
    [ctx.op('Greater', [x, ctx.scalar(`${b}/lo`, -beta / alpha)], `${b}/above`), ctx.op('LessOrEqual', [x, ctx.scalar(`${b}/hi`, (1 - beta) / alpha)], `${b}/below`)],
    `${b}/inside`,
  );
  return [masked(ctx, inside, ctx.op('Mul', [dy!, ctx.scalar(`${b}/alpha`, alpha)], `${b}/scaled`), b)];
};

const sigmoid: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const y = n.outputs[0]!;
  const oneMinus = ctx.op('Sub', [ctx.scalar(`${b}/one`, 1), y], `${b}/one_minus_y`);
  return [ctx.op('Mul', [dy!, ctx.op('Mul', [y, oneMinus], `${b}/y_1my`)], `${b}/dx`)];
};

const tanh: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const y = n.outputs[0]!;
  const oneMinus = ctx.op('Sub', [ctx.scalar(`${b}/one`, 1), ctx.op('Mul', [y, y], `${b}/y2`)], `${b}/one_minus_y2`);
  return [ctx.op('Mul', [dy!, oneMinus], `${b}/dx`)];
};

const log: GradientRule = (ctx, n, [dy]) => [ctx.op('Div', [dy!, n.inputs[0]!], `${base(n)}/dx`)];
const neg: GradientRule = (ctx, n, [dy]) => [ctx.op('Neg', [dy!], `${base(n)}/dx`)];
const identity: GradientRule = (_ctx, _n, [dy]) => [dy];
const sqrt: GradientRule = (ctx, n, [dy]) => [
  ctx.op('Div', [dy!, ctx.op('Mul', [n.outputs[0]!, ctx.scalar(`${base(n)}/two`, 2)], `${base(n)}/two_y`)], `${base(n)}/dx`),
];
/** d(1/x) = −1/x² = −y². */
const reciprocal: GradientRule = (ctx, n, [dy]) => {
  const y = n.outputs[0]!;
  return [ctx.op('Neg', [ctx.op('Mul', [dy!, ctx.op('Mul', [y, y], `${base(n)}/y2`)], `${base(n)}/dy_y2`)], `${base(n)}/dx`)];
};

/** dx = y·(dy − Σ(dy·y)) along the softmax axis. */
const softmax: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const y = n.outputs[0]!;
  const rank = ctx.shape(y).length;
  const axis = (int(n, 'axis', -1) + rank) % rank;
  const dot = ctx.reduceSum(ctx.op('Mul', [dy!, y], `${b}/dy_y`), [axis], true, `${b}/dot`);
  return [ctx.op('Mul', [y, ctx.op('Sub', [dy!, dot], `${b}/centred`)], `${b}/dx`)];
};

/**
 * The same for a softmax y that feeds only o = y·v (self-attention; autodiff.ts picks it):
 * ds = y ⊙ (dy − D) with D = rowsum(dy ⊙ y) = rowsum(do ⊙ o) (as dy = do·vᵀ). dy − D comes out
 * of one MatMul, [do, D]·[v, −1]ᵀ (an extra column on each operand), so y's N×N map is read once
 * (the product) and written once: no dy map of its own, no Sub pass over it (16 ms of the FTT's
 * stage-1 attention per batch-32 step, measured). The product rule's own dy is then unused, and
 * trainingGraph.ts drops it with the other dead nodes.
 */
export function softmaxGradientFromProduct(ctx: GradientContext, n: OnnxNode, product: OnnxNode, dProduct: string): string {
  const b = n.name;
  const axis = n.attrs.axis?.kind === 'int' ? n.attrs.axis.value : -1;
  const shape = ctx.shape(n.outputs[0]!);
  const rank = shape.length;
  if ((axis + rank) % rank !== rank - 1 || product.inputs[0] !== n.outputs[0]) {
    throw new OnnxTrainingError(`internal: Softmax '${b}' feeding a product must be over the last axis and the product's left operand`);
  }
  const v = product.inputs[1]!;
  const sv = ctx.shape(v);
  const d = ctx.reduceSum(ctx.op('Mul', [dProduct, product.outputs[0]!], `${b}/do_o`), [rank - 1], true, `${b}/rowsum`);
  const doAug = ctx.op('Concat', [dProduct, d], `${b}/do_aug`, { axis: attr.int(-1) });
  const minusOnes = ctx.op('Expand', [ctx.scalar(`${b}/minus_one`, -1), ctx.ints(`${b}/column_shape`, [...sv.slice(0, -1), 1])], `${b}/minus_ones`);
  const vAug = ctx.op('Concat', [v, minusOnes], `${b}/v_aug`, { axis: attr.int(-1) });
  const centred = ctx.op('MatMul', [doAug, ctx.transpose(vAug, swapLastTwo(sv.length), `${b}/v_aug_t`)], `${b}/centred`);
  return ctx.op('Mul', [n.outputs[0]!, centred], `${b}/dx`);
}

const transpose: GradientRule = (ctx, n, [dy]) => {
  const perm = ints(n, 'perm', ctx.shape(n.inputs[0]!).map((_, i, a) => a.length - 1 - i));
  const inverse = perm.slice();
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.transpose(dy!, inverse, base(n))];
};

/** Reshape / Flatten: the gradient takes the input's shape back. */
const reshape: GradientRule = (ctx, n, [dy]) => [ctx.reshape(dy!, ctx.shape(n.inputs[0]!), base(n))];

const matMul: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const [a, w] = n.inputs as [string, string];
  const sa = ctx.shape(a);
  const sw = ctx.shape(w);
  const sy = ctx.shape(n.outputs[0]!);
  const out: Array<string | undefined> = [undefined, undefined];
  if (sw.length === 2 && sa.length >= 2) {
    // A shared 2-D weight (Dense on a map, a pointwise conv as MatMul): everything as GEMMs over
    // the rows of A as [rows, K], with transposed operands read in place (Gemm transA / transB).
    const k = sa[sa.length - 1]!;
    const m = sy[sy.length - 1]!;
    const rows = sa.slice(0, -1).reduce((x, y) => x * y, 1);
    const dy2 = sy.length === 2 ? dy! : ctx.reshape(dy!, [rows, m], `${b}/dy2`);
    if (ctx.needs(a)) {
      const da = ctx.op('Gemm', [dy2, w], `${b}/da`, { transB: attr.int(1) });
      out[0] = sa.length === 2 ? da : ctx.reshape(da, sa, `${b}/da`);
    }
    if (ctx.needs(w)) {
      const a2 = sa.length === 2 ? a : ctx.reshape(a, [rows, k], `${b}/a2`);
      out[1] = ctx.op('Gemm', [a2, dy2], `${b}/dw`, { transA: attr.int(1) });
    }
    return out;
  }
  if (ctx.needs(a)) {
    // dA = dY · Wᵀ (broadcast over the batch dims, then summed back to A's shape).
    const wt = ctx.transpose(w, swapLastTwo(sw.length), `${b}/wt`);
    const da = ctx.op('MatMul', [dy!, wt], `${b}/da`);
    out[0] = ctx.unbroadcast(da, [...sy.slice(0, -2), sa[sa.length - 2]!, sa[sa.length - 1]!], sa, `${b}/da`);
  }
  if (ctx.needs(w)) {
    const at = ctx.transpose(a, swapLastTwo(sa.length), `${b}/at`);
    const dw = ctx.op('MatMul', [at, dy!], `${b}/dw`);
    out[1] = ctx.unbroadcast(dw, [...sy.slice(0, -2), sw[sw.length - 2]!, sw[sw.length - 1]!], sw, `${b}/dw`);
  }
  return out;
};

/** Gemm with the exporter's defaults (α = β = 1, no transposes): Y = A·B + C. */
const gemm: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  if (int(n, 'transA', 0) || int(n, 'transB', 0) || float(n, 'alpha', 1) !== 1 || float(n, 'beta', 1) !== 1) {
    throw new OnnxTrainingError(`Gemm '${n.name}': only α = β = 1 without transposes is differentiated`);
  }
  const [a, w, c] = n.inputs;
  return [
    ctx.needs(a) ? ctx.op('Gemm', [dy!, w!], `${b}/da`, { transB: attr.int(1) }) : undefined,
    ctx.needs(w) ? ctx.op('Gemm', [a!, dy!], `${b}/dw`, { transA: attr.int(1) }) : undefined,
    c && ctx.needs(c) ? ctx.unbroadcast(dy!, ctx.shape(n.outputs[0]!), ctx.shape(c), `${b}/dc`) : undefined,
  ];
};

const globalAveragePool: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const sx = ctx.shape(n.inputs[0]!);
  const count = sx.slice(2).reduce((x, y) => x * y, 1);
  return [ctx.expand(ctx.op('Div', [dy!, ctx.scalar(`${b}/count`, count)], `${b}/mean`), sx, b)];
};

/** ReduceMean (axes attribute) / ReduceSum (axes input): the gradient spread back over the reduced axes. */
function reduce(mean: boolean): GradientRule {
  return (ctx, n, [dy]) => {
    const b = base(n);
    const x = n.inputs[0]!;
    const sx = ctx.shape(x);
    const raw = mean ? ints(n, 'axes', []) : n.inputs[1] ? int64Values(ctx.g, n.inputs[1], n.name) : [];
    const axes = raw.length ? raw.map((a) => (a + sx.length) % sx.length) : sx.map((_, i) => i);
    const keptDims = sx.map((d, i) => (axes.includes(i) ? 1 : d));
    let g = int(n, 'keepdims', 1) ? dy! : ctx.reshape(dy!, keptDims, `${b}/keep`);
    if (mean) {
      const count = axes.reduce((p, a) => p * sx[a]!, 1);
      g = ctx.op('Div', [g, ctx.scalar(`${b}/count`, count)], `${b}/mean`);
    }
    return [ctx.expand(g, sx, b), undefined];
  };
}

/** Pad (constant): the gradient is the unpadded window of dY. */
const pad: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const sx = ctx.shape(n.inputs[0]!);
  const pads = int64Values(ctx.g, n.inputs[1], n.name);
  const rank = sx.length;
  const axes = sx.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + rank] !== 0);
  if (axes.some((i) => pads[i]! < 0 || pads[i + rank]! < 0)) throw new OnnxTrainingError(`Pad '${n.name}': negative pads are not differentiated`);
  const starts = axes.map((i) => pads[i]!);
  const ends = axes.map((i) => pads[i]! + sx[i]!);
  return [ctx.op('Slice', [dy!, ctx.ints(`${b}/starts`, starts), ctx.ints(`${b}/ends`, ends), ctx.ints(`${b}/axes`, axes)], `${b}/dx`)];
};

/**
 * dY (shape `dyShape`) placed in a zero tensor of shape `size`: dY's element k along axis a lands at
 * first[a] + step[a]·k. Unit-step axes are padded directly; every strided axis of dY is split as
 * [m, 1] and padded to [m', step] so that element k lands at first + k·step of the merged [m'·step]
 * axis — Reshape, Pad, Reshape (and a Slice where that overshoots `size`), with no scatter. The
 * gradient of a strided Slice, and the zero-inserted dY of a strided conv's gradients
 * (nchwcRules.ts).
 */
export function spreadStrided(ctx: GradientContext, dy: string, dyShape: Dims, size: Dims, first: number[], step: number[], b: string): string {
  if (step.every((s) => s === 1)) {
    const pads = [...first, ...size.map((n, a) => n - first[a]! - dyShape[a]!)];
    return ctx.op('Pad', [dy, ctx.ints(`${b}/pads`, pads)], `${b}/spread`);
  }
  // A strided axis: dY's m elements sit in blocks q..q+m−1 (q = ⌊first/step⌋) at offset
  // r = first mod step; enough blocks after to cover the target size.
  const split: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  const merged: number[] = [];
  size.forEach((n, a) => {
    const m = dyShape[a]!;
    const s = step[a]!;
    if (s === 1) {
      split.push(m);
      before.push(first[a]!);
      after.push(n - first[a]! - m);
      merged.push(n);
      return;
    }
    const q = Math.floor(first[a]! / s);
    const r = first[a]! % s;
    const blocks = Math.max(Math.ceil(n / s), q + m);
    split.push(m, 1);
    before.push(q, r);
    after.push(blocks - q - m, s - 1 - r);
    merged.push(blocks * s);
  });
  const spread = ctx.op('Pad', [ctx.reshape(dy, split, `${b}/split`), ctx.ints(`${b}/pads`, [...before, ...after])], `${b}/spread`);
  const full = ctx.reshape(spread, merged, `${b}/merged`);
  const cut = merged.map((_, a) => a).filter((a) => merged[a]! > size[a]!);
  if (cut.length === 0) return full;
  return ctx.op('Slice', [full, ctx.ints(`${b}/cut_starts`, cut.map(() => 0)), ctx.ints(`${b}/cut_ends`, cut.map((a) => size[a]!)), ctx.ints(`${b}/cut_axes`, cut)], `${b}/cut`);
}

/** Slice (positive steps): dY put back at the positions it was read from, zeros elsewhere. */
const slice: GradientRule = (ctx, n, [dy]) => {
  const sx = ctx.shape(n.inputs[0]!);
  const rank = sx.length;
  const starts = int64Values(ctx.g, n.inputs[1], n.name);
  const axes = (n.inputs[3] ? int64Values(ctx.g, n.inputs[3], n.name) : starts.map((_, i) => i)).map((a) => (a + rank) % rank);
  const steps = n.inputs[4] ? int64Values(ctx.g, n.inputs[4], n.name) : starts.map(() => 1);
  if (steps.some((st) => st < 1)) throw new OnnxTrainingError(`Slice '${n.name}': only positive steps are differentiated`);
  const first = sx.map(() => 0);
  const step = sx.map(() => 1);
  axes.forEach((a, i) => {
    const size = sx[a]!;
    const v = starts[i]!;
    first[a] = Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    step[a] = steps[i]!;
  });
  return [spreadStrided(ctx, dy!, ctx.shape(n.outputs[0]!), sx, first, step, `${base(n)}/dx`)];
};

const concat: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  const rank = ctx.shape(n.outputs[0]!).length;
  const axis = (int(n, 'axis', 0) + rank) % rank;
  const sizes = n.inputs.map((x) => ctx.shape(x)[axis]!);
  const parts = ctx.g.add('Split', [dy!, ctx.ints(`${b}/split`, sizes)], `grad/${b}/split`, { axis: attr.int(axis) }, sizes.length);
  return parts;
};

/** Split: the outputs' gradients concatenated back (zeros for outputs nothing differentiates). */
const split: GradientRule = (ctx, n, dOutputs) => {
  const b = base(n);
  const rank = ctx.shape(n.inputs[0]!).length;
  const axis = (int(n, 'axis', 0) + rank) % rank;
  const parts = n.outputs.map((o, i) => dOutputs[i] ?? ctx.op('ConstantOfShape', [ctx.ints(`${b}/zero${i}_shape`, ctx.shape(o))], `${b}/zero${i}`));
  return [ctx.op('Concat', parts, `${b}/dx`, { axis: attr.int(axis) }), undefined];
};

/**
 * MaxPool: dY scattered (added) onto each window's arg-max. The forward node is given its second
 * output here (the flat arg-max indices, onnxruntime's MaxPool with Indices), so only pools that
 * gradients pass through get it: with indices, onnxruntime leaves its fast kernel (24 vs 1 ms on
 * Xception's block2 at batch 32), which a frozen backbone's pools and forward-only graphs keep.
 */
const maxPool: GradientRule = (ctx, n, [dy]) => {
  const b = base(n);
  if (int(n, 'storage_order', 0) !== 0) throw new OnnxTrainingError(`MaxPool '${n.name}': column-major indices are not differentiated`);
  if (!n.outputs[1]) n.outputs[1] = ctx.g.uniqueName(`${n.outputs[0]}/argmax`);
  const sx = ctx.shape(n.inputs[0]!);
  const total = sx.reduce((x, y) => x * y, 1);
  const zeros = ctx.op('ConstantOfShape', [ctx.ints(`${b}/flat_shape`, [total])], `${b}/zeros`);
  const idx = ctx.reshape(n.outputs[1], [-1], `${b}/idx`);
  const flatDy = ctx.reshape(dy!, [-1], `${b}/dy`);
  const scattered = ctx.op('ScatterElements', [zeros, idx, flatDy], `${b}/scatter`, { axis: attr.int(0), reduction: attr.string('add') });
  return [ctx.reshape(scattered, sx, `${b}/dx`)];
};

/** Slice with steps −1 on two axes (the spatial ones: [2, 3] in ONNX's kernel layout): the kernel rotated by 180°. */
export function flipSpatial(ctx: GradientContext, w: string, b: string, axes: [number, number] = [2, 3]): string {
  return ctx.op(
    'Slice',
    [w, ctx.ints(`${b}/flip_starts`, [-1, -1]), ctx.ints(`${b}/flip_ends`, [-INT64_MAX, -INT64_MAX]), ctx.ints(`${b}/flip_axes`, axes), ctx.ints(`${b}/flip_steps`, [-1, -1])],
    `${b}/flip`,
  );
}

interface ConvGeometry {
  x: Dims;
  w: Dims;
  y: Dims;
  strides: number[];
  pads: number[];
  group: number;
}

function convGeometry(ctx: GradientContext, n: OnnxNode): ConvGeometry {
  const g: ConvGeometry = {
    x: ctx.shape(n.inputs[0]!),
    w: ctx.shape(n.inputs[1]!),
    y: ctx.shape(n.outputs[0]!),
    strides: ints(n, 'strides', [1, 1]),
    pads: ints(n, 'pads', [0, 0, 0, 0]),
    group: int(n, 'group', 1),
  };
  if (ints(n, 'dilations', [1, 1]).some((d) => d !== 1)) throw new OnnxTrainingError(`Conv '${n.name}': dilated convolutions are not differentiated`);
  if (n.attrs.auto_pad && n.attrs.auto_pad.kind === 'string' && n.attrs.auto_pad.value !== 'NOTSET') {
    throw new OnnxTrainingError(`Conv '${n.name}': auto_pad is not differentiated (the exporter writes explicit pads)`);
  }
  if (g.group !== 1 && !(g.group === g.x[1] && g.w[1] === 1)) {
    throw new OnnxTrainingError(`Conv '${n.name}': grouped convolutions other than depthwise are not differentiated`);
  }
  return g;
}

function convInputGradient(ctx: GradientContext, n: OnnxNode, dy: string, geo: ConvGeometry): string {
  const b = `${base(n)}/dx`;
  const w = n.inputs[1]!;
  const [kh, kw] = [geo.w[2]!, geo.w[3]!];
  const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
  const depthwise = geo.group !== 1;
  const stride1 = geo.strides.every((s) => s === 1);
  const flippedPads = [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr];
  if (stride1 && flippedPads.every((p) => p >= 0)) {
    // A "full" correlation of dY with the rotated kernel, input and output channels swapped:
    // depthwise [C·m, 1, kh, kw] → [C, m, kh, kw] (group C); full [M, C, kh, kw] → [C, M, kh, kw].
    const c = geo.x[1]!;
    let kernel = depthwise ? ctx.reshape(w, [c, geo.w[0]! / c, kh, kw], `${b}/grouped`) : ctx.transpose(w, [1, 0, 2, 3], `${b}/swap`);
    if (kh > 1 || kw > 1) kernel = flipSpatial(ctx, kernel, b);
    return ctx.op('Conv', [dy, kernel], b, {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints(flippedPads),
      group: attr.int(depthwise ? c : 1),
    });
  }
  // Strided: the transposed convolution, sized back to the input exactly with output_padding.
  const full = geo.strides.map((s, i) => (geo.y[2 + i]! - 1) * s + geo.w[2 + i]! - geo.pads[i]! - geo.pads[i + 2]!);
  const outputPadding = full.map((f, i) => geo.x[2 + i]! - f);
  return ctx.op('ConvTranspose', [dy, w], b, {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(geo.strides),
    pads: attr.ints(geo.pads),
    output_padding: attr.ints(outputPadding),
    group: attr.int(geo.group),
  });
}

/** The input window that kernel tap (i, j) sees, for every output pixel: [B, C, OH, OW]. */
function tapSlices(ctx: GradientContext, x: string, geo: ConvGeometry, b: string, layout: 'nchw' | 'nhwc'): Array<{ tap: number; value: string }> {
  const [kh, kw] = [geo.w[2]!, geo.w[3]!];
  const [oh, ow] = [geo.y[2]!, geo.y[3]!];
  const [sh, sw] = geo.strides as [number, number];
  const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
  let src = x;
  if (pt || pl || pb || pr) {
    src = ctx.op('Pad', [x, ctx.ints(`${b}/pads`, [0, 0, pt, pl, 0, 0, pb, pr])], `${b}/padded`, { mode: attr.string('constant') });
  }
  const spatial = layout === 'nchw' ? [2, 3] : [1, 2];
  if (layout === 'nhwc') src = ctx.transpose(src, [0, 2, 3, 1], `${b}/nhwc`);
  const out: Array<{ tap: number; value: string }> = [];
  const whole = kh === 1 && kw === 1 && sh === 1 && sw === 1 && !(pt || pl || pb || pr);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      if (whole) {
        out.push({ tap: 0, value: src });
        continue;
      }
      const value = ctx.op(
        'Slice',
        [
          src,
          ctx.ints(`${b}/t${i}_${j}/starts`, [i, j]),
          ctx.ints(`${b}/t${i}_${j}/ends`, [i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1]),
          ctx.ints(`${b}/t${i}_${j}/axes`, spatial),
          ctx.ints(`${b}/t${i}_${j}/steps`, [sh, sw]),
        ],
        `${b}/t${i}_${j}`,
      );
      out.push({ tap: i * kw + j, value });
    }
  }
  return out;
}

/** Stack per-tap [rows, cols] gradients into [rows, cols, kh, kw]. */
function stackTaps(ctx: GradientContext, parts: string[], rows: number, cols: number, kh: number, kw: number, b: string): string {
  if (parts.length === 1) return ctx.reshape(parts[0]!, [rows, cols, kh, kw], `${b}/taps`);
  const unsqueezed = parts.map((p, t) => ctx.reshape(p, [rows, cols, 1], `${b}/tap${t}`));
  const stacked = ctx.op('Concat', unsqueezed, `${b}/stack`, { axis: attr.int(2) });
  return ctx.reshape(stacked, [rows, cols, kh, kw], `${b}/taps`);
}

function convKernelGradient(ctx: GradientContext, n: OnnxNode, dy: string, geo: ConvGeometry): string {
  const b = `${base(n)}/dw`;
  const x = n.inputs[0]!;
  const [kh, kw] = [geo.w[2]!, geo.w[3]!];
  const [batch, c] = [geo.x[0]!, geo.x[1]!];
  const [m, oh, ow] = [geo.y[1]!, geo.y[2]!, geo.y[3]!];
  const pixels = batch * oh * ow;
  if (geo.group === 1) {
    // dW[:, :, i, j] = dY as [M, B·OH·OW] × (tap slice of x as [B·OH·OW, C]).
    const dyRows = ctx.reshape(ctx.transpose(dy, [1, 0, 2, 3], `${b}/dy_mb`), [m, pixels], `${b}/dy_rows`);
    const parts = tapSlices(ctx, x, geo, b, 'nhwc').map(({ tap, value }) =>
      ctx.op('MatMul', [dyRows, ctx.reshape(value, [pixels, c], `${b}/x${tap}`)], `${b}/mm${tap}`),
    );
    return stackTaps(ctx, parts, m, c, kh, kw, b);
  }
  // Depthwise, W [C·mult, 1, kh, kw]: output channel c·mult + k reads input channel c. One grouped
  // Conv with the batch folded into the channels: x as [1, B·C, H, W] correlated with dY as B·C·mult
  // kernels [OH, OW] (dilated by the forward stride) gives every image's [kh, kw] taps at once;
  // then a sum over the images.
  const xFolded = ctx.reshape(x, [1, batch * c, geo.x[2]!, geo.x[3]!], `${b}/x_folded`);
  const dyKernels = ctx.reshape(dy, [batch * m, 1, oh, ow], `${b}/dy_kernels`);
  let taps = ctx.op('Conv', [xFolded, dyKernels], `${b}/taps`, {
    kernel_shape: attr.ints([oh, ow]),
    pads: attr.ints(geo.pads),
    dilations: attr.ints(geo.strides),
    group: attr.int(batch * c),
  });
  // With a stride that left input rows unused, the correlation has more than kh × kw taps: cut.
  const [fh, fw] = [oh, ow].map((o, i) => geo.x[2 + i]! + geo.pads[i]! + geo.pads[i + 2]! - geo.strides[i]! * (o - 1)) as [number, number];
  if (fh !== kh || fw !== kw) {
    taps = ctx.op('Slice', [taps, ctx.ints(`${b}/cut_starts`, [0, 0]), ctx.ints(`${b}/cut_ends`, [kh, kw]), ctx.ints(`${b}/cut_axes`, [2, 3])], `${b}/cut`);
  }
  const perImage = ctx.reshape(taps, [batch, m, kh, kw], `${b}/per_image`);
  return ctx.reshape(ctx.reduceSum(perImage, [0], false, `${b}/sum`), [m, 1, kh, kw], `${b}/dw`);
}

const conv: GradientRule = (ctx, n, [dy]) => {
  const geo = convGeometry(ctx, n);
  const [x, w, bias] = n.inputs;
  return [
    ctx.needs(x) ? convInputGradient(ctx, n, dy!, geo) : undefined,
    ctx.needs(w) ? convKernelGradient(ctx, n, dy!, geo) : undefined,
    bias && ctx.needs(bias) ? ctx.reduceSum(dy!, [0, 2, 3], false, `${base(n)}/db`) : undefined,
  ];
};

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Sum: sum,
  Max: select('Max'),
  Min: select('Min'),
  Relu: relu,
  Clip: clip,
  HardSigmoid: hardSigmoid,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Log: log,
  Neg: neg,
  Identity: identity,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Softmax: softmax,
  Transpose: transpose,
  Reshape: reshape,
  Flatten: reshape,
  MatMul: matMul,
  Gemm: gemm,
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduce(true),
  ReduceSum: reduce(false),
  Pad: pad,
  Slice: slice,
  Concat: concat,
  Split: split,
  MaxPool: maxPool,
  Conv: conv,
};
