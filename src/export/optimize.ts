/**
 * Graph clean-ups after conversion, each exact in real arithmetic (float rounding aside):
 *
 *   - BatchNormalization after a Conv that feeds nothing else is folded into the Conv:
 *       s = γ/√(σ² + ε);  W'[o] = W[o]·s[o];  b'[o] = (b[o] − μ[o])·s[o] + β[o]
 *     and likewise after a 1x1 conv written as MatMul (+ bias Add) of NHWC pixels and transposed to
 *     NCHW for it (convLayers' asMatMul), with the scale on the kernel's columns W[:, o];
 *   - a zero Pad (ZeroPadding2D) before a Conv that is its only consumer becomes the Conv's pads;
 *   - Transpose pairs that cancel (NCHW → NHWC → NCHW around layout-neutral layers) are removed;
 *   - nodes and initializers no graph output depends on are dropped.
 */
import { consumers, type Initializer, type OnnxGraph, type OnnxNode, producers } from './onnxGraph.ts';

export interface OptimizeStats {
  foldedBatchNorms: number;
  foldedPads: number;
  removedTransposes: number;
  removedNodes: number;
}

function floatInit(g: OnnxGraph, name: string | undefined): Initializer | undefined {
  if (!name) return undefined;
  const t = g.initializers.get(name);
  return t && t.data instanceof Float32Array ? t : undefined;
}

function isGraphOutput(g: OnnxGraph, name: string): boolean {
  return g.outputs.some((o) => o.name === name);
}

function foldBatchNorms(g: OnnxGraph): number {
  let folded = 0;
  const prod = producers(g);
  const cons = consumers(g);
  for (const bn of [...g.nodes]) {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1) continue;
    const conv = prod.get(bn.inputs[0]!);
    if (!conv || conv.opType !== 'Conv' || conv.domain) continue;
    if ((cons.get(conv.outputs[0]!) ?? []).length !== 1 || isGraphOutput(g, conv.outputs[0]!)) continue;
    const w = floatInit(g, conv.inputs[1]);
    const b = conv.inputs[2] ? floatInit(g, conv.inputs[2]) : undefined;
    if (!w || (conv.inputs[2] && !b)) continue;
    const outC = w.dims[0]!;
    const fold = bnFold(bn, g, outC, b);
    if (!fold) continue;
    const per = w.data.length / outC;
    const newW = new Float32Array(w.data.length);
    for (let o = 0; o < outC; o++) for (let k = 0; k < per; k++) newW[o * per + k] = (w.data[o * per + k] as number) * fold.scale[o]!;
    conv.inputs[1] = g.addFloat(`${conv.inputs[1]}_bn`, newW, w.dims);
    conv.inputs[2] = g.addFloat(`${conv.name}/B_bn`, fold.bias, [outC]);
    conv.outputs[0] = bn.outputs[0]!;
    g.nodes.splice(g.nodes.indexOf(bn), 1);
    folded++;
  }
  return folded;
}

/** The BN scale s and the folded bias b' (double precision, one rounding to float32). */
function bnFold(bn: OnnxNode, g: OnnxGraph, outC: number, bias: Initializer | undefined): { scale: Float64Array; bias: Float32Array } | undefined {
  const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((n) => floatInit(g, n));
  if (!gamma || !beta || !mean || !variance || gamma.data.length !== outC) return undefined;
  const eps = bn.attrs.epsilon?.kind === 'float' ? bn.attrs.epsilon.value : 1e-5;
  const scale = new Float64Array(outC);
  const folded = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    scale[o] = (gamma.data[o] as number) / Math.sqrt((variance.data[o] as number) + eps);
    folded[o] = ((bias ? (bias.data[o] as number) : 0) - (mean.data[o] as number)) * scale[o]! + (beta.data[o] as number);
  }
  return { scale, bias: folded };
}

/**
 * BN(Transpose_NCHW(MatMul(x, W) [+ b])) → Transpose_NCHW(MatMul(x, W') + b'): a 1x1 conv that
 * convLayers wrote as a MatMul of NHWC pixels (asMatMul), which inference BN reads transposed.
 */
function foldBatchNormsIntoMatMuls(g: OnnxGraph): number {
  let folded = 0;
  const prod = producers(g);
  const cons = consumers(g);
  const soleUse = (name: string) => (cons.get(name) ?? []).length === 1 && !isGraphOutput(g, name);
  for (const bn of [...g.nodes]) {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1) continue;
    const transpose = prod.get(bn.inputs[0]!);
    const perm = transpose?.attrs.perm?.kind === 'ints' ? transpose.attrs.perm.value : undefined;
    if (!transpose || transpose.opType !== 'Transpose' || perm?.join() !== '0,3,1,2' || !soleUse(transpose.outputs[0]!)) continue;
    const before = prod.get(transpose.inputs[0]!);
    const add = before?.opType === 'Add' ? before : undefined; // the conv's bias, if it has one
    const b = add ? floatInit(g, add.inputs[1]) : undefined;
    if (add && (!b || !soleUse(add.outputs[0]!))) continue;
    const matmul = add ? prod.get(add.inputs[0]!) : before;
    if (!matmul || matmul.opType !== 'MatMul' || !soleUse(matmul.outputs[0]!)) continue;
    const w = floatInit(g, matmul.inputs[1]);
    if (!w || w.dims.length !== 2 || (b && b.data.length !== w.dims[1])) continue;
    const [cin, cout] = w.dims as [number, number];
    const fold = bnFold(bn, g, cout, b);
    if (!fold) continue;
    const newW = new Float32Array(w.data.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) newW[i * cout + o] = (w.data[i * cout + o] as number) * fold.scale[o]!;
    matmul.inputs[1] = g.addFloat(`${matmul.inputs[1]}_bn`, newW, w.dims);
    const newB = g.addFloat(`${matmul.name}/B_bn`, fold.bias, [cout]);
    if (add) add.inputs[1] = newB;
    else {
      const sum = g.uniqueName(`${matmul.name}/bias_bn`);
      g.nodes.splice(g.nodes.indexOf(matmul) + 1, 0, { opType: 'Add', name: sum, inputs: [matmul.outputs[0]!, newB], outputs: [sum], attrs: {} });
      transpose.inputs[0] = sum;
    }
    transpose.outputs[0] = bn.outputs[0]!;
    g.nodes.splice(g.nodes.indexOf(bn), 1);
    folded++;
  }
  return folded;
}

function foldPads(g: OnnxGraph): number {
  let folded = 0;
  const cons = consumers(g);
  for (const pad of [...g.nodes]) {
    if (pad.opType !== 'Pad' || pad.inputs.length > 2) continue; // a constant_value input: not a zero pad we made
    const mode = pad.attrs.mode;
    if (mode && !(mode.kind === 'string' && mode.value === 'constant')) continue;
    const pads = g.initializers.get(pad.inputs[1]!);
    if (!pads || !(pads.data instanceof BigInt64Array) || pads.data.length !== 8) continue;
    const p = Array.from(pads.data, Number);
    if (p[0] !== 0 || p[1] !== 0 || p[4] !== 0 || p[5] !== 0 || p.some((v) => v < 0)) continue;
    const users = cons.get(pad.outputs[0]!) ?? [];
    if (users.length !== 1 || users[0]!.opType !== 'Conv' || users[0]!.domain || users[0]!.inputs[0] !== pad.outputs[0] || isGraphOutput(g, pad.outputs[0]!)) continue;
    const conv = users[0]!;
    const cp = conv.attrs.pads?.kind === 'ints' ? conv.attrs.pads.value : [0, 0, 0, 0];
    conv.attrs.pads = { kind: 'ints', value: [cp[0]! + p[2]!, cp[1]! + p[3]!, cp[2]! + p[6]!, cp[3]! + p[7]!] };
    conv.inputs[0] = pad.inputs[0]!;
    g.nodes.splice(g.nodes.indexOf(pad), 1);
    folded++;
  }
  return folded;
}

function cancelTransposes(g: OnnxGraph): number {
  let removed = 0;
  const prod = producers(g);
  for (const outer of g.nodes) {
    if (outer.opType !== 'Transpose') continue;
    const inner = prod.get(outer.inputs[0]!);
    if (!inner || inner.opType !== 'Transpose') continue;
    const p1 = inner.attrs.perm?.kind === 'ints' ? inner.attrs.perm.value : undefined;
    const p2 = outer.attrs.perm?.kind === 'ints' ? outer.attrs.perm.value : undefined;
    if (!p1 || !p2 || p1.length !== p2.length) continue;
    // out[i] = in[p1[p2[i]]]: identity when p1∘p2 is.
    if (!p2.every((q, i) => p1[q] === i)) continue;
    if (isGraphOutput(g, outer.outputs[0]!)) continue;
    const from = outer.outputs[0]!;
    const to = inner.inputs[0]!;
    for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
    removed++;
  }
  return removed;
}

/** Drop nodes whose outputs nothing needs, then initializers no node reads. */
export function removeDeadNodes(g: OnnxGraph): number {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep = new Set<OnnxNode>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.add(n);
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  const before = g.nodes.length;
  const kept = g.nodes.filter((n) => keep.has(n));
  g.nodes.length = 0;
  g.nodes.push(...kept);
  for (const name of [...g.initializers.keys()]) if (!needed.has(name)) g.initializers.delete(name);
  return before - kept.length;
}

/** Run every pass (in place). Nodes stay in topological order: passes only remove or rewire. */
export function optimizeGraph(g: OnnxGraph): OptimizeStats {
  const foldedPads = foldPads(g);
  const foldedBatchNorms = foldBatchNorms(g) + foldBatchNormsIntoMatMuls(g);
  const removedTransposes = cancelTransposes(g);
  const removedNodes = removeDeadNodes(g);
  return { foldedBatchNorms, foldedPads, removedTransposes, removedNodes };
}
