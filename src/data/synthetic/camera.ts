/**
 * The "camera" of the synthetic set: exposure, white balance, gamma, optional lens blur, an
 * optional low-resolution capture (downscaled, then upscaled), sensor noise, 8-bit output. JPEG
 * compression happens when the file is written (synthesize.ts). Real and fake images go through
 * the same camera, so none of these is a label cue by itself.
 */
import { gaussian, uniform, type Rng } from '../random.ts';
import { Raster, type RGB } from './raster.ts';

export interface CameraParams {
  gain: RGB;
  exposure: number;
  gamma: number;
  /** Box-blur radius in px (0 = sharp). */
  blur: number;
  /** Capture resolution as a fraction of the output (1 = full). */
  captureScale: number;
  /** Sensor noise standard deviation (0–1 scale). */
  noise: number;
  /** JPEG quality of the file. */
  jpegQuality: number;
}

export function sampleCamera(rng: Rng): CameraParams {
  return {
    gain: [1 + gaussian(rng) * 0.04, 1 + gaussian(rng) * 0.03, 1 + gaussian(rng) * 0.05],
    exposure: uniform(rng, 0.85, 1.15),
    gamma: uniform(rng, 0.85, 1.15),
    blur: rng() < 0.1 ? 1 : 0,
    captureScale: rng() < 0.1 ? uniform(rng, 0.6, 0.85) : 1,
    noise: uniform(rng, 0.003, 0.02),
    jpegQuality: Math.round(uniform(rng, 82, 97)),
  };
}

/** Bilinear resampling (area-averaging first when shrinking by ≥ 2). */
export function resample(src: Raster, w: number, h: number): Raster {
  let s = src;
  while (s.width >= 2 * w && s.height >= 2 * h) s = halve(s);
  const out = new Raster(w, h);
  const sx = s.width / w;
  const sy = s.height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(s.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(s.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(s.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(s.width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = s.data[(y0 * s.width + x0) * 3 + c]!;
        const b = s.data[(y0 * s.width + x1) * 3 + c]!;
        const d = s.data[(y1 * s.width + x0) * 3 + c]!;
        const e = s.data[(y1 * s.width + x1) * 3 + c]!;
        out.data[(y * w + x) * 3 + c] = (a + (b - a) * wx) * (1 - wy) + (d + (e - d) * wx) * wy;
      }
    }
  }
  return out;
}

/** 2x2 area average (odd trailing row/column dropped). */
export function halve(src: Raster): Raster {
  const w = src.width >> 1;
  const h = src.height >> 1;
  const out = new Raster(w, h);
  const W = src.width;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const p = (2 * y * W + 2 * x) * 3 + c;
        out.data[(y * w + x) * 3 + c] = (src.data[p]! + src.data[p + 3]! + src.data[p + W * 3]! + src.data[p + W * 3 + 3]!) / 4;
      }
    }
  }
  return out;
}

/** 4096 standard-normal quantiles: sensor noise draws from this table (fast, deterministic). */
const NORMAL = (() => {
  const t = new Float32Array(4096);
  // Inverse normal CDF by bisection on erf's series-free approximation (Abramowitz–Stegun 7.1.26).
  const cdf = (z: number) => {
    const x = Math.abs(z) / Math.SQRT2;
    const k = 1 / (1 + 0.3275911 * x);
    const erf = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-x * x);
    return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
  };
  for (let i = 0; i < 4096; i++) {
    const p = (i + 0.5) / 4096;
    let lo = -6;
    let hi = 6;
    for (let it = 0; it < 40; it++) {
      const mid = (lo + hi) / 2;
      if (cdf(mid) < p) lo = mid;
      else hi = mid;
    }
    t[i] = (lo + hi) / 2;
  }
  return t;
})();

/** Applies the camera and returns 8-bit RGB. */
export function develop(r: Raster, cam: CameraParams, rng: Rng): Uint8Array {
  let img = r;
  if (cam.captureScale < 1) {
    const w = Math.max(4, Math.round(r.width * cam.captureScale));
    img = resample(resample(r, w, w), r.width, r.height);
  }
  if (cam.blur > 0) {
    if (img === r) img = r.clone();
    img.blur(cam.blur, 1);
  }
  const out = new Uint8Array(img.data.length);
  // Gamma through a lookup table over [0, 2] (step 1/128, linear in between).
  const inv = 1 / cam.gamma;
  const lut = new Float32Array(258);
  for (let k = 0; k <= 257; k++) lut[k] = Math.pow(k / 128, inv);
  // mulberry32, inlined: a small fast PRNG for per-pixel noise, seeded from the image's rng.
  let state = Math.floor(rng() * 2 ** 32) >>> 0;
  const g0 = cam.exposure * cam.gain[0];
  const g1 = cam.exposure * cam.gain[1];
  const g2 = cam.exposure * cam.gain[2];
  const sigma = cam.noise;
  const top = lut[256]!;
  const data = img.data;
  for (let i = 0, n = data.length; i < n; i++) {
    const c = i % 3;
    let v = data[i]! * (c === 0 ? g0 : c === 1 ? g1 : g2);
    if (v <= 0) v = 0;
    else if (v >= 2) v = top;
    else {
      const x = v * 128;
      const k = x | 0;
      v = lut[k]! + (lut[k + 1]! - lut[k]!) * (x - k);
    }
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    v += NORMAL[((t ^ (t >>> 14)) >>> 0) & 4095]! * sigma;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : (v * 255 + 0.5) | 0;
  }
  return out;
}
