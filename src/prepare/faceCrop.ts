/**
 * Face crops as the seed methods use them: a square around the detected face, enlarged by a margin,
 * resized to the model input (FDFtNet: 64x64 from MTCNN boxes; the transfer-learning method:
 * 224x224), optionally rotated upright so that the eyes are level.
 */
import sharp, { type Sharp } from 'sharp';
import type { FaceDetection } from './blazeFace.ts';
import { type Box, squareCropBox } from './boxes.ts';
import { type RgbImage, rawInput } from './rgbImage.ts';

export interface CropSpec {
  /** Output side in px (square). */
  size: number;
  /** Fraction added to the face box side: side = max(w, h) · (1 + margin). */
  margin: number;
  /** Rotate so that the eye line is horizontal (needs the detector's eye landmarks). */
  align: boolean;
}

export interface FaceCrop {
  /** The crop, size x size, PNG. */
  png: Buffer;
  /** The square taken from the source, in source px (before rotation when aligned). */
  box: Box;
  /** Rotation applied, degrees (0 unless aligned). */
  angleDeg: number;
}

/**
 * Angle of the eye line in degrees, image coordinates (y down): 0 for an upright face, positive
 * when the face is turned clockwise. Landmarks 0 and 1 are the subject's right and left eyes.
 */
export function eyeAngleDeg(face: FaceDetection): number {
  const [r, l] = face.landmarks;
  if (!r || !l) return 0;
  return (Math.atan2(l[1] - r[1], l[0] - r[0]) * 180) / Math.PI;
}

async function encode(pipeline: Sharp, size: number): Promise<Buffer> {
  return pipeline.resize(size, size, { fit: 'fill', kernel: 'lanczos3' }).png({ compressionLevel: 6 }).toBuffer();
}

/** The crop of one face (see CropSpec). */
export async function cropFace(img: RgbImage, face: FaceDetection, spec: CropSpec): Promise<FaceCrop> {
  const angleDeg = spec.align ? eyeAngleDeg(face) : 0;
  if (!spec.align || Math.abs(angleDeg) < 0.5) {
    const box = squareCropBox(face.box, spec.margin, img.width, img.height);
    const png = await encode(sharp(img.data, rawInput(img)).extract({ left: box.x, top: box.y, width: box.width, height: box.height }), spec.size);
    return { png, box, angleDeg: 0 };
  }
  // Aligned: take the axis-aligned square R that contains the rotated crop square (edge pixels
  // repeated where R leaves the image), rotate it upright, and cut the crop square from its centre.
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  const side = Math.max(1, Math.round(Math.max(face.box.width, face.box.height) * (1 + spec.margin)));
  const t = (angleDeg * Math.PI) / 180;
  const R = Math.ceil(side * (Math.abs(Math.cos(t)) + Math.abs(Math.sin(t)))) + 2;
  const left = Math.round(cx - R / 2);
  const top = Math.round(cy - R / 2);
  const ix = Math.max(0, left);
  const iy = Math.max(0, top);
  const iw = Math.min(img.width, left + R) - ix;
  const ih = Math.min(img.height, top + R) - iy;
  const box: Box = { x: Math.round(cx - side / 2), y: Math.round(cy - side / 2), width: side, height: side };
  if (iw <= 0 || ih <= 0) {
    // The face lies outside the image (cannot happen with detector boxes): fall back to unaligned.
    return cropFace(img, face, { ...spec, align: false });
  }
  const region = await sharp(img.data, rawInput(img))
    .extract({ left: ix, top: iy, width: iw, height: ih })
    .extend({ left: ix - left, top: iy - top, right: left + R - (ix + iw), bottom: top + R - (iy + ih), extendWith: 'copy' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rotated = await sharp(region.data, { raw: { width: region.info.width, height: region.info.height, channels: 3 } })
    .rotate(-angleDeg, { background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width: rw, height: rh } = rotated.info;
  const s = Math.min(side, rw, rh);
  const png = await encode(
    sharp(rotated.data, { raw: { width: rw, height: rh, channels: 3 } }).extract({
      left: Math.floor((rw - s) / 2),
      top: Math.floor((rh - s) / 2),
      width: s,
      height: s,
    }),
    spec.size,
  );
  return { png, box, angleDeg };
}
