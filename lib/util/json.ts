/**
 * JSON that keeps NaN and ±Infinity: a non-finite number is written as
 * `{"$f":"NaN"}`, `{"$f":"Infinity"}` or `{"$f":"-Infinity"}`. Its canonical
 * form ({@linkcode canonicalJson}) is how contexts and list params are
 * stored and compared everywhere.
 *
 * @module
 */

const NON_FINITE_KEY = "$f";

/**
 * Serializes `value`, keeping non-finite numbers; throws `TypeError` for non-JSON values.
 *
 * @example NaN and infinities survive
 * ```ts
 * import { decodeJson, encodeJson } from "./json.ts";
 *
 * const text = encodeJson({ loss: NaN, best: -Infinity });
 * console.log(text); // {"loss":{"$f":"NaN"},"best":{"$f":"-Infinity"}}
 * console.log(decodeJson(text)); // { loss: NaN, best: -Infinity }
 * ```
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(_prepare(value, 0));
}

/**
 * The one canonical text of a value: keys sorted by UTF-16 code unit at every
 * level (integer-like keys too, unlike a rebuilt JS object), no spaces,
 * non-finite numbers as `{"$f":…}`. Contexts and list params are stored and
 * compared in this form, by the writer, the index and queries alike.
 *
 * @example Key order does not matter
 * ```ts
 * import { canonicalJson } from "./json.ts";
 *
 * console.log(canonicalJson({ subset: "train", fold: 2 }) === canonicalJson({ fold: 2, subset: "train" })); // true
 * console.log(canonicalJson({ b: [1, NaN], a: { d: true, c: null } }));
 * // {"a":{"c":null,"d":true},"b":[1,{"$f":"NaN"}]}
 * ```
 */
export function canonicalJson(value: unknown): string {
  // Validates first, so that canonical text is only ever made of storable values.
  _prepare(value, 0);
  return _canonical(value);
}

function _canonical(value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isFinite(value)) return JSON.stringify(value);
      return `{"${NON_FINITE_KEY}":"${
        Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
      }"}`;
    case "string":
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(_canonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined)
    .sort();
  return `{${
    keys.map((k) => `${JSON.stringify(k)}:${_canonical(record[k])}`).join(",")
  }}`;
}

/** Parses text written by {@linkcode encodeJson}. */
export function decodeJson(text: string): unknown {
  // A reviver makes JSON.parse several times slower: use it only when needed.
  if (!text.includes(`"${NON_FINITE_KEY}"`)) return JSON.parse(text);
  return JSON.parse(text, (_key, value) => {
    if (
      value !== null && typeof value === "object" && !Array.isArray(value)
    ) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === NON_FINITE_KEY) {
        const tag = value[NON_FINITE_KEY];
        if (tag === "NaN") return NaN;
        if (tag === "Infinity") return Infinity;
        if (tag === "-Infinity") return -Infinity;
      }
    }
    return value;
  });
}

const MAX_DEPTH = 100;

function _prepare(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) {
    throw new RangeError(
      `Cannot store a value nested deeper than ${MAX_DEPTH} levels`,
    );
  }
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    return { [NON_FINITE_KEY]: String(value) };
  }
  if (
    value === null || typeof value === "string" || typeof value === "boolean"
  ) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item) => _prepare(item, depth + 1));
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `Cannot store a ${
          proto?.constructor?.name ?? "object"
        }: only plain objects, arrays, strings, numbers, booleans and null are allowed`,
      );
    }
    // A null prototype keeps a key called "__proto__" an ordinary key.
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      out[key] = _prepare(item, depth + 1);
    }
    return out;
  }
  throw new TypeError(
    `Cannot store a value of type ${typeof value}: only plain objects, arrays, strings, numbers, booleans and null are allowed`,
  );
}

/**
 * The canonical key of a series context ({@linkcode canonicalJson} of it),
 * with a fast path for the usual small flat context of strings, finite
 * numbers and booleans, which is computed on every tracked point.
 *
 * @throws {TypeError} when `context` is not a plain object.
 */
export function contextKey(context: unknown): string {
  if (
    context === null || typeof context !== "object" || Array.isArray(context)
  ) {
    throw new TypeError(
      `A context must be a plain object, got ${
        Array.isArray(context) ? "an array" : String(context)
      }`,
    );
  }
  if (Object.getPrototypeOf(context) !== Object.prototype) {
    return canonicalJson(context);
  }
  const record = context as Record<string, unknown>;
  let names: string[] | null = null;
  let count = 0;
  for (const name in record) {
    if (count++ === 0) names = [name];
    else names!.push(name);
  }
  if (names === null) return "{}";
  if (count > 1) names.sort();
  let key = "{";
  for (let i = 0; i < count; i++) {
    const name = names[i]!;
    const value = record[name];
    let text: string;
    if (typeof value === "string") text = _quote(value);
    else if (
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value))
    ) {
      text = String(value);
    } else return canonicalJson(context);
    key += (i ? "," : "") + _quote(name) + ":" + text;
  }
  return key + "}";
}

const _quoted = new Map<string, string>();

/** JSON.stringify of a string, remembered: contexts repeat the same few words. */
function _quote(text: string): string {
  let quoted = _quoted.get(text);
  if (quoted === undefined) {
    quoted = JSON.stringify(text);
    if (_quoted.size >= 4096) _quoted.clear();
    _quoted.set(text, quoted);
  }
  return quoted;
}
