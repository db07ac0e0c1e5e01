/**
 * Evaluates a parsed query against one run, or one (run, series) pair, held
 * in memory. The SQL compiler in `sql.ts` follows these rules exactly
 * wherever it reports its answer as exact.
 *
 * ## Semantics
 *
 * - Syntax is a subset of Python expressions: `and`, `or`, `not`,
 *   parentheses, `== != < <= > >=`, `in`, `not in`, `+ - * /`, unary `-`
 *   and `+`, string literals in either quote with Python's backslash escapes
 *   (unknown escapes such as `\d` are kept as written; `r"..."` is raw),
 *   numbers with exponents, `True False None` and `true false null`, `NaN`
 *   `nan` `inf` `Infinity`, lists `[...]` and dicts `{"key": value}` with
 *   string keys. `is` is not supported (use `==`). Names other than `run`,
 *   `metric` and those constants are syntax errors.
 * - Limits: at most 10,000 characters and 64 levels of nesting
 *   (parentheses, brackets, braces, `not`, signs, arithmetic); beyond
 *   them the query is a syntax error.
 * - Values are those of JSON plus NaN and ±Infinity: None, booleans,
 *   numbers, strings, lists and dicts. Integers and floats are one kind of
 *   number, so `1 == 1.0`.
 * - Booleans are numbers in comparisons and arithmetic, as in Python:
 *   `True == 1`, `False < 0.5` and `True + 1 == 2` are all true.
 * - `==` compares numbers by value, strings by content, lists item by item
 *   and dicts by their keys and values; `None == None` is true. Values of
 *   different kinds are never equal (`1 == "1"` is false), and comparing
 *   them is never an error. `x != y` is exactly `not (x == y)`.
 * - `<`, `<=`, `>`, `>=` order two numbers, or two strings by Unicode code
 *   point. Any other pair (None, a number and a string, lists, dicts) is
 *   false for all four operators.
 * - NaN: every comparison involving NaN is false except `!=`, which is
 *   true; this holds inside lists too (`[nan] == [nan]` is false).
 *   Infinity and -Infinity are ordinary numbers.
 * - Comparisons chain as in Python: `0 < run.hparams.lr <= 1` means
 *   `0 < run.hparams.lr and run.hparams.lr <= 1`.
 * - `x in y`: if y is a list, whether an item `== x`; if both are strings,
 *   whether x is a substring of y; if y is a dict, whether x is one of its
 *   keys; anything else is false. `x not in y` is `not (x in y)`.
 * - `+ - * /` work on numbers (booleans included); `+` also joins two
 *   strings or two lists. Any other operand, and division by zero, gives
 *   None. Unary `-` and `+` give None on a non-number. Float results follow
 *   IEEE 754 (`inf - inf` is NaN).
 * - `and`, `or`, `not` use Python truthiness: None, False, 0, "", [] and {}
 *   are false, everything else is true, NaN included. `and`/`or` return
 *   one of their operands, as in Python; a query matches when its value is
 *   true by that rule. An empty query matches everything.
 * - `s.startswith(x)`, `s.endswith(x)`, `s.contains(x)` (substring) and
 *   `s.match(x)` are false unless both s and x are strings. `match` reads x
 *   as a regular expression in a subset of Python's `re` syntax (see
 *   `regex.ts`: no backreferences or lookaround, so matching is linear in
 *   the text) and, like Python's `re.match`, looks for a match starting at
 *   the first character (it need not reach the end); an invalid pattern is
 *   a syntax error when written as a literal, and false when it comes from
 *   data. No other method exists.
 * - `run.X` is a run attribute for X in hash, name, experiment,
 *   description, tags (list of strings), status, signal, exit_code,
 *   created_at, ended_at, archived, duration, active and metrics; any other
 *   `run.X`, and every `run[...]`, is the parameter X. `run["a", "b"]`,
 *   `run["a"]["b"]` and `run.a.b` are the same nested parameter;
 *   `run["name"]` is the parameter called name. `run` and `metric` alone
 *   are syntax errors.
 * - Walking a value with `.key` or `["key"]` looks up a dict key; an
 *   integer subscript `[i]` indexes a list (negative from the end).
 *   Subscripts are string or integer literals. A missing key, an index out
 *   of range, or a step into anything else gives None, never an error.
 * - created_at, ended_at and last_time are seconds since the epoch. A
 *   string literal compared directly with one of them is read as an ISO
 *   8601 date or date-time (`2026-11-01`, `2026-11-01T12:30:00+02:00`; UTC
 *   unless it has a zone); one that is not a valid date is a syntax error.
 *   Other strings compared with them follow the rules above (a number and a
 *   string: false).
 * - `run.duration` is `ended_at - created_at`, or `now - created_at` while
 *   the run has no end time; `now` is given to the evaluator. `run.active`
 *   is `run.status == "running"`; `run.status` is the effective state (a
 *   stalled run is "crashed").
 * - `metric.X` (X in name, context, count, first_step, last_step, last, min,
 *   max, last_time; any other X is a syntax error) is a field of the series
 *   being tested; a query that mentions `metric` is a metric query and
 *   matches (run, series) pairs. `run.*` works in metric queries too. A
 *   query without `metric` matches every series of the runs it matches.
 * - `run.metrics["loss", {"subset": "train"}]` is the run's series called
 *   "loss" whose context is exactly `{"subset": "train"}`: the same keys
 *   and the same values of the same types, compared as canonical JSON, so
 *   `True` does not match `1` here (and NaN does match NaN). The context
 *   defaults to `{}`; both parts are literals. It is a dict of the fields
 *   above, or None when the run has no such series, so
 *   `run.metrics["loss"].last` is None then. `run.metrics` needs the
 *   subscript.
 * - A series' `last`, `min` and `max` may be NaN (min and max only when
 *   every point is NaN); `first_step`, `last_step` and `last_time` are None
 *   for an empty series.
 * - `images.X`, `distributions.X` and `texts.X` (X in name, context, count,
 *   items, first_step, last_step, last_time; any other X is a syntax error)
 *   are fields of the sequence of that kind being tested: a query that
 *   mentions one of them is a sequence query and matches (run, sequence)
 *   pairs of that kind. `count` is the points tracked (`run.track()`
 *   calls), `items` the objects (a list of 16 images at one step is one
 *   point and 16 items). `run.*` works in sequence queries too; a query
 *   without a sequence root matches every sequence of the kind asked for
 *   in the runs it matches. One query mentions at most one of `metric`,
 *   `images`, `distributions` and `texts`.
 *
 * @module
 */

import { contextKey } from "../util/json.ts";
import { Regex, RegexSyntaxError } from "./regex.ts";
import type { CompareOp, Expr, PathKey, Query } from "./parser.ts";
import type {
  Context,
  ParamValue,
  RunRecord,
  SequenceSummary,
  SeriesSummary,
} from "../types.ts";

/** A value a query expression can have. */
export type QueryValue = ParamValue;

/**
 * Whether a run matches a run query. `now` (seconds since the epoch) is the
 * end time assumed for `run.duration` of a run that has not ended.
 *
 * @throws {TypeError} if the query mentions `metric`: use {@linkcode evalMetricQuery}.
 *
 * @example Match a run held in memory
 * ```ts
 * import { evalRunQuery } from "./eval.ts";
 * import { parseQuery } from "./parser.ts";
 * import type { RunRecord } from "../types.ts";
 *
 * const run: RunRecord = {
 *   hash: "0123abcd",
 *   name: "lr-0.01",
 *   experiment: "sweep",
 *   description: "",
 *   tags: ["best"],
 *   status: "finished",
 *   signal: null,
 *   exit_code: 0,
 *   created_at: 1767225600,
 *   ended_at: 1767229200,
 *   archived: false,
 *   params: { hparams: { lr: 0.01 } },
 *   metrics: [],
 *   data_version: 3,
 * };
 * const query = parseQuery('"best" in run.tags and run.duration > 3000 and run.hparams.lr < 0.1');
 * console.log(evalRunQuery(query, run, Date.now() / 1000)); // true
 * ```
 */
export function evalRunQuery(
  q: Query,
  run: RunRecord,
  now: number,
  check?: () => void,
): boolean {
  if (q.usesMetric || q.sequenceKind !== null) {
    throw new TypeError(
      `Cannot match runs with a query that mentions ${
        q.sequenceKind ?? "metric"
      }: it matches (run, ${q.usesMetric ? "series" : "sequence"}) pairs`,
    );
  }
  if (q.expr === null) return true;
  return truthy(
    _eval(q.expr, { run, series: null, sequence: null, now, check }),
  );
}

/**
 * Whether a (run, series) pair matches a query; a query without `metric`
 * matches every series of the runs it matches.
 */
export function evalMetricQuery(
  q: Query,
  run: RunRecord,
  series: SeriesSummary,
  now: number,
  check?: () => void,
): boolean {
  if (q.sequenceKind !== null) {
    throw new TypeError(
      `Cannot match series with a query that mentions ${q.sequenceKind}`,
    );
  }
  if (q.expr === null) return true;
  return truthy(_eval(q.expr, { run, series, sequence: null, now, check }));
}

/**
 * Whether a (run, sequence) pair matches a query; a query without a
 * sequence root matches every sequence of the runs it matches. The caller
 * pairs only sequences of the kind the query mentions.
 */
export function evalSequenceQuery(
  q: Query,
  run: RunRecord,
  sequence: SequenceSummary,
  now: number,
  check?: () => void,
): boolean {
  if (q.usesMetric) {
    throw new TypeError(
      `Cannot match sequences with a query that mentions metric`,
    );
  }
  if (q.expr === null) return true;
  return truthy(_eval(q.expr, { run, series: null, sequence, now, check }));
}

/**
 * The value of a query's expression for one run (or one run's series when
 * the query mentions `metric`), e.g. to sort by `run.hparams.lr`; None for
 * an empty query.
 *
 * @throws {TypeError} if the query mentions `metric` and no series is given.
 */
export function evalValue(
  q: Query,
  run: RunRecord,
  now: number,
  series?: SeriesSummary,
): QueryValue {
  if (q.usesMetric && series === undefined) {
    throw new TypeError(
      `Cannot evaluate a query that mentions metric without a series`,
    );
  }
  if (q.sequenceKind !== null) {
    throw new TypeError(
      `Cannot evaluate a query that mentions ${q.sequenceKind} as a value`,
    );
  }
  if (q.expr === null) return null;
  return _eval(q.expr, {
    run,
    series: series ?? null,
    sequence: null,
    now,
    check: undefined,
  });
}

/**
 * The value of an expression that refers to no run or metric, or
 * `undefined` when it does refer to one.
 */
export function constantValue(expr: Expr): QueryValue | undefined {
  if (!_isConstant(expr)) return undefined;
  return _eval(expr, {
    run: null,
    series: null,
    sequence: null,
    now: 0,
    check: undefined,
  });
}

/** Python truthiness: None, False, 0, "", [] and {} are false; NaN is true. */
export function truthy(value: QueryValue): boolean {
  if (value === null) return false;
  switch (typeof value) {
    case "boolean":
      return value;
    case "number":
      return value !== 0;
    case "string":
      return value.length > 0;
    default:
      return Array.isArray(value)
        ? value.length > 0
        : Object.keys(value).length > 0;
  }
}

/** `a == b` under the query rules (see the module documentation). */
export function valuesEqual(a: QueryValue, b: QueryValue): boolean {
  if (typeof a === "number" || typeof a === "boolean") {
    return (typeof b === "number" || typeof b === "boolean") &&
      Number(a) === Number(b);
  }
  if (typeof a === "string" || a === null) return a === b;
  if (b === null || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => valuesEqual(item, b[i]!));
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && valuesEqual(a[k]!, b[k]!));
}

/** `a op b` for a comparison operator under the query rules. */
export function compareValues(
  a: QueryValue,
  op: CompareOp,
  b: QueryValue,
): boolean {
  switch (op) {
    case "==":
      return valuesEqual(a, b);
    case "!=":
      return !valuesEqual(a, b);
    case "in":
      return _contains(b, a);
    case "not in":
      return !_contains(b, a);
  }
  let order: number;
  if (
    (typeof a === "number" || typeof a === "boolean") &&
    (typeof b === "number" || typeof b === "boolean")
  ) {
    const x = Number(a), y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (typeof a === "string" && typeof b === "string") {
    order = compareCodePoints(a, b);
  } else {
    return false;
  }
  switch (op) {
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

/**
 * Orders two strings by Unicode code point, as SQLite's BINARY collation
 * does on UTF-8 (JavaScript's `<` compares UTF-16 code units instead).
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------- internals

interface _Scope {
  run: RunRecord | null;
  series: SeriesSummary | null;
  sequence: SequenceSummary | null;
  now: number;
  /** Called while matching long texts: a deadline or a cancellation throws from it. */
  check: (() => void) | undefined;
}

const _contextKeys = new WeakMap<object, string>();
const _regexCache = new Map<string, Regex | null>();
const _REGEX_CACHE_SIZE = 256;

function _eval(expr: Expr, scope: _Scope): QueryValue {
  switch (expr.type) {
    case "literal":
      return expr.value;
    case "list":
      return expr.items.map((item) => _eval(item, scope));
    case "dict": {
      const out: { [key: string]: QueryValue } = {};
      for (const { key, value } of expr.entries) {
        Object.defineProperty(out, key, {
          value: _eval(value, scope),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "run_attr":
      return _walk(
        _runAttribute(expr.attr, _needRun(scope), scope.now),
        expr.path,
      );
    case "param":
      return _walk(_needRun(scope).params, expr.path);
    case "metric": {
      if (scope.series === null) {
        throw new TypeError(
          `Cannot evaluate metric.${expr.field} without a series`,
        );
      }
      return _walk(_seriesField(scope.series, expr.field), expr.path);
    }
    case "sequence": {
      if (scope.sequence === null) {
        throw new TypeError(
          `Cannot evaluate ${expr.kind}.${expr.field} without a sequence`,
        );
      }
      return _walk(_sequenceField(scope.sequence, expr.field), expr.path);
    }
    case "run_metric": {
      const series = _findSeries(_needRun(scope), expr.name, expr.context);
      if (series === undefined) return null;
      const value = expr.field === null
        ? _seriesDict(series)
        : _seriesField(series, expr.field);
      return _walk(value, expr.path);
    }
    case "member":
      return _walk(_eval(expr.object, scope), [expr.key]);
    case "call":
      return _call(
        expr.method,
        _eval(expr.object, scope),
        _eval(expr.arg, scope),
        scope.check,
      );
    case "unary": {
      const v = _eval(expr.operand, scope);
      if (expr.op === "not") return !truthy(v);
      if (typeof v !== "number" && typeof v !== "boolean") return null;
      return expr.op === "-" ? -Number(v) : Number(v);
    }
    case "binary":
      return _arithmetic(
        expr.op,
        _eval(expr.left, scope),
        _eval(expr.right, scope),
      );
    case "logical": {
      let v: QueryValue = null;
      for (const operand of expr.operands) {
        v = _eval(operand, scope);
        if (truthy(v) === (expr.op === "or")) return v;
      }
      return v;
    }
    case "compare": {
      let left = _eval(expr.operands[0]!, scope);
      for (let i = 0; i < expr.ops.length; i++) {
        const right = _eval(expr.operands[i + 1]!, scope);
        if (!compareValues(left, expr.ops[i]!, right)) return false;
        left = right;
      }
      return true;
    }
  }
}

function _isConstant(expr: Expr): boolean {
  switch (expr.type) {
    case "literal":
      return true;
    case "list":
      return expr.items.every(_isConstant);
    case "dict":
      return expr.entries.every((e) => _isConstant(e.value));
    case "run_attr":
    case "param":
    case "metric":
    case "run_metric":
    case "sequence":
      return false;
    case "member":
      return _isConstant(expr.object);
    case "call":
      return _isConstant(expr.object) && _isConstant(expr.arg);
    case "unary":
      return _isConstant(expr.operand);
    case "binary":
      return _isConstant(expr.left) && _isConstant(expr.right);
    case "logical":
    case "compare":
      return expr.operands.every(_isConstant);
  }
}

function _needRun(scope: _Scope): RunRecord {
  if (scope.run === null) {
    throw new TypeError(`Cannot evaluate run attributes without a run`);
  }
  return scope.run;
}

function _runAttribute(attr: string, run: RunRecord, now: number): QueryValue {
  switch (attr) {
    case "duration":
      return (run.ended_at ?? now) - run.created_at;
    case "active":
      return run.status === "running";
    case "hash":
      return run.hash;
    case "name":
      return run.name;
    case "experiment":
      return run.experiment;
    case "description":
      return run.description;
    case "tags":
      return run.tags;
    case "status":
      return run.status;
    case "signal":
      return run.signal;
    case "exit_code":
      return run.exit_code;
    case "created_at":
      return run.created_at;
    case "ended_at":
      return run.ended_at;
    case "archived":
      return run.archived;
    default:
      return null;
  }
}

function _seriesField(series: SeriesSummary, field: string): QueryValue {
  switch (field) {
    case "name":
      return series.name;
    case "context":
      return series.context;
    case "count":
      return series.count;
    case "first_step":
      return series.first_step;
    case "last_step":
      return series.last_step;
    case "last":
      return series.last;
    case "min":
      return series.min;
    case "max":
      return series.max;
    case "last_time":
      return series.last_time;
    default:
      return null;
  }
}

function _sequenceField(sequence: SequenceSummary, field: string): QueryValue {
  switch (field) {
    case "name":
      return sequence.name;
    case "context":
      return sequence.context;
    case "count":
      return sequence.count;
    case "items":
      return sequence.items;
    case "first_step":
      return sequence.first_step;
    case "last_step":
      return sequence.last_step;
    case "last_time":
      return sequence.last_time;
    default:
      return null;
  }
}

function _seriesDict(series: SeriesSummary): QueryValue {
  return {
    name: series.name,
    context: series.context,
    count: series.count,
    first_step: series.first_step,
    last_step: series.last_step,
    last: series.last,
    min: series.min,
    max: series.max,
    last_time: series.last_time,
  };
}

function _findSeries(
  run: RunRecord,
  name: string,
  context: Context,
): SeriesSummary | undefined {
  const key = _contextKey(context);
  return run.metrics.find((s) =>
    s.name === name && _contextKey(s.context) === key
  );
}

/** {@linkcode contextKey}, remembered per context object: a search compares each many times. */
function _contextKey(context: Context): string {
  let key = _contextKeys.get(context);
  if (key === undefined) {
    key = contextKey(context);
    _contextKeys.set(context, key);
  }
  return key;
}

function _walk(
  value: QueryValue | undefined,
  path: readonly PathKey[],
): QueryValue {
  let v: QueryValue | undefined = value;
  for (const key of path) {
    if (v === null || v === undefined || typeof v !== "object") return null;
    if (Array.isArray(v)) {
      if (typeof key !== "number") return null;
      v = v[key < 0 ? v.length + key : key];
    } else {
      if (typeof key !== "string" || !Object.hasOwn(v, key)) return null;
      v = v[key];
    }
  }
  return v === undefined ? null : v;
}

function _contains(container: QueryValue, item: QueryValue): boolean {
  if (typeof container === "string") {
    return typeof item === "string" && container.includes(item);
  }
  if (container === null || typeof container !== "object") return false;
  if (Array.isArray(container)) {
    return container.some((el) => valuesEqual(item, el));
  }
  return typeof item === "string" && Object.hasOwn(container, item);
}

function _arithmetic(op: string, a: QueryValue, b: QueryValue): QueryValue {
  const numA = typeof a === "number" || typeof a === "boolean";
  const numB = typeof b === "number" || typeof b === "boolean";
  if (numA && numB) {
    const x = Number(a), y = Number(b);
    switch (op) {
      case "+":
        return x + y;
      case "-":
        return x - y;
      case "*":
        return x * y;
      default:
        return y === 0 ? null : x / y;
    }
  }
  if (op !== "+") return null;
  if (typeof a === "string" && typeof b === "string") return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return null;
}

function _call(
  method: string,
  subject: QueryValue,
  arg: QueryValue,
  check: (() => void) | undefined,
): boolean {
  if (typeof subject !== "string" || typeof arg !== "string") return false;
  switch (method) {
    case "startswith":
      return subject.startsWith(arg);
    case "endswith":
      return subject.endsWith(arg);
    case "contains":
      return subject.includes(arg);
    default:
      return _regex(arg)?.matchStart(subject, check) ?? false;
  }
}

/** The compiled pattern (see `regex.ts`), or null when it is invalid; remembered. */
function _regex(pattern: string): Regex | null {
  let re = _regexCache.get(pattern);
  if (re !== undefined) return re;
  try {
    re = new Regex(pattern);
  } catch (error) {
    if (!(error instanceof RegexSyntaxError)) throw error;
    re = null;
  }
  if (_regexCache.size >= _REGEX_CACHE_SIZE) _regexCache.clear();
  _regexCache.set(pattern, re);
  return re;
}
