/**
 * Decoding one image file to size×size×3 RGB bytes with sharp: any common format (JPEG, PNG,
 * WebP, TIFF, GIF, AVIF …; BMP through bmp.ts), EXIF orientation honoured, alpha flattened,
 * CMYK / grayscale / 16-bit converted to 8-bit sRGB, resized by squashing or centre-cropping.
 * Every failure becomes an ImageDecodeError with a named reason.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { decodeBmp, isBmp } from './bmp.ts';
import { ImageDecodeError } from './errors.ts';
import { isJpeg, isPng } from './signatures.ts';
import type { Fit } from './types.ts';

export interface DecodeOptions {
  /** Output side in px (the model input; paper: 64). */
  size?: number;
  /** 'squash' resizes the whole image to size×size; 'crop' takes the centred square first. */
  fit?: Fit;
  /** Images with a side below this many px are skipped as 'too-small'. Default 16. */
  minSide?: number;
  /** sharp's input pixel limit (default 268402689 = 16383²); larger images are 'too-large'. */
  limitInputPixels?: number;
  /** Background that transparent pixels are flattened onto. Default black, as Keras' PIL loader. */
  background?: { r: number; g: number; b: number };
}

export const DEFAULT_DECODE = { size: 64, fit: 'squash' as Fit, minSide: 16, limitInputPixels: 268402689 };

function fileErrorReason(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'unreadable';
    case 'ELOOP':
      return 'symlink-loop';
    case 'ENOENT':
      return 'missing';
    case 'EISDIR':
      return 'not-a-file';
    default:
      return 'unreadable';
  }
}

/** Maps a sharp / libvips error message to a skip reason. */
export function sharpErrorReason(message: string): string {
  if (/unsupported image format/i.test(message)) return 'not-an-image';
  if (/exceeds pixel limit/i.test(message)) return 'too-large';
  if (/premature end|truncat|unexpected end|libpng read error|not enough (image )?data|end of (file|stream)/i.test(message)) return 'truncated';
  if (/corrupt|bogus|invalid|bad |huffman|crc error/i.test(message)) return 'corrupt';
  return 'decode-error';
}

/**
 * Whether the bytes are a JPEG or PNG that ends early (no EOI marker / IEND chunk). Checked
 * directly because libvips' warning text is shared between threads: under concurrency the
 * error may only say "Warning treated as error".
 */
export function endsEarly(buf: Uint8Array): boolean {
  const tail = buf.subarray(Math.max(0, buf.length - 64));
  if (isJpeg(buf)) {
    for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
    return true;
  }
  if (isPng(buf)) {
    return !Buffer.from(tail).includes('IEND');
  }
  return false;
}

/**
 * The ImageDecodeError for a sharp failure. A file that ends early gets our own detail text: libvips'
 * message comes from an error buffer shared by every concurrent decode, so it varies from run to run.
 */
function decodeFailure(buf: Uint8Array, message: string): ImageDecodeError {
  if (endsEarly(buf)) return new ImageDecodeError('truncated', 'the file ends before the image does (no JPEG EOI marker / PNG IEND chunk)');
  const r = sharpErrorReason(message);
  return new ImageDecodeError(r === 'decode-error' && /treated as error/i.test(message) ? 'corrupt' : r, firstLine(message));
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** Reads and decodes one file; throws ImageDecodeError (reason = a SkipReason) when it cannot. */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<Uint8Array> {
  const size = opts.size ?? DEFAULT_DECODE.size;
  const fit = opts.fit ?? DEFAULT_DECODE.fit;
  const minSide = opts.minSide ?? DEFAULT_DECODE.minSide;
  const limitInputPixels = opts.limitInputPixels ?? DEFAULT_DECODE.limitInputPixels;
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ImageDecodeError(fileErrorReason(err.code), `${err.code ?? 'error'}: ${firstLine(err.message)}`);
  }
  if (buf.length === 0) throw new ImageDecodeError('empty-file', 'the file has 0 bytes');

  let img: Sharp;
  let width: number;
  let height: number;
  try {
    if (isBmp(buf)) {
      const raw = decodeBmp(buf, limitInputPixels);
      width = raw.width;
      height = raw.height;
      img = sharp(raw.data, { raw: { width, height, channels: 3 } });
    } else {
      img = sharp(buf, { limitInputPixels, failOn: 'warning' });
      const meta = await img.metadata();
      width = meta.autoOrient?.width ?? meta.width ?? 0;
      height = meta.autoOrient?.height ?? meta.height ?? 0;
    }
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw decodeFailure(buf, (e as Error).message);
  }
  if (Math.min(width, height) < minSide) {
    throw new ImageDecodeError('too-small', `${width}x${height} px is below the ${minSide} px minimum side`);
  }
  try {
    const { data, info } = await img
      .autoOrient()
      .flatten({ background: opts.background ?? { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .resize(size, size, fit === 'crop' ? { fit: 'cover', position: 'centre' } : { fit: 'fill' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== size * size * 3) {
      throw new ImageDecodeError('decode-error', `decoder returned ${info.width}x${info.height}x${info.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw decodeFailure(buf, (e as Error).message);
  }
}
