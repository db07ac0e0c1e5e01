/**
 * How a run's params are stored in the index: one row per leaf, so that a
 * filter on any param path is one indexed SQL lookup (docs/ARCHITECTURE.md,
 * "The index").
 *
 * @module
 */

import { canonicalJson } from "../util/json.ts";
import type { ParamValue } from "../types.ts";

/** One row of the `params` table, without the run hash. */
export interface ParamRow {
  /** `JSON.stringify` of the key path, e.g. `["hparams","lr"]`. */
  path: string;
  /**
   * `n` number (`num`; NULL for NaN), `s` string (`str`), `b` boolean
   * (`num` 0/1), `z` null, `j` list or empty dict (`str` = canonical JSON).
   */
  type: "n" | "s" | "b" | "z" | "j";
  /** The number for `n` (`null` for NaN), 0 or 1 for `b`; otherwise `null`. */
  num: number | null;
  /** The string for `s`, canonical JSON for `j`; otherwise `null`. */
  str: string | null;
}

/**
 * Flattens a run's params into index rows: one row per leaf, where a
 * non-empty dict is not a leaf (it has no row of its own) and a list or an
 * empty dict is (stored whole as canonical JSON).
 *
 * @example One row per leaf
 * ```ts
 * import { flattenParams } from "./params.ts";
 *
 * for (const row of flattenParams({ hparams: { lr: 0.01, layers: [64, 64] }, seed: NaN })) {
 *   console.log(row);
 * }
 * // { path: '["hparams","lr"]', type: "n", num: 0.01, str: null }
 * // { path: '["hparams","layers"]', type: "j", num: null, str: "[64,64]" }
 * // { path: '["seed"]', type: "n", num: null, str: null }
 * ```
 */
export function flattenParams(
  params: { [key: string]: ParamValue },
): ParamRow[] {
  const rows: ParamRow[] = [];
  const visit = (value: ParamValue, path: string[]): void => {
    const key = JSON.stringify(path);
    if (value === null || value === undefined) {
      rows.push({ path: key, type: "z", num: null, str: null });
    } else if (typeof value === "number") {
      rows.push({
        path: key,
        type: "n",
        num: Number.isNaN(value) ? null : value,
        str: null,
      });
    } else if (typeof value === "boolean") {
      rows.push({ path: key, type: "b", num: value ? 1 : 0, str: null });
    } else if (typeof value === "string") {
      rows.push({ path: key, type: "s", num: null, str: value });
    } else if (Array.isArray(value) || Object.keys(value).length === 0) {
      rows.push({ path: key, type: "j", num: null, str: canonicalJson(value) });
    } else {
      for (const k of Object.keys(value)) visit(value[k]!, [...path, k]);
    }
  };
  for (const k of Object.keys(params)) visit(params[k]!, [k]);
  return rows;
}
