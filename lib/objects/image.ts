/**
 * Images tracked in a run: PNG or JPEG bytes as given (checked whole when
 * tracked), or encoded from pixels as PNG, with their size, a caption and,
 * for PNGs larger than {@linkcode THUMB_EDGE}, a thumbnail made once by the
 * writer (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import { badRequest } from "../errors.ts";
import { decodePng, encodePng, isPng, type Pixels, PngError } from "./png.ts";
import { isJpeg, JpegError, readJpegHeader } from "./jpeg.ts";

/** Largest image stored, in bytes as encoded. */
export const MAX_IMAGE_BYTES = 16 << 20;
/** Most pixels of an image (4096×4096): a PNG is decoded whole to be checked and thumbnailed. */
export const MAX_IMAGE_PIXELS = 1 << 24;
/** Longest side of an image's thumbnail; smaller PNGs are their own thumbnail. */
export const THUMB_EDGE = 128;
/** Longest side of the thumbnail the index keeps of each image sequence's last image. */
export const INDEX_THUMB_EDGE = 64;
/** Largest JPEG the index keeps as its sequence's last thumbnail (no JPEG is resized). */
export const INDEX_JPEG_BYTES = 16 << 10;
/** Longest caption of an image or text, in characters. */
export const MAX_CAPTION = 4096;

/** How an image's bytes are encoded. */
export type ImageFormat = "png" | "jpeg";

/** Options of {@linkcode Image}. */
export interface ImageOptions {
  /** Words shown with the image; default `""`; at most {@linkcode MAX_CAPTION} characters. */
  caption?: string;
}

/**
 * One image to track with `run.track(image, { name, step })` (or a list of
 * them, a batch, at one step). PNG bytes are decoded whole when the image
 * is made, so a corrupt one is refused before anything is stored; JPEG
 * bytes have their structure checked, not their pixels.
 *
 * @example Track a batch of samples
 * ```ts
 * import { Image } from "./image.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "gan" });
 * const gray = new Uint8Array(28 * 28).fill(128);
 * const batch = [0, 1, 2].map((i) => Image.fromPixels(gray, 28, 28, 1, { caption: `sample ${i}` }));
 * run.track(batch, { name: "samples", step: 0, context: { subset: "val" } });
 * await run.close();
 * const [images] = repo.index().get(run.hash)!.sequences!;
 * console.log(images?.kind, images?.name, images?.items); // images samples 3
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Image {
  /** The encoded image, as stored. */
  readonly bytes: Uint8Array;
  /** How {@linkcode bytes} are encoded. */
  readonly format: ImageFormat;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Words shown with the image. */
  readonly caption: string;
  /**
   * A PNG of at most {@linkcode THUMB_EDGE} pixels a side, or null when
   * the image is no larger (it is its own thumbnail) or a JPEG (never
   * resized: its thumbnail is itself).
   */
  readonly thumbnail: Uint8Array | null;
  /** Pixels of at most THUMB_EDGE a side, for the index's thumbnail; null for a JPEG. */
  #small: Pixels | null;

  /**
   * An image from PNG or JPEG bytes (kept as given). Throws `AimError`
   * `bad_request` when they are neither, cannot be decoded, or are over
   * {@linkcode MAX_IMAGE_BYTES} or {@linkcode MAX_IMAGE_PIXELS}.
   */
  constructor(bytes: Uint8Array, options: ImageOptions = {}) {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(
        `Image() needs the bytes of a PNG or JPEG as a Uint8Array, got ${
          _kind(bytes)
        }`,
      );
    }
    this.caption = checkCaption(options.caption);
    if (bytes.length > MAX_IMAGE_BYTES) {
      throw badRequest(
        `the image is ${bytes.length} bytes, more than the ${MAX_IMAGE_BYTES} allowed`,
      );
    }
    this.bytes = bytes;
    if (isPng(bytes)) {
      let pixels: Pixels;
      try {
        pixels = decodePng(bytes, MAX_IMAGE_PIXELS);
      } catch (error) {
        if (!(error instanceof PngError)) throw error;
        throw badRequest(`the PNG cannot be decoded: ${error.message}`, {
          cause: error,
        });
      }
      this.format = "png";
      this.width = pixels.width;
      this.height = pixels.height;
      if (Math.max(pixels.width, pixels.height) > THUMB_EDGE) {
        this.#small = shrink(pixels, THUMB_EDGE);
        const thumbnail = encodePng(this.#small);
        // A thumbnail that is no smaller than the image is no use.
        this.thumbnail = thumbnail.length < bytes.length ? thumbnail : null;
      } else {
        this.#small = pixels;
        this.thumbnail = null;
      }
    } else if (isJpeg(bytes)) {
      let header;
      try {
        header = readJpegHeader(bytes);
      } catch (error) {
        if (!(error instanceof JpegError)) throw error;
        throw badRequest(`the JPEG cannot be read: ${error.message}`, {
          cause: error,
        });
      }
      if (header.width * header.height > MAX_IMAGE_PIXELS) {
        throw badRequest(
          `the JPEG is ${header.width}×${header.height} pixels, more than the ${MAX_IMAGE_PIXELS} allowed`,
        );
      }
      this.format = "jpeg";
      this.width = header.width;
      this.height = header.height;
      this.#small = null;
      this.thumbnail = null;
    } else {
      throw badRequest(
        `the bytes are not a PNG or a JPEG (they start with ${
          [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
            .join(" ") || "nothing"
        })`,
      );
    }
  }

  /**
   * An image encoded as PNG from pixels at 8 bits per channel, row after
   * row: `channels` 1 (gray), 2 (gray and alpha), 3 (RGB) or 4 (RGBA).
   */
  static fromPixels(
    data: Uint8Array | Uint8ClampedArray,
    width: number,
    height: number,
    channels: 1 | 2 | 3 | 4 = 3,
    options: ImageOptions = {},
  ): Image {
    if (
      !Number.isSafeInteger(width) || !Number.isSafeInteger(height) ||
      width < 1 || height < 1 || width * height > MAX_IMAGE_PIXELS
    ) {
      throw new RangeError(
        `Image.fromPixels() needs a size from 1×1 to ${MAX_IMAGE_PIXELS} pixels, got ${width}×${height}`,
      );
    }
    if (![1, 2, 3, 4].includes(channels)) {
      throw new RangeError(
        `Image.fromPixels() needs 1, 2, 3 or 4 channels, got ${channels}`,
      );
    }
    const bytes = data instanceof Uint8ClampedArray
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data;
    return new Image(
      encodePng({ width, height, channels, data: bytes }),
      options,
    );
  }

  /**
   * The thumbnail the index keeps when this is its sequence's last image:
   * a PNG of at most {@linkcode INDEX_THUMB_EDGE} pixels a side; for a
   * JPEG, its own bytes when at most {@linkcode INDEX_JPEG_BYTES}, else
   * null.
   */
  indexThumbnail(): Uint8Array | null {
    if (this.#small === null) {
      return this.bytes.length <= INDEX_JPEG_BYTES ? this.bytes : null;
    }
    if (Math.max(this.width, this.height) <= INDEX_THUMB_EDGE) {
      return this.bytes;
    }
    const thumbnail = encodePng(shrink(this.#small, INDEX_THUMB_EDGE));
    return thumbnail.length < this.bytes.length ? thumbnail : this.bytes;
  }
}

/** `caption` checked: a string of valid Unicode of at most MAX_CAPTION characters (default ""). */
export function checkCaption(caption: unknown): string {
  if (caption === undefined || caption === null) return "";
  if (typeof caption !== "string") {
    throw new TypeError(`A caption must be a string, got ${_kind(caption)}`);
  }
  if (!caption.isWellFormed()) {
    throw badRequest(
      "a caption holds a lone surrogate: it must be valid Unicode",
    );
  }
  if (caption.length > MAX_CAPTION) {
    throw badRequest(
      `a caption is ${caption.length} characters, more than the ${MAX_CAPTION} allowed`,
    );
  }
  return caption;
}

/**
 * `pixels` scaled down to fit `edge` pixels a side (aspect kept), each
 * output pixel the mean of the source pixels it covers; returned as is
 * when already that small.
 */
export function shrink(pixels: Pixels, edge: number): Pixels {
  const { width, height, channels, data } = pixels;
  const scale = edge / Math.max(width, height);
  if (scale >= 1) return pixels;
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const out = new Uint8Array(w * h * channels);
  const sums = new Float64Array(w * channels);
  const counts = new Float64Array(w);
  // Source column → output column, once.
  const columnOf = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    columnOf[x] = Math.min(w - 1, Math.floor((x * w) / width));
  }
  let y = 0;
  for (let outY = 0; outY < h; outY++) {
    const end = Math.max(y + 1, Math.floor(((outY + 1) * height) / h));
    sums.fill(0);
    counts.fill(0);
    for (; y < end && y < height; y++) {
      const row = y * width * channels;
      for (let x = 0; x < width; x++) {
        const column = columnOf[x]!;
        counts[column]!++;
        const at = row + x * channels;
        for (let c = 0; c < channels; c++) {
          sums[column * channels + c]! += data[at + c]!;
        }
      }
    }
    const base = outY * w * channels;
    for (let x = 0; x < w; x++) {
      const n = counts[x]! || 1;
      for (let c = 0; c < channels; c++) {
        out[base + x * channels + c] = Math.round(sums[x * channels + c]! / n);
      }
    }
  }
  return { width: w, height: h, channels, data: out };
}

/** The media type of a stored image's bytes, from their first bytes. */
export function imageType(bytes: Uint8Array): string {
  return isJpeg(bytes) ? "image/jpeg" : "image/png";
}

function _kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
