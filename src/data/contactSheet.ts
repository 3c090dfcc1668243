/**
 * A grid of images as one PNG (README figures, augmentation checks). Optional per-image label
 * shown as a coloured frame: green = real (0), red = fake (1).
 */
export interface ContactSheetOptions {
  /** Images per row. Default ceil(sqrt(n)). */
  cols?: number;
  /** Gap / frame width in px. Default 2. */
  gap?: number;
  /** Integer upscaling of each image (nearest). Default 1. */
  zoom?: number;
  labels?: ArrayLike<number>;
  background?: [number, number, number];
  /** 256-colour palette PNG (about a third of the size; for documentation figures). */
  palette?: boolean;
}

/** RGB pixels of a contact sheet (width, height, data). */
export function contactSheetRgb(images: readonly (Uint8Array | Float32Array)[], size: number, opts: ContactSheetOptions = {}) {
  const n = images.length;
  const cols = Math.max(1, opts.cols ?? Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const gap = opts.gap ?? 2;
  const zoom = Math.max(1, Math.floor(opts.zoom ?? 1));
  const cell = size * zoom + gap;
  const width = cols * cell + gap;
  const height = rows * cell + gap;
  const data = new Uint8Array(width * height * 3);
  const bg = opts.background ?? [255, 255, 255];
  for (let i = 0; i < width * height; i++) data.set(bg, i * 3);
  images.forEach((img, k) => {
    const ox = gap + (k % cols) * cell;
    const oy = gap + Math.floor(k / cols) * cell;
    const label = opts.labels?.[k];
    if (label !== undefined && gap > 0) {
      const frame = label === 1 ? [220, 40, 40] : [40, 170, 60];
      for (let y = oy - gap; y < oy + size * zoom + gap; y++) {
        for (let x = ox - gap; x < ox + size * zoom + gap; x++) {
          if (x >= 0 && y >= 0 && x < width && y < height) data.set(frame, (y * width + x) * 3);
        }
      }
    }
    const isFloat = img instanceof Float32Array;
    for (let y = 0; y < size * zoom; y++) {
      for (let x = 0; x < size * zoom; x++) {
        const s = (Math.floor(y / zoom) * size + Math.floor(x / zoom)) * 3;
        const d = ((oy + y) * width + ox + x) * 3;
        for (let c = 0; c < 3; c++) {
          const v = img[s + c]!;
          data[d + c] = isFloat ? Math.max(0, Math.min(255, Math.round(v * 255))) : v;
        }
      }
    }
  });
  return { width, height, data };
}

/** The contact sheet encoded as PNG. */
export async function contactSheetPng(images: readonly (Uint8Array | Float32Array)[], size: number, opts: ContactSheetOptions = {}): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const { width, height, data } = contactSheetRgb(images, size, opts);
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 9, ...(opts.palette ? { palette: true, colours: 256, dither: 0.5 } : {}) })
    .toBuffer();
}
