/**
 * fdft's own layers (layers/): HardSigmoid and HardSwish of FDFtNet eq. 4, and SelfAttention of
 * eq. 1–3. (FrozenBackbone is inlined by the exporter, like any nested model.)
 */
import { type LayerConverter, oneInput, requireRank } from './converter.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';
import { staticDim } from './value.ts';
import { layerWeights, requireWeight } from './weights.ts';

/** ReLU6(x + 3)/6 = clip(x/6 + 0.5, 0, 1) = ONNX HardSigmoid(alpha = 1/6, beta = 0.5). */
function hardSigmoidOp(g: Parameters<LayerConverter>[0]['g'], x: string, base: string): string {
  return g.op('HardSigmoid', [x], base, { alpha: attr.float(1 / 6), beta: attr.float(0.5) });
}

// Element-wise: the output keeps the input's layout (Value.nhwc in training graphs).
export const hardSigmoid: LayerConverter = (a) => {
  const x = oneInput(a);
  return [{ ...x, name: hardSigmoidOp(a.g, x.name, a.base) }];
};

/** x · HardSigmoid(x) (ONNX's HardSwish op needs opset 14; this is the same function at opset 13). */
export const hardSwish: LayerConverter = (a) => {
  const x = oneInput(a);
  return [{ ...x, name: a.g.op('Mul', [x.name, hardSigmoidOp(a.g, x.name, `${a.base}/gate`)], a.base) }];
};

/**
 * SelfAttention on x [B, C, H, W] (NCHW inside the graph), N = H·W:
 *   xt = x as [B, N, C];  f = conv1x1_f(x) as [B, C', N];  gt = xt·Wg + bg [B, N, C'];  ht = xt·Wh + bh [B, N, C]
 *   s[j, i] = g_j · f_i = (gt · f)[j, i];  β = softmax over i (last axis, eq. 1);  o = β · ht [B, N, C] (eq. 2)
 *   y = γ·o + x (eq. 3), o brought back to [B, C, H, W].
 * In training graphs x arrives NHWC (Value.nhwc, onnx.ts takesNhwc) and stays so (the x.nhwc
 * branch below: no transposes, f as a MatMul like g and h).
 */
export const selfAttention: LayerConverter = (a) => {
  const { g, base } = a;
  const x = oneInput(a);
  requireRank(x, 4);
  const h = staticDim(x.shape, 1, 'SelfAttention');
  const w = staticDim(x.shape, 2, 'SelfAttention');
  const c = staticDim(x.shape, 3, 'SelfAttention');
  const n = h * w;
  const wts = layerWeights(a.layer);
  const kf = requireWeight(wts, 'kernel_f', a.layer);
  const r = kf.shape[3]!;
  const matrix = (key: string, out: number) => g.addWeight(`${base}/${key}`, requireWeight(wts, key, a.layer), [c, out]);
  const vector = (key: string, len: number) => g.addWeight(`${base}/${key}`, requireWeight(wts, key, a.layer), [len]);
  if (x.nhwc) {
    // NHWC [B, H, W, C] is [B, N, C] as it lies: f, g and h are MatMuls of it, and o [B, N, C]
    // is the NHWC output as it lies: no transposes of x or o (8 of them per FTT stage, forward
    // and backward, on the NCHW path).
    const xt = g.op('Reshape', [x.name, g.addInt64(`${base}/nc_shape`, [0, n, c])], `${base}/x_nc`);
    const projection = (key: string, out: number) =>
      g.op('Add', [g.op('MatMul', [xt, matrix(`kernel_${key}`, out)], `${base}/${key}_mm`), vector(`bias_${key}`, out)], `${base}/${key}`);
    const ft = projection('f', r);
    const f = g.op('Transpose', [ft], `${base}/f_rn`, { perm: attr.ints([0, 2, 1]) }); // onnxruntime folds it into the scores MatMul
    const o = attentionCore(g, projection('g', r), f, projection('h', c), n, base);
    const oNhwc = g.op('Reshape', [o, g.addInt64(`${base}/hwc_shape`, [0, h, w, c])], `${base}/o_hwc`);
    const scaled = g.op('Mul', [oNhwc, vector('gamma', 1)], `${base}/gamma_o`);
    return [{ name: g.op('Add', [scaled, x.name], base), shape: x.shape, nhwc: true }];
  }

  const xFlat = g.op('Reshape', [x.name, g.addInt64(`${base}/cn_shape`, [0, c, n])], `${base}/x_cn`);
  const xt = g.op('Transpose', [xFlat], `${base}/x_nc`, { perm: attr.ints([0, 2, 1]) });
  // f as [B, C', N] straight from a 1x1 Conv on the NCHW input (no transpose of x needed):
  // the [1, 1, C, C'] kernel becomes the Conv weight [C', C, 1, 1].
  const fKernel = g.addWeight(`${base}/kernel_f`, kf, [r, c, 1, 1], [3, 2, 0, 1]);
  const fConv = g.op('Conv', [x.name, fKernel, vector('bias_f', r)], `${base}/f_conv`, {
    kernel_shape: attr.ints([1, 1]),
  });
  const f = g.op('Reshape', [fConv, g.addInt64(`${base}/rn_shape`, [0, r, n])], `${base}/f`);

  const gt = g.op('Add', [g.op('MatMul', [xt, matrix('kernel_g', r)], `${base}/g_mm`), vector('bias_g', r)], `${base}/g`);
  const ht = g.op('Add', [g.op('MatMul', [xt, matrix('kernel_h', c)], `${base}/h_mm`), vector('bias_h', c)], `${base}/h`);
  const o = attentionCore(g, gt, f, ht, n, base);
  const oNchw = g.op(
    'Reshape',
    [g.op('Transpose', [o], `${base}/o_cn`, { perm: attr.ints([0, 2, 1]) }), g.addInt64(`${base}/chw_shape`, [0, c, h, w])],
    `${base}/o_chw`,
  );
  const scaled = g.op('Mul', [oNchw, vector('gamma', 1)], `${base}/gamma_o`);
  return [{ name: g.op('Add', [scaled, x.name], base), shape: x.shape }];
};

/**
 * Training graphs hold one N×N score map per image until the backward pass needs it; at N = 1024
 * (the FTT's first stage) and batch 128 that is 512 MB per tensor, several of them alive at once.
 * Cutting the batch into chunks whose maps hold at most this many values bounds the temporaries of
 * each chunk's forward and backward (the result is the same: images are independent). 2^23 (8
 * images at N = 1024, as SelfAttention.maxAttentionElements on tfjs) rather than 2^25: the step's
 * peak at batch 128 went 2.32 → 2.07 GiB with the same loss and time (1,532 vs 1,554 ms median,
 * interleaved; BENCHMARKS.md, eleventh session).
 */
export const ATTENTION_CHUNK_VALUES = 2 ** 23; // 32 MiB of float32

/** o = softmax(gt·f)·ht per image (eq. 1–2), [B, N, C]; in batch chunks in training graphs (see above). */
function attentionCore(g: OnnxGraph, gt: string, f: string, ht: string, n: number, base: string): string {
  const one = (q: string, k: string, v: string, b: string) => {
    const s = g.op('MatMul', [q, k], `${b}/scores`); // [B, N(j), N(i)]
    const beta = g.op('Softmax', [s], `${b}/beta`, { axis: attr.int(-1) });
    const o = g.op('MatMul', [beta, v], `${b}/o`); // [B, N, C]
    g.training?.softmaxProducts.push({ probs: beta, product: o });
    return o;
  };
  const batch = g.training?.batch;
  const chunk = Math.max(1, Math.floor((g.training?.attentionChunkValues ?? ATTENTION_CHUNK_VALUES) / (n * n)));
  if (batch === undefined || batch <= chunk) return one(gt, f, ht, base);
  const sizes: number[] = [];
  for (let left = batch; left > 0; left -= chunk) sizes.push(Math.min(chunk, left));
  const split = (v: string, name: string) => g.add('Split', [v, g.addInt64(`${base}/${name}_chunks`, sizes)], `${base}/${name}_chunk`, { axis: attr.int(0) }, sizes.length);
  const [qs, ks, vs] = [split(gt, 'g'), split(f, 'f'), split(ht, 'h')];
  const outs = sizes.map((_, i) => one(qs[i]!, ks[i]!, vs[i]!, `${base}/chunk${i}`));
  return g.op('Concat', outs, `${base}/o`, { axis: attr.int(0) });
}

/** SelectInput (FDFtNet without FTT keeps its [image, featureMap] signature with it): one input, unchanged. */
export const selectInput: LayerConverter = (a) => {
  const index = Number(a.config.index);
  const v = a.inputs[index];
  if (!v) throw new Error(`SelectInput(${index}) has ${a.inputs.length} input(s)`);
  return [{ ...v, shape: a.outputShapes[0]! }];
};
