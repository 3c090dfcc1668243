/**
 * A tiny float RGB raster with anti-aliased primitives (soft-edged ellipses and strokes), enough
 * to draw procedural faces quickly in plain JS. Coordinates are in pixels, (0, 0) the top-left
 * corner of the top-left pixel; colours are [r, g, b] in [0, 1].
 */
export type RGB = [number, number, number];

/**
 * Per-pixel colour for a shape: (u, v) are the pixel's coordinates in the shape's unit frame;
 * the colour is written into `out` (no allocation per pixel).
 */
export type Shader = (u: number, v: number, out: RGB) => void;

export class Raster {
  readonly data: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  clone(): Raster {
    const r = new Raster(this.width, this.height);
    r.data.set(this.data);
    return r;
  }

  /** Linear gradient from c1 to c2 along direction `angle` (radians). */
  fillGradient(c1: RGB, c2: RGB, angle: number): void {
    const { width: w, height: h, data } = this;
    const dx = Math.cos(angle);
    const dy = Math.sin(angle);
    const span = Math.abs(dx) * w + Math.abs(dy) * h;
    const x0 = dx < 0 ? w : 0;
    const y0 = dy < 0 ? h : 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const t = Math.min(1, Math.max(0, ((x + 0.5 - x0) * dx + (y + 0.5 - y0) * dy) / span));
        const o = (y * w + x) * 3;
        data[o] = c1[0] + (c2[0] - c1[0]) * t;
        data[o + 1] = c1[1] + (c2[1] - c1[1]) * t;
        data[o + 2] = c1[2] + (c2[2] - c1[2]) * t;
      }
    }
  }

  /** Alpha-blends colour c into pixel (x, y). */
  blend(x: number, y: number, c: RGB, a: number): void {
    if (a <= 0 || x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    const d = this.data;
    d[o] = d[o]! + (c[0] - d[o]!) * a;
    d[o + 1] = d[o + 1]! + (c[1] - d[o + 1]!) * a;
    d[o + 2] = d[o + 2]! + (c[2] - d[o + 2]!) * a;
  }

  /**
   * A filled ellipse centred at (cx, cy) with radii rx, ry rotated by `angle`, edge softened over
   * `soft` px, opacity `alpha`; colour constant or from a shader of the unit-disc coordinates.
   * `clip` (optional) restricts coverage by another mask value in [0, 1].
   */
  ellipse(
    cx: number,
    cy: number,
    rx: number,
    ry: number,
    angle: number,
    color: RGB | Shader,
    opts: { soft?: number; alpha?: number; clip?: (x: number, y: number) => number } = {},
  ): void {
    if (rx <= 0 || ry <= 0) return;
    const soft = Math.max(1e-3, opts.soft ?? 1);
    const alpha = opts.alpha ?? 1;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const ext = Math.max(rx, ry) + soft;
    const xa = Math.max(0, Math.floor(cx - ext));
    const xb = Math.min(this.width - 1, Math.ceil(cx + ext));
    const ya = Math.max(0, Math.floor(cy - ext));
    const yb = Math.min(this.height - 1, Math.ceil(cy + ext));
    const shader = typeof color === 'function' ? color : undefined;
    const c: RGB = shader ? [0, 0, 0] : (color as RGB);
    // Pixels beyond the soft edge are skipped before any square root.
    const outer = 1 + (0.5 * soft) / Math.min(rx, ry);
    const outer2 = outer * outer;
    const irx = 1 / rx;
    const iry = 1 / ry;
    const irx2 = irx * irx;
    const iry2 = iry * iry;
    const isoft = 1 / soft;
    const d = this.data;
    const W = this.width;
    for (let y = ya; y <= yb; y++) {
      const dy = y + 0.5 - cy;
      for (let x = xa; x <= xb; x++) {
        const dx = x + 0.5 - cx;
        const u = (dx * cos + dy * sin) * irx;
        const v = (dy * cos - dx * sin) * iry;
        const r2 = u * u + v * v;
        if (r2 >= outer2) continue;
        const r = Math.sqrt(r2);
        // Distance to the edge in px, first-order: (r - 1) / |∇r|, |∇r| = sqrt(u²/rx² + v²/ry²) / r.
        const g = r > 1e-6 ? Math.sqrt(u * u * irx2 + v * v * iry2) / r : Math.max(irx, iry);
        let a = 0.5 - ((r - 1) / g) * isoft;
        if (a <= 0) continue;
        if (a > 1) a = 1;
        if (opts.clip) a *= opts.clip(x, y);
        a *= alpha;
        if (a <= 0) continue;
        if (shader) shader(u, v, c);
        const o = (y * W + x) * 3;
        d[o] = d[o]! + (c[0] - d[o]!) * a;
        d[o + 1] = d[o + 1]! + (c[1] - d[o + 1]!) * a;
        d[o + 2] = d[o + 2]! + (c[2] - d[o + 2]!) * a;
      }
    }
  }

  /** A stroke of width `width` along the polyline `pts` ([x0, y0, x1, y1, …]), soft edges. */
  stroke(pts: number[], width: number, color: RGB, opts: { soft?: number; alpha?: number; taper?: boolean } = {}): void {
    const soft = Math.max(1e-3, opts.soft ?? 1);
    const alpha = opts.alpha ?? 1;
    const half = width / 2;
    let xa = Infinity;
    let xb = -Infinity;
    let ya = Infinity;
    let yb = -Infinity;
    for (let i = 0; i < pts.length; i += 2) {
      xa = Math.min(xa, pts[i]!);
      xb = Math.max(xb, pts[i]!);
      ya = Math.min(ya, pts[i + 1]!);
      yb = Math.max(yb, pts[i + 1]!);
    }
    const ext = half + soft;
    const nSeg = pts.length / 2 - 1;
    for (let y = Math.max(0, Math.floor(ya - ext)); y <= Math.min(this.height - 1, Math.ceil(yb + ext)); y++) {
      for (let x = Math.max(0, Math.floor(xa - ext)); x <= Math.min(this.width - 1, Math.ceil(xb + ext)); x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        let best = Infinity;
        let along = 0;
        for (let s = 0; s < nSeg; s++) {
          const ax = pts[2 * s]!;
          const ay = pts[2 * s + 1]!;
          const bx = pts[2 * s + 2]!;
          const by = pts[2 * s + 3]!;
          const vx = bx - ax;
          const vy = by - ay;
          const len2 = vx * vx + vy * vy || 1e-9;
          const t = Math.min(1, Math.max(0, ((px - ax) * vx + (py - ay) * vy) / len2));
          const ex = px - ax - t * vx;
          const ey = py - ay - t * vy;
          const d = Math.sqrt(ex * ex + ey * ey);
          if (d < best) {
            best = d;
            along = (s + t) / nSeg;
          }
        }
        const w = opts.taper ? half * (0.35 + 0.65 * Math.sin(Math.PI * along)) : half;
        let a = 0.5 - (best - w) / soft;
        if (a <= 0) continue;
        if (a > 1) a = 1;
        this.blend(x, y, color, a * alpha);
      }
    }
  }

  /** Separable box blur of radius r (px, integer ≥ 1), `passes` times (≈ Gaussian for 2–3). */
  blur(r: number, passes = 2): void {
    if (r < 1) return;
    const { width: w, height: h } = this;
    const tmp = new Float32Array(this.data.length);
    for (let p = 0; p < passes; p++) {
      boxPass(this.data, tmp, w, h, r, 3, w * 3);
      boxPass(tmp, this.data, h, w, r, w * 3, 3);
    }
  }
}

/** One 1-D box filter pass with edge clamping; lines of `len` px, `step` between px, `lineStep` between lines. */
function boxPass(src: Float32Array, dst: Float32Array, len: number, lines: number, r: number, step: number, lineStep: number): void {
  const n = 2 * r + 1;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    for (let c = 0; c < 3; c++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += src[base + Math.min(len - 1, Math.max(0, k)) * step + c]!;
      for (let i = 0; i < len; i++) {
        dst[base + i * step + c] = acc / n;
        const add = Math.min(len - 1, i + r + 1);
        const sub = Math.max(0, i - r);
        acc += src[base + add * step + c]! - src[base + sub * step + c]!;
      }
    }
  }
}

export function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function scale(c: RGB, k: number): RGB {
  return [c[0] * k, c[1] * k, c[2] * k];
}

/** Quadratic Bézier from p0 via control c to p1, as a polyline of n segments. */
export function bezier(x0: number, y0: number, cx: number, cy: number, x1: number, y1: number, n = 8): number[] {
  const pts: number[] = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    pts.push(a * x0 + b * cx + c * x1, a * y0 + b * cy + c * y1);
  }
  return pts;
}
