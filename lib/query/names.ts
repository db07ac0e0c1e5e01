/**
 * Names a person may have mistyped, and the closest existing ones: "did
 * you mean" for commands and flags, and warnings for a query that names a
 * param no run has (`run.hparms.lr`, `run.stauts`), which is None in every
 * run and so silently matches nothing. Pure functions: the caller gives the
 * names that exist (see `name_check.ts` for a repository's).
 *
 * @module
 */

import type { Expr, PathKey, Query } from "./parser.ts";
import { RUN_ATTRIBUTES } from "./parser.ts";

/**
 * The optimal-string-alignment distance between `a` and `b`: insertions,
 * deletions, substitutions and swaps of two neighbours each cost one. By
 * UTF-16 code unit.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * Up to `max` of `candidates` that `name` may be a typo of, closest first
 * (ties in the candidates' order): those within an edit distance of a
 * third of the name's length (at least 1), ignoring case, and those that
 * differ only in case. `name` itself is never among them.
 *
 * @example Did you mean
 * ```ts
 * import { closestNames } from "./names.ts";
 *
 * console.log(closestNames("rnus", ["init", "runs", "metrics"])); // ["runs"]
 * console.log(closestNames("hparms.lr", ["hparams.lr", "hparams.lr_decay", "seed"])); // ["hparams.lr"]
 * console.log(closestNames("zzz", ["runs"])); // []
 * ```
 */
export function closestNames(
  name: string,
  candidates: Iterable<string>,
  max = 3,
): string[] {
  const found: { candidate: string; distance: number; order: number }[] = [];
  const seen = new Set<string>();
  let order = 0;
  for (const candidate of candidates) {
    order++;
    if (candidate === name || seen.has(candidate)) continue;
    seen.add(candidate);
    const distance = _typoDistance(name, candidate);
    if (distance !== null) found.push({ candidate, distance, order });
  }
  found.sort((a, b) => a.distance - b.distance || a.order - b.order);
  return found.slice(0, max).map((f) => f.candidate);
}

/**
 * How far `candidate` is from `name` as a typo of it: the edit distance
 * ignoring case (0.5 for a change of case only), or null beyond a third of
 * the name's length (at least 1).
 */
function _typoDistance(name: string, candidate: string): number | null {
  const limit = Math.max(1, Math.floor(name.length / 3));
  // Cheap bound first: the distance is at least the difference in length.
  if (Math.abs(candidate.length - name.length) > limit) return null;
  const folded = editDistance(name.toLowerCase(), candidate.toLowerCase());
  if (folded > limit) return null;
  return folded === 0 ? (name === candidate ? 0 : 0.5) : folded;
}

/** A name a query may use: the keys from `run`, and how it is written. */
interface _Candidate {
  keys: readonly string[];
  text: string;
}

/**
 * Up to `max` of `candidates` that `keys` may be a typo of: as deep, each
 * key near the typed one (see {@linkcode closestNames}), least edits first.
 */
function _closestPaths(
  keys: readonly string[],
  candidates: Iterable<_Candidate>,
  max = 3,
): _Candidate[] {
  const found: { candidate: _Candidate; distance: number }[] = [];
  for (const candidate of candidates) {
    if (candidate.keys.length !== keys.length) continue;
    let distance: number | null = 0;
    for (let i = 0; i < keys.length && distance !== null; i++) {
      const d = _typoDistance(keys[i]!, candidate.keys[i]!);
      distance = d === null ? null : distance + d;
    }
    if (distance !== null && distance > 0) found.push({ candidate, distance });
  }
  found.sort((a, b) => a.distance - b.distance);
  return found.slice(0, max).map((f) => f.candidate);
}

/** `a`, `a or b`, `a, b or c`: for "did you mean …?". */
export function orList(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

// Names the tokenizer reads as something else after a dot or at the start.
const _RESERVED = new Set([
  "and",
  "or",
  "not",
  "in",
  "is",
  "True",
  "False",
  "None",
  "true",
  "false",
  "null",
  "NaN",
  "nan",
  "inf",
  "Infinity",
]);

/**
 * The query expression of the run param at `path`: `run.hparams.lr`, with
 * `run["…"]` for a key that is not a plain name, is a keyword, or (first)
 * is a run attribute's name, so that the text parses back to that param.
 *
 * @example
 * ```ts
 * import { formatParamPath } from "./names.ts";
 *
 * console.log(formatParamPath(["hparams", "lr"])); // run.hparams.lr
 * console.log(formatParamPath(["status"])); // run["status"]
 * console.log(formatParamPath(["layers", 0, "batch size"])); // run.layers[0]["batch size"]
 * ```
 */
export function formatParamPath(path: readonly PathKey[]): string {
  let text = "run";
  path.forEach((key, i) => {
    if (typeof key === "number") text += `[${key}]`;
    else if (
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !_RESERVED.has(key) &&
      !(i === 0 && (RUN_ATTRIBUTES as readonly string[]).includes(key))
    ) {
      text += `.${key}`;
    } else text += `[${JSON.stringify(key)}]`;
  });
  return text;
}

/** A query that names a param no run has: it is None in every run. */
export interface NameWarning {
  /** The param as an expression, e.g. `run.hparms.lr`. */
  name: string;
  /** 1-based column where the query first names it. */
  column: number;
  /** What is wrong and the closest existing names, for people. */
  message: string;
  /** The closest existing params or run attributes, as expressions, best first. */
  suggestions: string[];
}

/**
 * Warnings for each param `query` names (as `run.X…` or `run[…]`) that is
 * in none of `leafPaths`: the params that exist, each the path of a value
 * that is not a non-empty dict (as the index stores them). A path is known
 * when it leads to a leaf, into one (a list's item), or to a dict above
 * one. The suggestions are the closest existing params and run attributes
 * (`run.stauts` → `run.status`), else params that end with the name
 * (`run.lr` → `run.hparams.lr`). The query's
 * answer is not affected: a warning only says why it may be empty.
 *
 * @example A typo in a param path
 * ```ts
 * import { paramNameWarnings } from "./names.ts";
 * import { parseQuery } from "./parser.ts";
 *
 * const known = [["hparams", "lr"], ["hparams", "optimizer", "name"]];
 * const [warning] = paramNameWarnings(parseQuery("run.hparms.lr < 0.01"), known);
 * console.log(warning?.message); // No run has a param run.hparms.lr, so it is None in every run: did you mean run.hparams.lr?
 * console.log(paramNameWarnings(parseQuery("run.hparams.optimizer == {}"), known)); // []
 * console.log(paramNameWarnings(parseQuery('run.stauts == "failed"'), known)[0]?.suggestions); // ["run.status"]
 * ```
 */
export function paramNameWarnings(
  query: Query,
  leafPaths: Iterable<readonly string[]>,
): NameWarning[] {
  const named = paramsNamed(query);
  if (named.length === 0) return [];
  const leaves = new Set<string>();
  // Every param path and the dicts above them, then the run attributes.
  const params = new Map<string, _Candidate>();
  for (const path of leafPaths) {
    leaves.add(JSON.stringify(path));
    for (let n = 1; n <= path.length; n++) {
      const keys = path.slice(0, n);
      params.set(JSON.stringify(keys), { keys, text: formatParamPath(keys) });
    }
  }
  const candidates = [
    ...params.values(),
    ...RUN_ATTRIBUTES.map((attr) => ({ keys: [attr], text: `run.${attr}` })),
  ];
  const warnings: NameWarning[] = [];
  for (const { path, column } of named) {
    // Integer keys index lists: the names end where they begin.
    const end = path.findIndex((key) => typeof key === "number");
    const keys = (end < 0 ? path : path.slice(0, end)) as string[];
    if (params.has(JSON.stringify(keys))) continue;
    let intoLeaf = false;
    for (let n = 1; n < keys.length && !intoLeaf; n++) {
      intoLeaf = leaves.has(JSON.stringify(keys.slice(0, n)));
    }
    if (intoLeaf) continue;
    const name = formatParamPath(keys);
    let close = _closestPaths(keys, candidates);
    // A missing parent (run.lr for run.hparams.lr) is far in edits, near in intent.
    if (close.length === 0) {
      const tail = JSON.stringify(keys);
      close = [...params.values()].filter((c) =>
        c.keys.length > keys.length &&
        JSON.stringify(c.keys.slice(-keys.length)) === tail
      ).slice(0, 3);
    }
    const suggestions = close.map((c) => c.text);
    warnings.push({
      name,
      column,
      message: `No run has a param ${name}, so it is None in every run${
        suggestions.length > 0 ? `: did you mean ${orList(suggestions)}?` : ""
      }`,
      suggestions,
    });
  }
  return warnings;
}

/**
 * The params `query` names, each once (its first place), in the order
 * written: the paths of its `run.X…` and `run[…]` references.
 */
export function paramsNamed(
  query: Query,
): { path: PathKey[]; column: number }[] {
  const found = new Map<string, { path: PathKey[]; column: number }>();
  forEachExpr(query.expr, (expr) => {
    if (expr.type !== "param") return;
    const key = JSON.stringify(expr.path);
    if (!found.has(key)) {
      found.set(key, { path: expr.path, column: expr.column });
    }
  });
  return [...found.values()].sort((a, b) => a.column - b.column);
}

/** Calls `visit` on `expr` and every node below it, parents first. */
export function forEachExpr(
  expr: Expr | null,
  visit: (expr: Expr) => void,
): void {
  if (expr === null) return;
  visit(expr);
  const below = (e: Expr) => forEachExpr(e, visit);
  switch (expr.type) {
    case "list":
      return expr.items.forEach(below);
    case "dict":
      return expr.entries.forEach((entry) => below(entry.value));
    case "member":
      return below(expr.object);
    case "call":
      below(expr.object);
      return below(expr.arg);
    case "unary":
      return below(expr.operand);
    case "binary":
      below(expr.left);
      return below(expr.right);
    case "logical":
    case "compare":
      return expr.operands.forEach(below);
    case "literal":
    case "run_attr":
    case "param":
    case "metric":
    case "run_metric":
      return;
  }
}
