/**
 * JSON that keeps NaN and ±Infinity: a non-finite number is written as
 * `{"$f":"NaN"}`, `{"$f":"Infinity"}` or `{"$f":"-Infinity"}`.
 *
 * @module
 */

const NON_FINITE_KEY = "$f";

/** Serializes `value`, keeping non-finite numbers; object keys are sorted when `canonical`. */
export function encodeJson(value: unknown, canonical = false): string {
  return JSON.stringify(_prepare(value, canonical, 0));
}

/** Parses text written by {@linkcode encodeJson}. */
export function decodeJson(text: string): unknown {
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

function _prepare(value: unknown, canonical: boolean, depth: number): unknown {
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
    return value.map((item) => _prepare(item, canonical, depth + 1));
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
    const keys = Object.keys(value);
    if (canonical) keys.sort();
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      out[key] = _prepare(item, canonical, depth + 1);
    }
    return out;
  }
  throw new TypeError(
    `Cannot store a value of type ${typeof value}: only plain objects, arrays, strings, numbers, booleans and null are allowed`,
  );
}
