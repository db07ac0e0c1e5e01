/**
 * The tracking protocol: one JSON object per line, written by any language
 * to `aim track`'s standard input (or `aim run`'s tracking pipe).
 *
 * ```text
 * {"track": 0.25, "name": "loss", "step": 10, "epoch": 1, "context": {"subset": "train"}}
 * {"set": "hparams", "value": {"lr": 0.01}}
 * {"tag": "best"}
 * {"meta": {"name": "…", "experiment": "…", "description": "…"}}
 * {"log": "text", "level": "info"}
 * {"close": true}
 * ```
 * Bare `NaN`, `Infinity`, `-Infinity` (as Python's `json.dumps` writes them)
 * and the strings `"NaN"`, `"Infinity"`, `"-Infinity"` are accepted as numbers.
 * Images, distributions and texts have lines of their own
 * (`object_messages.ts`).
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type { Context, ParamValue } from "../types.ts";
import { decodeJson, encodeJson } from "../util/json.ts";
import type { Run } from "../storage/run_writer.ts";
import { MAX_TIME } from "../storage/run_file.ts";
import type { TrackedObject } from "../storage/sequence_writer.ts";
import type { SequenceKind } from "../types.ts";
import {
  KIND_OF_KEY,
  objectKey,
  type ObjectParseOptions,
  parseObjects,
} from "./object_messages.ts";

/** One parsed protocol line. */
export type Message =
  | {
    type: "track";
    value: number;
    name: string;
    step?: number;
    epoch?: number;
    context?: Context;
    time?: number;
  }
  | { type: "set"; key: string; value: ParamValue }
  | { type: "tag"; tag: string }
  | { type: "meta"; name?: string; experiment?: string; description?: string }
  | { type: "log"; text: string; level: string; time?: number }
  | { type: "close" }
  | {
    type: "object";
    kind: SequenceKind;
    objects: TrackedObject[];
    name: string;
    step?: number;
    epoch?: number;
    context?: Context;
    time?: number;
  };

/** Longest accepted line, in characters. */
export const MAX_LINE = 1 << 20;

const NON_FINITE = new Map([["NaN", NaN], ["Infinity", Infinity], [
  "-Infinity",
  -Infinity,
]]);

/**
 * Parses one line, checking everything the run will need, so that a line
 * is applied whole or refused whole. Throws `AimError` `bad_request` saying
 * what is wrong.
 *
 * @example Check a line before applying it
 * ```ts
 * import { parseMessage } from "./protocol.ts";
 *
 * console.log(parseMessage('{"track": Infinity, "name": "grad_norm"}'));
 * // { type: "track", value: Infinity, name: "grad_norm" }
 * try {
 *   parseMessage('{"track": 1, "name": "loss", "step": 1.5}');
 * } catch (error) {
 *   console.log((error as Error).message); // "step" must be an integer, got 1.5
 * }
 * ```
 */
export function parseMessage(
  line: string,
  options: ObjectParseOptions = {},
): Message {
  if (line.length > MAX_LINE) {
    throw badRequest(
      `line is ${line.length} characters long, more than ${MAX_LINE}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    data = _parseWithBareNonFinite(line);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw badRequest("expected a JSON object");
  }
  const m = data as Record<string, unknown>;
  if ("track" in m) {
    const value = typeof m.track === "string"
      ? NON_FINITE.get(m.track)
      : m.track;
    if (typeof value !== "number") {
      throw badRequest(
        `"track" must be a number, got ${_show(m.track)}`,
      );
    }
    const message: Message = {
      type: "track",
      value,
      name: _name(m.name, '"name"'),
    };
    // Unrolled rather than looped over the keys: this runs once per point.
    if (m.step != null) message.step = _integer(m, "step");
    if (m.epoch != null) message.epoch = _integer(m, "epoch");
    if (m.time != null) message.time = _time(m.time);
    if (m.context != null) message.context = _context(m.context);
    return message;
  }
  if ("set" in m) {
    const key = _name(m.set, '"set" (the parameter name)');
    if (!("value" in m)) throw badRequest(`"set" needs a "value"`);
    try {
      encodeJson(m.value);
    } catch (cause) {
      throw badRequest(
        `"value" of parameter ${JSON.stringify(key)} cannot be stored: ${
          (cause as Error).message
        }`,
      );
    }
    return { type: "set", key, value: m.value as ParamValue };
  }
  if ("tag" in m) return { type: "tag", tag: _name(m.tag, '"tag"') };
  if ("meta" in m) {
    const meta = m.meta as Record<string, unknown>;
    if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
      throw badRequest(`"meta" must be an object`);
    }
    const out: Message = { type: "meta" };
    for (const key of ["name", "experiment", "description"] as const) {
      if (meta[key] === undefined) continue;
      if (typeof meta[key] !== "string" || !meta[key].isWellFormed()) {
        throw badRequest(`"meta.${key}" must be a string of valid Unicode`);
      }
      out[key] = meta[key];
    }
    return out;
  }
  if ("log" in m) {
    const out: Message = {
      type: "log",
      text: typeof m.log === "string" ? m.log.toWellFormed() : String(m.log),
      level: typeof m.level === "string" ? m.level.toWellFormed() : "info",
    };
    if (m.time != null) out.time = _time(m.time);
    return out;
  }
  if ("close" in m) return { type: "close" };
  const key = objectKey(m);
  if (key !== null) {
    const message: Message = {
      type: "object",
      kind: KIND_OF_KEY[key],
      name: _name(m.name, '"name"'),
      objects: [],
    };
    if (m.step != null) message.step = _integer(m, "step");
    if (m.epoch != null) message.epoch = _integer(m, "epoch");
    if (m.time != null) message.time = _time(m.time);
    if (m.context != null) message.context = _context(m.context);
    // Last: an image may be a file that is deleted once read.
    message.objects = parseObjects(key, m[key], options);
    return message;
  }
  throw badRequest(
    `unknown message: expected one of track, set, tag, meta, log, close, image, distribution, text`,
  );
}

/** Applies a message to an open run (a `close` is the caller's to handle). */
export function applyMessage(run: Run, message: Message): void {
  switch (message.type) {
    case "track":
      // The message has every field of TrackOptions: passed as is, no copy per point.
      return run.track(message.value, message);
    case "set":
      return run.set(message.key, message.value);
    case "tag":
      return run.addTag(message.tag);
    case "meta":
      if (message.name !== undefined) run.name = message.name;
      if (message.experiment !== undefined) run.experiment = message.experiment;
      if (message.description !== undefined) {
        run.description = message.description;
      }
      return;
    case "log":
      return run.log(message.text, message.level, message.time);
    case "object":
      return run.track(message.objects, message);
    case "close":
      return;
  }
}

/** What {@linkcode Ingester} read from a stream. */
export interface IngestSummary {
  /** Lines read, blank ones included. */
  lines: number;
  /** Lines skipped as malformed (each one is in the run's log as a warning). */
  malformed: number;
  /** Whether a `{"close": true}` line was read. */
  closed: boolean;
}

/** Options of {@linkcode Ingester}. */
export interface IngestOptions {
  /**
   * Whether a `close` message ends the input (default true, as for
   * `aim track`). `aim run` keeps reading: its child's exit ends the run.
   */
  stopAtClose?: boolean;
  /**
   * Called for every malformed line, after it is logged in the run, with
   * what and where (`line 3: "track" must be a number, got "abc": …`) and
   * the count so far.
   */
  onMalformed?: (description: string, count: number) => void;
  /**
   * Called when a well-formed line cannot be stored (the run's disk write
   * failed); reading goes on. Without it the error is thrown from
   * {@linkcode Ingester.push}, and the ingester must not be used again.
   */
  onError?: (error: unknown) => void;
  /**
   * Whether an image line may name a file for the writer to read (see
   * `object_messages.ts`): for `aim track` and `aim run`, whose writer
   * shares the program's machine; never for lines from the network.
   * Default false.
   */
  allowPaths?: boolean;
}

/**
 * Feeds a run from a byte stream of protocol lines, chunk by chunk, with
 * bounded memory: a line longer than {@linkcode MAX_LINE} is skipped as
 * malformed without being held. Malformed lines are logged in the run as
 * warnings and skipped; they never stop the input.
 *
 * @example Feed a run from any program's output
 * ```ts
 * import { Ingester } from "./protocol.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "from-python" });
 * const ingester = new Ingester(run);
 * const bytes = new TextEncoder().encode([
 *   '{"set": "hparams", "value": {"lr": 0.01}}',
 *   '{"track": 0.5, "name": "loss", "step": 1}',
 *   '{"track": NaN, "name": "loss", "step": 2}',
 *   "not json",
 *   '{"close": true}',
 *   "",
 * ].join("\n"));
 * // Chunks may cut lines anywhere, as reads from a pipe do.
 * ingester.push(bytes.subarray(0, 50));
 * ingester.push(bytes.subarray(50));
 * console.log(ingester.end()); // { lines: 5, malformed: 1, closed: true }
 * await run.close(); // the caller's: a close line only ends the input
 * console.log(repo.index().get(run.hash)?.metrics[0]?.count); // 2
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Ingester {
  #run: Run;
  #stopAtClose: boolean;
  #onMalformed: IngestOptions["onMalformed"];
  #onError: IngestOptions["onError"];
  #parse: ObjectParseOptions;
  #decoder = new TextDecoder();
  #buffer = "";
  /** Characters of an over-long line dropped so far, or -1 when not in one. */
  #skipping = -1;
  /** The start of the over-long line being skipped, for its report. */
  #firstOfLong = "";
  #summary: IngestSummary = { lines: 0, malformed: 0, closed: false };

  /** Feeds `run`, which stays the caller's to close (a `close` line only ends the input). */
  constructor(run: Run, options: IngestOptions = {}) {
    this.#run = run;
    this.#stopAtClose = options.stopAtClose ?? true;
    this.#onMalformed = options.onMalformed;
    this.#onError = options.onError;
    this.#parse = { allowPaths: options.allowPaths ?? false };
  }

  /** Whether input should stop: a close message was read and stops it. */
  get done(): boolean {
    return this.#stopAtClose && this.#summary.closed;
  }

  /** Counts so far. */
  get summary(): IngestSummary {
    return { ...this.#summary };
  }

  /** Reads one chunk; returns false once a close message ended the input. */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    this.#text(this.#decoder.decode(chunk, { stream: true }));
    return !this.done;
  }

  /** Ends the input: a last line without a newline is read too. */
  end(): IngestSummary {
    if (!this.done) {
      this.#text(this.#decoder.decode());
      if (this.#skipping >= 0) this.#tooLong();
      else if (this.#buffer !== "" && !this.done) this.#line(this.#buffer);
    }
    this.#buffer = "";
    return this.summary;
  }

  #text(text: string) {
    // Only the new text can hold the next newline: a line that arrives in
    // many small chunks is scanned once, not once per chunk.
    const first = text.indexOf("\n");
    if (first < 0) {
      this.#hold(this.#buffer + text);
      return;
    }
    const buffer = this.#buffer + text;
    let start = 0;
    let newline = this.#buffer.length + first;
    for (; newline >= 0; newline = buffer.indexOf("\n", start)) {
      if (this.#skipping >= 0) {
        this.#skipping += newline - start;
        this.#tooLong();
      } else this.#line(buffer.slice(start, newline));
      start = newline + 1;
      if (this.done) {
        this.#buffer = "";
        return;
      }
    }
    this.#hold(start === 0 ? buffer : buffer.slice(start));
  }

  /** Keeps the start of a line until its newline comes, or skips it when too long. */
  #hold(buffer: string) {
    if (this.#skipping >= 0) {
      this.#skipping += buffer.length;
      buffer = "";
    } else if (buffer.length > MAX_LINE) {
      // An endless line is dropped as it comes, never held in memory.
      this.#skipping = buffer.length;
      this.#firstOfLong = buffer.slice(0, 200);
      buffer = "";
    }
    this.#buffer = buffer;
  }

  #tooLong() {
    this.#summary.lines++;
    // An image is the likeliest reason for a long line: say what to do.
    const hint = /^\s*\{\s*"image"/.test(this.#firstOfLong)
      ? ` (a line holds about 760 KiB of image as base64: give a larger image as a file, "path")`
      : "";
    this.#malformed(
      badRequest(
        `line is ${this.#skipping} characters long, more than ${MAX_LINE}${hint}`,
      ),
      this.#firstOfLong,
    );
    this.#skipping = -1;
    this.#firstOfLong = "";
  }

  #line(line: string) {
    this.#summary.lines++;
    // Blank lines (and a lone CR) are allowed; JSON.parse skips a trailing CR itself.
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "")) {
      return;
    }
    try {
      const message = parseMessage(line, this.#parse);
      if (message.type === "close") {
        this.#summary.closed = true;
        return;
      }
      applyMessage(this.#run, message);
    } catch (error) {
      if (error instanceof AimError && error.code === "bad_request") {
        this.#malformed(error, line);
      } else if (this.#onError) this.#onError(error);
      else throw error;
    }
  }

  #malformed(error: Error, line: string) {
    const count = ++this.#summary.malformed;
    const text = `line ${this.#summary.lines}: ${error.message}: ${
      line.slice(0, 200)
    }`;
    try {
      this.#run.log(`malformed tracking line skipped: ${text}`, "warning");
    } catch (logError) {
      if (this.#onError) this.#onError(logError);
      else throw logError;
    }
    this.#onMalformed?.(text, count);
  }
}

function _integer(m: Record<string, unknown>, key: string): number {
  const value = m[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw badRequest(`"${key}" must be an integer, got ${_show(value)}`);
  }
  return value;
}

function _time(value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_TIME)) {
    throw badRequest(
      `"time" must be seconds since the epoch, from 0 to ${MAX_TIME} (the end of year 9999), got ${
        _show(value)
      }`,
    );
  }
  return value;
}

/** A non-empty string of valid Unicode (a lone surrogate would collide with another in storage). */
function _name(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw badRequest(`${what} must be a non-empty string`);
  }
  if (!value.isWellFormed()) {
    throw badRequest(
      `${what} ${
        JSON.stringify(value.slice(0, 80))
      } holds a lone surrogate: names must be valid Unicode`,
    );
  }
  return value;
}

function _context(value: unknown): Context {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`"context" must be an object, got ${_show(value)}`);
  }
  // The usual flat context of strings, numbers and booleans needs no more
  // checking (JSON.parse made it): this runs once per point.
  let flat = true;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === "object") {
      flat = false;
      break;
    }
  }
  if (flat) return value as Context;
  try {
    encodeJson(value);
  } catch (cause) {
    throw badRequest(
      `"context" cannot be stored: ${(cause as Error).message}`,
    );
  }
  return value as Context;
}

function _show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * JSON with Python's bare NaN / Infinity / -Infinity tokens outside
 * strings, rewritten in one pass over the line (linear in its length,
 * whatever it holds: an unclosed string included).
 */
function _parseWithBareNonFinite(line: string): unknown {
  let out = "";
  let copied = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    for (const token of _BARE) {
      if (line.startsWith(token, i)) {
        out += line.slice(copied, i) + `{"$f":"${token}"}`;
        i += token.length - 1;
        copied = i + 1;
        break;
      }
    }
  }
  const rewritten = copied === 0 ? line : out + line.slice(copied);
  try {
    return decodeJson(rewritten);
  } catch (error) {
    throw badRequest(`not valid JSON: ${(error as Error).message}`);
  }
}

const _BARE = ["-Infinity", "Infinity", "NaN"];
