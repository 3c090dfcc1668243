/**
 * A drawn, face-like test image (SVG rendered by sharp) that BlazeFace detects with a high score:
 * the plumbing tests and the benchmark make their photos and videos from it, so that they need no
 * real face data. Geometry: the face's width is `faceWidth` px, its eyes sit 0.2·faceWidth either
 * side of the centre and 0.08·faceWidth above it.
 */
import sharp from 'sharp';
import type { RgbImage } from './rgbImage.ts';

export interface DrawnFaceOptions {
  width: number;
  height: number;
  /** Face centre, px (default: image centre). */
  cx?: number;
  cy?: number;
  /** Face width, px (default 0.45 · min(width, height)). */
  faceWidth?: number;
  /** Clockwise rotation of the face, degrees. */
  rotateDeg?: number;
  /** Draw no face at all (background only): a negative example. */
  noFace?: boolean;
}

export function drawnFaceSvg(o: DrawnFaceOptions): string {
  const cx = o.cx ?? o.width / 2;
  const cy = o.cy ?? o.height / 2;
  const u = (o.faceWidth ?? 0.45 * Math.min(o.width, o.height)) / 100;
  const face = o.noFace
    ? ''
    : `<g transform="translate(${cx} ${cy}) rotate(${o.rotateDeg ?? 0}) scale(${u})">
    <ellipse cx="0" cy="-20" rx="58" ry="70" fill="#3a2516"/>
    <rect x="-22" y="50" width="44" height="60" fill="#c98f6d"/>
    <ellipse cx="0" cy="0" rx="50" ry="64" fill="url(#skin)"/>
    <ellipse cx="-50" cy="5" rx="7" ry="14" fill="#c98f6d"/><ellipse cx="50" cy="5" rx="7" ry="14" fill="#c98f6d"/>
    <path d="M -50 -20 Q -45 -75 0 -72 Q 45 -75 50 -20 Q 40 -55 0 -52 Q -40 -55 -50 -20 Z" fill="#3a2516"/>
    <path d="M -33 -22 Q -20 -29 -8 -22" stroke="#4a3020" stroke-width="4" fill="none"/>
    <path d="M 8 -22 Q 20 -29 33 -22" stroke="#4a3020" stroke-width="4" fill="none"/>
    <ellipse cx="-20" cy="-8" rx="10" ry="5" fill="#fff"/><ellipse cx="20" cy="-8" rx="10" ry="5" fill="#fff"/>
    <circle cx="-20" cy="-8" r="4.5" fill="#3b2a1a"/><circle cx="20" cy="-8" r="4.5" fill="#3b2a1a"/>
    <circle cx="-20" cy="-8" r="2" fill="#000"/><circle cx="20" cy="-8" r="2" fill="#000"/>
    <path d="M -3 -5 L -8 18 Q 0 23 8 18 L 3 -5" fill="#c48a68"/>
    <ellipse cx="-5" cy="19" rx="3" ry="1.6" fill="#7a4a35"/><ellipse cx="5" cy="19" rx="3" ry="1.6" fill="#7a4a35"/>
    <path d="M -17 34 Q 0 44 17 34 Q 0 39 -17 34 Z" fill="#a0505a" stroke="#8a3a45" stroke-width="2"/>
  </g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}">
  <defs><radialGradient id="skin" cx="50%" cy="45%" r="60%"><stop offset="0%" stop-color="#f2c9a8"/><stop offset="80%" stop-color="#d9a27e"/><stop offset="100%" stop-color="#b07858"/></radialGradient>
  <radialGradient id="bg" cx="50%" cy="50%" r="70%"><stop offset="0%" stop-color="#8a9bb0"/><stop offset="100%" stop-color="#3b4656"/></radialGradient></defs>
  <rect width="100%" height="100%" fill="url(#bg)"/>${face}</svg>`;
}

/** The drawn face as an RGB image. */
export async function renderDrawnFace(o: DrawnFaceOptions): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(drawnFaceSvg(o))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
