/**
 * BlazeFace (Bazarevsky et al. 2019, MediaPipe's full-range "back" model, 256x256 input, 896 anchors)
 * run on fdft's own tfjs engine. The weights are the files `@vladmandic/human` (MIT licence) ships
 * in `models/blazeface.{json,bin}`; only the files are used — pre-processing (letterbox), anchors,
 * box decoding, NMS and MediaPipe's weighted box blending are implemented here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { type Box, area, iou } from './boxes.ts';
import { DetectorError } from './errors.ts';
import { loadGraphModelFile } from './graphModelFile.ts';
import { type RgbImage, rawInput } from './rgbImage.ts';

export interface FaceDetection {
  /** Face box in source-image pixels (BlazeFace boxes are tight: brows to chin). */
  box: Box;
  /** Detector confidence, sigmoid of the classifier logit, in [0, 1]. */
  score: number;
  /**
   * Six keypoints [x, y] in source pixels, MediaPipe order: the subject's right eye (image left),
   * left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
   */
  landmarks: [number, number][];
}

/** A detector's answer for one image. */
export interface Detections {
  /** Faces with score >= minScore after NMS, highest score first. */
  faces: FaceDetection[];
  /** The best score of any anchor, kept or not (tells 'no face' from 'face below the threshold'). */
  maxScore: number;
}

/** What the prepare pipeline needs from a detector (tests may substitute their own). */
export interface FaceDetector {
  readonly name: string;
  detect(img: RgbImage, opts?: DetectOptions): Promise<Detections>;
  dispose(): void;
}

export interface DetectOptions {
  /** Minimum score of a kept face (default 0.5, MediaPipe's value). */
  minScore?: number;
  /** IoU above which two candidates are the same face (default 0.3, MediaPipe's value). */
  iouThreshold?: number;
  /** At most this many faces, highest score first, before any size ranking (default 10). */
  maxFaces?: number;
}

/** The BlazeFace model files inside the installed @vladmandic/human package. */
export function defaultBlazeFaceModelPath(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@vladmandic/human'); // its "exports" hide package.json; walk up from the entry
  } catch {
    throw new DetectorError('@vladmandic/human is not installed: it ships the BlazeFace weights (npm install)');
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'models', 'blazeface.json');
    if (existsSync(file)) return file;
  }
  throw new DetectorError(`@vladmandic/human at ${entry} has no models/blazeface.json`);
}

/**
 * Anchor centres in model-input pixels, in the model's output order: stride 16 with 2 anchors per
 * cell (16x16x2 = 512), then stride 32 with 6 anchors per cell (8x8x6 = 384). MediaPipe's SSD anchor
 * options for the back model (strides 16, 32, 32, 32; anchors at cell centres; fixed size).
 */
export function blazeFaceAnchors(inputSize: number): Float32Array {
  const spec: [stride: number, perCell: number][] = [
    [16, 2],
    [32, 6],
  ];
  const out: number[] = [];
  for (const [stride, perCell] of spec) {
    const cells = Math.ceil(inputSize / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

/** How a source image was placed in the square model input: input = source * scale + offset. */
interface Letterbox {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

const REGRESSORS = 16; // cx, cy, w, h, then 6 keypoints (x, y), all in input pixels relative to the anchor

export class BlazeFaceDetector implements FaceDetector {
  readonly name = 'blazeface-back-256 (MediaPipe, weights from @vladmandic/human, MIT)';
  readonly inputSize: number;
  private readonly anchors: Float32Array;

  private constructor(private readonly model: tf.GraphModel) {
    const shape = model.inputs[0]?.shape;
    this.inputSize = shape && shape[1] && shape[1] > 0 ? shape[1] : 256;
    this.anchors = blazeFaceAnchors(this.inputSize);
  }

  /** Loads the model (call `initEngine` first). */
  static async load(modelPath: string = defaultBlazeFaceModelPath()): Promise<BlazeFaceDetector> {
    const model = await loadGraphModelFile(modelPath);
    const det = new BlazeFaceDetector(model);
    const n = det.anchors.length / 2;
    if (n !== 896) throw new DetectorError(`${modelPath}: expected the 256x256 BlazeFace (896 anchors), got input ${det.inputSize}`);
    return det;
  }

  /**
   * Letterboxes the image into the square input (aspect kept, black bars — BlazeFace expects
   * undistorted faces) with sharp's high-quality downscaling, normalised to [-1, 1].
   */
  private async toInput(img: RgbImage): Promise<{ input: Float32Array; lb: Letterbox }> {
    const S = this.inputSize;
    const scale = S / Math.max(img.width, img.height);
    const w = Math.max(1, Math.min(S, Math.round(img.width * scale)));
    const h = Math.max(1, Math.min(S, Math.round(img.height * scale)));
    const left = Math.floor((S - w) / 2);
    const top = Math.floor((S - h) / 2);
    const buf = await sharp(img.data, rawInput(img))
      .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
      .extend({ left, top, right: S - w - left, bottom: S - h - top, background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer();
    const input = new Float32Array(S * S * 3);
    for (let i = 0; i < input.length; i++) input[i] = buf[i] / 127.5 - 1;
    return { input, lb: { scaleX: w / img.width, scaleY: h / img.height, offsetX: left, offsetY: top } };
  }

  /** Scores (logits) and regressors for the 896 anchors, in anchor order. */
  private async run(input: Float32Array): Promise<{ logits: Float32Array; regs: Float32Array }> {
    const S = this.inputSize;
    const outs = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, S, S, 3]);
      const r = this.model.execute(x) as tf.Tensor[];
      return Array.isArray(r) ? r : [r];
    });
    try {
      // Four outputs: [1,512,1] [1,384,1] [1,512,16] [1,384,16] in an order the converter chose.
      const by = (anchors: number, width: number) => {
        const t = outs.find((o) => o.shape[1] === anchors && o.shape[2] === width);
        if (!t) throw new DetectorError(`unexpected BlazeFace outputs: ${outs.map((o) => `[${o.shape}]`).join(' ')}`);
        return t;
      };
      const [s16, s32, r16, r32] = await Promise.all([by(512, 1).data(), by(384, 1).data(), by(512, REGRESSORS).data(), by(384, REGRESSORS).data()]);
      const logits = new Float32Array(896);
      logits.set(s16 as Float32Array, 0);
      logits.set(s32 as Float32Array, 512);
      const regs = new Float32Array(896 * REGRESSORS);
      regs.set(r16 as Float32Array, 0);
      regs.set(r32 as Float32Array, 512 * REGRESSORS);
      return { logits, regs };
    } finally {
      tf.dispose(outs);
    }
  }

  /** Faces in `img`, highest score first. */
  async detect(img: RgbImage, opts: DetectOptions = {}): Promise<Detections> {
    const minScore = opts.minScore ?? 0.5;
    const iouThreshold = opts.iouThreshold ?? 0.3;
    const maxFaces = opts.maxFaces ?? 10;
    const { input, lb } = await this.toInput(img);
    const { logits, regs } = await this.run(input);

    // Decode every candidate above the score threshold (in input pixels).
    const cand: { box: Box; score: number; kp: number[] }[] = [];
    let maxScore = 0;
    for (let i = 0; i < 896; i++) {
      const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, logits[i]))));
      if (score > maxScore) maxScore = score;
      if (score < minScore) continue;
      const ax = this.anchors[2 * i];
      const ay = this.anchors[2 * i + 1];
      const r = regs.subarray(i * REGRESSORS, (i + 1) * REGRESSORS);
      const cx = ax + r[0];
      const cy = ay + r[1];
      const w = r[2];
      const h = r[3];
      if (!(w > 0 && h > 0)) continue;
      const kp: number[] = [];
      for (let k = 0; k < 6; k++) kp.push(ax + r[4 + 2 * k], ay + r[5 + 2 * k]);
      cand.push({ box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h }, score, kp });
    }
    if (cand.length === 0) return { faces: [], maxScore };

    // Hard NMS picks the faces; tfjs wants [y1, x1, y2, x2].
    const boxesT = tf.tensor2d(cand.map((c) => [c.box.y, c.box.x, c.box.y + c.box.height, c.box.x + c.box.width]), [cand.length, 4]);
    const scoresT = tf.tensor1d(cand.map((c) => c.score));
    let keep: number[];
    try {
      const idx = await tf.image.nonMaxSuppressionAsync(boxesT, scoresT, maxFaces, iouThreshold, minScore);
      keep = Array.from(await idx.data());
      idx.dispose();
    } finally {
      tf.dispose([boxesT, scoresT]);
    }

    // MediaPipe's "weighted" NMS: each kept face is the score-weighted mean of the candidates that
    // overlap it, which steadies boxes and keypoints considerably.
    const faces: FaceDetection[] = [];
    for (const k of keep) {
      const best = cand[k];
      let wsum = 0;
      const acc = new Float64Array(4 + 12);
      for (const c of cand) {
        if (iou(c.box, best.box) < iouThreshold) continue;
        wsum += c.score;
        acc[0] += c.box.x * c.score;
        acc[1] += c.box.y * c.score;
        acc[2] += c.box.width * c.score;
        acc[3] += c.box.height * c.score;
        for (let j = 0; j < 12; j++) acc[4 + j] += c.kp[j] * c.score;
      }
      for (let j = 0; j < acc.length; j++) acc[j] /= wsum;
      const toSrcX = (v: number) => (v - lb.offsetX) / lb.scaleX;
      const toSrcY = (v: number) => (v - lb.offsetY) / lb.scaleY;
      const landmarks: [number, number][] = [];
      for (let j = 0; j < 6; j++) landmarks.push([toSrcX(acc[4 + 2 * j]), toSrcY(acc[5 + 2 * j])]);
      faces.push({
        box: { x: toSrcX(acc[0]), y: toSrcY(acc[1]), width: acc[2] / lb.scaleX, height: acc[3] / lb.scaleY },
        score: best.score,
        landmarks,
      });
    }
    return { faces, maxScore };
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Faces sorted largest first (the issue's "largest face"), ties by score. */
export function largestFirst(faces: FaceDetection[]): FaceDetection[] {
  return [...faces].sort((a, b) => area(b.box) - area(a.box) || b.score - a.score);
}

/** Faces sorted by the distance of their centre from the image centre (portrait photos: the subject). */
export function centralFirst(faces: FaceDetection[], width: number, height: number): FaceDetection[] {
  const d = (f: FaceDetection) => Math.hypot(f.box.x + f.box.width / 2 - width / 2, f.box.y + f.box.height / 2 - height / 2);
  return [...faces].sort((a, b) => d(a) - d(b) || b.score - a.score);
}
