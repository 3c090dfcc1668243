/** File signatures ("magic numbers") of the image formats fdft reads by hand. BMP's is in bmp.ts. */

/** JPEG: starts with the SOI marker FF D8. */
export function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xd8;
}

/** PNG: starts with 89 'P' 'N' 'G'. */
export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
}
