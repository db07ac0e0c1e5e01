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
    for (const key of ["step", "epoch", "time"] as const) {
      if (m[key] === undefined || m[key] === null) continue;
      if (typeof m[key] !== "number") {
        throw new TypeError(
          `"${key}" must be a number, got ${JSON.stringify(m[key])}`,
        );
      }
      message[key] = m[key];
    }
    if (m.context !== undefined && m.context !== null) {
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
    case "track": {
      const { value, name, step, epoch, context, time } = message;
      run.track(value, {
        name,
        ...(step !== undefined ? { step } : {}),
        ...(epoch !== undefined ? { epoch } : {}),
        ...(context !== undefined ? { context } : {}),
        ...(time !== undefined ? { time } : {}),
      });
      return;
    }
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
