/**
 * A procedural face: random identity (skin tone, face shape, eyes, brows, nose, mouth, hair,
 * ears, clothes, glasses), pose (position, size, roll, yaw) and scene (background, lighting),
 * drawn on a Raster. `sampleFace` draws the parameters; `renderFace` draws them at any size.
 */
import { gaussian, uniform, type Rng } from '../random.ts';
import { bezier, mix, Raster, scale, type RGB } from './raster.ts';

export interface Pose {
  /** Face centre as a fraction of the image side. */
  cx: number;
  cy: number;
  /** Half width / half height of the face as a fraction of the image side. */
  rw: number;
  rh: number;
  /** In-plane rotation (radians). */
  roll: number;
  /** Left-right turn in [-1, 1]: features shift sideways, the far side narrows. */
  yaw: number;
}

export interface Identity {
  skin: RGB;
  hair: RGB;
  /** 0 bald, 1 short, 2 long, 3 short with fringe. */
  hairStyle: 0 | 1 | 2 | 3;
  hairVolume: number;
  irisLeft: RGB;
  irisRight: RGB;
  eyeY: number;
  eyeSep: number;
  eyeW: number;
  eyeH: number;
  /** Relative size of the right eye (1 = same as the left). */
  eyeRightScale: number;
  browY: number;
  browThick: number;
  browArch: number;
  browColor: RGB;
  noseLen: number;
  noseW: number;
  mouthY: number;
  mouthW: number;
  smile: number;
  lips: RGB;
  mouthOpen: number;
  stubble: number;
  glasses: boolean;
  glassesColor: RGB;
  jaw: number;
  earSize: number;
  blush: number;
}

export interface Scene {
  bg1: RGB;
  bg2: RGB;
  bgAngle: number;
  blobs: { x: number; y: number; r: number; color: RGB; alpha: number }[];
  clothes: RGB;
  /** Light direction (x right, y down, z towards the camera) and strengths. */
  light: [number, number, number];
  ambient: number;
  diffuse: number;
}

export interface FaceParams {
  pose: Pose;
  id: Identity;
  scene: Scene;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const clampRGB = (c: RGB): RGB => [clamp01(c[0]), clamp01(c[1]), clamp01(c[2])];
const jitter = (rng: Rng, c: RGB, s: number): RGB => clampRGB([c[0] + gaussian(rng) * s, c[1] + gaussian(rng) * s, c[2] + gaussian(rng) * s]);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

const SKIN_LIGHT: RGB = [0.96, 0.8, 0.7];
const SKIN_MID: RGB = [0.8, 0.6, 0.45];
const SKIN_DARK: RGB = [0.38, 0.24, 0.17];
const HAIR: RGB[] = [
  [0.06, 0.05, 0.05],
  [0.18, 0.11, 0.07],
  [0.33, 0.2, 0.11],
  [0.62, 0.48, 0.28],
  [0.85, 0.72, 0.45],
  [0.55, 0.22, 0.1],
  [0.6, 0.6, 0.6],
  [0.85, 0.85, 0.85],
];
const IRIS: RGB[] = [
  [0.3, 0.18, 0.1],
  [0.2, 0.12, 0.06],
  [0.25, 0.45, 0.7],
  [0.35, 0.5, 0.3],
  [0.45, 0.35, 0.2],
  [0.45, 0.55, 0.6],
];

export function sampleSkin(rng: Rng): RGB {
  const t = rng();
  const base = t < 0.5 ? mix(SKIN_LIGHT, SKIN_MID, t * 2) : mix(SKIN_MID, SKIN_DARK, (t - 0.5) * 2);
  return jitter(rng, base, 0.03);
}

export function samplePose(rng: Rng): Pose {
  return {
    cx: 0.5 + gaussian(rng) * 0.03,
    cy: 0.5 + gaussian(rng) * 0.03,
    rw: uniform(rng, 0.25, 0.31),
    rh: uniform(rng, 0.33, 0.4),
    roll: gaussian(rng) * 0.1,
    yaw: Math.max(-1, Math.min(1, gaussian(rng) * 0.35)),
  };
}

export function sampleIdentity(rng: Rng): Identity {
  const hair = jitter(rng, pick(rng, HAIR), 0.03);
  const iris = jitter(rng, pick(rng, IRIS), 0.04);
  const skin = sampleSkin(rng);
  const lipsBase: RGB = mix(skin, [0.7, 0.25, 0.25], uniform(rng, 0.25, 0.55));
  return {
    skin,
    hair,
    hairStyle: pick(rng, [0, 1, 1, 2, 2, 3, 3] as const),
    hairVolume: uniform(rng, 0.9, 1.25),
    irisLeft: iris,
    irisRight: iris,
    eyeY: uniform(rng, -0.2, -0.08),
    eyeSep: uniform(rng, 0.36, 0.46),
    eyeW: uniform(rng, 0.15, 0.21),
    eyeH: uniform(rng, 0.055, 0.085),
    eyeRightScale: 1,
    browY: uniform(rng, 0.13, 0.2),
    browThick: uniform(rng, 0.035, 0.07),
    browArch: uniform(rng, 0.02, 0.08),
    browColor: scale(hair, uniform(rng, 0.6, 0.95)),
    noseLen: uniform(rng, 0.22, 0.32),
    noseW: uniform(rng, 0.1, 0.16),
    mouthY: uniform(rng, 0.42, 0.52),
    mouthW: uniform(rng, 0.28, 0.4),
    smile: uniform(rng, -0.02, 0.08),
    lips: clampRGB(lipsBase),
    mouthOpen: rng() < 0.25 ? uniform(rng, 0.02, 0.07) : 0,
    stubble: rng() < 0.3 ? uniform(rng, 0.1, 0.5) : 0,
    glasses: rng() < 0.12,
    glassesColor: jitter(rng, [0.1, 0.1, 0.12], 0.05),
    jaw: uniform(rng, 0.8, 0.95),
    earSize: uniform(rng, 0.8, 1.2),
    blush: uniform(rng, 0, 0.25),
  };
}

export function sampleScene(rng: Rng): Scene {
  const bg1: RGB = [rng(), rng(), rng()].map((v) => 0.15 + 0.75 * v) as RGB;
  const bg2 = jitter(rng, bg1, 0.2);
  const blobs = Array.from({ length: Math.floor(uniform(rng, 0, 5)) }, () => ({
    x: rng(),
    y: rng(),
    r: uniform(rng, 0.08, 0.35),
    color: [rng(), rng(), rng()] as RGB,
    alpha: uniform(rng, 0.15, 0.6),
  }));
  const lx = uniform(rng, -0.8, 0.8);
  const ly = uniform(rng, -0.8, 0.2);
  const lz = 0.7;
  const n = Math.hypot(lx, ly, lz);
  return {
    bg1,
    bg2,
    bgAngle: uniform(rng, 0, 2 * Math.PI),
    blobs,
    clothes: [rng(), rng(), rng()].map((v) => 0.1 + 0.8 * v) as RGB,
    light: [lx / n, ly / n, lz / n],
    ambient: uniform(rng, 0.45, 0.65),
    diffuse: uniform(rng, 0.35, 0.6),
  };
}

export function sampleFace(rng: Rng): FaceParams {
  return { pose: samplePose(rng), id: sampleIdentity(rng), scene: sampleScene(rng) };
}

/** Face-local coordinates → image pixels. lx in units of the half width, ly of the half height. */
export function faceFrame(pose: Pose, size: number) {
  const cx = pose.cx * size;
  const cy = pose.cy * size;
  const rw = pose.rw * size;
  const rh = pose.rh * size;
  const cos = Math.cos(pose.roll);
  const sin = Math.sin(pose.roll);
  const at = (lx: number, ly: number): [number, number] => {
    // Yaw: features slide towards the turned side, more so near the centre line (a cheap 3-D look).
    const sx = (lx + pose.yaw * 0.18 * (1 - 0.5 * lx * lx)) * rw;
    const sy = ly * rh;
    return [cx + sx * cos - sy * sin, cy + sx * sin + sy * cos];
  };
  return { cx, cy, rw, rh, at, cos, sin };
}

/** Shaded skin colour (into `out`) for a point of the face ellipsoid with unit-disc coordinates (u, v). */
function shade(skin: RGB, scene: Scene, u: number, v: number, out: RGB): void {
  const nz = Math.sqrt(Math.max(0, 1 - u * u - v * v));
  const [lx, ly, lz] = scene.light;
  const lambert = Math.max(0, u * lx + v * ly + nz * lz);
  const k = scene.ambient + scene.diffuse * lambert;
  const l2 = lambert * lambert;
  const spec = 0.08 * l2 * l2 * l2 * l2 * l2 * l2;
  out[0] = skin[0] * k + spec;
  out[1] = skin[1] * k + spec;
  out[2] = skin[2] * k + spec;
}

/** A shader that scales a base colour by k(u, v). */
function scaled(base: RGB, k: (u: number, v: number) => number) {
  return (u: number, v: number, out: RGB) => {
    const f = k(u, v);
    out[0] = base[0] * f;
    out[1] = base[1] * f;
    out[2] = base[2] * f;
  };
}

/** Draws only the inner face (skin oval, eyes, brows, nose, mouth): what a face swap replaces. */
export function renderInnerFace(r: Raster, p: FaceParams): void {
  const S = r.width;
  const { pose, id, scene } = p;
  const f = faceFrame(pose, S);
  const soft = Math.max(0.6, S / 64);
  const px = (v: number) => v * f.rw; // face-relative length → px

  // Cheeks / blush.
  if (id.blush > 0.02) {
    for (const side of [-1, 1]) {
      const [x, y] = f.at(side * 0.5, 0.2);
      r.ellipse(x, y, px(0.2), px(0.14), pose.roll, [0.85, 0.35, 0.35], { soft: px(0.15), alpha: id.blush * 0.5 });
    }
  }
  // Stubble: darker, noisy lower face.
  if (id.stubble > 0) {
    const [x, y] = f.at(0, 0.55);
    r.ellipse(x, y, f.rw * 0.75, f.rh * 0.42, pose.roll, scale(id.skin, 0.55), { soft: px(0.2), alpha: id.stubble * 0.55 });
  }
  // Eyes.
  for (const side of [-1, 1] as const) {
    const s = side === 1 ? id.eyeRightScale : 1;
    const far = 1 - 0.25 * Math.max(0, side * -pose.yaw); // the eye on the turned-away side looks narrower
    const [ex, ey] = f.at(side * id.eyeSep, id.eyeY);
    const w = px(id.eyeW) * s * far;
    const h = px(id.eyeH) * s * 1.2;
    r.ellipse(ex, ey - h * 0.2, w * 1.25, h * 1.6, pose.roll, scale(id.skin, 0.72), { soft: px(0.08), alpha: 0.55 }); // socket shadow
    r.ellipse(ex, ey, w, h, pose.roll, [0.93, 0.92, 0.9], { soft: soft * 0.7 });
    const iris = side === 1 ? id.irisRight : id.irisLeft;
    const ir = Math.min(h * 1.05, w * 0.55);
    const look = pose.yaw * 0.25 * w;
    const clipEye = (x: number, y: number) => {
      const dx = x + 0.5 - ex;
      const dy = y + 0.5 - ey;
      const u = (dx * f.cos + dy * f.sin) / w;
      const v = (-dx * f.sin + dy * f.cos) / h;
      return u * u + v * v < 1.1 ? 1 : 0;
    };
    r.ellipse(ex + look, ey, ir, ir, 0, iris, { soft: soft * 0.7, clip: clipEye });
    r.ellipse(ex + look, ey, ir * 0.45, ir * 0.45, 0, [0.03, 0.03, 0.03], { soft: soft * 0.6, clip: clipEye });
    r.ellipse(ex + look - ir * 0.3, ey - ir * 0.3, ir * 0.18, ir * 0.18, 0, [1, 1, 1], { soft: soft * 0.5, alpha: 0.8, clip: clipEye });
    // Upper lid line.
    const [ax, ay] = f.at(side * id.eyeSep - id.eyeW * s * 1.05, id.eyeY);
    const [bx, by] = f.at(side * id.eyeSep + id.eyeW * s * 1.05, id.eyeY);
    const [cx, cy] = f.at(side * id.eyeSep, id.eyeY - id.eyeH * s * 2.6);
    r.stroke(bezier(ax, ay, cx, cy, bx, by), Math.max(0.8, px(0.035)), scale(id.hair, 0.5), { soft, alpha: 0.85 });
    // Brow.
    const by0 = id.eyeY - id.browY;
    const [b1x, b1y] = f.at(side * (id.eyeSep - id.eyeW * 1.1), by0 + 0.01);
    const [b2x, b2y] = f.at(side * (id.eyeSep + id.eyeW * 1.3), by0 + 0.03);
    const [bcx, bcy] = f.at(side * id.eyeSep, by0 - id.browArch * 2);
    r.stroke(bezier(b1x, b1y, bcx, bcy, b2x, b2y), px(id.browThick * 1.6), id.browColor, { soft, taper: true, alpha: 0.9 });
  }
  // Nose: shadow on the side away from the light, nostrils, highlight on the tip.
  const shadowSide = scene.light[0] > 0 ? -1 : 1;
  const [n0x, n0y] = f.at(shadowSide * 0.06, id.eyeY + 0.06);
  const [n1x, n1y] = f.at(shadowSide * id.noseW * 0.6, id.eyeY + id.noseLen + 0.05);
  r.stroke([n0x, n0y, n1x, n1y], px(0.06), scale(id.skin, 0.6), { soft: px(0.06), alpha: 0.55 });
  const tipY = id.eyeY + id.noseLen + 0.08;
  for (const side of [-1, 1]) {
    const [nx, ny] = f.at(side * id.noseW * 0.55, tipY + 0.02);
    r.ellipse(nx, ny, px(0.045), px(0.028), pose.roll, scale(id.skin, 0.35), { soft: soft * 0.7, alpha: 0.8 });
  }
  const [tx, ty] = f.at(0, tipY - 0.03);
  r.ellipse(tx, ty, px(id.noseW * 0.5), px(0.06), pose.roll, scale(id.skin, 1.15), { soft: px(0.08), alpha: 0.35 });
  // Mouth.
  const my = id.mouthY + 0.12;
  const [mx, myy] = f.at(0, my);
  const mw = px(id.mouthW) / 2;
  if (id.mouthOpen > 0) {
    r.ellipse(mx, myy + px(id.mouthOpen) * 0.4, mw * 0.85, px(id.mouthOpen) + px(0.02), pose.roll, [0.25, 0.05, 0.06], { soft });
    r.ellipse(mx, myy - px(0.005), mw * 0.6, px(id.mouthOpen) * 0.45, pose.roll, [0.92, 0.9, 0.85], { soft: soft * 0.7, alpha: 0.85 });
  }
  r.ellipse(mx, myy - px(0.03), mw, px(0.045), pose.roll, scale(id.lips, 0.9), { soft, alpha: 0.85 });
  r.ellipse(mx, myy + px(0.045) + px(id.mouthOpen), mw * 0.85, px(0.055), pose.roll, id.lips, { soft, alpha: 0.85 });
  const [l0x, l0y] = f.at(-id.mouthW / 2, my - id.smile);
  const [l1x, l1y] = f.at(id.mouthW / 2, my - id.smile);
  const [lcx, lcy] = f.at(0, my + id.smile + id.mouthOpen);
  r.stroke(bezier(l0x, l0y, lcx, lcy, l1x, l1y), Math.max(0.7, px(0.03)), scale(id.lips, 0.45), { soft, alpha: 0.9 });
}

/** Draws the whole picture: background, hair, clothes, neck, ears, face, features, glasses. */
export function renderFace(r: Raster, p: FaceParams): void {
  const S = r.width;
  const { pose, id, scene } = p;
  const f = faceFrame(pose, S);
  const soft = Math.max(0.6, S / 64);

  r.fillGradient(scene.bg1, scene.bg2, scene.bgAngle);
  for (const b of scene.blobs) r.ellipse(b.x * S, b.y * S, b.r * S, b.r * S * 0.8, 0, b.color, { soft: b.r * S * 0.6, alpha: b.alpha });

  const hv = id.hairVolume;
  const hairShade = scaled(id.hair, (u, v) => 0.8 + 0.3 * Math.max(0, -v) - 0.1 * Math.abs(u));
  if (id.hairStyle === 2) {
    const [hx, hy] = f.at(0, 0.35);
    r.ellipse(hx, hy, f.rw * 1.35 * hv, f.rh * 1.25, pose.roll, hairShade, { soft: soft * 1.5 });
  }
  // Shoulders and neck.
  const [sx, sy] = f.at(0, 2.05);
  r.ellipse(sx, sy + S * 0.05, S * 0.55, S * 0.28, pose.roll * 0.3, scaled(scene.clothes, (u, v) => 0.75 + 0.25 * (1 - v * v) - 0.1 * u), { soft: soft * 1.5 });
  const [nx, ny] = f.at(0, 1.05);
  r.ellipse(nx, ny, f.rw * 0.55, f.rh * 0.6, pose.roll, scaled(id.skin, (u) => 0.6 + 0.15 * (1 - Math.abs(u))), { soft });
  // Ears.
  for (const side of [-1, 1]) {
    const [ex, ey] = f.at(side * 0.98, id.eyeY + 0.12);
    const vis = 1 - 0.6 * Math.max(0, side * pose.yaw);
    const earSkin = scale(id.skin, 0.92);
    r.ellipse(ex, ey, f.rw * 0.16 * id.earSize * vis, f.rh * 0.2 * id.earSize, pose.roll, (u, v, out) => shade(earSkin, scene, u * 0.6, v * 0.6, out), { soft });
  }
  // Hair cap behind the forehead.
  if (id.hairStyle !== 0) {
    const [hx, hy] = f.at(0, -0.35);
    r.ellipse(hx, hy, f.rw * 1.12 * hv, f.rh * 0.8 * hv, pose.roll, hairShade, { soft: soft * 1.2 });
  }
  // Face: an ellipsoid, narrower jaw drawn as a second ellipse.
  const faceShader = (u: number, v: number, out: RGB) => shade(id.skin, scene, u, v, out);
  const [jx, jy] = f.at(0, 0.3);
  r.ellipse(jx, jy, f.rw * id.jaw, f.rh * 0.72, pose.roll, (u, v, out) => shade(id.skin, scene, u * id.jaw, v * 0.72 + 0.3, out), { soft });
  r.ellipse(f.cx, f.cy, f.rw, f.rh * 0.95, pose.roll, faceShader, { soft });

  renderInnerFace(r, p);

  // Fringe / hairline over the forehead.
  if (id.hairStyle === 3 || id.hairStyle === 1 || id.hairStyle === 2) {
    const depth = id.hairStyle === 3 ? 0.42 : 0.22;
    const [hx, hy] = f.at(0, -1.0 + depth * 0.3);
    r.ellipse(hx, hy, f.rw * 1.02 * hv, f.rh * depth * 1.2, pose.roll, hairShade, { soft: soft * 1.2 });
  }
  if (id.glasses) {
    for (const side of [-1, 1]) {
      const [gx, gy] = f.at(side * id.eyeSep, id.eyeY + 0.01);
      const w = f.rw * id.eyeW * 1.7;
      const h = f.rh * 0.14;
      const pts: number[] = [];
      for (let k = 0; k <= 16; k++) {
        const a = (k / 16) * 2 * Math.PI;
        const lx = w * Math.cos(a);
        const ly = h * Math.sin(a);
        pts.push(gx + lx * f.cos - ly * f.sin, gy + lx * f.sin + ly * f.cos);
      }
      r.stroke(pts, Math.max(0.8, S / 64), id.glassesColor, { soft, alpha: 0.9 });
    }
    const [a0x, a0y] = f.at(-id.eyeSep + id.eyeW * 1.7 * (f.rw / f.rw), id.eyeY);
    const [a1x, a1y] = f.at(id.eyeSep - id.eyeW * 1.7, id.eyeY);
    r.stroke([a0x, a0y, a1x, a1y], Math.max(0.8, S / 64), id.glassesColor, { soft, alpha: 0.9 });
  }
}
