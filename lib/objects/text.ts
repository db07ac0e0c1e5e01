/**
 * Texts tracked in a run: generated samples, prompts, predictions
 * (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import { badRequest } from "../errors.ts";
import { checkCaption } from "./image.ts";

/** Longest text stored, in bytes of UTF-8. */
export const MAX_TEXT_BYTES = 1 << 20;

/** Options of {@linkcode Text}. */
export interface TextOptions {
  /** Words shown with the text; default `""`. */
  caption?: string;
}

const _encoder = new TextEncoder();

/**
 * A text to track with `run.track(text, { name, step })` (or a list of
 * them at one step): a string of valid Unicode of at most
 * {@linkcode MAX_TEXT_BYTES} bytes of UTF-8.
 *
 * @example Samples of a language model
 * ```ts
 * import { Text } from "./text.ts";
 *
 * const sample = new Text("The cat sat on the mat.", { caption: "temperature 0.7" });
 * console.log(sample.text.length, sample.caption, sample.bytes.length); // 23 temperature 0.7 23
 * ```
 */
export class Text {
  /** The text. */
  readonly text: string;
  /** Words shown with the text. */
  readonly caption: string;
  /** The text as UTF-8, as stored. */
  readonly bytes: Uint8Array;

  /** A text; throws `AimError` `bad_request` when it is too long or not valid Unicode. */
  constructor(text: string, options: TextOptions = {}) {
    if (typeof text !== "string") {
      throw new TypeError(`Text() needs a string, got ${typeof text}`);
    }
    if (!text.isWellFormed()) {
      throw badRequest(
        "the text holds a lone surrogate: it must be valid Unicode",
      );
    }
    this.caption = checkCaption(options.caption);
    // Over 3 bytes per UTF-16 unit never happens: a cheap test first.
    if (text.length * 3 > MAX_TEXT_BYTES) {
      const length = _encoder.encode(text).length;
      if (length > MAX_TEXT_BYTES) {
        throw badRequest(
          `the text is ${length} bytes of UTF-8, more than the ${MAX_TEXT_BYTES} allowed`,
        );
      }
    }
    this.text = text;
    this.bytes = _encoder.encode(text);
  }
}
