// @ts-check
// Param values and contexts: canonical JSON keys, leaf paths in nested
// params, their spelling in the query language, and their display order.
// Pure: no DOM, so `deno test` imports it.

/** @import { Context, ParamMap, ParamValue } from "./api_types.js" */

/**
 * JSON with object keys sorted at every depth: equal contexts give equal text.
 * @param {unknown} value
 * @returns {string}
 */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const object = /** @type {Record<string, unknown>} */ (value);
    return `{${
      Object.keys(object).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical(object[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/**
 * Every leaf of nested params as [path (keys from the top), value]; arrays
 * are leaves, objects are not.
 * @param {ParamMap | null | undefined} params
 * @param {string[]} [prefix]
 * @param {[string[], ParamValue][]} [out]  Appended to, and returned.
 * @returns {[string[], ParamValue][]}
 */
export function leaves(params, prefix = [], out = []) {
  for (const [key, value] of Object.entries(params ?? {})) {
    const path = [...prefix, key];
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      leaves(value, path, out);
    } else {
      out.push([path, value]);
    }
  }
  return out;
}

/**
 * The value at a param path, or undefined when there is none.
 * @param {ParamValue | undefined} params
 * @param {readonly string[]} path
 * @returns {ParamValue | undefined}
 */
export function at(params, path) {
  let value = params;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !(key in value)) {
      return undefined;
    }
    value = /** @type {Record<string, ParamValue>} */ (value)[key];
  }
  return value;
}

/**
 * A param path in the query language: `run["hparams"]["lr"]`.
 * @param {readonly string[]} path
 * @returns {string}
 */
export function paramExpr(path) {
  return `run${path.map((k) => `[${JSON.stringify(k)}]`).join("")}`;
}

/**
 * A series summary in the query language:
 * `run.metrics["loss", {"subset": "train"}]`, the context left out when empty.
 * @param {string} name
 * @param {Context | null | undefined} context
 * @returns {string}
 */
export function metricExpr(name, context) {
  const ctx = Object.keys(context ?? {}).length === 0
    ? ""
    : `, ${JSON.stringify(context)}`;
  return `run.metrics[${JSON.stringify(name)}${ctx}]`;
}

/**
 * Orders display values: numerically when both read as finite numbers
 * ("0.01" before "0.1"), else as text. For `Array.prototype.sort`.
 * @param {unknown} a
 * @param {unknown} b
 * @returns {number}
 */
export function compareValues(a, b) {
  const x = Number(a), y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return String(a).localeCompare(String(b));
}
