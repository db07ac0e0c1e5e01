/**
 * The value columns of `aim runs ls`: run expressions in the query
 * language (`run.hparams.lr`, `run.metrics["loss", {"subset": "train"}].last`)
 * given with `--columns`, or chosen: what the sort and the query name, then
 * the params that tell the listed runs apart and the last value of their
 * commonest series. Values are rounded for reading; `--json` keeps them whole.
 *
 * @module
 */

import { AimError, type Context, type RunRecord } from "../lib/mod.ts";
import {
  evalValue,
  type Expr,
  forEachExpr,
  formatParamPath,
  parseQuery,
  type Query,
  QuerySyntaxError,
} from "../lib/query/mod.ts";
import { canonicalJson } from "../lib/util/mod.ts";
import { printable } from "./_table.ts";

/** A value column: the expression as written, its header, and its parse. */
export interface ValueColumn {
  /** The column as given, e.g. `hparams.lr` (the key of `--json`'s `columns`). */
  text: string;
  /** The run expression it is, e.g. `run.hparams.lr`. */
  expression: string;
  /** The header: the expression without `run.`, series as `loss{subset=train}.last`. */
  header: string;
  query: Query;
}

/** Columns chosen when `--columns` is not given, at most. */
export const DEFAULT_VALUE_COLUMNS = 4;

/** Attributes the table always shows: no column of their own. */
const _SHOWN = new Set(["hash", "name", "experiment", "status", "created_at"]);

/**
 * Splits `text` at the commas that are not inside brackets, braces,
 * parentheses or strings: `run.a, run.metrics["x", {"k": 1}].last` is two.
 */
export function splitExpressions(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== "");
}

/**
 * A column as the query language reads it: run expressions as they are;
 * a param path alone (`hparams.lr`) and a series alone
 * (`metric["loss", {"subset": "train"}].last`, `metrics[…]`) from `run`.
 */
export function columnExpression(text: string): string {
  const series = /^metrics?\s*\[/.exec(text);
  if (series !== null) return `run.metrics${text.slice(series[0].length - 1)}`;
  const first = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text)?.[0];
  if (first === undefined || _NOT_PARAMS.has(first)) return text;
  return `run.${text}`;
}

// Names an expression may start with that are not a param.
const _NOT_PARAMS = new Set([
  "run",
  "metric",
  "not",
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
 * The columns of `--columns` values (each a comma-separated list of run
 * expressions, see {@linkcode columnExpression}); a bad one is
 * `bad_request` naming it.
 */
export function parseColumns(values: readonly string[]): ValueColumn[] {
  const columns: ValueColumn[] = [];
  for (const given of values.flatMap(splitExpressions)) {
    const text = columnExpression(given);
    const shown = JSON.stringify(given) +
      (text === given ? "" : ` (read as ${text})`);
    let query: Query;
    try {
      query = parseQuery(text);
    } catch (error) {
      if (!(error instanceof QuerySyntaxError)) throw error;
      throw new AimError(
        "bad_request",
        `--columns ${shown}: ${error.message}`,
        { cause: error },
      );
    }
    if (query.usesMetric) {
      throw new AimError(
        "bad_request",
        `--columns ${shown} mentions metric: a column is a run expression, such as run.hparams.lr or run.metrics["loss"].last`,
      );
    }
    columns.push({ ..._column(text, query), text: given });
  }
  return _unique(columns);
}

/**
 * The columns that what a listing sorts by and filters on calls for: the
 * sort expression, then each param and series summary the query names
 * (`run.hparams.lr < 0.01` shows `hparams.lr`).
 */
export function namedColumns(
  q: string,
  sort: string | undefined,
): ValueColumn[] {
  const columns: ValueColumn[] = [];
  const sortText = (sort ?? "").trim().replace(/^-/, "").trim();
  if (sortText !== "") {
    const query = parseQuery(sortText);
    const expr = query.expr;
    const shown = expr?.type === "run_attr" && expr.path.length === 0 &&
      _SHOWN.has(expr.attr);
    if (!shown) columns.push(_column(sortText, query));
  }
  forEachExpr(parseQuery(q).expr, (expr) => {
    const text = _columnText(expr);
    if (text !== null) columns.push(_column(text, parseQuery(text)));
  });
  return _unique(columns);
}

/**
 * Up to `max` columns that tell `runs` apart: leaf params (not `__aim`'s)
 * whose value differs between the runs (any, for one run), most common
 * first, then the last value of the commonest series that is not a system
 * metric.
 */
export function defaultColumns(
  runs: readonly RunRecord[],
  max: number,
): ValueColumn[] {
  if (max <= 0 || runs.length === 0) return [];
  // Per leaf path: in how many runs it is, and its distinct values.
  const params = new Map<
    string,
    { path: string[]; values: Set<string>; runs: number }
  >();
  for (const run of runs) {
    _leaves(run.params, [], (path, value) => {
      if (path[0]!.startsWith("__")) return;
      const key = JSON.stringify(path);
      let entry = params.get(key);
      if (entry === undefined) {
        params.set(key, entry = { path, values: new Set(), runs: 0 });
      }
      entry.runs++;
      entry.values.add(canonicalJson(value));
    });
  }
  const varying = [...params.values()]
    .filter((p) => runs.length === 1 || p.values.size > 1)
    .sort((a, b) => b.runs - a.runs);
  const series = new Map<
    string,
    { name: string; context: Context; runs: number }
  >();
  for (const run of runs) {
    for (const s of run.metrics) {
      if (s.context.system === true) continue;
      const key = `${s.name}\u0000${canonicalJson(s.context)}`;
      const entry = series.get(key) ?? { ...s, runs: 0 };
      entry.runs++;
      series.set(key, entry);
    }
  }
  const commonest = [...series.values()].sort((a, b) => b.runs - a.runs)[0];
  const texts = varying.slice(0, commonest ? max - 1 : max).map((p) =>
    formatParamPath(p.path)
  );
  if (commonest) {
    texts.push(_seriesText(commonest.name, commonest.context, "last"));
  }
  return texts.map((text) => _column(text, parseQuery(text)));
}

/**
 * Explicit columns when given, else those named by the sort and the
 * query, then defaults up to {@linkcode DEFAULT_VALUE_COLUMNS}.
 */
export function chooseColumns(
  explicit: ValueColumn[] | null,
  named: ValueColumn[],
  runs: readonly RunRecord[],
): ValueColumn[] {
  if (explicit !== null) return explicit;
  return _unique([
    ...named,
    ...defaultColumns(runs, DEFAULT_VALUE_COLUMNS - named.length),
  ]);
}

/** The value of `column` for `record` (None when absent). */
export function columnValue(
  column: ValueColumn,
  record: RunRecord,
  now: number,
): unknown {
  return evalValue(column.query, record, now);
}

/**
 * A number rounded for reading: integers whole (no separators), others to
 * 4 significant digits, very small or large ones in exponent form; NaN,
 * inf and -inf as the query language writes them.
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-4 || size >= 1e6)) {
    const [mantissa, exponent] = value.toExponential(3).split("e");
    return `${String(Number(mantissa))}e${exponent}`;
  }
  return String(Number(value.toPrecision(4)));
}

/** Longest text shown in a cell before it is cut with "…". */
const MAX_CELL = 40;

/** A value as a table cell: numbers rounded, None as "-", long text cut. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = typeof value === "string"
    ? value
    : JSON.stringify(value, (_key, item) =>
      typeof item === "number" && !Number.isFinite(item)
        ? formatNumber(item)
        : item);
  const safe = printable(text);
  return safe.length > MAX_CELL ? `${safe.slice(0, MAX_CELL - 1)}…` : safe;
}

/** A series' context as `subset=train, fold=2` ("-" when empty). */
export function formatContext(context: Context): string {
  const entries = Object.entries(context);
  if (entries.length === 0) return "-";
  return entries.map(([key, value]) =>
    `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`
  ).join(", ");
}

function _column(text: string, query: Query): ValueColumn {
  return { text, expression: text, header: _header(text, query.expr), query };
}

function _header(text: string, expr: Expr | null): string {
  if (expr?.type === "param") return formatParamPath(expr.path).slice(4);
  if (expr?.type === "run_metric" && expr.path.length === 0) {
    const context = Object.keys(expr.context).length === 0
      ? ""
      : `{${formatContext(expr.context).replaceAll(", ", ",")}}`;
    return `${expr.name}${context}.${expr.field ?? "last"}`;
  }
  return text.replace(/^run\./, "");
}

/** The column a query node asks for: a param, or a series summary's field. */
function _columnText(expr: Expr): string | null {
  if (expr.type === "param") return formatParamPath(expr.path);
  if (expr.type === "run_metric") {
    return _seriesText(expr.name, expr.context, expr.field ?? "last");
  }
  return null;
}

function _seriesText(name: string, context: Context, field: string): string {
  const ctx = Object.keys(context).length === 0
    ? ""
    : `, ${JSON.stringify(context)}`;
  return `run.metrics[${JSON.stringify(name)}${ctx}].${field}`;
}

function _unique(columns: ValueColumn[]): ValueColumn[] {
  const seen = new Set<string>();
  return columns.filter((c) => {
    const key = c.header;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Calls `visit` with each leaf of `params` (a value that is not a non-empty dict). */
function _leaves(
  value: unknown,
  path: string[],
  visit: (path: string[], value: unknown) => void,
): void {
  if (
    value !== null && typeof value === "object" && !Array.isArray(value) &&
    Object.keys(value).length > 0
  ) {
    for (const [key, item] of Object.entries(value)) {
      _leaves(item, [...path, key], visit);
    }
  } else if (path.length > 0) visit(path, value);
}
