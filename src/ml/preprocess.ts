// Image bytes → NHWC float32 x/255 at the model's input size. sharp decodes on libuv's thread
// pool, so the event loop stays free; headers are checked before any pixel is decoded.
import { open } from 'node:fs/promises';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { resizeBilinearRgb } from './resize.ts';

export type ImageErrorCode =
  'empty' | 'too_large' | 'corrupt' | 'unsupported_format' | 'too_many_pixels';

const STATUS: Record<ImageErrorCode, 400 | 413 | 415> = {
  empty: 400,
  corrupt: 400,
  too_large: 413,
  too_many_pixels: 413,
  unsupported_format: 415,
};

/** Bad input from a client; `httpStatus` is what the API should answer. */
export class ImageInputError extends Error {
  readonly httpStatus: 400 | 413 | 415;

  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageInputError';
    this.httpStatus = STATUS[code];
  }
}

export interface PreprocessSpec {
  size: number;
  /** `stretch` ignores aspect ratio (measured better on these small crops); `letterbox` pads with black. */
  fit: 'stretch' | 'letterbox';
  /**
   * `bilinear` decodes with sharp and resamples in TypeScript (resize.ts): about half the CPU of
   * libvips' resamplers on small crops. The others resample in libvips (models trained before).
   */
  kernel: 'bilinear' | 'lanczos3' | 'cubic' | 'linear';
  scale: '0..1';
  /**
   * Share of each side kept around the centre (0.5-1; absent: 1, the whole image). Camera crops
   * carry a lot of background, which a clip's water and reef make the same for every fish in it;
   * less of it generalised better to clips the model never saw (docs/model-research.md §17).
   * Needs `fit: 'stretch'`.
   */
  crop?: number;
}

export const DEFAULT_PREPROCESS: PreprocessSpec = {
  size: 224,
  fit: 'stretch',
  // bilinear measured 0.866 vs 0.874 top-1 on fish-species val for the same head (docs/model-research.md).
  kernel: 'lanczos3',
  scale: '0..1',
};

// libvips' operation cache keys on the input buffer: every upload is new, so it only costs.
sharp.cache(false);

export interface DecodeLimits {
  /** Larger decoded images are refused before decoding (decompression bombs). */
  maxPixels: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };

/** Formats sharp decodes from its bundled libvips; SVG is left out (a document, not a photo). */
const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'jp2']);

/**
 * The image format whose signature (magic bytes) opens `input`, if any: a file that starts like
 * a PNG, JPEG, GIF, WebP or TIFF but cannot be parsed is a damaged image (400), not an
 * unsupported format (415).
 */
export function sniffImageFormat(
  input: Uint8Array,
): 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | undefined {
  const at = (o: number, bytes: number[]): boolean =>
    input.length >= o + bytes.length && bytes.every((b, i) => input[o + i] === b);
  const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (at(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (at(0, ascii('GIF87a')) || at(0, ascii('GIF89a'))) return 'gif';
  if (at(0, ascii('RIFF')) && at(8, ascii('WEBP'))) return 'webp';
  if (at(0, [0x49, 0x49, 0x2a, 0x00]) || at(0, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return undefined;
}

/**
 * True when `head` opens like a format sharp reads only from its header: an ISO media file
 * (AVIF, HEIF: an `ftyp` box), JPEG 2000 (its signature box or a raw codestream) or BigTIFF.
 * Anything else that the signature sniff does not know is no image, refused without a decoder.
 */
function mayBeOtherImage(head: Uint8Array): boolean {
  const at = (o: number, bytes: number[]): boolean =>
    head.length >= o + bytes.length && bytes.every((b, i) => head[o + i] === b);
  return (
    at(4, [0x66, 0x74, 0x79, 0x70]) ||
    at(0, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) ||
    at(0, [0xff, 0x4f, 0xff, 0x51]) ||
    at(0, [0x49, 0x49, 0x2b, 0x00]) ||
    at(0, [0x4d, 0x4d, 0x00, 0x2b])
  );
}

const NOT_AN_IMAGE = 'not a recognised image format (JPEG, PNG, WebP, GIF, TIFF, AVIF)';

function checkSize(bytes: number, limits: DecodeLimits): void {
  if (bytes === 0) throw new ImageInputError('empty', 'the image is empty (0 bytes)');
  if (bytes > limits.maxBytes)
    throw new ImageInputError(
      'too_large',
      `the image is ${bytes} bytes; the limit is ${limits.maxBytes}`,
    );
}

/** The first bytes of a file, enough for its signature. */
async function headOf(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Reads the header with sharp: the exact format and size, for formats the signature sniff does not know. */
async function checkHeader(input: Buffer | string, limits: DecodeLimits): Promise<void> {
  const head = typeof input === 'string' ? await headOf(input) : input;
  const sniffed = sniffImageFormat(head);
  // Bytes that open like no image at all are refused here: handing megabytes of them to every
  // decoder's detector costs a thread-pool thread for nothing.
  if (!sniffed && !mayBeOtherImage(head)) {
    throw new ImageInputError('unsupported_format', NOT_AN_IMAGE);
  }
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    if (sniffed) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new ImageInputError(
        'corrupt',
        `the ${sniffed.toUpperCase()} image could not be decoded (${msg})`,
      );
    }
    throw new ImageInputError('unsupported_format', NOT_AN_IMAGE);
  }
  if (!meta.format || !ACCEPTED.has(meta.format))
    throw new ImageInputError(
      'unsupported_format',
      `unsupported image format: ${meta.format ?? 'unknown'}`,
    );
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new ImageInputError('corrupt', 'the image has no pixels');
  if (w * h > limits.maxPixels)
    throw new ImageInputError(
      'too_many_pixels',
      `the image is ${w}x${h}; the limit is ${limits.maxPixels} pixels`,
    );
}

/**
 * Checks that an image (its bytes, or a file of `bytes` bytes) is one this service decodes,
 * within the limits, from its size and header alone (sharp reads the header off the main
 * thread): what a queued task checks at once.
 */
export async function inspectImage(
  input: Buffer | { path: string; bytes: number },
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<void> {
  if (Buffer.isBuffer(input)) {
    checkSize(input.length, limits);
    await checkHeader(input, limits);
  } else {
    checkSize(input.bytes, limits);
    await checkHeader(input.path, limits);
  }
}

/** Decode, orient, flatten and resize one image to RGB uint8 (size × size × 3). */
export async function decodeRgb(
  input: Buffer,
  spec: PreprocessSpec = DEFAULT_PREPROCESS,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<Buffer> {
  checkSize(input.length, limits);
  const crop = cropOf(spec);
  // The hot path: common formats are recognised by their signature and decoded in one sharp
  // pipeline, whose limitInputPixels refuses decompression bombs from the header. Anything else
  // (AVIF, HEIF, JPEG 2000, or not an image) has its header read first, for a precise answer.
  const sniffed = sniffImageFormat(input);
  if (!sniffed) await checkHeader(input, limits);
  try {
    const image = sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .rotate()
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb');
    if (spec.kernel === 'bilinear' && spec.fit === 'stretch') {
      // Large images are first reduced (antialiased) to at most twice the input size, so the
      // bilinear step never skips source pixels; small crops go straight to it.
      const limit = 2 * spec.size;
      const { data, info } = await image
        .resize({
          width: limit,
          height: limit,
          fit: 'inside',
          withoutEnlargement: true,
          kernel: 'linear',
        })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`unexpected decode with ${info.channels} channels`);
      const c = crop < 1 ? centreCropRgb(data, info.width, info.height, crop) : { data, ...info };
      const out = resizeBilinearRgb(c.data, c.width, c.height, spec.size, spec.size);
      return Buffer.from(out.buffer, 0, out.length);
    }
    // A centre crop: stretch to the size the kept share needs, then keep the centre (one pipeline,
    // no need to read the image's size first).
    const full = crop < 1 ? Math.round(spec.size / crop) : spec.size;
    const resized = image.resize(full, full, {
      fit: spec.fit === 'stretch' ? 'fill' : 'contain',
      background: { r: 0, g: 0, b: 0 },
      kernel: spec.kernel === 'bilinear' ? 'linear' : spec.kernel,
    });
    const margin = Math.floor((full - spec.size) / 2);
    const { data, info } = await (
      crop < 1
        ? resized.extract({ left: margin, top: margin, width: spec.size, height: spec.size })
        : resized
    )
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== spec.size || info.height !== spec.size)
      throw new Error(`unexpected decode ${info.width}x${info.height}x${info.channels}`);
    return data;
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(msg))
      throw new ImageInputError(
        'too_many_pixels',
        `the image has more than ${limits.maxPixels} pixels`,
      );
    const what = sniffed ? `the ${sniffed.toUpperCase()} image` : 'the image';
    throw new ImageInputError('corrupt', `${what} could not be decoded (${msg.split('\n')[0]})`);
  }
}

export function toFloat(
  rgb: Uint8Array,
  out = new Float32Array(rgb.length),
  offset = 0,
): Float32Array {
  for (let i = 0; i < rgb.length; i++) out[offset + i] = rgb[i] / 255;
  return out;
}

export async function preprocess(
  input: Buffer,
  spec: PreprocessSpec = DEFAULT_PREPROCESS,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<Float32Array> {
  return toFloat(await decodeRgb(input, spec, limits));
}

/** Mirror an NHWC image left-right (flip-TTA and flipped training copies). */
export function flipHorizontal(img: Float32Array, size: number): Float32Array {
  const out = new Float32Array(img.length);
  const row = size * 3;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const s = y * row + x * 3;
      const d = y * row + (size - 1 - x) * 3;
      out[d] = img[s];
      out[d + 1] = img[s + 1];
      out[d + 2] = img[s + 2];
    }
  return out;
}

/** Stable string describing the preprocessing, part of embedding-cache keys and manifests. */
export function specKey(spec: PreprocessSpec): string {
  // Without a crop the key stays as it was, so existing embedding caches still hit.
  const crop = cropOf(spec);
  return `${spec.size}/${spec.fit}/${spec.kernel}/${spec.scale}${crop < 1 ? `/crop${crop}` : ''}`;
}

/** The spec's centre crop (1 = none), checked: a bad manifest fails loudly, not subtly. */
export function cropOf(spec: PreprocessSpec): number {
  const crop = spec.crop ?? 1;
  if (!(crop >= 0.5 && crop <= 1))
    throw new Error(`preprocessing.crop must be between 0.5 and 1, got ${String(spec.crop)}`);
  if (crop < 1 && spec.fit !== 'stretch')
    throw new Error(`preprocessing.crop needs fit 'stretch', not '${spec.fit}'`);
  return crop;
}

/** The centre `crop` share of each side of an RGB image, copied out row by row. */
function centreCropRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  crop: number,
): { data: Uint8Array; width: number; height: number } {
  const w = Math.max(1, Math.round(width * crop));
  const h = Math.max(1, Math.round(height * crop));
  const left = Math.floor((width - w) / 2);
  const top = Math.floor((height - h) / 2);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    out.set(
      rgb.subarray(((top + y) * width + left) * 3, ((top + y) * width + left + w) * 3),
      y * w * 3,
    );
  return { data: out, width: w, height: h };
}
