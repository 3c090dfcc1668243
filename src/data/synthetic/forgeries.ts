/**
 * The traces real forgery methods leave, applied to procedural faces:
 *  - face swap (Deepfakes / FaceSwap): the inner face of another identity, rendered at a lower
 *    resolution (the swap network's output size), with a different light, imperfectly colour-
 *    corrected, slightly misaligned, pasted through a feathered mask (blending boundary);
 *  - GAN synthesis (PGGAN / StyleGAN): the image passes through a stride-2 transposed-convolution
 *    upsampler whose kernel is slightly uneven across phases (checkerboard / spectral peaks at
 *    the Nyquist frequency, Odena et al. 2016), plus GAN-typical local inconsistencies
 *    (mismatched irises or eye sizes) decided before rendering.
 * Strengths are random per image, many of them subtle, so the task is learnable but not trivial.
 */
import { gaussian, uniform, type Rng } from '../random.ts';
import { resample } from './camera.ts';
import { faceFrame, renderFace, sampleIdentity, sampleScene, type FaceParams } from './faceModel.ts';
import { Raster, type RGB } from './raster.ts';

export interface SwapParams {
  /** Resolution of the swapped face relative to the image. */
  donorScale: number;
  /** Fraction of the colour difference that the colour correction removes. */
  colorMatch: number;
  /** Mask feather in face-width units. */
  feather: number;
  /** Misalignment in px and relative scale. */
  dx: number;
  dy: number;
  dscale: number;
  /** Whether the donor was lit differently. */
  relit: boolean;
}

/** `strength` scales every trace (1 = the default set; larger = easier to detect). */
export function sampleSwap(rng: Rng, strength = 1): SwapParams {
  return {
    donorScale: Math.max(0.25, 1 - strength * uniform(rng, 0.3, 0.6)),
    colorMatch: Math.max(0, 1 - strength * uniform(rng, 0.3, 1)),
    feather: uniform(rng, 0.03, 0.15),
    dx: gaussian(rng) * 0.6 * strength,
    dy: gaussian(rng) * 0.6 * strength,
    dscale: 1 + gaussian(rng) * 0.03 * strength,
    relit: rng() < Math.min(1, 0.6 * strength),
  };
}

/** Replaces the inner face of `target` (drawn from `params`) by another identity's. */
export function swapFace(target: Raster, params: FaceParams, sp: SwapParams, rng: Rng): void {
  const S = target.width;
  const donorId = sampleIdentity(rng);
  // The swapped face keeps the target's hair (only the inner face is replaced).
  donorId.hair = params.id.hair;
  donorId.hairStyle = 0;
  donorId.glasses = false;
  const scene = sp.relit ? { ...params.scene, light: sampleScene(rng).light } : params.scene;
  const pose = {
    ...params.pose,
    cx: params.pose.cx + sp.dx / S,
    cy: params.pose.cy + sp.dy / S,
    rw: params.pose.rw * sp.dscale,
    rh: params.pose.rh * sp.dscale,
  };
  const d = Math.max(8, Math.round(S * sp.donorScale));
  const small = new Raster(d, d);
  renderFace(small, { pose, id: donorId, scene });
  const donor = resample(small, S, S);

  // Mask: the inner face oval (brows to chin), feathered.
  const f = faceFrame(params.pose, S);
  const [mx, my] = f.at(0, 0.08);
  const rx = f.rw * 0.78;
  const ry = f.rh * 0.82;
  const feather = sp.feather * f.rw;
  const mask = new Float32Array(S * S);
  let wsum = 0;
  const mt: RGB = [0, 0, 0];
  const md: RGB = [0, 0, 0];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const dx = x + 0.5 - mx;
      const dy = y + 0.5 - my;
      const u = (dx * f.cos + dy * f.sin) / rx;
      const v = (-dx * f.sin + dy * f.cos) / ry;
      const r = Math.sqrt(u * u + v * v);
      const dist = (r - 1) * Math.min(rx, ry);
      const m = Math.min(1, Math.max(0, 0.5 - dist / feather));
      mask[y * S + x] = m;
      if (m > 0.5) {
        const o = (y * S + x) * 3;
        for (let c = 0; c < 3; c++) {
          mt[c] += target.data[o + c]!;
          md[c] += donor.data[o + c]!;
        }
        wsum++;
      }
    }
  }
  const shift: RGB = [0, 0, 0];
  if (wsum > 0) for (let c = 0; c < 3; c++) shift[c] = (sp.colorMatch * (mt[c]! - md[c]!)) / wsum;
  for (let i = 0; i < S * S; i++) {
    const m = mask[i]!;
    if (m <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const o = i * 3 + c;
      target.data[o] = target.data[o]! * (1 - m) + (donor.data[o]! + shift[c]!) * m;
    }
  }
}

export interface GanParams {
  /** Phase imbalance e of the upsampling kernel (0 = plain bilinear upsampling). */
  checker: number;
  /** Per-channel variation of the imbalance. */
  channelSkew: RGB;
  /** Fraction of the image's own fine detail the generator reproduces (1 = all). */
  detail: number;
  /** Amplitude of a faint period-4 pattern (a second spectral peak). */
  grid: number;
}

/** `strength` scales every trace (1 = the default set; larger = easier to detect). */
export function sampleGan(rng: Rng, strength = 1): GanParams {
  const s = Math.pow(rng(), 1.5); // many subtle ones
  return {
    checker: strength * (0.02 + 0.06 * s),
    channelSkew: [uniform(rng, 0.8, 1.2), uniform(rng, 0.8, 1.2), uniform(rng, 0.8, 1.2)],
    detail: Math.max(0, 1 - strength * uniform(rng, 0.2, 0.6)),
    grid: rng() < 0.4 ? strength * uniform(rng, 0, 0.01) : 0,
  };
}

/**
 * Stride-2 transposed convolution of a half-resolution image with the separable 4-tap kernel
 * w = [¼ + e, ¾ − e, ¾ + e, ¼ − e]: bilinear upsampling when e = 0; otherwise even and odd output
 * phases get weights summing to 1 − 2e and 1 + 2e — the checkerboard of GAN upsamplers.
 */
export function transposedUpsample(half: Raster, S: number, e: RGB): Raster {
  const H = half.width;
  const out = new Raster(S, S);
  const rows = new Float32Array(H * S);
  for (let c = 0; c < 3; c++) {
    const w = [0.25 + e[c], 0.75 - e[c], 0.75 + e[c], 0.25 - e[c]];
    rows.fill(0);
    // Input pixel i contributes w[k] to output 2i − 1 + k, k = 0..3 (clamped at the border).
    for (let y = 0; y < H; y++) {
      for (let i = 0; i < H; i++) {
        const v = half.data[(y * H + i) * 3 + c]!;
        for (let k = 0; k < 4; k++) {
          const xo = 2 * i - 1 + k;
          const xc = xo < 0 ? 0 : xo >= S ? S - 1 : xo;
          rows[y * S + xc] = rows[y * S + xc]! + v * w[k]!;
        }
      }
    }
    for (let x = 0; x < S; x++) {
      for (let i = 0; i < H; i++) {
        const v = rows[i * S + x]!;
        for (let k = 0; k < 4; k++) {
          const yo = 2 * i - 1 + k;
          const yc = yo < 0 ? 0 : yo >= S ? S - 1 : yo;
          out.data[(yc * S + x) * 3 + c] = out.data[(yc * S + x) * 3 + c]! + v * w[k]!;
        }
      }
    }
  }
  return out;
}

/**
 * The generator's last upsampling stage applied to a rendered image: the half-resolution image
 * upsampled with the uneven kernel, plus a fraction `detail` of the fine detail the half-
 * resolution image lacks (a generator re-synthesises detail, imperfectly).
 */
export function ganUpsample(src: Raster, gp: GanParams): Raster {
  const S = src.width;
  const half = resample(src, S >> 1, S >> 1);
  const plain = transposedUpsample(half, S, [0, 0, 0]);
  const uneven = transposedUpsample(half, S, [gp.checker * gp.channelSkew[0], gp.checker * gp.channelSkew[1], gp.checker * gp.channelSkew[2]]);
  const out = new Raster(S, S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const g = gp.grid * Math.cos((Math.PI / 2) * x) * Math.cos((Math.PI / 2) * y);
      for (let c = 0; c < 3; c++) {
        const o = (y * S + x) * 3 + c;
        out.data[o] = uneven.data[o]! + gp.detail * (src.data[o]! - plain.data[o]!) + g;
      }
    }
  }
  return out;
}
