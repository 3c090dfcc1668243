/**
 * The N×N part of FDFtNet's self-attention (paper eq. 1–2), with a hand-written, memory-lean gradient:
 *
 *   S = G Fᵀ  (s_ji = g_j · f_i),   β = softmax over i of S,   O = β H.
 *
 * Autograd would keep β (B·N² floats: 512 MiB at batch 128 and N = 32·32) alive from the forward
 * pass to the backward pass, and build several more N² temporaries at once — more than the wasm
 * heap can address. Here the forward pass saves only F, G, H (N·C floats) and the backward pass
 * recomputes β a few images at a time (one extra N²·C/b matMul + softmax per chunk), then
 *
 *   dβ = dO Hᵀ,  dH = βᵀ dO,  dS = β ⊙ (dβ − Σ_i dβ ⊙ β),  dG = dS F,  dF = dSᵀ G.
 *
 * On fdft's wasm engine the whole thing runs on fused kernels instead
 * (src/engine/kernels/fusedAttention.ts): the map is never stored at all, not even per chunk.
 *
 * `attentionReference` is the plain autograd version, kept for tests.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAttention, fusedAttentionApplies, fusedAttentionGrad } from '../src/engine/kernels/fusedAttention.ts';

/** Batch sizes of the chunks, each with at most `maxElements` attention-map elements. */
export function chunkSizes(batch: number, n: number, maxElements: number): number[] {
  const per = Math.max(1, Math.floor(maxElements / (n * n)));
  return Array.from({ length: Math.ceil(batch / per) }, (_, i) => Math.min(per, batch - i * per));
}

function forwardChunk(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(g, f, false, true)), h));
}

/** fdft's engine registers this fused softmax-gradient kernel for wasm (src/engine/kernels/softmaxGrad.ts). */
const FUSED_SOFTMAX_GRAD = 'FdftSoftmaxGrad';

/** dS = β ⊙ (dβ − Σ_i dβ ⊙ β): one fused pass where the engine provides it, else four tfjs ops. */
function softmaxBackward(beta: tf.Tensor, dBeta: tf.Tensor): tf.Tensor {
  if (tf.getKernel(FUSED_SOFTMAX_GRAD, tf.getBackend())) {
    try {
      return tf.engine().runKernel(FUSED_SOFTMAX_GRAD, { y: beta, dy: dBeta }, {}) as tf.Tensor;
    } catch {
      // e.g. no WebAssembly SIMD: fall through to plain ops
    }
  }
  return tf.mul(beta, tf.sub(dBeta, tf.sum(tf.mul(dBeta, beta), -1, true)));
}

function backwardChunk(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D, dO: tf.Tensor3D): tf.Tensor3D[] {
  return tf.tidy(() => {
    const beta = tf.softmax(tf.matMul(g, f, false, true)); // recomputed, [b, N(j), N(i)]
    const dBeta = tf.matMul(dO, h, false, true);
    const dH = tf.matMul(beta, dO, true, false);
    const dS = softmaxBackward(beta, dBeta);
    const dG = tf.matMul(dS, f);
    const dF = tf.matMul(dS, g, true, false);
    return [dF, dG, dH] as tf.Tensor3D[];
  });
}

function split3(t: tf.Tensor3D, sizes: number[]): tf.Tensor3D[] {
  return sizes.length === 1 ? [t] : (tf.split(t, sizes, 0) as tf.Tensor3D[]);
}

function concat3(ts: tf.Tensor3D[]): tf.Tensor3D {
  return ts.length === 1 ? ts[0]! : tf.concat(ts, 0);
}

/**
 * O = softmax(G Fᵀ) H for f, g: [B, N, C'], h: [B, N, C] → [B, N, C], computed in batch chunks of at
 * most `maxElements` attention-map elements, with the recomputing gradient described above.
 */
export function attention(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D, maxElements: number): tf.Tensor3D {
  if (fusedAttentionApplies(f.shape, h.shape)) return attentionFused(f, g, h);
  return attentionChunked(f, g, h, maxElements);
}

/** The same op on the fused wasm kernels: forward saves per-row softmax statistics, backward recomputes β. */
function attentionFused(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D): tf.Tensor3D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [F, G, H] = args.slice(0, 3) as tf.Tensor3D[];
    const [value, stats] = fusedAttention(F!, G!, H!);
    (args[3] as tf.GradSaveFunc)([F!, G!, H!, value, stats]);
    stats.dispose(); // saved as a clone
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sf, sg, sh, so, ss] = saved as tf.Tensor3D[];
      return fusedAttentionGrad(sf!, sg!, sh!, so!, ss!, dy as tf.Tensor3D);
    };
    return { value, gradFunc };
  });
  return op(f, g, h) as tf.Tensor3D;
}

/** The plain-ops path in batch chunks of at most `maxElements` map elements. */
export function attentionChunked(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D, maxElements: number): tf.Tensor3D {
  const [b, n] = f.shape;
  const sizes = chunkSizes(b, n, maxElements);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [F, G, H] = args.slice(0, 3) as tf.Tensor3D[];
    (args[3] as tf.GradSaveFunc)([F!, G!, H!]);
    const [fs, gs, hs] = [F!, G!, H!].map((t) => split3(t, sizes));
    const value = concat3(sizes.map((_, i) => forwardChunk(fs![i]!, gs![i]!, hs![i]!)));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sf, sg, sh] = (saved as tf.Tensor3D[]).map((t) => split3(t, sizes));
      const dys = split3(dy as tf.Tensor3D, sizes);
      const parts = sizes.map((_, i) => backwardChunk(sf![i]!, sg![i]!, sh![i]!, dys[i]!));
      return [0, 1, 2].map((k) => concat3(parts.map((p) => p[k]!)));
    };
    return { value, gradFunc };
  });
  return op(f, g, h) as tf.Tensor3D;
}

/** The same maths through plain autograd (keeps every N² intermediate): the reference for tests. */
export function attentionReference(f: tf.Tensor3D, g: tf.Tensor3D, h: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(tf.softmax(tf.matMul(g, f, false, true)), h);
}
