/** Axis-aligned boxes in image pixels and the small geometry the detector and cropper share. */

export interface Box {
  /** Left edge, px. */
  x: number;
  /** Top edge, px. */
  y: number;
  width: number;
  height: number;
}

export function area(b: Box): number {
  return Math.max(0, b.width) * Math.max(0, b.height);
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * The square crop for a face box: side = max(w, h) · (1 + margin), same centre; then kept inside
 * the image by shifting it (clipped at the border without changing its aspect), and shrunk to the
 * image's shorter side if it is larger than the image. Integer pixels.
 */
export function squareCropBox(face: Box, margin: number, imageWidth: number, imageHeight: number): Box {
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  let side = Math.round(Math.max(face.width, face.height) * (1 + margin));
  side = Math.max(1, Math.min(side, imageWidth, imageHeight));
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const x = clamp(Math.round(cx - side / 2), imageWidth - side);
  const y = clamp(Math.round(cy - side / 2), imageHeight - side);
  return { x, y, width: side, height: side };
}
