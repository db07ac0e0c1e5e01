/**
 * Objects a run tracks besides numbers: images, distributions and texts,
 * with their codecs (PNG, a JPEG reader) and limits. No I/O; the writer
 * stores them (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

export {
  checkCaption,
  Image,
  type ImageFormat,
  type ImageOptions,
  imageType,
  INDEX_JPEG_BYTES,
  INDEX_THUMB_EDGE,
  MAX_CAPTION,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_PIXELS,
  shrink,
  THUMB_EDGE,
} from "./image.ts";
export {
  decodeDistribution,
  DEFAULT_BINS,
  Distribution,
  encodeDistribution,
  MAX_BINS,
  uniformEdges,
} from "./distribution.ts";
export { MAX_TEXT_BYTES, Text, type TextOptions } from "./text.ts";
export {
  decodePng,
  encodePng,
  isPng,
  type Pixels,
  PngError,
  type PngHeader,
  readPngHeader,
} from "./png.ts";
export { isJpeg, JpegError, type JpegHeader, readJpegHeader } from "./jpeg.ts";
