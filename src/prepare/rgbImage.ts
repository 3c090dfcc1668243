/** A decoded 8-bit RGB image (interleaved, row-major), the currency of the prepare pipeline. */
import sharp from 'sharp';

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB. */
  data: Uint8Array;
}

/** sharp input options for a raw RGB buffer. */
export function rawInput(img: RgbImage): { raw: { width: number; height: number; channels: 3 } } {
  return { raw: { width: img.width, height: img.height, channels: 3 } };
}

/**
 * Decodes any image sharp reads: EXIF orientation applied, alpha flattened on black, grey / CMYK /
 * 16-bit converted to 8-bit sRGB. Throws sharp's error for corrupt or non-image files.
 */
export async function decodeImageFile(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path, { failOn: 'error' })
    .rotate()
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
