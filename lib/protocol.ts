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
 *
 * @module
 */

import { decodeJson } from "./_json.ts";
import type { Run } from "./run_writer.ts";
import type { Context, ParamValue } from "./types.ts";

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
  | { type: "log"; text: string; level: string }
  | { type: "close" };

/** Longest accepted line, in characters. */
export const MAX_LINE = 1 << 20;

const NON_FINITE = new Map([["NaN", NaN], ["Infinity", Infinity], [
  "-Infinity",
  -Infinity,
]]);

/** Parses one line; throws `SyntaxError` or `TypeError` saying what is wrong. */
export function parseMessage(line: string): Message {
  if (line.length > MAX_LINE) {
    throw new RangeError(
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
    throw new TypeError("expected a JSON object");
  }
  const m = data as Record<string, unknown>;
  if ("track" in m) {
    const value = typeof m.track === "string"
      ? NON_FINITE.get(m.track)
      : m.track;
    if (typeof value !== "number") {
      throw new TypeError(
        `"track" must be a number, got ${JSON.stringify(m.track)}`,
      );
    }
    if (typeof m.name !== "string" || m.name === "") {
      throw new TypeError(`"name" must be a non-empty string`);
    }
    const message: Message = { type: "track", value, name: m.name };
    // Unrolled rather than looped over the keys: this runs once per point.
    if (m.step != null) message.step = _number(m, "step");
    if (m.epoch != null) message.epoch = _number(m, "epoch");
    if (m.time != null) message.time = _number(m, "time");
    if (m.context != null) {
      if (typeof m.context !== "object" || Array.isArray(m.context)) {
        throw new TypeError(`"context" must be an object`);
      }
      message.context = m.context as Context;
    }
    return message;
  }
  if ("set" in m) {
    if (typeof m.set !== "string" || m.set === "") {
      throw new TypeError(`"set" must be a non-empty parameter name`);
    }
    if (!("value" in m)) throw new TypeError(`"set" needs a "value"`);
    return { type: "set", key: m.set, value: m.value as ParamValue };
  }
  if ("tag" in m) {
    if (typeof m.tag !== "string" || m.tag === "") {
      throw new TypeError(`"tag" must be a non-empty string`);
    }
    return { type: "tag", tag: m.tag };
  }
  if ("meta" in m) {
    const meta = m.meta as Record<string, unknown>;
    if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
      throw new TypeError(`"meta" must be an object`);
    }
    const out: Message = { type: "meta" };
    for (const key of ["name", "experiment", "description"] as const) {
      if (meta[key] === undefined) continue;
      if (typeof meta[key] !== "string") {
        throw new TypeError(`"meta.${key}" must be a string`);
      }
      out[key] = meta[key];
    }
    return out;
  }
  if ("log" in m) {
    return {
      type: "log",
      text: String(m.log),
      level: typeof m.level === "string" ? m.level : "info",
    };
  }
  if ("close" in m) return { type: "close" };
  throw new TypeError(
    `unknown message: expected one of track, set, tag, meta, log, close`,
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
      return run.log(message.text, message.level);
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
}

/**
 * Feeds a run from a byte stream of protocol lines, chunk by chunk, with
 * bounded memory: a line longer than {@linkcode MAX_LINE} is skipped as
 * malformed without being held. Malformed lines are logged in the run as
 * warnings and skipped; they never stop the input.
 */
export class Ingester {
  #run: Run;
  #stopAtClose: boolean;
  #onMalformed: IngestOptions["onMalformed"];
  #onError: IngestOptions["onError"];
  #decoder = new TextDecoder();
  #buffer = "";
  /** Characters of an over-long line dropped so far, or -1 when not in one. */
  #skipping = -1;
  /** The start of the over-long line being skipped, for its report. */
  #firstOfLong = "";
  #summary: IngestSummary = { lines: 0, malformed: 0, closed: false };

  constructor(run: Run, options: IngestOptions = {}) {
    this.#run = run;
    this.#stopAtClose = options.stopAtClose ?? true;
    this.#onMalformed = options.onMalformed;
    this.#onError = options.onError;
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
    let buffer = this.#buffer + text;
    let start = 0;
    let newline;
    while ((newline = buffer.indexOf("\n", start)) >= 0) {
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
    buffer = start === 0 ? buffer : buffer.slice(start);
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
    this.#malformed(
      new RangeError(
        `line is ${this.#skipping} characters long, more than ${MAX_LINE}`,
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
      const message = parseMessage(line);
      if (message.type === "close") {
        this.#summary.closed = true;
        return;
      }
      applyMessage(this.#run, message);
    } catch (error) {
      if (
        error instanceof TypeError || error instanceof SyntaxError ||
        error instanceof RangeError
      ) this.#malformed(error, line);
      else if (this.#onError) this.#onError(error);
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

function _number(m: Record<string, unknown>, key: string): number {
  const value = m[key];
  if (typeof value !== "number") {
    throw new TypeError(
      `"${key}" must be a number, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** JSON with Python's bare NaN / Infinity / -Infinity tokens outside strings. */
function _parseWithBareNonFinite(line: string): unknown {
  const rewritten = line.replace(
    /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g,
    (token) => token.startsWith('"') ? token : `{"$f":"${token}"}`,
  );
  try {
    return decodeJson(rewritten);
  } catch (error) {
    throw new SyntaxError(`not valid JSON: ${(error as Error).message}`);
  }
}
