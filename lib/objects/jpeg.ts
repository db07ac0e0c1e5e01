/**
 * Reading a JPEG's structure without decoding its pixels: its size and
 * components from the frame header, and every segment and scan checked to
 * lie within the file up to its end-of-image marker. aim stores JPEGs as
 * given and makes no thumbnails of them (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

/** What a JPEG's frame header says. */
export interface JpegHeader {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Colour components: 1 gray, 3 YCbCr, 4 CMYK. */
  components: number;
  /** Progressive (several scans) rather than baseline. */
  progressive: boolean;
}

/** A JPEG that cannot be read: the message says what is wrong and where. */
export class JpegError extends Error {
  /** `"JpegError"`, for logs and stack traces. */
  override name = "JpegError";
}

/** Whether `bytes` start like a JPEG (the start-of-image marker, then a marker). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 &&
    bytes[2] === 0xff;
}

/** Start-of-frame markers: C0–CF but C4 (DHT), C8 (JPG) and CC (DAC). */
function _isFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
    marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Checks a JPEG's markers from its start to its end-of-image marker and
 * reads its frame header. Throws {@linkcode JpegError} saying what is
 * wrong (a truncated file, a scan before any frame, a frame without a
 * height). The entropy-coded data is scanned for markers, not decoded.
 *
 * @example The size of a JPEG
 * ```ts
 * import { readJpegHeader } from "./jpeg.ts";
 *
 * // SOI, a frame header for 3×2 pixels of one component, a scan, EOI.
 * const bytes = new Uint8Array([
 *   0xff, 0xd8,
 *   0xff, 0xc0, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0,
 *   0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0x34,
 *   0xff, 0xd9,
 * ]);
 * console.log(readJpegHeader(bytes)); // { width: 3, height: 2, components: 1, progressive: false }
 * ```
 */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  if (!isJpeg(bytes)) {
    throw new JpegError("it does not start with a JPEG start-of-image marker");
  }
  let header: JpegHeader | null = null;
  let at = 2;
  for (;;) {
    if (at >= bytes.length) {
      throw new JpegError(
        `it ends at byte ${bytes.length} before its end-of-image marker (is it truncated?)`,
      );
    }
    if (bytes[at] !== 0xff) {
      throw new JpegError(
        `byte ${at} is 0x${
          bytes[at]!.toString(16).padStart(2, "0")
        } where a marker should start`,
      );
    }
    // Any number of 0xFF may pad before a marker.
    while (at < bytes.length && bytes[at] === 0xff) at++;
    if (at >= bytes.length) continue;
    const marker = bytes[at++]!;
    if (marker === 0xd9) {
      if (header === null) {
        throw new JpegError("it ends before any frame header");
      }
      return header;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd8 || marker === 0x00) {
      throw new JpegError(
        `it has a stray 0x${marker.toString(16)} marker at byte ${at - 1}`,
      );
    }
    if (at + 2 > bytes.length) {
      throw new JpegError(
        `it ends at byte ${bytes.length} inside a segment header (is it truncated?)`,
      );
    }
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (length < 2 || at + length > bytes.length) {
      throw new JpegError(
        `its segment 0x${
          marker.toString(16)
        } at byte ${at} claims ${length} bytes, past the end of the file (is it truncated?)`,
      );
    }
    if (_isFrame(marker)) {
      if (length < 8) {
        throw new JpegError(`its frame header is ${length} bytes`);
      }
      const height = (bytes[at + 3]! << 8) | bytes[at + 4]!;
      const width = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const components = bytes[at + 7]!;
      if (width === 0 || height === 0) {
        throw new JpegError(
          `its frame header gives a size of ${width}×${height} (a height set later by a DNL marker is not supported)`,
        );
      }
      if (![1, 3, 4].includes(components)) {
        throw new JpegError(
          `its frame has ${components} components, not 1, 3 or 4`,
        );
      }
      header = {
        width,
        height,
        components,
        progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca ||
          marker === 0xce,
      };
    }
    at += length;
    if (marker === 0xda) {
      if (header === null) {
        throw new JpegError("it has a scan before any frame header");
      }
      // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker.
      while (at < bytes.length) {
        if (
          bytes[at] === 0xff && at + 1 < bytes.length &&
          bytes[at + 1] !== 0x00 &&
          !(bytes[at + 1]! >= 0xd0 && bytes[at + 1]! <= 0xd7)
        ) break;
        at++;
      }
    }
  }
}
