// @ts-check
// What the explorers of objects compute without the DOM: a field's value
// for grouping, groups of matches in a stable order, the steps a slider
// covers, the colour of a heatmap cell, and marking a search in a text.
// Pure: no DOM, so `deno test` imports it.

/** @import { SequenceKind, SequenceMatch } from "./objects_api.js" */

/**
 * The value of `field` for a match, as the query language names it:
 * `run.name`, `run.experiment`, `run.hparams.lr` (a param path),
 * `images.name`, `images.context.subset` (the sequence, under its kind).
 * Undefined when the match has none.
 * @param {string} field
 * @param {SequenceKind} kind
 * @param {SequenceMatch} match
 * @returns {unknown}
 */
export function fieldValue(field, kind, match) {
  const parts = field.trim().split(".").filter((p) => p !== "");
  const [root, first, ...rest] = parts;
  if (root === kind) {
    if (first === "name") return rest.length ? undefined : match.sequence.name;
    if (first === "context") return walk(match.sequence.context, rest);
    return undefined;
  }
  if (root !== "run" || first === undefined) return undefined;
  const run = /** @type {Record<string, unknown>} */ (
    /** @type {unknown} */ (match.run)
  );
  if (rest.length === 0 && first !== "params" && first in run) {
    return run[first];
  }
  return walk(match.run.params, [first, ...rest]);
}

/**
 * @param {unknown} value
 * @param {string[]} path
 * @returns {unknown}
 */
function walk(value, path) {
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return undefined;
    }
    value = /** @type {Record<string, unknown>} */ (value)[key];
  }
  return value;
}

/**
 * A group of matches under one title.
 * @typedef {{ key: string, title: string, matches: SequenceMatch[] }} Group
 */

/**
 * Groups matches by run (`"run"`) or by the value of a field, keeping the
 * order in which each group first appears, and the matches' order within.
 * @param {SequenceMatch[]} matches
 * @param {string} by  "run", or a field as {@link fieldValue} reads it.
 * @param {SequenceKind} kind
 * @returns {Group[]}
 */
export function groupMatches(matches, by, kind) {
  /** @type {Map<string, Group>} */
  const groups = new Map();
  for (const match of matches) {
    let key, title;
    if (by === "run" || by.trim() === "") {
      key = match.run.hash;
      title = match.run.name || match.run.hash.slice(0, 8);
    } else {
      const value = fieldValue(by, kind, match);
      key = JSON.stringify(value ?? null);
      title = `${by.trim()} = ${
        value === undefined
          ? "None"
          : typeof value === "string"
          ? JSON.stringify(value)
          : JSON.stringify(value)
      }`;
    }
    let group = groups.get(key);
    if (group === undefined) {
      group = { key, title, matches: [] };
      groups.set(key, group);
    }
    group.matches.push(match);
  }
  return [...groups.values()];
}

/**
 * The steps a slider covers for these matches: from the lowest first step
 * to the highest last step; null when none has a step.
 * @param {SequenceMatch[]} matches
 * @returns {{ min: number, max: number } | null}
 */
export function stepRange(matches) {
  let min = Infinity, max = -Infinity;
  for (const { sequence } of matches) {
    if (sequence.first_step !== null) min = Math.min(min, sequence.first_step);
    if (sequence.last_step !== null) max = Math.max(max, sequence.last_step);
  }
  return min <= max ? { min, max } : null;
}

/** Stops of the heatmap's colour ramp (dark blue to yellow), as RGB. */
const RAMP = [
  [247, 248, 250],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

/**
 * The colour of a heatmap cell whose count is `t` of its row's largest
 * (0..1), as RGB: light for nothing, darkening as it fills.
 * @param {number} t
 * @returns {[number, number, number]}
 */
export function rampColor(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) *
    (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = /** @type {number[]} */ (RAMP[i]);
  const b = /** @type {number[]} */ (RAMP[i + 1]);
  return /** @type {[number, number, number]} */ (
    a.map((v, k) => Math.round(v + (/** @type {number} */ (b[k]) - v) * f))
  );
}

/**
 * A text cut at each case-insensitive occurrence of `search`: the pieces,
 * odd ones being the matches. The whole text when the search is empty.
 * @param {string} text
 * @param {string} search
 * @returns {string[]}
 */
export function splitMatches(text, search) {
  if (!search) return [text];
  const lower = text.toLowerCase();
  const needle = search.toLowerCase();
  /** @type {string[]} */
  const parts = [];
  let at = 0;
  for (;;) {
    const found = lower.indexOf(needle, at);
    if (found < 0) break;
    parts.push(text.slice(at, found), text.slice(found, found + needle.length));
    at = found + needle.length;
  }
  parts.push(text.slice(at));
  return parts;
}
