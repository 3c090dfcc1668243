/**
 * Training-time augmentation of the FDFtNet paper (§4.1) as the authors ran it with Keras'
 * ImageDataGenerator + their `cutout` preprocessing function:
 *   random translation ±2 px (Keras width/height_shift_range = 2.0: uniform real shift),
 *   rotation (Keras rotation_range, in DEGREES: the paper's 0.2 is 0.2°),
 *   zoom (zoom_range 0.2: x and y scales drawn independently from [0.8, 1.2]),
 *   horizontal flip with p = 0.5, 'nearest' fill of the uncovered border, then Cutout, then
 *   rescale 1/255. Sampling is nearest-neighbour by default: Keras' default (bilinear, order 1)
 *   is available as `interpolation: 'bilinear'`, but it low-passes every image (a half-pixel
 *   shift averages neighbours), which erases pixel-level forgery traces such as GAN
 *   checkerboards, and it costs ~2.5x the time.
 * Cutout (authors' utils/aug.py): n ~ U{0..α} cuts, each a square of side 4·k, k ~ U{1..β},
 * centred at a uniform random pixel, clipped to the image, set to 0. Paper: α = 3, β = 5
 * (β = 10 for Deepfake / Face2Face).
 *
 * Everything works on the uint8 pixels in plain typed arrays (one float32 write per value):
 * for 64x64 images that is far faster than tf ops, and it creates no tensors at all.
 */
import { DataOptionsError } from './errors.ts';
import { randInt, uniform, type Rng } from './random.ts';

export interface AugmentOptions {
  /** Maximum shift in px along x and y (uniform real in [-t, t]). Paper 2. */
  translate?: number;
  /** Maximum rotation in degrees (uniform in [-r, r]); Keras rotation_range. Paper 0.2. */
  rotation?: number;
  /** Zoom range z: x and y scale factors uniform in [1 - z, 1 + z]. Paper 0.2. */
  zoom?: number;
  /** Horizontal flip with probability 0.5. */
  hflip?: boolean;
  /** Cutout: maximum number of cuts α (0 = off). Paper 3. */
  cutoutAlpha?: number;
  /** Cutout: maximum side multiplier β (side = 4·k, k ≤ β). Paper 5. */
  cutoutBeta?: number;
  /** Sampling of the transformed image: 'nearest' (default, keeps pixel statistics) or Keras' 'bilinear'. */
  interpolation?: 'bilinear' | 'nearest';
}

export const PAPER_AUGMENTATION: Required<AugmentOptions> = {
  translate: 2,
  rotation: 0.2,
  zoom: 0.2,
  hflip: true,
  cutoutAlpha: 3,
  cutoutBeta: 5,
  interpolation: 'nearest',
};

/** Validation / test: only the rescale. */
export const NO_AUGMENTATION: Required<AugmentOptions> = {
  translate: 0,
  rotation: 0,
  zoom: 0,
  hflip: false,
  cutoutAlpha: 0,
  cutoutBeta: 1,
  interpolation: 'nearest',
};

export function resolveAugmentOptions(opts: AugmentOptions = {}): Required<AugmentOptions> {
  const o = { ...PAPER_AUGMENTATION, ...stripUndefined(opts) };
  const bad = (what: string) => {
    throw new DataOptionsError(`augmentation: ${what}`);
  };
  if (!(o.translate >= 0)) bad(`translate must be ≥ 0 (got ${o.translate})`);
  if (!(o.rotation >= 0 && o.rotation <= 180)) bad(`rotation must be in [0, 180] degrees (got ${o.rotation})`);
  if (!(o.zoom >= 0 && o.zoom < 1)) bad(`zoom must be in [0, 1) (got ${o.zoom})`);
  if (!(Number.isInteger(o.cutoutAlpha) && o.cutoutAlpha >= 0)) bad(`cutoutAlpha must be an integer ≥ 0 (got ${o.cutoutAlpha})`);
  if (!(Number.isInteger(o.cutoutBeta) && o.cutoutBeta >= 1)) bad(`cutoutBeta must be an integer ≥ 1 (got ${o.cutoutBeta})`);
  if (o.interpolation !== 'bilinear' && o.interpolation !== 'nearest') bad(`interpolation must be bilinear or nearest`);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A cut: rows y1..y2-1, columns x1..x2-1 set to 0. */
export interface CutBox {
  y1: number;
  y2: number;
  x1: number;
  x2: number;
}

/** The random choices for one image. */
export interface ImageTransform {
  /** Rotation in degrees. */
  theta: number;
  /** Shift in px (x = columns, y = rows). */
  tx: number;
  ty: number;
  /** Scale factors (Keras: > 1 zooms out). */
  zx: number;
  zy: number;
  flip: boolean;
  cuts: CutBox[];
}

/** Cutout boxes exactly as the authors' `cutout(img, max_cuts=α, max_length_multiplier=β)`. */
export function sampleCutout(rng: Rng, height: number, width: number, alpha: number, beta: number): CutBox[] {
  const cuts: CutBox[] = [];
  if (alpha <= 0) return cuts;
  const n = randInt(rng, 0, alpha);
  for (let i = 0; i < n; i++) {
    const y = randInt(rng, 0, height - 1);
    const x = randInt(rng, 0, width - 1);
    const half = (4 * randInt(rng, 1, beta)) >> 1;
    cuts.push({
      y1: Math.min(Math.max(y - half, 0), height),
      y2: Math.min(Math.max(y + half, 0), height),
      x1: Math.min(Math.max(x - half, 0), width),
      x2: Math.min(Math.max(x + half, 0), width),
    });
  }
  return cuts;
}

/** Draws one image's transform (fixed draw order, so a seed gives the same transforms). */
export function sampleTransform(rng: Rng, size: number, o: Required<AugmentOptions>): ImageTransform {
  const theta = o.rotation > 0 ? uniform(rng, -o.rotation, o.rotation) : 0;
  const tx = o.translate > 0 ? uniform(rng, -o.translate, o.translate) : 0;
  const ty = o.translate > 0 ? uniform(rng, -o.translate, o.translate) : 0;
  const zx = o.zoom > 0 ? uniform(rng, 1 - o.zoom, 1 + o.zoom) : 1;
  const zy = o.zoom > 0 ? uniform(rng, 1 - o.zoom, 1 + o.zoom) : 1;
  const flip = o.hflip ? rng() < 0.5 : false;
  const cuts = sampleCutout(rng, size, size, o.cutoutAlpha, o.cutoutBeta);
  return { theta, tx, ty, zx, zy, flip, cuts };
}

const INV255 = 1 / 255;

/**
 * Writes the transformed image (HWC RGB uint8 at src[srcOffset…]) as float32 in [0, 1] into
 * dst[dstOffset…]. The affine map goes from output to input pixel centres about the image
 * centre (as Keras' apply_affine_transform); input coordinates are clamped to the image
 * ('nearest' fill).
 */
export function applyTransform(
  src: Uint8Array,
  srcOffset: number,
  size: number,
  t: ImageTransform,
  dst: Float32Array,
  dstOffset: number,
  interpolation: 'bilinear' | 'nearest' = 'nearest',
): void {
  const c = (size - 1) / 2;
  const rad = (t.theta * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  // input = M · (u, v) + (c + tx, c + ty), M = R(θ) · diag(zx, zy); u from the (flipped) column.
  const m00 = t.zx * cos;
  const m01 = -t.zy * sin;
  const m10 = t.zx * sin;
  const m11 = t.zy * cos;
  const dir = t.flip ? -1 : 1;
  const u0 = t.flip ? size - 1 - c : -c;
  const max = size - 1;
  const row = size * 3;
  let o = dstOffset;
  const identity = m00 === 1 && m11 === 1 && m01 === 0 && m10 === 0 && t.tx === 0 && t.ty === 0 && !t.flip;
  const dx = dir * m00;
  const dy = dir * m10;
  if (identity) {
    for (let k = 0, n = size * size * 3; k < n; k++) dst[o + k] = src[srcOffset + k]! * INV255;
  } else if (interpolation === 'nearest' || (m01 === 0 && m10 === 0 && Math.abs(m00) === 1 && m11 === 1 && Number.isInteger(t.tx) && Number.isInteger(t.ty))) {
    // Nearest sampling (also exact for a pure flip / integer shift, where bilinear weights are 0 or 1).
    for (let y = 0; y < size; y++) {
      const v = y - c;
      let ix = m00 * u0 + m01 * v + c + t.tx;
      let iy = m10 * u0 + m11 * v + c + t.ty;
      for (let x = 0; x < size; x++, ix += dx, iy += dy, o += 3) {
        const sx = ix < 0 ? 0 : ix > max ? max : ix;
        const sy = iy < 0 ? 0 : iy > max ? max : iy;
        const p = srcOffset + ((sy + 0.5) | 0) * row + ((sx + 0.5) | 0) * 3;
        dst[o] = src[p]! * INV255;
        dst[o + 1] = src[p + 1]! * INV255;
        dst[o + 2] = src[p + 2]! * INV255;
      }
    }
  } else {
    for (let y = 0; y < size; y++) {
      const v = y - c;
      let ix = m00 * u0 + m01 * v + c + t.tx;
      let iy = m10 * u0 + m11 * v + c + t.ty;
      for (let x = 0; x < size; x++, ix += dx, iy += dy, o += 3) {
        const sx = ix < 0 ? 0 : ix > max ? max : ix;
        const sy = iy < 0 ? 0 : iy > max ? max : iy;
        const x0 = sx | 0;
        const y0 = sy | 0;
        const fx = sx - x0;
        const fy = sy - y0;
        const x1 = x0 < max ? 3 : 0; // at the border the weight of the next pixel is 0 anyway
        const p = srcOffset + y0 * row + x0 * 3;
        const q = p + (y0 < max ? row : 0);
        for (let ch = 0; ch < 3; ch++) {
          const a = src[p + ch]!;
          const b = src[p + x1 + ch]!;
          const d = src[q + ch]!;
          const top = a + fx * (b - a);
          dst[o + ch] = (top + fy * (d + fx * (src[q + x1 + ch]! - d) - top)) * INV255;
        }
      }
    }
  }
  for (const cut of t.cuts) {
    for (let y = cut.y1; y < cut.y2; y++) {
      dst.fill(0, dstOffset + y * row + cut.x1 * 3, dstOffset + y * row + cut.x2 * 3);
    }
  }
}

/** Only the rescale (validation and test): uint8 → float32 / 255. */
export function rescaleInto(src: Uint8Array, srcOffset: number, count: number, dst: Float32Array, dstOffset: number): void {
  for (let k = 0; k < count; k++) dst[dstOffset + k] = src[srcOffset + k]! * INV255;
}

/** Seeded augmenter with fixed options. */
export class Augmenter {
  readonly options: Required<AugmentOptions>;
  constructor(opts: AugmentOptions = {}) {
    this.options = resolveAugmentOptions(opts);
  }

  /** Augments one image into dst; returns the transform drawn. */
  augmentInto(src: Uint8Array, srcOffset: number, size: number, rng: Rng, dst: Float32Array, dstOffset: number): ImageTransform {
    const t = sampleTransform(rng, size, this.options);
    applyTransform(src, srcOffset, size, t, dst, dstOffset, this.options.interpolation);
    return t;
  }

  /**
   * Augments a list of images (each size*size*3 bytes) into one float32 array [B, size, size, 3],
   * drawing transforms from rng in order.
   */
  augmentBatch(images: readonly Uint8Array[], size: number, rng: Rng, out?: Float32Array): Float32Array {
    const bytes = size * size * 3;
    const dst = out ?? new Float32Array(images.length * bytes);
    images.forEach((img, b) => this.augmentInto(img, 0, size, rng, dst, b * bytes));
    return dst;
  }
}

/**
 * Expected fraction of pixels zeroed by Cutout(α, β) on a size×size image (cuts independent,
 * overlaps counted once): mean over pixels of 1 − E_n[(1 − q)^n], q = P(one cut covers the pixel).
 */
export function expectedCutoutFraction(size: number, alpha: number, beta: number): number {
  // cover[k][r]: P(a cut with k covers row r) = #{centres y: y - 2k ≤ r < y + 2k} / size.
  const cover: Float64Array[] = [];
  for (let k = 1; k <= beta; k++) {
    const h = 2 * k;
    const a = new Float64Array(size);
    for (let r = 0; r < size; r++) a[r] = (Math.min(size - 1, r + h) - Math.max(0, r - h + 1) + 1) / size;
    cover.push(a);
  }
  let total = 0;
  for (let r = 0; r < size; r++) {
    for (let col = 0; col < size; col++) {
      let q = 0;
      for (let k = 0; k < beta; k++) q += cover[k]![r]! * cover[k]![col]!;
      q /= beta;
      let p = 0;
      for (let n = 0; n <= alpha; n++) p += 1 - (1 - q) ** n;
      total += p / (alpha + 1);
    }
  }
  return total / (size * size);
}
