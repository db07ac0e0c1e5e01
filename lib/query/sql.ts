/**
 * Compiles a parsed query into a SQL `WHERE` fragment over the index
 * (`index.db`), and defines how parameters are flattened into it.
 *
 * The fragment selects a superset of the matching runs (or (run, series)
 * pairs). It is `exact` when it selects precisely the matches, so no
 * evaluation in TypeScript is needed afterwards; otherwise the caller must
 * filter the rows with `evalRunQuery` / `evalMetricQuery`. Any part that
 * cannot be expressed in SQL with exactly the evaluator's semantics becomes
 * `1` (true) and makes the answer inexact; under `not` such a part makes the
 * whole `not` inexact, since the negation of a superset is not a superset.
 *
 * Schema assumed (see the index writer):
 * `runs r` (one row per run, `status` already the effective state),
 * `params(hash, path, type, num, str)` as produced by `flattenParams` (`index/params.ts`),
 * `tags(hash, tag)`, `series s(hash, name, context, count, first_step,
 * last_step, last, min, max, last_time)` with `context` in
 * {@linkcode canonicalJson} and NaN stored as NULL in `last`, `min`, `max`,
 * and `sequences q(hash, kind, name, context, count, items, first_step,
 * last_step, last_time)` for sequence queries.
 *
 * Pushed down exactly: comparisons, `in` and `not in` between a run
 * attribute, a param (path of string keys), `metric.X`, `metric.context...`,
 * `run.metrics[...].X`, or a sequence field (`images.X`, `images.context...`)
 * and a constant; `x in [constants]`, `"tag" in
 * run.tags`, truthiness of those references, `startswith`, `endswith`,
 * `contains`, `and`, `or`, `not`. Not pushed down (answered `1`, inexact):
 * `match`, arithmetic on references, comparing two references, integer
 * subscripts, `param == [list]` when the list holds booleans, 0 or 1, a
 * number `in` a param list, `in` on a value inside a context, and context
 * keys containing `"`, `\` or control characters.
 *
 * Outside the contract, where SQL and the evaluator may disagree: strings
 * containing U+0000 (SQLite's text functions stop at the first NUL), and a
 * dict that is literally `{"$f": "NaN"}` (or `"Infinity"`, `"-Infinity"`)
 * inside a param list or a series context, which the index cannot tell
 * apart from that number.
 *
 * @module
 */

import { canonicalJson } from "../util/json.ts";
import type { ParamValue } from "../types.ts";
import { compareValues, constantValue, truthy } from "./eval.ts";
import type {
  CompareOp,
  Expr,
  MetricField,
  PathKey,
  Query,
  QueryMethod,
  RunAttribute,
  SequenceField,
} from "./parser.ts";
import { METRIC_FIELDS } from "./parser.ts";

/** A value bound to a `?` placeholder. */
export type SqlArg = string | number | null;

/** A compiled query: `where` is a predicate; `args` bind its `?` in order. */
export interface CompiledQuery {
  /**
   * SQL boolean expression over `runs r` (and `series s` for a metric
   * query), to follow `WHERE`; `1` when nothing could be pushed down.
   */
  where: string;
  /** Values for the `?` placeholders of {@linkcode where}, in order. */
  args: SqlArg[];
  /** True when `where` alone selects exactly the matches. */
  exact: boolean;
}

/**
 * Compiles a run query into a predicate over the runs table aliased `r`.
 * `now` (seconds since the epoch) is the end time assumed for
 * `run.duration` of runs without one, as in `evalRunQuery`.
 *
 * @throws {TypeError} if the query mentions `metric`.
 *
 * @example What SQL can answer alone
 * ```ts
 * import { compileRunQuery } from "./sql.ts";
 * import { parseQuery } from "./parser.ts";
 *
 * const now = Date.now() / 1000;
 * const pushed = compileRunQuery(parseQuery("run.hparams.lr < 0.1"), now);
 * console.log(pushed.exact, pushed.args); // true ['["hparams","lr"]', 0.1]
 * const partial = compileRunQuery(parseQuery('run.name.match("lr-0[.]0+1")'), now);
 * console.log(partial.exact, partial.where); // false 1: every run must then pass evalRunQuery
 * ```
 */
export function compileRunQuery(q: Query, now: number): CompiledQuery {
  if (q.usesMetric) {
    throw new TypeError(
      `Cannot compile a metric query as a run query: it mentions metric`,
    );
  }
  return _compile(q, now);
}

/**
 * Compiles a query into a predicate over the runs table aliased `r` joined
 * with the series table aliased `s` (`s.hash = r.hash` is the caller's).
 *
 * @throws {TypeError} if the query mentions a sequence kind.
 */
export function compileMetricQuery(q: Query, now: number): CompiledQuery {
  if (q.sequenceKind !== null) {
    throw new TypeError(
      `Cannot compile a query that mentions ${q.sequenceKind} as a metric query`,
    );
  }
  return _compile(q, now);
}

/**
 * Compiles a query into a predicate over the runs table aliased `r` joined
 * with the sequences table aliased `q` (`q.hash = r.hash` and the kind are
 * the caller's).
 *
 * @throws {TypeError} if the query mentions metric.
 */
export function compileSequenceQuery(q: Query, now: number): CompiledQuery {
  if (q.usesMetric) {
    throw new TypeError(
      `Cannot compile a query that mentions metric as a sequence query`,
    );
  }
  return _compile(q, now);
}

// ---------------------------------------------------------------- internals

interface _Sql {
  sql: string;
  args: SqlArg[];
}

interface _Pred extends _Sql {
  exact: boolean;
}

const _TRUE: _Pred = { sql: "1", args: [], exact: true };
const _FALSE: _Pred = { sql: "0", args: [], exact: true };
const _UNKNOWN: _Pred = { sql: "1", args: [], exact: false };
const _NO: _Sql = { sql: "0", args: [] };

type _Order = "=" | "<" | "<=" | ">" | ">=";
type _StrFn = Exclude<QueryMethod, "match"> | "within";

/**
 * A reference (run attribute, param, metric field ...) as seen from SQL.
 * Each method gives an exact never-NULL predicate, or null when it cannot.
 */
interface _Slot {
  /** The value is a number (or bool) and `value op c`; c is not NaN. */
  num(op: _Order, c: number): _Sql | null;
  /** The value is a string and `value op c`. */
  str(op: _Order, c: string): _Sql | null;
  /** The value is None. */
  none(): _Sql | null;
  /** The value is truthy. */
  truthy(): _Sql | null;
  /** The value is a string and the function holds (see {@linkcode _strFnSql}). */
  strFn(fn: _StrFn, c: string): _Sql | null;
  /** `c in value`. */
  has(c: ParamValue): _Sql | null;
  /** `value == c` for a list or dict c. */
  composite(c: ParamValue): _Sql | null;
  /**
   * The value equals one of `nums` (not NaN) or one of `strs`: one SQL `IN`
   * rather than one test per item, where the slot can.
   */
  oneOf?(nums: number[], strs: string[]): _Sql | null;
}

function _compile(q: Query, now: number): CompiledQuery {
  if (q.expr === null) return { where: "1", args: [], exact: true };
  const p = new _Compiler(now).pred(q.expr);
  return { where: p.sql, args: p.args, exact: p.exact };
}

function _sql(
  strings: TemplateStringsArray,
  ...parts: (_Sql | SqlArg)[]
): _Sql {
  let sql = strings[0]!;
  const args: SqlArg[] = [];
  parts.forEach((part, i) => {
    if (part !== null && typeof part === "object") {
      sql += part.sql;
      args.push(...part.args);
    } else {
      sql += "?";
      args.push(part);
    }
    sql += strings[i + 1]!;
  });
  return { sql, args };
}

function _raw(sql: string): _Sql {
  return { sql, args: [] };
}

function _exact(s: _Sql | null): _Pred {
  if (s === null) return _UNKNOWN;
  if (s.sql === "0") return _FALSE;
  if (s.sql === "1") return _TRUE;
  return { ...s, exact: true };
}

/** Joins predicates with AND/OR as a balanced tree (SQLite limits depth). */
function _join(parts: _Pred[], op: "AND" | "OR"): _Pred {
  const absorbing = op === "AND" ? "0" : "1";
  if (parts.some((p) => p.exact && p.sql === absorbing)) {
    return op === "AND" ? _FALSE : _TRUE;
  }
  const exact = parts.every((p) => p.exact);
  if (op === "OR" && !exact) return _UNKNOWN;
  // What is left are non-trivial exact parts and, under AND, inexact `1`s.
  const kept = parts.filter((p) => p.sql !== "1" && p.sql !== "0");
  if (kept.length === 0) {
    if (op === "OR") return _FALSE;
    return exact ? _TRUE : _UNKNOWN;
  }
  const tree = (list: _Pred[]): _Sql => {
    if (list.length === 1) return list[0]!;
    const mid = list.length >> 1;
    const a = tree(list.slice(0, mid)), b = tree(list.slice(mid));
    return { sql: `(${a.sql} ${op} ${b.sql})`, args: [...a.args, ...b.args] };
  };
  return { ...tree(kept), exact };
}

function _joinSql(parts: (_Sql | null)[], op: "AND" | "OR"): _Sql | null {
  if (parts.some((p) => p === null)) return null;
  const p = _join(parts.map((s) => _exact(s)), op);
  return p;
}

function _not(s: _Sql | null): _Sql | null {
  if (s === null) return null;
  if (s.sql === "0") return _raw("1");
  if (s.sql === "1") return _raw("0");
  return _sql`NOT (${s})`;
}

function _isRef(expr: Expr): boolean {
  return expr.type === "run_attr" || expr.type === "param" ||
    expr.type === "metric" ||
    expr.type === "run_metric" || expr.type === "sequence";
}

const _FLIP: Record<string, CompareOp> = {
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
  "==": "==",
  "!=": "!=",
};

class _Compiler {
  #now: number;

  constructor(now: number) {
    this.#now = now;
  }

  /** A predicate for the truthiness of `expr`. */
  pred(expr: Expr): _Pred {
    const constant = constantValue(expr);
    if (constant !== undefined) return truthy(constant) ? _TRUE : _FALSE;
    switch (expr.type) {
      case "logical":
        return _join(
          expr.operands.map((e) => this.pred(e)),
          expr.op === "and" ? "AND" : "OR",
        );
      case "unary": {
        if (expr.op !== "not") return _UNKNOWN;
        const inner = this.pred(expr.operand);
        return inner.exact ? _exact(_not(inner)) : _UNKNOWN;
      }
      case "compare": {
        const pairs: _Pred[] = [];
        for (let i = 0; i < expr.ops.length; i++) {
          pairs.push(
            this.#compare(
              expr.operands[i]!,
              expr.ops[i]!,
              expr.operands[i + 1]!,
            ),
          );
        }
        return _join(pairs, "AND");
      }
      case "call":
        return _exact(this.#call(expr.method, expr.object, expr.arg));
      case "run_attr":
      case "param":
      case "metric":
      case "run_metric":
      case "sequence":
        return _exact(this.#slot(expr)?.truthy() ?? null);
      default:
        return _UNKNOWN;
    }
  }

  #compare(left: Expr, op: CompareOp, right: Expr): _Pred {
    const lc = constantValue(left), rc = constantValue(right);
    if (lc !== undefined && rc !== undefined) {
      return compareValues(lc, op, rc) ? _TRUE : _FALSE;
    }
    if (op === "in" || op === "not in") {
      let s: _Sql | null = null;
      if (lc !== undefined && _isRef(right)) {
        s = this.#slot(right)?.has(lc) ?? null;
      } else if (rc !== undefined && _isRef(left)) {
        const slot = this.#slot(left);
        s = slot === null ? null : _inConstant(slot, rc);
      }
      return _exact(op === "in" ? s : _not(s));
    }
    let ref: Expr, c: ParamValue;
    if (rc !== undefined && _isRef(left)) {
      ref = left;
      c = rc;
    } else if (lc !== undefined && _isRef(right)) {
      ref = right;
      c = lc;
      op = _FLIP[op]!;
    } else {
      return _UNKNOWN;
    }
    const slot = this.#slot(ref);
    if (slot === null) return _UNKNOWN;
    switch (op) {
      case "==":
        return _exact(_equal(slot, c));
      case "!=":
        return _exact(_not(_equal(slot, c)));
      default:
        return _exact(_order(slot, op as _Order, c));
    }
  }

  #call(method: QueryMethod, object: Expr, arg: Expr): _Sql | null {
    const c = constantValue(arg);
    if (c === undefined || !_isRef(object)) return null;
    if (typeof c !== "string") return _NO;
    if (method === "match") return null;
    return this.#slot(object)?.strFn(method, c) ?? null;
  }

  #slot(expr: Expr): _Slot | null {
    switch (expr.type) {
      case "run_attr":
        return expr.path.length > 0 ? null : this.#runAttrSlot(expr.attr);
      case "param":
        return _paramSlot(expr.path);
      case "metric":
        return _seriesFieldSlot("s", expr.field, expr.path);
      case "sequence":
        return _sequenceFieldSlot(expr.field, expr.path);
      case "run_metric":
        return _runSeriesSlot(
          expr.name,
          canonicalJson(expr.context),
          expr.field,
          expr.path,
        );
      default:
        return null;
    }
  }

  #runAttrSlot(attr: RunAttribute): _Slot {
    switch (attr) {
      case "tags":
        return _tagsSlot();
      case "signal":
        return _columnSlot(_raw("r.signal"), "text", "none");
      case "exit_code":
      case "ended_at":
        return _columnSlot(_raw(`r.${attr}`), "number", "none");
      case "created_at":
      case "archived":
        return _columnSlot(_raw(`r.${attr}`), "number", "never");
      case "duration":
        return _columnSlot(
          _sql`(coalesce(r.ended_at, ${this.#now}) - r.created_at)`,
          "number",
          "never",
        );
      case "active":
        return _columnSlot(_raw(`(r.status = 'running')`), "number", "never");
      default:
        return _columnSlot(_raw(`r.${attr}`), "text", "never");
    }
  }
}

function _equal(slot: _Slot, c: ParamValue): _Sql | null {
  if (c === null) return slot.none();
  switch (typeof c) {
    case "boolean":
      return slot.num("=", c ? 1 : 0);
    case "number":
      return Number.isNaN(c) ? _NO : slot.num("=", c);
    case "string":
      return slot.str("=", c);
    default:
      return _composite(slot, c);
  }
}

function _composite(slot: _Slot, c: ParamValue): _Sql | null {
  // Equality with a value containing NaN anywhere is always false.
  if (_someLeaf(c, (v) => typeof v === "number" && Number.isNaN(v))) return _NO;
  return slot.composite(c);
}

function _order(slot: _Slot, op: _Order, c: ParamValue): _Sql | null {
  if (typeof c === "boolean") return slot.num(op, c ? 1 : 0);
  if (typeof c === "number") return Number.isNaN(c) ? _NO : slot.num(op, c);
  if (typeof c === "string") return slot.str(op, c);
  return _NO;
}

/** `value in c` for a constant c. */
function _inConstant(slot: _Slot, c: ParamValue): _Sql | null {
  if (typeof c === "string") return slot.strFn("within", c);
  if (c === null || typeof c !== "object") return _NO;
  if (!Array.isArray(c)) return _oneOf(slot, [], Object.keys(c));
  const nums: number[] = [], strs: string[] = [];
  const others: (_Sql | null)[] = [];
  for (const item of c) {
    if (typeof item === "number" || typeof item === "boolean") {
      const n = Number(item);
      if (!Number.isNaN(n)) nums.push(n);
    } else if (typeof item === "string") {
      strs.push(item);
    } else {
      others.push(_equal(slot, item));
    }
  }
  return _joinSql([_oneOf(slot, nums, strs), ...others], "OR");
}

function _oneOf(slot: _Slot, nums: number[], strs: string[]): _Sql | null {
  if (nums.length === 0 && strs.length === 0) return _NO;
  if (nums.length + strs.length > 1 && slot.oneOf) {
    return slot.oneOf(nums, strs);
  }
  return _joinSql([
    ...nums.map((n) => slot.num("=", n)),
    ...strs.map((t) => slot.str("=", t)),
  ], "OR");
}

/** `(?, ?, ...)` binding `values`. */
function _list(values: SqlArg[]): _Sql {
  return { sql: `(${values.map(() => "?").join(", ")})`, args: values };
}

/**
 * Whether canonical-JSON equality is exactly `==` for this constant:
 * booleans, 0 and 1 are `==` to values with other canonical texts.
 */
function _canonicalIsEquality(c: ParamValue): boolean {
  return !_someLeaf(c, (v) => typeof v === "boolean" || v === 0 || v === 1);
}

function _someLeaf(
  v: ParamValue,
  test: (leaf: ParamValue) => boolean,
): boolean {
  if (v !== null && typeof v === "object") {
    return Array.isArray(v)
      ? v.some((item) => _someLeaf(item, test))
      : Object.values(v).some((item) => _someLeaf(item, test));
  }
  return test(v);
}

/** SQL for a string predicate over a non-NULL text expression `x`. */
function _strFnSql(fn: _StrFn, x: _Sql, c: string): _Sql {
  // SQLite counts characters in code points; so does the spread.
  const n = [...c].length;
  switch (fn) {
    case "startswith":
      return _sql`substr(${x}, 1, ${n}) = ${c}`;
    case "endswith":
      // substr(x, -0) would be all of x; every string ends with "".
      return n === 0
        ? _sql`(${x} IS NOT NULL)`
        : _sql`substr(${x}, ${-n}) = ${c}`;
    case "contains":
      return _sql`instr(${x}, ${c}) > 0`;
    case "within":
      return _sql`instr(${c}, ${x}) > 0`;
  }
}

/** A column or expression of the runs or series table. */
function _columnSlot(
  col: _Sql,
  kind: "text" | "number",
  nulls: "never" | "none" | "nan",
): _Slot {
  const guard = (
    s: _Sql,
  ): _Sql => (nulls === "never" ? s : _sql`coalesce(${s}, 0)`);
  const isText = kind === "text";
  return {
    num: (op, c) => (isText ? _NO : guard(_sql`${col} ${_raw(op)} ${c}`)),
    str: (op, c) => (isText ? guard(_sql`${col} ${_raw(op)} ${c}`) : _NO),
    none: () => (nulls === "none" ? _sql`(${col} IS NULL)` : _NO),
    truthy: () => {
      if (isText) return guard(_sql`${col} <> ''`);
      if (nulls === "nan") return _sql`(${col} IS NULL OR ${col} <> 0)`;
      return guard(_sql`(${col} <> 0)`);
    },
    strFn: (fn, c) => (isText ? guard(_strFnSql(fn, col, c)) : _NO),
    has: (c) => {
      if (!isText || typeof c !== "string") return _NO;
      return guard(_strFnSql("contains", col, c));
    },
    composite: () => _NO,
    oneOf: (nums, strs) => {
      const values = isText ? strs : nums;
      if (values.length === 0) return _NO;
      return guard(_sql`${col} IN ${_list(values)}`);
    },
  };
}

function _tagsSlot(): _Slot {
  return {
    num: () => _NO,
    str: () => _NO,
    none: () => _NO,
    truthy: () => _raw(`EXISTS (SELECT 1 FROM tags t WHERE t.hash = r.hash)`),
    strFn: () => _NO,
    // Tags are strings, so nothing else is ever a member.
    has: (c) =>
      typeof c === "string"
        ? _sql`r.hash IN (SELECT t.hash FROM tags t WHERE t.tag = ${c})`
        : _NO,
    composite: () => null,
  };
}

const _PARAM_TRUTHY =
  `((p.type = 'n' AND (p.num IS NULL OR p.num <> 0)) OR (p.type = 'b' AND p.num <> 0)` +
  ` OR (p.type = 's' AND p.str <> '') OR (p.type = 'j' AND p.str NOT IN ('[]', '{}')))`;

function _paramSlot(path: readonly PathKey[]): _Slot | null {
  if (!path.every((k) => typeof k === "string")) return null;
  const at = JSON.stringify(path);
  // Every descendant's path starts with `["a","b",`, and ',' + 1 is '-'.
  const lo = `${at.slice(0, -1)},`;
  const hi = `${at.slice(0, -1)}-`;
  // `IN (subquery)` rather than a correlated EXISTS: SQLite then drives the
  // search from the (path, value) index instead of probing it once per run.
  const row = (cond: _Sql): _Sql =>
    _sql`r.hash IN (SELECT p.hash FROM params p WHERE p.path = ${at} AND ${cond})`;
  return {
    // Only numbers and booleans have a num, so params_num covers this.
    num: (op, c) => row(_sql`p.num ${_raw(op)} ${c}`),
    str: (op, c) => row(_sql`p.type = 's' AND p.str ${_raw(op)} ${c}`),
    none: () =>
      _sql`NOT EXISTS (SELECT 1 FROM params p WHERE p.hash = r.hash AND ((p.path = ${at} AND p.type <> 'z') OR (p.path > ${lo} AND p.path < ${hi})))`,
    truthy: () =>
      _sql`EXISTS (SELECT 1 FROM params p WHERE p.hash = r.hash AND ((p.path = ${at} AND ${
        _raw(_PARAM_TRUTHY)
      }) OR (p.path > ${lo} AND p.path < ${hi})))`,
    strFn: (fn, c) =>
      row(_sql`p.type = 's' AND ${_strFnSql(fn, _raw("p.str"), c)}`),
    has: (c) => {
      if (typeof c === "string") {
        const child = JSON.stringify([...path, c]);
        const childLo = `${child.slice(0, -1)},`,
          childHi = `${child.slice(0, -1)}-`;
        return _sql`EXISTS (SELECT 1 FROM params p WHERE p.hash = r.hash AND ((p.path = ${at} AND ((p.type = 's' AND instr(p.str, ${c}) > 0) OR (p.type = 'j' AND EXISTS (SELECT 1 FROM json_each(p.str) e WHERE e.type = 'text' AND e.value = ${c})))) OR p.path = ${child} OR (p.path > ${childLo} AND p.path < ${childHi})))`;
      }
      if (c === null) {
        return row(
          _sql`p.type = 'j' AND EXISTS (SELECT 1 FROM json_each(p.str) e WHERE e.type = 'null')`,
        );
      }
      if (typeof c === "number" && Number.isNaN(c)) return _NO;
      return null;
    },
    composite: (c) => {
      const isList = Array.isArray(c);
      const isEmptyDict = !isList && c !== null && typeof c === "object" &&
        Object.keys(c).length === 0;
      if (!(isList || isEmptyDict) || !_canonicalIsEquality(c)) return null;
      return row(_sql`p.type = 'j' AND p.str = ${canonicalJson(c)}`);
    },
    oneOf: (nums, strs) => {
      const tests: _Sql[] = [];
      if (nums.length > 0) {
        tests.push(_sql`(p.type IN ('n', 'b') AND p.num IN ${_list(nums)})`);
      }
      if (strs.length > 0) {
        tests.push(_sql`(p.type = 's' AND p.str IN ${_list(strs)})`);
      }
      return row(
        tests.length === 1 ? tests[0]! : _sql`(${tests[0]!} OR ${tests[1]!})`,
      );
    },
  };
}

/** Keys SQLite's JSON path syntax can address inside double quotes. */
function _jsonPath(path: readonly PathKey[]): string | null {
  let out = "$";
  for (const key of path) {
    if (typeof key !== "string" || !_isPlainKey(key)) return null;
    out += `."${key}"`;
  }
  return out;
}

function _isPlainKey(key: string): boolean {
  if (!key.isWellFormed()) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** A value inside a series context (canonical JSON in column `ctx`). */
function _contextSlot(ctx: string, path: readonly PathKey[]): _Slot | null {
  const jp = _jsonPath(path);
  if (jp === null) return null;
  const c0 = _raw(ctx);
  if (path.length === 0) {
    return {
      num: () => _NO,
      str: () => _NO,
      none: () => _NO,
      truthy: () => _sql`(${c0} <> '{}')`,
      strFn: () => _NO,
      has: (c) => {
        // Context keys are strings, so nothing else is ever a key.
        if (typeof c !== "string") return _NO;
        const key = _jsonPath([c]);
        return key === null
          ? null
          : _sql`(json_type(${c0}, ${key}) IS NOT NULL)`;
      },
      composite: (c) => {
        if (Array.isArray(c)) return _NO;
        if (!_canonicalIsEquality(c)) return null;
        return _sql`(${c0} = ${canonicalJson(c)})`;
      },
    };
  }
  const t = _sql`json_type(${c0}, ${jp})`;
  const v = _sql`json_extract(${c0}, ${jp})`;
  // Non-finite numbers are stored as {"$f": ...} objects (see canonicalJson).
  const num =
    _sql`(CASE ${t} WHEN 'integer' THEN ${v} WHEN 'real' THEN ${v} WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'object' THEN (CASE ${v} WHEN '{"$f":"Infinity"}' THEN 9e999 WHEN '{"$f":"-Infinity"}' THEN -9e999 END) END)`;
  return {
    num: (op, c) => _sql`coalesce(${num} ${_raw(op)} ${c}, 0)`,
    str: (op, c) => _sql`coalesce(${t} = 'text' AND ${v} ${_raw(op)} ${c}, 0)`,
    none: () => _sql`coalesce(${t} = 'null', 1)`,
    truthy: () =>
      _sql`(CASE ${t} WHEN 'true' THEN 1 WHEN 'integer' THEN ${v} <> 0 WHEN 'real' THEN ${v} <> 0 WHEN 'text' THEN ${v} <> '' WHEN 'array' THEN ${v} <> '[]' WHEN 'object' THEN ${v} <> '{}' ELSE 0 END)`,
    strFn: (fn, c) =>
      _sql`coalesce(${t} = 'text' AND ${_strFnSql(fn, v, c)}, 0)`,
    has: () => null,
    composite: () => null,
  };
}

/** Field `field` (then `path`) of the series row aliased `alias`. */
function _seriesFieldSlot(
  alias: string,
  field: MetricField,
  path: readonly PathKey[],
): _Slot | null {
  const col = `${alias}.${field}`;
  if (field === "context") return _contextSlot(col, path);
  if (path.length > 0) return null;
  switch (field) {
    case "name":
      return _columnSlot(_raw(col), "text", "never");
    case "count":
      return _columnSlot(_raw(col), "number", "never");
    case "last":
    case "min":
    case "max":
      return _columnSlot(_raw(col), "number", "nan");
    default:
      return _columnSlot(_raw(col), "number", "none");
  }
}

/** Field `field` (then `path`) of the sequence row aliased `q`. */
function _sequenceFieldSlot(
  field: SequenceField,
  path: readonly PathKey[],
): _Slot | null {
  const col = `q.${field}`;
  if (field === "context") return _contextSlot(col, path);
  if (path.length > 0) return null;
  switch (field) {
    case "name":
      return _columnSlot(_raw(col), "text", "never");
    case "count":
    case "items":
      return _columnSlot(_raw(col), "number", "never");
    default:
      return _columnSlot(_raw(col), "number", "none");
  }
}

const _FIELD_NAMES = new Set<string>(METRIC_FIELDS);

/** `run.metrics[name, context]` and what follows it. */
function _runSeriesSlot(
  name: string,
  context: string,
  field: MetricField | null,
  path: readonly PathKey[],
): _Slot | null {
  const filter = _sql`s2.name = ${name} AND s2.context = ${context}`;
  const exists =
    _sql`r.hash IN (SELECT s2.hash FROM series s2 WHERE ${filter})`;
  if (field === null) {
    return {
      num: () => _NO,
      str: () => _NO,
      none: () => _not(exists),
      truthy: () => exists,
      strFn: () => _NO,
      has: (
        c,
      ) => (typeof c === "string" ? (_FIELD_NAMES.has(c) ? exists : _NO) : _NO),
      composite: () => null,
    };
  }
  const inner = _seriesFieldSlot("s2", field, path);
  if (inner === null) return null;
  const wrap = (s: _Sql | null): _Sql | null => {
    if (s === null || s.sql === "0") return s;
    return _sql`r.hash IN (SELECT s2.hash FROM series s2 WHERE ${filter} AND ${s})`;
  };
  return {
    num: (op, c) => wrap(inner.num(op, c)),
    str: (op, c) => wrap(inner.str(op, c)),
    none: () => {
      const s = inner.none();
      if (s === null) return null;
      return _joinSql([_not(exists), wrap(s)], "OR");
    },
    truthy: () => wrap(inner.truthy()),
    strFn: (fn, c) => wrap(inner.strFn(fn, c)),
    has: (c) => wrap(inner.has(c)),
    composite: (c) => wrap(inner.composite(c)),
  };
}
