/**
 * PNG decoding and encoding, enough for images tracked by training
 * programs: every bit depth and colour type of the PNG specification,
 * Adam7 interlacing, palettes with transparency. Pixels come out as 8 bits
 * per channel (16-bit samples keep their high byte). zlib is `node:zlib`'s,
 * synchronous, since a writer validates an image inside `track()`
 * (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import { crc32, deflateSync, inflateSync } from "node:zlib";

/** Pixels at 8 bits per channel, row after row, channels interleaved. */
export interface Pixels {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** `width * height * channels` bytes. */
  data: Uint8Array;
}

/** What a PNG's header says. */
export interface PngHeader {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray and alpha, 6 RGBA. */
  colorType: number;
  /** Adam7 interlaced. */
  interlaced: boolean;
}

/** A PNG that cannot be read: the message says what is wrong and where. */
export class PngError extends Error {
  /** `"PngError"`, for logs and stack traces. */
  override name = "PngError";
}

/** The eight bytes every PNG starts with. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
]);

const _CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const _DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Whether `bytes` start like a PNG. */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== PNG_SIGNATURE[i]) return false;
  return true;
}

/**
 * Decodes a PNG whole: every chunk's checksum, the header's rules, the
 * palette, the image data and its filters are checked. Throws
 * {@linkcode PngError} saying what is wrong; refuses an image of more than
 * `maxPixels` pixels before inflating anything.
 *
 * @example Encode pixels, then read them back
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 *
 * const data = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
 * const png = encodePng({ width: 2, height: 2, channels: 3, data });
 * const back = decodePng(png);
 * console.log(back.width, back.height, back.channels, [...back.data]); // 2 2 3 [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
  maxPixels = 1 << 26,
): Pixels {
  const { header, palette, alpha, data } = _chunks(bytes);
  const { width, height, bitDepth, colorType, interlaced } = header;
  if (width * height > maxPixels) {
    throw new PngError(
      `it is ${width}×${height} pixels, more than the ${maxPixels} allowed`,
    );
  }
  if (colorType === 3 && palette === null) {
    throw new PngError("it has a palette colour type but no PLTE chunk");
  }
  const samples = _CHANNELS[colorType]!;
  const bitsPerPixel = samples * bitDepth;
  const passes = interlaced ? _ADAM7 : [[0, 0, 1, 1]];
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0!) / dx!);
    const h = Math.ceil((height - y0!) / dy!);
    if (w > 0 && h > 0) expected += h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(data, { maxOutputLength: expected + 1 });
  } catch (cause) {
    throw new PngError(
      `its image data cannot be inflated: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (raw.length < expected) {
    throw new PngError(
      `its image data holds ${raw.length} bytes, ${expected} expected for ${width}×${height} pixels`,
    );
  }
  const outChannels =
    (colorType === 3 ? (alpha !== null ? 4 : 3) : samples) as Pixels[
      "channels"
    ];
  const out = new Uint8Array(width * height * outChannels);
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0!) / dx!);
    const h = Math.ceil((height - y0!) / dy!);
    if (w <= 0 || h <= 0) continue;
    const stride = Math.ceil((w * bitsPerPixel) / 8);
    const rows = _unfilter(raw, offset, h, stride, bitsPerPixel);
    offset += h * (1 + stride);
    const row = new Uint8Array(w * samples);
    for (let y = 0; y < h; y++) {
      _samples(rows, y * stride, w * samples, bitDepth, colorType !== 3, row);
      const outY = y0! + y * dy!;
      for (let x = 0; x < w; x++) {
        const at = (outY * width + x0! + x * dx!) * outChannels;
        if (colorType === 3) {
          const index = row[x]!;
          if (index * 3 + 2 >= palette!.length) {
            throw new PngError(
              `pixel (${
                x0! + x * dx!
              }, ${outY}) uses palette entry ${index}, the palette has ${
                palette!.length / 3
              }`,
            );
          }
          out[at] = palette![index * 3]!;
          out[at + 1] = palette![index * 3 + 1]!;
          out[at + 2] = palette![index * 3 + 2]!;
          if (outChannels === 4) out[at + 3] = alpha![index] ?? 255;
        } else {
          for (let c = 0; c < samples; c++) {
            out[at + c] = row[x * samples + c]!;
          }
        }
      }
    }
  }
  return { width, height, channels: outChannels, data: out };
}

/**
 * The header of a PNG, with its chunks' layout and checksums checked but
 * nothing inflated.
 */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  return _chunks(bytes).header;
}

/** Walks the chunks: the header, the palette, the transparency, the data. */
function _chunks(bytes: Uint8Array): {
  header: PngHeader;
  palette: Uint8Array | null;
  alpha: Uint8Array | null;
  data: Uint8Array;
} {
  if (!isPng(bytes)) {
    throw new PngError("it does not start with the PNG signature");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: PngHeader | null = null;
  let palette: Uint8Array | null = null;
  let alpha: Uint8Array | null = null;
  const data: Uint8Array[] = [];
  let dataBytes = 0;
  let ended = false;
  while (!ended) {
    if (at + 12 > bytes.length) {
      throw new PngError(
        `it ends at byte ${bytes.length}, inside a chunk header, before its IEND chunk (is it truncated?)`,
      );
    }
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.length - at - 12) {
      throw new PngError(
        `its ${
          JSON.stringify(type)
        } chunk at byte ${at} claims ${length} bytes, past the end of the file (is it truncated?)`,
      );
    }
    const body = bytes.subarray(at + 8, at + 8 + length);
    const stored = view.getUint32(at + 8 + length);
    if ((crc32(bytes.subarray(at + 4, at + 8 + length)) >>> 0) !== stored) {
      throw new PngError(
        `its ${JSON.stringify(type)} chunk at byte ${at} fails its checksum`,
      );
    }
    if (header === null && type !== "IHDR") {
      throw new PngError(
        `its first chunk is ${JSON.stringify(type)}, not IHDR`,
      );
    }
    switch (type) {
      case "IHDR":
        header = _header(body);
        break;
      case "PLTE":
        if (length % 3 !== 0 || length === 0 || length > 768) {
          throw new PngError(`its PLTE chunk is ${length} bytes long`);
        }
        palette = body;
        break;
      case "tRNS":
        if (header!.colorType === 3) alpha = body;
        break;
      case "IDAT":
        data.push(body);
        dataBytes += length;
        break;
      case "IEND":
        ended = true;
        break;
    }
    at += 12 + length;
  }
  if (data.length === 0) throw new PngError("it has no IDAT chunk");
  const joined = new Uint8Array(dataBytes);
  let offset = 0;
  for (const part of data) {
    joined.set(part, offset);
    offset += part.length;
  }
  return { header: header!, palette, alpha, data: joined };
}

function _header(body: Uint8Array): PngHeader {
  if (body.length !== 13) {
    throw new PngError(`its IHDR chunk is ${body.length} bytes long, not 13`);
  }
  const view = new DataView(body.buffer, body.byteOffset, 13);
  const width = view.getUint32(0), height = view.getUint32(4);
  const bitDepth = body[8]!, colorType = body[9]!;
  if (width === 0 || height === 0 || width > 2 ** 31 || height > 2 ** 31) {
    throw new PngError(`its size is ${width}×${height}`);
  }
  if (!(colorType in _DEPTHS)) {
    throw new PngError(`its colour type is ${colorType}, not 0, 2, 3, 4 or 6`);
  }
  if (!_DEPTHS[colorType]!.includes(bitDepth)) {
    throw new PngError(
      `its bit depth ${bitDepth} is not allowed with colour type ${colorType}`,
    );
  }
  if (body[10] !== 0 || body[11] !== 0) {
    throw new PngError(
      "it names a compression or filter method PNG does not define",
    );
  }
  if (body[12]! > 1) {
    throw new PngError(`its interlace method is ${body[12]}, not 0 or 1`);
  }
  return { width, height, bitDepth, colorType, interlaced: body[12] === 1 };
}

/** Adam7's passes: first column, first row, column step, row step. */
const _ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Reverses the row filters of one pass; returns its rows without filter bytes. */
function _unfilter(
  raw: Uint8Array,
  offset: number,
  h: number,
  stride: number,
  bitsPerPixel: number,
): Uint8Array {
  const out = new Uint8Array(h * stride);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  for (let y = 0; y < h; y++) {
    const filter = raw[offset + y * (stride + 1)]!;
    const src = offset + y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + stride), row);
        break;
      case 1:
        for (let i = 0; i < stride; i++) {
          out[row + i] = raw[src + i]! + (i >= bpp ? out[row + i - bpp]! : 0);
        }
        break;
      case 2:
        for (let i = 0; i < stride; i++) {
          out[row + i] = raw[src + i]! + (y > 0 ? out[up + i]! : 0);
        }
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? out[row + i - bpp]! : 0;
          const b = y > 0 ? out[up + i]! : 0;
          out[row + i] = raw[src + i]! + ((a + b) >> 1);
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? out[row + i - bpp]! : 0;
          const b = y > 0 ? out[up + i]! : 0;
          const c = i >= bpp && y > 0 ? out[up + i - bpp]! : 0;
          out[row + i] = raw[src + i]! + _paeth(a, b, c);
        }
        break;
      default:
        throw new PngError(
          `row ${y} of its image data has filter type ${filter}, not 0 to 4`,
        );
    }
  }
  return out;
}

function _paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** One row's `count` samples as 8-bit values (palette indexes stay indexes). */
function _samples(
  rows: Uint8Array,
  at: number,
  count: number,
  depth: number,
  gray: boolean,
  out: Uint8Array,
): void {
  if (depth === 8) {
    out.set(rows.subarray(at, at + count));
    return;
  }
  if (depth === 16) {
    for (let i = 0; i < count; i++) out[i] = rows[at + 2 * i]!;
    return;
  }
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  // Gray samples of 1, 2 or 4 bits are scaled to 0..255; palette indexes are kept.
  const scale = gray ? 255 / mask : 1;
  for (let i = 0; i < count; i++) {
    const byte = rows[at + Math.floor(i / perByte)]!;
    const shift = 8 - depth * (1 + (i % perByte));
    out[i] = ((byte >> shift) & mask) * scale;
  }
}

/**
 * Encodes pixels as a PNG of 8 bits per channel, choosing each row's
 * filter by the smallest sum of absolute differences (the usual heuristic).
 */
export function encodePng(pixels: Pixels, level = 6): Uint8Array {
  const { width, height, channels, data } = pixels;
  if (data.length !== width * height * channels) {
    throw new RangeError(
      `encodePng() needs ${width}×${height}×${channels} = ${
        width * height * channels
      } bytes, got ${data.length}`,
    );
  }
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const out = y * (stride + 1);
    let best = Infinity;
    for (let filter = 0; filter <= 4; filter++) {
      let sum = 0;
      for (let i = 0; i < stride; i++) {
        const x = data[row + i]!;
        const a = i >= channels ? data[row + i - channels]! : 0;
        const b = y > 0 ? data[row - stride + i]! : 0;
        const c = i >= channels && y > 0
          ? data[row - stride + i - channels]!
          : 0;
        const value = filter === 0
          ? x
          : filter === 1
          ? x - a
          : filter === 2
          ? x - b
          : filter === 3
          ? x - ((a + b) >> 1)
          : x - _paeth(a, b, c);
        const byte = value & 255;
        candidate[i] = byte;
        sum += byte < 128 ? byte : 256 - byte;
      }
      if (sum < best) {
        best = sum;
        raw[out] = filter;
        raw.set(candidate, out + 1);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels];
  const idat = deflateSync(raw, { level });
  const chunks = [
    _chunk("IHDR", ihdr),
    _chunk("IDAT", idat),
    _chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(
    8 + chunks.reduce((total, chunk) => total + chunk.length, 0),
  );
  out.set(PNG_SIGNATURE, 0);
  let at = 8;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function _chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(
    8 + body.length,
    crc32(out.subarray(4, 8 + body.length)) >>> 0,
  );
  return out;
}
