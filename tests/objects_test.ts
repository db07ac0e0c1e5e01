/**
 * The objects a run tracks besides numbers, without I/O: the PNG codec, the
 * JPEG reader, thumbnails, histograms and their rebinning, texts.
 */

import assert from "node:assert/strict";
import { crc32, deflateSync } from "node:zlib";
import {
  decodePng,
  Distribution,
  encodePng,
  Image,
  INDEX_THUMB_EDGE,
  type Pixels,
  PngError,
  readJpegHeader,
  shrink,
  Text,
  THUMB_EDGE,
} from "../lib/objects/mod.ts";
import { AimError } from "../lib/mod.ts";
import { rebin } from "../lib/repo/mod.ts";

/** An 8×8 baseline JPEG and a progressive one (made by PIL). */
const JPEG_BASELINE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwBkfhwAQ2ek6ADkLIb7SNE6dQYyLqT6E/J6YPWiiirSsS3c/9k=";
const JPEG_PROGRESSIVE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wgARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAUAQEAAAAAAAAAAAAAAAAAAAAB/9oADAMBAAIQAxAAAAGQn//EABYQAAMAAAAAAAAAAAAAAAAAAAABBP/aAAgBAQABBQJTn//EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQMBAT8Bf//EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQIBAT8Bf//EABsQAAIBBQAAAAAAAAAAAAAAAAEDAAISImGh/9oACAEBAAY/AhQpG71J5kZ//8QAFxAAAwEAAAAAAAAAAAAAAAAAAIGR8P/aAAgBAQABPyFN51D/2gAMAwEAAgADAAAAEPv/xAAWEQEBAQAAAAAAAAAAAAAAAAABABH/2gAIAQMBAT8QXb//xAAWEQEBAQAAAAAAAAAAAAAAAAABABH/2gAIAQIBAT8QDL//xAAYEAEAAwEAAAAAAAAAAAAAAAABETFxAP/aAAgBAQABPxAQBZEp2KMFzDff/9k=";

function fromBase64(text: string): Uint8Array {
  return (Uint8Array as unknown as { fromBase64(t: string): Uint8Array })
    .fromBase64(text);
}

/** A small seeded generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function randomPixels(
  next: () => number,
  width: number,
  height: number,
  channels: Pixels["channels"],
): Pixels {
  const data = new Uint8Array(width * height * channels);
  // Smooth areas and noise both, so every filter gets chosen somewhere.
  for (let i = 0; i < data.length; i++) {
    data[i] = next() < 0.5 ? (i * 7) & 255 : Math.floor(next() * 256);
  }
  return { width, height, channels, data };
}

/** A PNG chunk, for hand-made files. */
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * A hand-made PNG: RGB at 8 bits, `interlaced` with Adam7 (no filter on
 * any row), so the decoder's interlacing is checked against an encoder
 * that is not its own.
 */
function handMadePng(pixels: Pixels, interlaced: boolean): Uint8Array {
  const { width, height, data } = pixels;
  const passes = interlaced
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [
      1,
      0,
      2,
      2,
    ], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0!; y < height; y += dy!) {
      const row: number[] = [];
      for (let x = x0!; x < width; x += dx!) {
        for (let c = 0; c < 3; c++) row.push(data[(y * width + x) * 3 + c]!);
      }
      if (row.length > 0) raw.push(0, ...row);
    }
  }
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, interlaced ? 1 : 0], 8);
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(new Uint8Array(raw))),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

Deno.test("encodePng() and decodePng() round-trip pixels of every channel count and many sizes", () => {
  const next = random(14);
  for (let i = 0; i < 60; i++) {
    const channels = ([1, 2, 3, 4] as const)[i % 4]!;
    const width = 1 + Math.floor(next() * 40);
    const height = 1 + Math.floor(next() * 40);
    const pixels = randomPixels(next, width, height, channels);
    const back = decodePng(encodePng(pixels));
    assert.deepEqual(
      [back.width, back.height, back.channels],
      [width, height, channels],
    );
    assert.deepEqual(back.data, pixels.data, `${width}×${height}×${channels}`);
  }
});

Deno.test("decodePng() reads Adam7-interlaced PNGs as the same pixels as plain ones", () => {
  const next = random(7);
  for (const [width, height] of [[1, 1], [3, 5], [8, 8], [13, 9], [33, 17]]) {
    const pixels = randomPixels(next, width!, height!, 3);
    const plain = decodePng(handMadePng(pixels, false));
    const interlaced = decodePng(handMadePng(pixels, true));
    assert.deepEqual(plain.data, pixels.data);
    assert.deepEqual(interlaced.data, pixels.data, `${width}×${height}`);
  }
});

Deno.test("decodePng() refuses a damaged PNG, saying what is wrong", () => {
  const png = encodePng(randomPixels(random(3), 20, 10, 3));
  const cases: [string, Uint8Array, RegExp][] = [
    ["not a PNG", new Uint8Array([1, 2, 3]), /PNG signature/],
    ["truncated", png.subarray(0, png.length - 20), /truncated/],
    [
      "a flipped byte in the data",
      (() => {
        const copy = png.slice();
        copy[50] = copy[50]! ^ 0xff;
        return copy;
      })(),
      /fails its checksum/,
    ],
    [
      "too many pixels",
      png,
      /more than the 100 allowed/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => decodePng(bytes, what === "too many pixels" ? 100 : undefined),
      (error: Error) =>
        error instanceof PngError && message.test(error.message),
      what,
    );
  }
  // A row whose filter byte is not 0 to 4.
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 2);
  new DataView(ihdr.buffer).setUint32(4, 1);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const badFilter = concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(new Uint8Array([9, 1, 2]))),
    chunk("IEND", new Uint8Array(0)),
  ]);
  assert.throws(() => decodePng(badFilter), /filter type 9/);
  const short = concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(new Uint8Array([0, 1]))),
    chunk("IEND", new Uint8Array(0)),
  ]);
  assert.throws(() => decodePng(short), /holds 2 bytes, 3 expected/);
});

Deno.test("readJpegHeader() reads baseline and progressive JPEGs and refuses truncated ones", () => {
  for (
    const [text, progressive] of [[JPEG_BASELINE, false], [
      JPEG_PROGRESSIVE,
      true,
    ]] as const
  ) {
    const bytes = fromBase64(text);
    assert.deepEqual(readJpegHeader(bytes), {
      width: 8,
      height: 8,
      components: 3,
      progressive,
    });
    assert.throws(
      () => readJpegHeader(bytes.subarray(0, bytes.length - 2)),
      /before its end-of-image marker/,
    );
    assert.throws(() => readJpegHeader(bytes.subarray(0, 30)), /truncated/);
  }
});

Deno.test("an Image checks its bytes: PNGs decoded, JPEGs read, anything else refused with what it starts with", () => {
  const png = encodePng(randomPixels(random(5), 300, 150, 3));
  const image = new Image(png, { caption: "a sample" });
  assert.deepEqual(
    [image.format, image.width, image.height, image.caption],
    ["png", 300, 150, "a sample"],
  );
  const thumb = decodePng(image.thumbnail!);
  assert.deepEqual([thumb.width, thumb.height], [THUMB_EDGE, 64]);
  const index = decodePng(image.indexThumbnail()!);
  assert.deepEqual([index.width, index.height], [INDEX_THUMB_EDGE, 32]);

  const jpeg = new Image(fromBase64(JPEG_BASELINE));
  assert.deepEqual([jpeg.format, jpeg.width, jpeg.height], ["jpeg", 8, 8]);
  assert.equal(jpeg.thumbnail, null, "JPEGs are never resized");
  assert.equal(jpeg.indexThumbnail(), jpeg.bytes, "a small JPEG is its own");

  const refused = (bytes: Uint8Array, message: RegExp) =>
    assert.throws(
      () => new Image(bytes),
      (error: Error) =>
        error instanceof AimError && error.code === "bad_request" &&
        message.test(error.message),
    );
  refused(
    new TextEncoder().encode("GIF89a..."),
    /not a PNG or a JPEG \(they start with 47 49 46 38/,
  );
  refused(png.subarray(0, 100), /the PNG cannot be decoded: .*truncated/);
  refused(
    fromBase64(JPEG_BASELINE).subarray(0, 300),
    /the JPEG cannot be read/,
  );
  assert.throws(() => new Image("png" as unknown as Uint8Array), TypeError);
  assert.throws(
    () => new Image(png, { caption: "x".repeat(5000) }),
    /caption is 5000 characters/,
  );
});

Deno.test("shrink() keeps the aspect and each area's mean", () => {
  const width = 300, height = 200;
  const data = new Uint8Array(width * height);
  // Left half black, right half white.
  for (let y = 0; y < height; y++) {
    data.fill(255, y * width + 150, (y + 1) * width);
  }
  const small = shrink({ width, height, channels: 1, data }, 60);
  assert.deepEqual([small.width, small.height], [60, 40]);
  assert.equal(small.data[0], 0);
  assert.equal(small.data[59], 255);
  const mean = small.data.reduce((a, b) => a + b, 0) / small.data.length;
  assert.ok(Math.abs(mean - 127.5) < 1, `mean ${mean}`);
  const same = {
    width: 10,
    height: 10,
    channels: 1 as const,
    data: new Uint8Array(100),
  };
  assert.equal(shrink(same, 60), same);
});

Deno.test("Distribution.fromSamples() bins finite samples over their range; bad histograms are refused naming the bin", () => {
  const samples = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, NaN, Infinity];
  const d = Distribution.fromSamples(samples, 5);
  assert.deepEqual([...d.counts], [2, 2, 2, 2, 2]);
  assert.deepEqual([d.low, d.high, d.total, d.uniform], [0, 9, 10, true]);
  const one = Distribution.fromSamples([3, 3, 3], 4);
  assert.deepEqual([one.low, one.high, one.total], [2.5, 3.5, 3]);
  assert.deepEqual(
    Distribution.fromSamples([], 2).edges,
    new Float64Array([0, 0.5, 1]),
  );
  const edges = new Distribution([1, 2], { edges: [0, 0.5, 3] });
  assert.deepEqual([edges.uniform, edges.high], [false, 3]);
  const refused: [() => unknown, RegExp][] = [
    [
      () => new Distribution([1, -1], { range: [0, 1] }),
      /count 1 of the histogram is -1/,
    ],
    [
      () => new Distribution([1, NaN], { range: [0, 1] }),
      /count 1 of the histogram is null/,
    ],
    [() => new Distribution([1], { range: [1, 1] }), /low < high/],
    [() => new Distribution([1, 2], { edges: [0, 1] }), /needs 3 edges, got 2/],
    [
      () => new Distribution([1, 2], { edges: [0, 2, 1] }),
      /edge 2 .* is not above edge 1/,
    ],
    [() => new Distribution([], { range: [0, 1] }), /1 to 4096 bins, got 0/],
  ];
  for (const [make, message] of refused) {
    assert.throws(
      make,
      (e: Error) => e instanceof AimError && message.test(e.message),
    );
  }
});

Deno.test("rebin() keeps every histogram's total and puts its mass where its bins are", () => {
  const next = random(11);
  for (let i = 0; i < 200; i++) {
    const n = 1 + Math.floor(next() * 20);
    const edges = [next() * 10 - 5];
    for (let j = 0; j < n; j++) edges.push(edges[j]! + 0.01 + next());
    const counts = Array.from({ length: n }, () => Math.floor(next() * 100));
    const low = edges[0]! - next() * 3, high = edges[n]! + next() * 3;
    const bins = 1 + Math.floor(next() * 50);
    const out = rebin(counts, edges, low, high, bins);
    const total = counts.reduce((a, b) => a + b, 0);
    const got = out.reduce((a, b) => a + b, 0);
    assert.ok(
      Math.abs(got - total) < 1e-6 * Math.max(1, total),
      `${got} vs ${total}`,
    );
  }
  // One bin over [2, 4) on 0..8 in 4 columns lands in columns 1 (2..4).
  assert.deepEqual(rebin([10], [2, 4], 0, 8, 4), [0, 10, 0, 0]);
  assert.deepEqual(rebin([10], [1, 3], 0, 8, 4), [5, 5, 0, 0]);
});

Deno.test("a Text is valid Unicode of at most 1 MiB of UTF-8", () => {
  const text = new Text("héllo", { caption: "c" });
  assert.deepEqual([text.bytes.length, text.caption], [6, "c"]);
  assert.throws(() => new Text("\ud800"), /lone surrogate/);
  assert.throws(
    () => new Text("é".repeat(600_000)),
    /1200000 bytes of UTF-8, more than the 1048576/,
  );
  assert.throws(() => new Text(3 as unknown as string), TypeError);
});

Deno.test("a histogram of samples spanning the whole range of doubles has finite, increasing edges", () => {
  const d = Distribution.fromSamples([-1.7e308, 0, 1.7e308], 4);
  assert.ok(d.edges.every(Number.isFinite));
  assert.ok(d.edges.every((e, i) => i === 0 || e > d.edges[i - 1]!));
  assert.deepEqual([...d.counts], [1, 0, 1, 1]);
});
