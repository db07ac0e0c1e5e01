/**
 * Protocol lines that track objects: images, distributions and texts
 * (docs/ARCHITECTURE.md, "Objects"). Each line is one point of a sequence
 * (one object, or a list of one kind at one step):
 *
 * ```text
 * {"image": {"data": "<base64 PNG or JPEG>", "caption": "…"}, "name": "samples", "step": 3, "context": {"subset": "val"}}
 * {"image": [{"data": "…"}, {"path": "/tmp/aim-upload-1.png", "remove": true}], "name": "samples", "step": 3}
 * {"distribution": {"counts": [1, 4, 2], "range": [-1, 1]}, "name": "weights", "step": 3}
 * {"distribution": {"counts": [1, 4], "edges": [0, 0.5, 2]}, "name": "weights"}
 * {"distribution": {"samples": [0.1, 0.2, 0.2], "bins": 64}, "name": "weights"}
 * {"text": "a generated sample", "name": "samples", "step": 3}
 * {"text": [{"text": "…", "caption": "prompt 1"}, "…"], "name": "samples"}
 * ```
 *
 * `step`, `epoch`, `time` and `context` are as for `track`. An image comes
 * inline as base64 (within the line's limit of 1 MiB: about 760 KiB of
 * image), or, where the writer shares the program's filesystem (`aim
 * track`, `aim run`), as an absolute `path` to a PNG or JPEG that the
 * writer reads when it reads the line; `"remove": true` hands the file
 * over, and the writer deletes it after reading it (allowed only for files
 * named `aim-upload-*`). A line that cannot be used whole is refused whole.
 *
 * @module
 */

import { basename, isAbsolute } from "node:path";
import { AimError, badRequest } from "../errors.ts";
import type { SequenceKind } from "../types.ts";
import { Image, MAX_IMAGE_BYTES } from "../objects/image.ts";
import {
  DEFAULT_BINS,
  Distribution,
  MAX_BINS,
} from "../objects/distribution.ts";
import { Text } from "../objects/text.ts";
import type { TrackedObject } from "../storage/sequence_writer.ts";

/** Most objects in one line's list. */
export const MAX_LIST = 1024;

/** Files the writer may delete after reading them (`"remove": true`) are named so. */
export const UPLOAD_PREFIX = "aim-upload-";

/** Options of {@linkcode parseObjects}. */
export interface ObjectParseOptions {
  /**
   * Whether an image may name a file to read (`"path"`): only where the
   * writer runs on the tracking program's machine, never for lines from
   * the network. Default false.
   */
  allowPaths?: boolean;
}

/** The key of an object line, or null when `m` holds none. */
export function objectKey(
  m: Record<string, unknown>,
): "image" | "distribution" | "text" | null {
  if ("image" in m) return "image";
  if ("distribution" in m) return "distribution";
  if ("text" in m) return "text";
  return null;
}

/** The sequence kind of each object line key. */
export const KIND_OF_KEY: Record<
  "image" | "distribution" | "text",
  SequenceKind
> = {
  image: "images",
  distribution: "distributions",
  text: "texts",
};

/**
 * The objects of one object line, each checked (an image decoded): throws
 * `AimError` `bad_request` naming the item and what is wrong with it.
 */
export function parseObjects(
  key: "image" | "distribution" | "text",
  value: unknown,
  options: ObjectParseOptions = {},
): TrackedObject[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw badRequest(`"${key}" must not be an empty list`);
  if (list.length > MAX_LIST) {
    throw badRequest(
      `"${key}" holds ${list.length} items, more than the ${MAX_LIST} allowed in one line`,
    );
  }
  const where = (i: number) =>
    Array.isArray(value) ? `"${key}" item ${i}` : `"${key}"`;
  return list.map((item, i) => {
    try {
      switch (key) {
        case "image":
          return _image(item, options);
        case "distribution":
          return _distribution(item);
        case "text":
          return _text(item);
      }
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      throw badRequest(`${where(i)}: ${error.message}`, { cause: error });
    }
  });
}

function _image(item: unknown, options: ObjectParseOptions): Image {
  const m = _object(item, 'an object with "data" (base64) or "path"');
  const caption = _caption(m.caption);
  if (typeof m.data === "string") {
    const bytes = _base64(m.data);
    return new Image(bytes, { caption });
  }
  if (typeof m.path === "string") {
    if (!options.allowPaths) {
      throw badRequest(
        `"path" is not allowed here (the writer does not share the program's files): send the image inline as "data"`,
      );
    }
    return new Image(_readFile(m.path, m.remove === true), { caption });
  }
  throw badRequest(
    `an image needs "data" (the PNG or JPEG as base64) or "path" (a file)`,
  );
}

function _distribution(item: unknown): Distribution {
  const m = _object(
    item,
    'an object with "counts" and "range" or "edges", or "samples"',
  );
  if (m.samples !== undefined) {
    if (!Array.isArray(m.samples)) {
      throw badRequest(`"samples" must be a list of numbers`);
    }
    const bins = m.bins ?? DEFAULT_BINS;
    if (
      typeof bins !== "number" || !Number.isInteger(bins) || bins < 1 ||
      bins > MAX_BINS
    ) {
      throw badRequest(
        `"bins" must be an integer from 1 to ${MAX_BINS}, got ${
          JSON.stringify(bins)
        }`,
      );
    }
    const samples = new Float64Array(m.samples.length);
    m.samples.forEach((sample: unknown, i: number) => {
      if (typeof sample !== "number") {
        throw badRequest(
          `sample ${i} is ${JSON.stringify(sample)}, not a number`,
        );
      }
      samples[i] = sample;
    });
    return Distribution.fromSamples(samples, bins);
  }
  if (!Array.isArray(m.counts)) {
    throw badRequest(
      `a histogram needs "counts" (a list) with "range" or "edges", or "samples"`,
    );
  }
  if (m.edges !== undefined) {
    if (!Array.isArray(m.edges)) throw badRequest(`"edges" must be a list`);
    return new Distribution(m.counts, { edges: m.edges });
  }
  if (!Array.isArray(m.range) || m.range.length !== 2) {
    throw badRequest(
      `a histogram needs "range": [low, high] or "edges", got ${
        JSON.stringify(m.range) ?? "neither"
      }`,
    );
  }
  return new Distribution(m.counts, {
    range: m.range as [number, number],
  });
}

function _text(item: unknown): Text {
  if (typeof item === "string") return new Text(item);
  const m = _object(item, 'a string, or an object with "text"');
  if (typeof m.text !== "string") {
    throw badRequest(`"text" must be a string, got ${_show(m.text)}`);
  }
  return new Text(m.text, { caption: _caption(m.caption) });
}

function _object(item: unknown, what: string): Record<string, unknown> {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw badRequest(`expected ${what}, got ${_show(item)}`);
  }
  return item as Record<string, unknown>;
}

function _caption(caption: unknown): string {
  if (caption === undefined || caption === null) return "";
  if (typeof caption !== "string") {
    throw badRequest(`"caption" must be a string, got ${_show(caption)}`);
  }
  return caption;
}

function _base64(text: string): Uint8Array {
  // Most characters one image may take as base64.
  if (text.length > Math.ceil(MAX_IMAGE_BYTES / 3) * 4) {
    throw badRequest(
      `"data" is longer than an image of ${MAX_IMAGE_BYTES} bytes`,
    );
  }
  try {
    return (Uint8Array as unknown as {
      fromBase64(text: string): Uint8Array;
    }).fromBase64(text);
  } catch (cause) {
    throw badRequest(`"data" is not base64: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Reads a file an image line names; with `remove`, deletes it once read. */
function _readFile(path: string, remove: boolean): Uint8Array {
  if (!isAbsolute(path)) {
    throw badRequest(`"path" must be absolute, got ${JSON.stringify(path)}`);
  }
  if (remove && !basename(path).startsWith(UPLOAD_PREFIX)) {
    throw badRequest(
      `"remove" is allowed only for files named ${UPLOAD_PREFIX}*, not ${
        JSON.stringify(basename(path))
      }`,
    );
  }
  let bytes: Uint8Array;
  try {
    const stat = Deno.statSync(path);
    if (!stat.isFile) throw badRequest(`${path} is not a regular file`);
    if (stat.size > MAX_IMAGE_BYTES) {
      throw badRequest(
        `${path} is ${stat.size} bytes, more than the ${MAX_IMAGE_BYTES} an image may be`,
      );
    }
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof AimError) throw error;
    throw badRequest(
      `cannot read ${path}: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  if (remove) {
    try {
      Deno.removeSync(path);
    } catch {
      // Read already: a file that cannot be removed is only left behind.
    }
  }
  return bytes;
}

function _show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
