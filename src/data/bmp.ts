/**
 * A small BMP reader. sharp's prebuilt libvips has no BMP loader, yet .bmp is a "common format"
 * face sets come in. Handles the uncompressed variants (1/4/8-bit palette, 16/24/32-bit,
 * BI_BITFIELDS), top-down and bottom-up; RLE-compressed BMPs are a named 'unsupported-format' skip.
 */
import { ImageDecodeError } from './errors.ts';

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** A BMP file header (OS/2 12-byte or Windows ≥ 40-byte info header). */
export interface BmpHeader {
  dataOffset: number;
  headerSize: number;
  width: number;
  /** Always positive; `topDown` keeps the sign's meaning. */
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  paletteCount: number;
}

/** Reads a BMP header; throws ImageDecodeError when the bytes are not one. */
export function readBmpHeader(buf: Uint8Array): BmpHeader {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!isBmp(buf) || buf.length < 26) throw new ImageDecodeError('not-an-image', 'not a BMP file');
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let paletteCount = 0;
  if (headerSize === 12) {
    width = v.getUint16(18, true);
    height = v.getInt16(20, true);
    bpp = v.getUint16(24, true);
  } else if (headerSize >= 40) {
    if (buf.length < 54) throw new ImageDecodeError('truncated', 'BMP header is cut short');
    width = v.getInt32(18, true);
    height = v.getInt32(22, true);
    bpp = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    paletteCount = v.getUint32(46, true);
  } else {
    throw new ImageDecodeError('corrupt', `unknown BMP header size ${headerSize}`);
  }
  return { dataOffset, headerSize, width, height: Math.abs(height), topDown: height < 0, bpp, compression, paletteCount };
}

/** Decodes a BMP file's bytes to 8-bit RGB. `maxPixels` mirrors sharp's limitInputPixels. */
export function decodeBmp(buf: Uint8Array, maxPixels = 0x3fff * 0x3fff): RawImage {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const { dataOffset, headerSize, width, height, topDown, bpp, compression, paletteCount } = readBmpHeader(buf);
  if (width <= 0 || height <= 0) throw new ImageDecodeError('corrupt', `BMP size ${width}x${height}`);
  if (width * height > maxPixels) throw new ImageDecodeError('too-large', `Input image exceeds pixel limit (${width}x${height})`);
  if (compression === 1 || compression === 2 || compression === 4 || compression === 5) {
    throw new ImageDecodeError('unsupported-format', `compressed BMP (compression ${compression}) is not supported`);
  }
  let masks = [0, 0, 0];
  if (compression === 3 || compression === 6) {
    masks = [v.getUint32(54, true), v.getUint32(58, true), v.getUint32(62, true)];
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else if (bpp === 32) {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new ImageDecodeError('corrupt', `BMP with ${bpp} bits per pixel`);
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const n = paletteCount || 1 << bpp;
    const start = 14 + headerSize;
    if (start + n * entry > buf.length) throw new ImageDecodeError('truncated', 'BMP palette is cut short');
    // Palette entries are stored B, G, R(, reserved).
    palette = Uint8Array.from({ length: n * 3 }, (_, i) => buf[start + Math.floor(i / 3) * entry + (2 - (i % 3))]!);
  }
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowBytes * height > buf.length) throw new ImageDecodeError('truncated', 'BMP pixel data is cut short');
  const out = new Uint8Array(width * height * 3);
  const m = masks.map(maskShift);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * rowBytes;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (palette) {
        const bit = x * bpp;
        const byte = buf[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[idx * 3] ?? 0;
        out[o + 1] = palette[idx * 3 + 1] ?? 0;
        out[o + 2] = palette[idx * 3 + 2] ?? 0;
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o] = buf[p + 2]!;
        out[o + 1] = buf[p + 1]!;
        out[o + 2] = buf[p]!;
      } else {
        const p = row + x * (bpp / 8);
        const px = bpp === 16 ? v.getUint16(p, true) : v.getUint32(p, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = m[c]!;
          out[o + c] = max ? Math.round((((px >>> shift) & max) * 255) / max) : 0;
        }
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}
