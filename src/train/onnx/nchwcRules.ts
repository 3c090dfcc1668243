/**
 * Gradient rules of the `com.microsoft.nchwc` ops that training graphs use for depthwise convs
 * (src/export/nchwc.ts), written with the same NCHWc kernels so that the backward pass gets
 * MLAS' vectorised depthwise kernel too:
 *
 *   ReorderInput  → ReorderOutput of dY (the padding channels dropped), and back;
 *   Conv, d input → the depthwise conv of dY with the kernel rotated by 180° (stride 1);
 *   Conv, d kernel → ONE depthwise conv: the padded input images stacked along H into one tall image
 *                    [1, C', B·Hp, Wp], correlated with dY stacked the same way (kh − 1 zero rows
 *                    after each image) as a [B·Hp − kh + 1, OW] kernel per channel: output tap
 *                    (i, j) = Σ_b Σ_pixels x_pad[b, y + i, x + j] · dY[b, y, x], the kernel gradient,
 *                    already in the kernel's blocked order. (The plain-Conv rule folds the batch
 *                    into B·C groups instead, one tiny GEMM each: 3–5x slower, measured.)
 *   strided Conv  → both of the above on dY with zeros inserted between its rows and columns
 *                    (stridedDepthwise; NHWC x and dY only).
 *
 * In NCHWc a [N, C', H, W] value is stored as [N, C'/block, H, W, block], which the reshapes below
 * make explicit; the kernel [C', 1, kh, kw] is stored as [C'/block, kh, kw, block].
 */
import { NCHWC_DOMAIN } from '../../export/nchwc.ts';
import { attr, type AttrValue, type OnnxNode, readAttr } from '../../export/onnxGraph.ts';
import type { GradientContext, GradientRule } from './autodiff.ts';
import { OnnxTrainingError } from './errors.ts';
import { flipSpatial, spreadStrided } from './gradientRules.ts';

const { int: intAttr, ints: intsAttr } = readAttr;

const nchwc = (ctx: GradientContext, opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue>) =>
  ctx.g.domainOp(NCHWC_DOMAIN, opType, inputs, `grad/${base}`, attrs);

function blockOf(ctx: GradientContext, n: OnnxNode): number {
  const block = ctx.g.training?.nchwcBlock;
  if (block === undefined) throw new OnnxTrainingError(`internal: ${n.opType} '${n.name}' in a graph without an NCHWc block size`);
  return block;
}

const reorderInput: GradientRule = (ctx, n, [dy]) => {
  const last = intAttr(n, 'channels_last', 0);
  const x = ctx.shape(n.inputs[0]!);
  return [nchwc(ctx, 'ReorderOutput', [dy!], `${n.name}/dx`, { channels: attr.int(x[last ? 3 : 1]!), channels_last: attr.int(last) })];
};

/** ReorderInput pads the channels with zeros: exactly the gradient of dropping them. */
const reorderOutput: GradientRule = (ctx, n, [dy]) => [
  nchwc(ctx, 'ReorderInput', [dy!], `${n.name}/dx`, { channels_last: attr.int(intAttr(n, 'channels_last', 0)) }),
];

/** The NHWC value that `blocked` was reordered from (a ReorderInput with channels_last), if it was. */
function nhwcSource(ctx: GradientContext, blocked: string): string | undefined {
  const n = ctx.producer(blocked);
  return n?.domain === NCHWC_DOMAIN && n.opType === 'ReorderInput' && intAttr(n, 'channels_last', 0) === 1 ? n.inputs[0] : undefined;
}

/**
 * An NHWC value [B, H, W, C] as one tall NCHWc image [1, C', B·(H + after), left + W + right]:
 * `after` zero rows appended to each image and zero columns on either side, then the batch folded
 * into H, which in NHWC is a mere reshape, so one Pad and one ReorderInput are the only copies.
 */
function tallFromNhwc(ctx: GradientContext, x: string, dims: number[], after: number, [left, right]: [number, number], b: string): string {
  const [batch, h, w, c] = dims as [number, number, number, number];
  const padded = after + left + right > 0 ? ctx.op('Pad', [x, ctx.ints(`${b}/pads`, [0, 0, left, 0, 0, after, right, 0])], `${b}/padded`) : x;
  return nchwc(ctx, 'ReorderInput', [ctx.reshape(padded, [1, batch * (h + after), w + left + right, c], `${b}/tall`)], `${b}/blocked`, { channels_last: attr.int(1) });
}

/**
 * The padded input images stacked along H as one NCHWc image [1, C', B·Hp, Wp], from an NCHW
 * input (NHWC inputs take tallFromNhwc). The blocked input is reordered again here from the value
 * the forward's ReorderInput read (as nchwcDepthwise writes it) rather than kept: the forward's
 * copy then dies right after the forward conv instead of living until the backward pass
 * (measured: +1 GiB peak RSS at batch 128 on Xception). Padding and stacking the blocked
 * [B, C'/block, H, W, block] form moves contiguous 16-float runs; the same on NCHW rows was 3x
 * slower (measured).
 */
function tallFromNchw(ctx: GradientContext, x: string, blockedDims: number[], pads: number[], b: string): string {
  const [batch, blocks, h, w, block] = blockedDims as [number, number, number, number, number];
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const blocked = nchwc(ctx, 'ReorderInput', [x], `${b}/x_blocked`, { channels_last: attr.int(0) });
  let v = ctx.reshape(blocked, blockedDims, `${b}/x_blocks`);
  if (pt || pl || pb || pr) v = ctx.op('Pad', [v, ctx.ints(`${b}/x_pads`, [0, 0, pt, pl, 0, 0, 0, pb, pr, 0])], `${b}/x_padded`);
  return ctx.reshape(ctx.transpose(v, [1, 0, 2, 3, 4], `${b}/x_stack`), [1, blocks * block, batch * (h + pt + pb), w + pl + pr], `${b}/x_tall`);
}

interface DepthwiseGeometry {
  batch: number;
  channels: number;
  block: number;
  h: number;
  wd: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  pads: [number, number, number, number];
}

/**
 * d kernel of a stride-1 NCHWc depthwise conv, as one NCHWc depthwise Conv of the tall input image
 * (images stacked along H, zero rows between them) with dY stacked the same way as a
 * [B·Hp, OW] kernel per channel (see the header). Where the forward read NHWC and dY arrives as
 * NHWC (Xception's separable convs), each stack is one Pad (zero rows after each image, and x's
 * left / right columns) + one ReorderInput, the first image's top rows and the trailing rows come
 * from the Conv's own pads; otherwise (NCHW) the blocked values are padded and transposed. The NHWC
 * route saves a transpose of x and of dY and a slice of dY: ~135 → ~100 ms of stacking per
 * batch-32 Xception pretraining step (measured).
 */
function kernelGradient(ctx: GradientContext, n: OnnxNode, dy: string, geo: DepthwiseGeometry): string {
  const b = n.name;
  const { batch, channels, block, h, wd, kh, kw, oh, ow } = geo;
  const [pt, pl, pb, pr] = geo.pads;
  const blocks = channels / block;
  const [hp, wp] = [h + pt + pb, wd + pl + pr];
  if (wp - ow + 1 !== kw) throw new OnnxTrainingError(`internal: NCHWc Conv '${b}': width ${wp} − ${ow} + 1 ≠ ${kw}`);
  const producer = ctx.producer(n.inputs[0]!);
  if (!(producer?.domain === NCHWC_DOMAIN && producer.opType === 'ReorderInput')) {
    throw new OnnxTrainingError(`NCHWc Conv '${b}': its input must be a ReorderInput to be differentiated`);
  }
  const xNhwc = nhwcSource(ctx, n.inputs[0]!);
  const dyNhwc = nhwcSource(ctx, dy);
  if (xNhwc && dyNhwc) {
    // x: pt + pb zero rows after each image are its bottom and the next one's top padding; the
    // first image's top comes from the Conv's top pad, and its bottom pad lets the [B·Hp]-row
    // kernel slide over kh rows. (Depthwise: dY has x's channel count.)
    const c = ctx.shape(xNhwc)[3]!;
    // Left / right padding is written into x: as the Conv's pads, every one of the kw outputs of
    // the ow-wide kernel is a border output, which MLAS computes on a slow path (2x, measured).
    const tall = tallFromNhwc(ctx, xNhwc, [batch, h, wd, c], pt + pb, [pl, pr], `${b}/dw/x`);
    const kernel = ctx.reshape(tallFromNhwc(ctx, dyNhwc, [batch, oh, ow, c], hp - oh, [0, 0], `${b}/dw/dy`), [channels, 1, batch * hp, ow], `${b}/dw/dy_kernel`);
    const taps = nchwc(ctx, 'Conv', [tall, kernel], `${b}/dw`, { kernel_shape: attr.ints([batch * hp, ow]), pads: attr.ints([pt, 0, kh - 1 - pt, 0]), group: attr.int(channels) });
    return ctx.reshape(taps, [channels, 1, kh, kw], `${b}/dw/w`);
  }
  const tall = tallFromNchw(ctx, producer.inputs[0]!, [batch, blocks, h, wd, block], geo.pads, `${b}/dw`);
  // dY stacked alike, kh − 1 zero rows after each image (the last ones cut): the per-channel kernel.
  const rows = batch * hp - (kh - 1);
  let k = ctx.reshape(dy, [batch, blocks, oh, ow, block], `${b}/dw/dy_blocks`);
  if (hp > oh) k = ctx.op('Pad', [k, ctx.ints(`${b}/dw/dy_pads`, [0, 0, 0, 0, 0, 0, 0, hp - oh, 0, 0])], `${b}/dw/dy_padded`);
  k = ctx.reshape(ctx.transpose(k, [1, 0, 2, 3, 4], `${b}/dw/dy_stack`), [blocks, batch * hp, ow, block], `${b}/dw/dy_rows`);
  if (rows < batch * hp) k = ctx.op('Slice', [k, ctx.ints(`${b}/dw/cut_starts`, [0]), ctx.ints(`${b}/dw/cut_ends`, [rows]), ctx.ints(`${b}/dw/cut_axes`, [1])], `${b}/dw/dy_cut`);
  k = ctx.reshape(k, [channels, 1, rows, ow], `${b}/dw/dy_kernel`);
  const taps = nchwc(ctx, 'Conv', [tall, k], `${b}/dw`, { kernel_shape: attr.ints([rows, ow]), group: attr.int(channels) });
  // [1, C', kh, kw] in NCHWc is [C'/block, kh, kw, block]: the kernel's own order.
  return ctx.reshape(taps, [channels, 1, kh, kw], `${b}/dw/w`);
}

/** The blocked depthwise kernel [C', 1, kh, kw] rotated by 180° (the input gradient's kernel). */
function rotatedKernel(ctx: GradientContext, w: string, channels: number, block: number, kh: number, kw: number, b: string): string {
  const blocked = ctx.reshape(w, [channels / block, kh, kw, block], `${b}/dx/w_blocks`); // [C'/block, kh, kw, block]
  return ctx.reshape(flipSpatial(ctx, blocked, `${b}/dx`, [1, 2]), [channels, 1, kh, kw], `${b}/dx/w_rotated`);
}

/** NHWC dY [B, OH, OW, C] with zeros between its rows and columns, on a [B, rows, cols, C] grid from `offset` (spreadStrided). */
function zeroInserted(ctx: GradientContext, dy: string, dims: number[], strides: [number, number], offset: [number, number], [rows, cols]: [number, number], b: string): string {
  const [batch, , , c] = dims as [number, number, number, number];
  return spreadStrided(ctx, dy, dims, [batch, rows, cols, c], [0, ...offset, 0], [1, ...strides, 1], b);
}

/**
 * Both gradients of a strided NCHWc depthwise conv (FDFtNet's FTT stages and MB blocks), from the
 * zero-inserted dY (`zeroInserted`), on the same NCHWc kernels as the stride-1 rule:
 *   d input:  dx[r] = Σ_k z[r + pt − k]·w[k], a stride-1 depthwise conv of z (shifted by kh − 1 − pt
 *             rows and kw − 1 − pl columns, sized H + kh − 1 × W + kw − 1) with the rotated kernel;
 *   d kernel: the stride-1 rule's tall-image correlation, with z (each image's rows padded to Hp,
 *             its columns to Wp − kw + 1) as the [B·Hp, ·] kernel.
 * Written for NHWC x and dY only (what separable / depthwise convs in training graphs read and
 * write); an NCHW input keeps the plain Conv (convLayers.ts asks `nchwcDepthwiseApplies`).
 */
function stridedDepthwise(ctx: GradientContext, n: OnnxNode, dy: string, geo: DepthwiseGeometry, strides: [number, number]): Array<string | undefined> {
  const b = n.name;
  const { batch, channels, block, h, wd, kh, kw, oh, ow } = geo;
  const [pt, pl, pb, pr] = geo.pads;
  const [x, w] = n.inputs as [string, string];
  const xNhwc = nhwcSource(ctx, x);
  const dyNhwc = nhwcSource(ctx, dy);
  if (!xNhwc || !dyNhwc) throw new OnnxTrainingError(`NCHWc Conv '${b}': a strided depthwise conv is differentiated only between NHWC values`);
  const c = ctx.shape(xNhwc)[3]!;
  const out: Array<string | undefined> = [undefined, undefined];
  if (ctx.needs(x)) {
    const z = zeroInserted(ctx, dyNhwc, [batch, oh, ow, c], strides, [kh - 1 - pt, kw - 1 - pl], [h + kh - 1, wd + kw - 1], `${b}/dx/z`);
    const zBlocked = nchwc(ctx, 'ReorderInput', [z], `${b}/dx/z_blocked`, { channels_last: attr.int(1) });
    out[0] = nchwc(ctx, 'Conv', [zBlocked, rotatedKernel(ctx, w, channels, block, kh, kw, b)], `${b}/dx`, { kernel_shape: attr.ints([kh, kw]), group: attr.int(channels) });
  }
  if (ctx.needs(w)) {
    const [hp, wp] = [h + pt + pb, wd + pl + pr];
    const kernelCols = wp - kw + 1;
    const tall = tallFromNhwc(ctx, xNhwc, [batch, h, wd, c], pt + pb, [pl, pr], `${b}/dw/x`);
    const z = zeroInserted(ctx, dyNhwc, [batch, oh, ow, c], strides, [0, 0], [hp, kernelCols], `${b}/dw/z`);
    const zTall = nchwc(ctx, 'ReorderInput', [ctx.reshape(z, [1, batch * hp, kernelCols, c], `${b}/dw/z_tall`)], `${b}/dw/z_blocked`, { channels_last: attr.int(1) });
    const kernel = ctx.reshape(zTall, [channels, 1, batch * hp, kernelCols], `${b}/dw/z_kernel`);
    const taps = nchwc(ctx, 'Conv', [tall, kernel], `${b}/dw`, { kernel_shape: attr.ints([batch * hp, kernelCols]), pads: attr.ints([pt, 0, kh - 1 - pt, 0]), group: attr.int(channels) });
    out[1] = ctx.reshape(taps, [channels, 1, kh, kw], `${b}/dw/w`);
  }
  return out;
}

const depthwiseConv: GradientRule = (ctx, n, [dy]) => {
  const b = n.name;
  const block = blockOf(ctx, n);
  const [x, w] = n.inputs as [string, string];
  const [batch, channels, h, wd] = ctx.shape(x) as [number, number, number, number];
  const [, perGroup, kh, kw] = ctx.shape(w) as [number, number, number, number];
  const [, , oh, ow] = ctx.shape(n.outputs[0]!) as [number, number, number, number];
  const [pt, pl, pb, pr] = intsAttr(n, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  if (
    n.inputs.length > 2 ||
    n.attrs.activation ||
    perGroup !== 1 ||
    intAttr(n, 'group', 1) !== channels ||
    intsAttr(n, 'dilations', [1, 1]).some((d) => d !== 1) ||
    [pt, pl, pb, pr].some((p, i) => p > (i % 2 === 0 ? kh : kw) - 1)
  ) {
    throw new OnnxTrainingError(`NCHWc Conv '${b}': only depthwise convs without bias, activation or dilation, with pads < kernel, are differentiated`);
  }
  const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
  if (sh !== 1 || sw !== 1) return stridedDepthwise(ctx, n, dy!, { batch, channels, block, h, wd, kh, kw, oh, ow, pads: [pt, pl, pb, pr] }, [sh, sw]);
  const kernelShape = attr.ints([kh, kw]);
  const out: Array<string | undefined> = [undefined, undefined];
  if (ctx.needs(x)) {
    out[0] = nchwc(ctx, 'Conv', [dy!, rotatedKernel(ctx, w, channels, block, kh, kw, b)], `${b}/dx`, {
      kernel_shape: kernelShape,
      pads: attr.ints([kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr]),
      group: attr.int(channels),
    });
  }
  if (ctx.needs(w)) out[1] = kernelGradient(ctx, n, dy!, { batch, channels, block, h, wd, kh, kw, oh, ow, pads: [pt, pl, pb, pr] });
  return out;
};

/**
 * Both gradients of a stride-1 full (group 1) NCHWc conv (src/export/nchwc.ts `nchwcConv`: Xception's
 * block1_conv2, ResNetV2's and ShallowNetV3's 3x3 convs), its kernel W' in MLAS' "OIHWBiBo" order
 * [M/block, C/block, kh, kw, block (C), block (M)]:
 *   d input:  the NCHWc conv of dY with W' rotated by 180° and its C and M roles swapped — in the
 *             blocked order a Transpose of the two block axes and the two block-index axes;
 *   d kernel: per tap (i, j), dYᵀ·(x's window at (i, j)) as one Gemm of the NHWC pixels
 *             [B·OH·OW, M]ᵀ × [B·OH·OW, C], the taps stacked to [M, C, kh, kw], then blocked as W'.
 */
function fullConv(ctx: GradientContext, n: OnnxNode, dy: string, block: number): Array<string | undefined> {
  const b = n.name;
  const [x, w] = n.inputs as [string, string];
  const [batch, c, h, wd] = ctx.shape(x) as [number, number, number, number];
  const [m, , kh, kw] = ctx.shape(w) as [number, number, number, number];
  const [, , oh, ow] = ctx.shape(n.outputs[0]!) as [number, number, number, number];
  const [pt, pl, pb, pr] = intsAttr(n, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  if (h + pt + pb - kh + 1 !== oh || wd + pl + pr - kw + 1 !== ow) throw new OnnxTrainingError(`internal: NCHWc Conv '${b}': output ${oh}x${ow} is not a stride-1 conv's`);
  const out: Array<string | undefined> = [undefined, undefined];
  if (ctx.needs(x)) {
    const blocks = ctx.reshape(w, [m / block, c / block, kh, kw, block, block], `${b}/dx/w_blocks`);
    const swapped = ctx.transpose(blocks, [1, 0, 2, 3, 5, 4], `${b}/dx/w_swap`);
    const kernel = ctx.reshape(flipSpatial(ctx, swapped, `${b}/dx`, [2, 3]), [c, m, kh, kw], `${b}/dx/w_rotated`);
    out[0] = nchwc(ctx, 'Conv', [dy, kernel], `${b}/dx`, { kernel_shape: attr.ints([kh, kw]), pads: attr.ints([kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr]) });
  }
  if (ctx.needs(w)) {
    const reorder = ctx.producer(x);
    if (!(reorder?.domain === NCHWC_DOMAIN && reorder.opType === 'ReorderInput')) {
      throw new OnnxTrainingError(`NCHWc Conv '${b}': its input must be a ReorderInput to be differentiated`);
    }
    // x and dY as NHWC pixels.
    let pixels = reorder.inputs[0]!;
    if (intAttr(reorder, 'channels_last', 0) !== 1) pixels = ctx.transpose(pixels, [0, 2, 3, 1], `${b}/dw/x_nhwc`);
    if (pt || pl || pb || pr) pixels = ctx.op('Pad', [pixels, ctx.ints(`${b}/dw/x_pads`, [0, pt, pl, 0, 0, pb, pr, 0])], `${b}/dw/x_padded`);
    const dyPixels = nhwcSource(ctx, dy) ?? nchwc(ctx, 'ReorderOutput', [dy], `${b}/dw/dy_nhwc`, { channels: attr.int(m), channels_last: attr.int(1) });
    const rows = batch * oh * ow;
    const dyRows = ctx.reshape(dyPixels, [rows, m], `${b}/dw/dy_rows`);
    const taps: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = ctx.op(
          'Slice',
          [pixels, ctx.ints(`${b}/dw/t${i}_${j}/starts`, [i, j]), ctx.ints(`${b}/dw/t${i}_${j}/ends`, [i + oh, j + ow]), ctx.ints(`${b}/dw/t${i}_${j}/axes`, [1, 2])],
          `${b}/dw/t${i}_${j}`,
        );
        const tap = ctx.op('Gemm', [dyRows, ctx.reshape(window, [rows, c], `${b}/dw/x${i}_${j}`)], `${b}/dw/mm${i}_${j}`, { transA: attr.int(1) });
        taps.push(ctx.reshape(tap, [m, c, 1], `${b}/dw/tap${i}_${j}`));
      }
    }
    const oihw = ctx.op('Concat', taps, `${b}/dw/stack`, { axis: attr.int(2) });
    const blocks = ctx.reshape(oihw, [m / block, block, c / block, block, kh, kw], `${b}/dw/blocks`);
    out[1] = ctx.reshape(ctx.transpose(blocks, [0, 2, 4, 5, 3, 1], `${b}/dw/oihwbibo`), [m, c, kh, kw], `${b}/dw/w`);
  }
  return out;
}

/** The NCHWc Conv's rule: depthwise (group = channels) or full (group 1). */
const nchwcConvRule: GradientRule = (ctx, n, [dy]) => {
  const group = intAttr(n, 'group', 1);
  const channels = ctx.shape(n.inputs[0]!)[1]!;
  if (group === 1 && ctx.shape(n.inputs[1]!)[1] === channels) {
    const [kh, kw] = ctx.shape(n.inputs[1]!).slice(2) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]) as number[];
    if (
      n.inputs.length > 2 ||
      n.attrs.activation ||
      intsAttr(n, 'strides', [1, 1]).some((s) => s !== 1) ||
      intsAttr(n, 'dilations', [1, 1]).some((d) => d !== 1) ||
      pads.some((p, i) => p > (i % 2 === 0 ? kh : kw) - 1)
    ) {
      throw new OnnxTrainingError(`NCHWc Conv '${n.name}': only stride-1 full convs without bias, activation or dilation, with pads < kernel, are differentiated`);
    }
    return fullConv(ctx, n, dy!, blockOf(ctx, n));
  }
  return depthwiseConv(ctx, n, [dy]);
};

/** Rules of the NCHWc domain, by op type (autodiff.ts looks them up by the node's domain). */
export const NCHWC_GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  ReorderInput: reorderInput,
  ReorderOutput: reorderOutput,
  Conv: nchwcConvRule,
};
