// @ts-check
// What the explorer offers to choose from: the metric names, their
// contexts and the params found in a sample of runs, and the defaults it
// picks among them. Pure: no DOM, so `deno test` imports it.

import { canonical, leaves } from "./params.js";

/** @import { Context, Run } from "./api_types.js" */

/** Params offered for grouping, at most. */
const MAX_PARAMS = 500;

/**
 * A metric name in the sample.
 * @typedef {object} CatalogMetric
 * @property {number} n  Runs that have it.
 * @property {Map<string, Context>} contexts  Its contexts by canonical key.
 */

/**
 * @typedef {object} Catalog
 * @property {Map<string, CatalogMetric>} metrics  In order of first sight.
 * @property {string[]} params  Dotted paths of the scalar params, sorted.
 */

/** @returns {Catalog} */
export function emptyCatalog() {
  return { metrics: new Map(), params: [] };
}

/**
 * The catalog of `runs`: their metric names with contexts, and the dotted
 * paths of their params that hold a scalar (not a list).
 * @param {readonly Run[]} runs
 * @returns {Catalog}
 */
export function buildCatalog(runs) {
  /** @type {Map<string, CatalogMetric>} */
  const metrics = new Map();
  /** @type {Map<string, number>} */
  const paramCounts = new Map();
  for (const run of runs) {
    for (const m of run.metrics) {
      let entry = metrics.get(m.name);
      if (entry === undefined) {
        entry = { n: 0, contexts: new Map() };
        metrics.set(m.name, entry);
      }
      entry.n++;
      entry.contexts.set(canonical(m.context), m.context);
    }
    for (const [path, value] of leaves(run.params)) {
      if (value !== null && typeof value === "object") continue;
      const key = path.join(".");
      paramCounts.set(key, (paramCounts.get(key) ?? 0) + 1);
    }
  }
  return {
    metrics,
    params: [...paramCounts.keys()].sort().slice(0, MAX_PARAMS),
  };
}

/**
 * The metric names, those most runs have first.
 * @param {Catalog} catalog
 * @returns {string[]}
 */
export function metricNames(catalog) {
  return _byCount(catalog).map(([name]) => name);
}

/**
 * The metric to show when none is chosen: "loss" if a run recorded it
 * outside system metrics, else the most common such metric, else the most
 * common metric; null for an empty catalog.
 * @param {Catalog} catalog
 * @returns {string | null}
 */
export function defaultMetric(catalog) {
  const names = _byCount(catalog);
  const user = names.filter(([, entry]) =>
    ![...entry.contexts.values()].every((c) => c?.system === true)
  );
  const pick = user.find(([name]) => name === "loss") ?? user[0] ?? names[0];
  return pick === undefined ? null : pick[0];
}

/**
 * The contexts of a metric, sorted by canonical key, as [key, context].
 * @param {Catalog} catalog
 * @param {string} metric
 * @returns {[string, Context][]}
 */
export function contextsOf(catalog, metric) {
  const entry = catalog.metrics.get(metric);
  return entry
    ? [...entry.contexts.entries()].sort((a, b) => a[0].localeCompare(b[0]))
    : [];
}

/**
 * The context key to select among `contexts`: the one from the address
 * (`pinned`, kept even when the sample lacks it), else the current choice
 * if still offered, else the only one, else a training one ("subset":
 * "train") if there is one, else "" (any context).
 * @param {[string, Context][]} contexts  As from {@link contextsOf}.
 * @param {string} current  The key selected now; "" for any.
 * @param {string | null} pinned  The key from the address, null for none.
 * @returns {string}
 */
export function chooseContext(contexts, current, pinned) {
  const wanted = pinned ?? current;
  if (contexts.some(([key]) => key === wanted)) return wanted;
  if (pinned !== null) return pinned;
  if (contexts.length === 1) {
    return /** @type {[string, Context]} */ (contexts[0])[0];
  }
  if (contexts.length > 1) {
    // Most people look at the training curves first.
    return contexts.find(([, c]) => c.subset === "train")?.[0] ?? "";
  }
  return "";
}

/**
 * The names among `names` close to `name`, closest first, at most `limit`:
 * those within a few edits of it (a third of its length, at least one),
 * or that contain it or that it contains, ignoring case.
 * @param {string} name
 * @param {readonly string[]} names
 * @param {number} [limit]
 * @returns {string[]}
 */
export function closeNames(name, names, limit = 5) {
  const wanted = name.toLowerCase();
  const most = Math.max(1, Math.floor(wanted.length / 3));
  /** @type {[string, number][]} */
  const close = [];
  for (const candidate of names) {
    const other = candidate.toLowerCase();
    if (candidate === name) continue;
    const distance = _edits(wanted, other);
    const contains = wanted !== "" &&
      (other.includes(wanted) || wanted.includes(other));
    if (distance <= most || contains) close.push([candidate, distance]);
  }
  return close
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([candidate]) => candidate);
}

/**
 * The Levenshtein distance between two strings (insertions, deletions and
 * substitutions of UTF-16 code units).
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
function _edits(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        /** @type {number} */ (row[j]) + 1,
        /** @type {number} */ (next[j - 1]) + 1,
        /** @type {number} */ (row[j - 1]) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return /** @type {number} */ (row[b.length]);
}

/**
 * Metric names with their entries, most common first (ties in order of
 * first sight).
 * @param {Catalog} catalog
 * @returns {[string, CatalogMetric][]}
 */
function _byCount(catalog) {
  return [...catalog.metrics.entries()].sort((a, b) => b[1].n - a[1].n);
}
