/**
 * Parser for aim's query language, a small subset of Python expressions
 * close to Aim's AimQL: `run.hparams.lr < 0.01 and "best" in run.tags`.
 *
 * The text is tokenized and parsed by hand (recursive descent); nothing is
 * ever evaluated as code. Names are resolved while parsing, so the tree says
 * directly whether a node is a run attribute, a parameter, a field of the
 * current metric or a series summary of the run. What the nodes mean is
 * documented in `eval.ts`.
 *
 * @module
 */

import { AimError } from "../errors.ts";
import type { Context, ParamValue, SequenceKind } from "../types.ts";
import { SEQUENCE_KINDS } from "../types.ts";
import { Regex, RegexSyntaxError } from "./regex.ts";

/** Longest accepted query, in UTF-16 code units. */
export const MAX_QUERY_LENGTH = 10_000;

/**
 * Deepest accepted nesting of parentheses, brackets, braces, `not`, signs
 * and arithmetic (`a + b + c` nests two levels deep; `and`, `or` and chained
 * comparisons do not nest).
 */
export const MAX_QUERY_DEPTH = 64;

/**
 * A query that cannot be parsed: an `AimError` with code `query_syntax`.
 * `column` is 1-based and counts UTF-16 code units from the start of
 * `query` (a position past the end means "at the end").
 *
 * @example Point at the mistake
 * ```ts
 * import { parseQuery, QuerySyntaxError } from "./parser.ts";
 *
 * try {
 *   parseQuery("run.hparams.lr < 0.1 and (run.name == 'a'");
 * } catch (error) {
 *   if (!(error instanceof QuerySyntaxError)) throw error;
 *   console.log(error.code, error.column); // query_syntax 42
 *   console.log(error.message); // expected ')' to close the '(' at column 26, found the end of the query at column 42 of: …
 * }
 * ```
 */
export class QuerySyntaxError extends AimError {
  /** `"QuerySyntaxError"`; its {@linkcode AimError.code} is `query_syntax`. */
  override name = "QuerySyntaxError";
  /** 1-based position of the offending character in {@linkcode query}. */
  readonly column: number;
  /** The whole query text. */
  readonly query: string;

  /** `problem` at `column` of `query`; the message quotes the query around it. */
  constructor(problem: string, column: number, query: string) {
    super(
      "query_syntax",
      `${problem} at column ${column} of: ${_excerpt(query, column)}`,
    );
    this.column = column;
    this.query = query;
  }
}

/** Attributes of a run reachable as `run.X`; any other `run.X` is a param. */
export const RUN_ATTRIBUTES = [
  "hash",
  "name",
  "experiment",
  "description",
  "tags",
  "status",
  "signal",
  "exit_code",
  "created_at",
  "ended_at",
  "archived",
  "duration",
  "active",
  "metrics",
] as const;

/** A run attribute other than `metrics`, which needs a subscript. */
export type RunAttribute = Exclude<(typeof RUN_ATTRIBUTES)[number], "metrics">;

/** Fields of a series summary, reachable as `metric.X` or `run.metrics[...].X`. */
export const METRIC_FIELDS = [
  "name",
  "context",
  "count",
  "first_step",
  "last_step",
  "last",
  "min",
  "max",
  "last_time",
] as const;

/** A field of a series summary. */
export type MetricField = (typeof METRIC_FIELDS)[number];

/**
 * Fields of a sequence summary, reachable as `images.X`, `distributions.X`
 * or `texts.X`.
 */
export const SEQUENCE_FIELDS = [
  "name",
  "context",
  "count",
  "items",
  "first_step",
  "last_step",
  "last_time",
] as const;

/** A field of a sequence summary. */
export type SequenceField = (typeof SEQUENCE_FIELDS)[number];

/** String methods callable on any value (they are false on non-strings). */
export const QUERY_METHODS = [
  "startswith",
  "endswith",
  "contains",
  "match",
] as const;

/** A callable method. */
export type QueryMethod = (typeof QUERY_METHODS)[number];

/** A key of a subscript or attribute: strings address dicts, integers lists. */
export type PathKey = string | number;

/** Comparison operators, `not in` included. */
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";

/** Arithmetic operators. */
export type ArithmeticOp = "+" | "-" | "*" | "/";

/** A constant: `1.5`, `"x"`, `True`, `None`, `NaN`, `inf`. */
export interface LiteralExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "literal";
  /**
   * The constant: `None` is `null`, `NaN` and `inf` are numbers. A date
   * string compared with a time attribute is already epoch seconds here.
   */
  value: null | boolean | number | string;
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** A list display `[a, b]`. */
export interface ListExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "list";
  /** The items, in written order. */
  items: Expr[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** A dict display `{"k": v}`; keys are string literals. */
export interface DictExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "dict";
  /** The entries, in written order. */
  entries: { key: string; value: Expr }[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `run.X` for a run attribute X, then `path` walked into the value. */
export interface RunAttrExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "run_attr";
  /** The attribute, e.g. `status` or `duration`. */
  attr: RunAttribute;
  /** Keys walked into the attribute's value: `[0]` for `run.tags[0]`; often empty. */
  path: PathKey[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** A run parameter: `run.hparams.lr`, `run["hparams", "lr"]`; `path` is never empty. */
export interface ParamExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "param";
  /** Keys from the top of the run's params: `["hparams", "lr"]` for `run.hparams.lr`. */
  path: PathKey[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `metric.X` of a metric query, then `path` walked into the value. */
export interface MetricExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "metric";
  /** The summary field, e.g. `last`. */
  field: MetricField;
  /** Keys walked into the field's value: `["subset"]` for `metric.context.subset`. */
  path: PathKey[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/**
 * `run.metrics[name, context]`: the run's series summary with that name and
 * exactly that context (`{}` when omitted), as a dict, or `field` of it.
 */
export interface RunMetricExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "run_metric";
  /** The series name. */
  name: string;
  /** The context the series must have exactly; `{}` when omitted. */
  context: Context;
  /** The summary field taken, or `null` for the whole summary as a dict. */
  field: MetricField | null;
  /** Keys walked into the field's value (or the summary's) afterwards. */
  path: PathKey[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/**
 * `images.X`, `distributions.X` or `texts.X` of a sequence query: a field of
 * the sequence being tested, then `path` walked into the value.
 */
export interface SequenceExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "sequence";
  /** The kind of sequence the query tests. */
  kind: SequenceKind;
  /** The summary field, e.g. `name`. */
  field: SequenceField;
  /** Keys walked into the field's value: `["subset"]` for `images.context.subset`. */
  path: PathKey[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `x.key` or `x[key]` on a value that is not a run or metric reference. */
export interface MemberExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "member";
  /** The value looked into. */
  object: Expr;
  /** A dict key, or a list index (negative counts from the end). */
  key: PathKey;
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `x.startswith(arg)` and the other {@linkcode QUERY_METHODS}. */
export interface CallExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "call";
  /** The method called. */
  method: QueryMethod;
  /** The string it is called on: `s` in `s.startswith(x)`. */
  object: Expr;
  /** The one argument: `x` in `s.startswith(x)`. */
  arg: Expr;
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `not x`, `-x`, `+x`. */
export interface UnaryExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "unary";
  /** Logical `not`, or a sign. */
  op: "not" | "-" | "+";
  /** The value the operator applies to. */
  operand: Expr;
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `a + b`, `a - b`, `a * b`, `a / b`. */
export interface BinaryExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "binary";
  /** The arithmetic operator. */
  op: ArithmeticOp;
  /** The operand before the operator. */
  left: Expr;
  /** The operand after the operator. */
  right: Expr;
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** `a and b and ...` or `a or b or ...` (at least two operands). */
export interface LogicalExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "logical";
  /** The one operator joining every operand. */
  op: "and" | "or";
  /** Two or more, in written order; evaluation stops early as in Python. */
  operands: Expr[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/**
 * A comparison, possibly chained as in Python: `a < b <= c` means
 * `a < b and b <= c`; `ops.length === operands.length - 1`.
 */
export interface CompareExpr {
  /** Which kind of {@linkcode Expr} this is. */
  type: "compare";
  /** Two or more, in written order. */
  operands: Expr[];
  /** `ops[i]` compares `operands[i]` with `operands[i + 1]`. */
  ops: CompareOp[];
  /** 1-based column (UTF-16 code units) where the node starts, for error messages. */
  column: number;
}

/** A node of a parsed query. */
export type Expr =
  | LiteralExpr
  | ListExpr
  | DictExpr
  | RunAttrExpr
  | ParamExpr
  | MetricExpr
  | RunMetricExpr
  | SequenceExpr
  | MemberExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | LogicalExpr
  | CompareExpr;

/** A parsed query. */
export interface Query {
  /** The text it was parsed from. */
  readonly text: string;
  /** The expression, or `null` for an empty query, which matches everything. */
  readonly expr: Expr | null;
  /** Whether it mentions `metric`, i.e. is evaluated per (run, series) pair. */
  readonly usesMetric: boolean;
  /**
   * The kind of sequence it mentions (`images`, `distributions`, `texts`),
   * i.e. it is evaluated per (run, sequence) pair; null when none.
   */
  readonly sequenceKind: SequenceKind | null;
}

/**
 * Parses a query. An empty or all-whitespace query matches everything.
 *
 * String literals compared directly with `run.created_at`, `run.ended_at` or
 * a `last_time` field are read as ISO dates (UTC when no zone is given) and
 * replaced by epoch seconds; an unparsable one is a syntax error.
 *
 * @throws {QuerySyntaxError} on any malformed, too long or too deep query.
 *
 * @example Parse once, use many times
 * ```ts
 * import { parseQuery } from "./parser.ts";
 *
 * const query = parseQuery('run.hparams.lr <= 0.01 and "best" in run.tags');
 * console.log(query.expr?.type, query.usesMetric); // logical false
 * console.log(parseQuery("metric.last < 0.1").usesMetric); // true: matches (run, series) pairs
 * console.log(parseQuery("  ").expr); // null: matches everything
 *
 * // A date string compared with a time attribute is read as epoch seconds (UTC).
 * const since = parseQuery('run.created_at >= "2026-01-01"').expr;
 * if (since?.type === "compare") console.log(since.operands[1]); // { type: "literal", value: 1767225600, column: 19 }
 * ```
 */
export function parseQuery(text: string): Query {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse a query of type ${typeof text}`);
  }
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(
      `query is ${text.length} characters long, over the limit of ${MAX_QUERY_LENGTH}`,
      MAX_QUERY_LENGTH + 1,
      text,
    );
  }
  const parser = new _Parser(text, _tokenize(text));
  const expr = parser.parseQuery();
  return {
    text,
    expr,
    usesMetric: parser.usesMetric,
    sequenceKind: parser.sequenceKind,
  };
}

/**
 * Reads an ISO 8601 date or date-time (`2026-11-01`, `2026-11-01T12:30`,
 * `2026-11-01 12:30:15.5+02:00`, `...Z`) as epoch seconds; UTC when no zone
 * is given. Returns `null` when the text is not such a date.
 */
export function parseIsoDate(text: string): number | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i
      .exec(text.trim());
  if (m === null) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59) {
    return null;
  }
  if (second > 59) return null;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // A day past the month's end rolls over into the next month.
  if (date.getUTCDate() !== day) return null;
  const ms = date.getTime();
  let offset = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const zh = Number(digits.slice(0, 2)), zm = Number(digits.slice(2));
    if (zh > 23 || zm > 59) return null;
    offset = sign * (zh * 3600 + zm * 60);
  }
  const fraction = frac === "" ? 0 : Number(`0.${frac}`);
  return ms / 1000 + fraction - offset;
}

// ---------------------------------------------------------------- tokenizer

type _TokenKind = "num" | "str" | "name" | "op" | "end";

interface _Token {
  kind: _TokenKind;
  /** Operator text, name, or raw number text. */
  text: string;
  /** Decoded value of a string or number literal. */
  value?: string | number;
  column: number;
}

const _OPERATORS = [
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  ".",
  "+",
  "-",
  "*",
  "/",
];

const _ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "\n": "",
};

function _tokenize(text: string): _Token[] {
  const tokens: _Token[] = [];
  const fail: (problem: string, index: number) => never = (problem, index) => {
    throw new QuerySyntaxError(problem, index + 1, text);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const start = i;
    const isRaw = (c === "r" || c === "R") &&
      (text[i + 1] === '"' || text[i + 1] === "'");
    if (c === '"' || c === "'" || isRaw) {
      if (isRaw) i++;
      const quote = text[i]!;
      i++;
      let value = "";
      for (;;) {
        if (i >= text.length) {
          fail(`unterminated string starting`, start);
        }
        const ch = text[i]!;
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === "\n") fail(`unterminated string starting`, start);
        if (ch !== "\\") {
          value += ch;
          i++;
          continue;
        }
        const next = text[i + 1];
        if (next === undefined) fail(`unterminated string starting`, start);
        if (isRaw) {
          // As in Python, a raw string keeps the backslash but it still
          // stops the next character from closing the string.
          value += ch + next;
          i += 2;
          continue;
        }
        if (next === "x" || next === "u" || next === "U") {
          const width = next === "x" ? 2 : next === "u" ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + width);
          if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
            fail(`malformed \\${next} escape in string`, i);
          }
          const code = parseInt(hex, 16);
          if (code > 0x10ffff) {
            fail(`escape \\${next}${hex} is out of range`, i);
          }
          value += String.fromCodePoint(code);
          i += 2 + width;
          continue;
        }
        if (next! >= "0" && next! <= "7") {
          // Octal, as in Python: up to three digits.
          const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
          value += String.fromCharCode(parseInt(digits, 8));
          i += 1 + digits.length;
          continue;
        }
        if (next === "N") {
          fail(
            `\\N{...} named characters are not supported: write the character itself or \\uXXXX`,
            i,
          );
        }
        const simple = _ESCAPES[next!];
        // Python keeps unknown escapes such as "\d" as they are, which
        // keeps regular expressions readable.
        value += simple ?? ch + next;
        i += 2;
      }
      tokens.push({
        kind: "str",
        text: text.slice(start, i),
        value,
        column: start + 1,
      });
      continue;
    }
    if (_isDigit(c) || (c === "." && _isDigit(text[i + 1]))) {
      while (_isDigit(text[i])) i++;
      if (text[i] === ".") {
        i++;
        while (_isDigit(text[i])) i++;
      }
      if (text[i] === "e" || text[i] === "E") {
        let j = i + 1;
        if (text[j] === "+" || text[j] === "-") j++;
        if (!_isDigit(text[j])) fail(`malformed number exponent`, i);
        while (_isDigit(text[j])) j++;
        i = j;
      }
      if (_isNameStart(text[i])) {
        fail(
          `malformed number ${JSON.stringify(text.slice(start, i + 1))}`,
          start,
        );
      }
      const raw = text.slice(start, i);
      tokens.push({
        kind: "num",
        text: raw,
        value: Number(raw),
        column: start + 1,
      });
      continue;
    }
    if (_isNameStart(c)) {
      while (_isNameStart(text[i]) || _isDigit(text[i])) i++;
      tokens.push({
        kind: "name",
        text: text.slice(start, i),
        column: start + 1,
      });
      continue;
    }
    const op = _OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) {
      const shown = c === "="
        ? "'=' (use == to compare)"
        : JSON.stringify(String.fromCodePoint(text.codePointAt(i)!));
      fail(`unexpected character ${shown}`, i);
    }
    tokens.push({ kind: "op", text: op!, column: start + 1 });
    i += op!.length;
  }
  tokens.push({ kind: "end", text: "", column: text.length + 1 });
  return tokens;
}

function _isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function _isNameStart(c: string | undefined): boolean {
  return c !== undefined &&
    ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
}

// ---------------------------------------------------------------- parser

const _CONSTANTS: Record<string, null | boolean | number> = {
  True: true,
  true: true,
  False: false,
  false: false,
  None: null,
  null: null,
  NaN: NaN,
  nan: NaN,
  inf: Infinity,
  Infinity: Infinity,
};

const _KEYWORDS = new Set(["and", "or", "not", "in", "is"]);

const _TIME_FIELDS = new Set(["created_at", "ended_at", "last_time"]);

/** What a postfix chain has reached before it resolves to an expression. */
type _Partial =
  | { kind: "expr"; expr: Expr }
  | { kind: "run"; column: number }
  | { kind: "metric"; column: number }
  | { kind: "sequence"; sequence: SequenceKind; column: number }
  | { kind: "run_metrics"; column: number };

class _Parser {
  usesMetric = false;
  sequenceKind: SequenceKind | null = null;
  #text: string;
  #tokens: _Token[];
  #pos = 0;
  #depth = 0;

  constructor(text: string, tokens: _Token[]) {
    this.#text = text;
    this.#tokens = tokens;
  }

  parseQuery(): Expr | null {
    if (this.#peek().kind === "end") return null;
    const expr = this.#parseOr();
    const tok = this.#peek();
    if (tok.kind !== "end") {
      this.#fail(
        `expected an operator or the end of the query, found ${_describe(tok)}`,
        tok,
      );
    }
    return expr;
  }

  #peek(offset = 0): _Token {
    return this.#tokens[Math.min(this.#pos + offset, this.#tokens.length - 1)]!;
  }

  #next(): _Token {
    const tok = this.#peek();
    if (tok.kind !== "end") this.#pos++;
    return tok;
  }

  #isOp(text: string, offset = 0): boolean {
    const tok = this.#peek(offset);
    return tok.kind === "op" && tok.text === text;
  }

  #isWord(word: string, offset = 0): boolean {
    const tok = this.#peek(offset);
    return tok.kind === "name" && tok.text === word;
  }

  #expectOp(text: string, what: string): _Token {
    const tok = this.#peek();
    if (tok.kind !== "op" || tok.text !== text) {
      this.#fail(`expected ${what}, found ${_describe(tok)}`, tok);
    }
    return this.#next();
  }

  #fail(problem: string, at: _Token | number): never {
    const column = typeof at === "number" ? at : at.column;
    throw new QuerySyntaxError(problem, column, this.#text);
  }

  #enter(tok: _Token): void {
    if (++this.#depth > MAX_QUERY_DEPTH) {
      this.#fail(`nesting is deeper than ${MAX_QUERY_DEPTH} levels`, tok);
    }
  }

  #leave(): void {
    this.#depth--;
  }

  #parseOr(): Expr {
    this.#enter(this.#peek());
    const first = this.#parseAnd();
    const operands = [first];
    while (this.#isWord("or")) {
      this.#next();
      operands.push(this.#parseAnd());
    }
    this.#leave();
    if (operands.length === 1) return first;
    return { type: "logical", op: "or", operands, column: first.column };
  }

  #parseAnd(): Expr {
    const first = this.#parseNot();
    const operands = [first];
    while (this.#isWord("and")) {
      this.#next();
      operands.push(this.#parseNot());
    }
    if (operands.length === 1) return first;
    return { type: "logical", op: "and", operands, column: first.column };
  }

  #parseNot(): Expr {
    if (!this.#isWord("not")) return this.#parseComparison();
    const tok = this.#next();
    this.#enter(tok);
    const operand = this.#parseNot();
    this.#leave();
    return { type: "unary", op: "not", operand, column: tok.column };
  }

  #parseComparison(): Expr {
    const first = this.#parseSum();
    const operands = [first];
    const ops: CompareOp[] = [];
    for (;;) {
      const tok = this.#peek();
      let op: CompareOp | null = null;
      if (
        tok.kind === "op" &&
        ["==", "!=", "<", "<=", ">", ">="].includes(tok.text)
      ) {
        op = tok.text as CompareOp;
        this.#next();
      } else if (this.#isWord("in")) {
        op = "in";
        this.#next();
      } else if (this.#isWord("not") && this.#isWord("in", 1)) {
        op = "not in";
        this.#next();
        this.#next();
      } else if (this.#isWord("is")) {
        this.#fail(`'is' is not supported: use == or != instead`, tok);
      }
      if (op === null) break;
      ops.push(op);
      operands.push(this.#parseSum());
    }
    if (ops.length === 0) return first;
    this.#readDates(operands, ops);
    return { type: "compare", operands, ops, column: first.column };
  }

  /** Replaces string literals compared with a time field by epoch seconds. */
  #readDates(operands: Expr[], ops: CompareOp[]): void {
    ops.forEach((op, i) => {
      if (op === "in" || op === "not in") return;
      for (const [a, b] of [[i, i + 1], [i + 1, i]] as const) {
        const time = operands[a]!, lit = operands[b]!;
        if (
          !_isTimeRef(time) || lit.type !== "literal" ||
          typeof lit.value !== "string"
        ) {
          continue;
        }
        const seconds = parseIsoDate(lit.value);
        if (seconds === null) {
          this.#fail(
            `cannot read ${
              JSON.stringify(lit.value)
            } as a date: expected ISO 8601 like "2026-11-01" or "2026-11-01T12:00:00Z"`,
            lit.column,
          );
        }
        operands[b] = { type: "literal", value: seconds, column: lit.column };
      }
    });
  }

  #parseSum(): Expr {
    return this.#parseArithmetic(["+", "-"], () => this.#parseTerm());
  }

  #parseTerm(): Expr {
    return this.#parseArithmetic(["*", "/"], () => this.#parseUnary());
  }

  /** A left-associative chain; each operator nests the tree one level deeper. */
  #parseArithmetic(ops: ArithmeticOp[], operand: () => Expr): Expr {
    let left = operand();
    let levels = 0;
    while (ops.some((op) => this.#isOp(op))) {
      const tok = this.#next();
      this.#enter(tok);
      levels++;
      const right = operand();
      left = {
        type: "binary",
        op: tok.text as ArithmeticOp,
        left,
        right,
        column: left.column,
      };
    }
    this.#depth -= levels;
    return left;
  }

  #parseUnary(): Expr {
    if (!this.#isOp("-") && !this.#isOp("+")) return this.#parsePostfix();
    const tok = this.#next();
    this.#enter(tok);
    const operand = this.#parseUnary();
    this.#leave();
    return {
      type: "unary",
      op: tok.text as "-" | "+",
      operand,
      column: tok.column,
    };
  }

  #parsePostfix(): Expr {
    let partial = this.#parseAtom();
    for (;;) {
      if (this.#isOp(".")) {
        this.#next();
        const nameTok = this.#peek();
        if (nameTok.kind !== "name") {
          this.#fail(
            `expected an attribute name after '.', found ${_describe(nameTok)}`,
            nameTok,
          );
        }
        this.#next();
        if (this.#isOp("(")) {
          partial = { kind: "expr", expr: this.#parseCall(partial, nameTok) };
        } else {
          partial = this.#applyKey(partial, nameTok.text, nameTok, true);
        }
      } else if (this.#isOp("[")) {
        const open = this.#next();
        this.#enter(open);
        if (partial.kind === "run_metrics") {
          partial = {
            kind: "expr",
            expr: this.#parseSeriesSelector(partial.column, open),
          };
        } else {
          for (const [key, tok] of this.#parseKeys(open)) {
            partial = this.#applyKey(partial, key, tok, false);
          }
        }
        this.#leave();
      } else if (this.#isOp("(")) {
        this.#fail(
          `only the methods ${QUERY_METHODS.join(", ")} can be called`,
          this.#peek(),
        );
      } else {
        break;
      }
    }
    return this.#resolve(partial);
  }

  #resolve(partial: _Partial): Expr {
    switch (partial.kind) {
      case "expr":
        return partial.expr;
      case "run":
        return this.#fail(
          `expected an attribute (run.name) or a subscript (run["lr"]) after run`,
          this.#peek(),
        );
      case "metric":
        return this.#fail(
          `expected a field (${METRIC_FIELDS.join(", ")}) after metric`,
          this.#peek(),
        );
      case "sequence":
        return this.#fail(
          `expected a field (${
            SEQUENCE_FIELDS.join(", ")
          }) after ${partial.sequence}`,
          this.#peek(),
        );
      case "run_metrics":
        return this.#fail(
          `expected a subscript like ["loss", {"subset": "train"}] after run.metrics`,
          this.#peek(),
        );
    }
  }

  #applyKey(
    partial: _Partial,
    key: PathKey,
    tok: _Token,
    dotted: boolean,
  ): _Partial {
    switch (partial.kind) {
      case "run": {
        if (dotted && key === "metrics") {
          return { kind: "run_metrics", column: partial.column };
        }
        if (dotted && (RUN_ATTRIBUTES as readonly PathKey[]).includes(key)) {
          return {
            kind: "expr",
            expr: {
              type: "run_attr",
              attr: key as RunAttribute,
              path: [],
              column: partial.column,
            },
          };
        }
        return {
          kind: "expr",
          expr: { type: "param", path: [key], column: partial.column },
        };
      }
      case "metric":
        return {
          kind: "expr",
          expr: {
            type: "metric",
            field: this.#field(key, tok),
            path: [],
            column: partial.column,
          },
        };
      case "sequence":
        return {
          kind: "expr",
          expr: {
            type: "sequence",
            kind: partial.sequence,
            field: this.#sequenceField(key, tok, partial.sequence),
            path: [],
            column: partial.column,
          },
        };
      case "run_metrics":
        return this.#fail(
          `expected a subscript like ["loss", {"subset": "train"}] after run.metrics`,
          tok,
        );
      case "expr": {
        const expr = partial.expr;
        if (expr.type === "run_metric" && expr.field === null) {
          return {
            kind: "expr",
            expr: { ...expr, field: this.#field(key, tok) },
          };
        }
        if (
          expr.type === "run_attr" || expr.type === "param" ||
          expr.type === "metric" ||
          expr.type === "run_metric" || expr.type === "sequence"
        ) {
          return { kind: "expr", expr: { ...expr, path: [...expr.path, key] } };
        }
        return {
          kind: "expr",
          expr: { type: "member", object: expr, key, column: expr.column },
        };
      }
    }
  }

  #field(key: PathKey, tok: _Token): MetricField {
    if (
      typeof key !== "string" ||
      !(METRIC_FIELDS as readonly string[]).includes(key)
    ) {
      this.#fail(
        `unknown metric field ${JSON.stringify(key)}: expected one of ${
          METRIC_FIELDS.join(", ")
        }`,
        tok,
      );
    }
    return key as MetricField;
  }

  #sequenceField(
    key: PathKey,
    tok: _Token,
    kind: SequenceKind,
  ): SequenceField {
    if (
      typeof key !== "string" ||
      !(SEQUENCE_FIELDS as readonly string[]).includes(key)
    ) {
      this.#fail(
        `unknown ${kind} field ${JSON.stringify(key)}: expected one of ${
          SEQUENCE_FIELDS.join(", ")
        }`,
        tok,
      );
    }
    return key as SequenceField;
  }

  /**
   * Notes that the query tests `root` (metric, or a sequence kind): one
   * query tests one kind of (run, member) pair.
   */
  #root(root: "metric" | SequenceKind, tok: _Token): void {
    const before = this.usesMetric ? "metric" : this.sequenceKind;
    if (before !== null && before !== root) {
      this.#fail(
        `a query tests one kind of sequence: it mentions ${before}, so it cannot mention ${root}`,
        tok,
      );
    }
    if (root === "metric") this.usesMetric = true;
    else this.sequenceKind = root;
  }

  /** Parses `k1, k2, ...]` after `[`: string or integer literals. */
  #parseKeys(open: _Token): [PathKey, _Token][] {
    const keys: [PathKey, _Token][] = [];
    do {
      if (this.#isOp("]") && keys.length > 0) break;
      const tok = this.#peek();
      const value = _constant(this.#parseOr());
      if (
        typeof value !== "string" &&
        !(typeof value === "number" && Number.isInteger(value))
      ) {
        this.#fail(`subscript keys must be string or integer literals`, tok);
      }
      keys.push([value as PathKey, tok]);
    } while (this.#isOp(",") && this.#next());
    this.#expectOp("]", `',' or ']' to close the '[' at column ${open.column}`);
    return keys;
  }

  /** Parses `"name"]` or `"name", {context}]` after `run.metrics[`. */
  #parseSeriesSelector(column: number, open: _Token): RunMetricExpr {
    const nameTok = this.#peek();
    const name = _constant(this.#parseOr());
    if (typeof name !== "string") {
      this.#fail(`expected a metric name string in run.metrics[...]`, nameTok);
    }
    let context: Context = {};
    if (this.#isOp(",") && !this.#isOp("]", 1)) {
      this.#next();
      const ctxTok = this.#peek();
      const value = _constant(this.#parseOr());
      if (
        value === undefined || value === null || typeof value !== "object" ||
        Array.isArray(value)
      ) {
        this.#fail(
          `expected a context dict of constants like {"subset": "train"}`,
          ctxTok,
        );
      }
      context = value as Context;
    }
    if (this.#isOp(",")) this.#next();
    this.#expectOp("]", `']' to close the '[' at column ${open.column}`);
    return {
      type: "run_metric",
      name: name as string,
      context,
      field: null,
      path: [],
      column,
    };
  }

  #parseCall(partial: _Partial, nameTok: _Token): CallExpr {
    const method = nameTok.text;
    if (!(QUERY_METHODS as readonly string[]).includes(method)) {
      this.#fail(
        `unknown method ${method}(): expected one of ${
          QUERY_METHODS.join(", ")
        }`,
        nameTok,
      );
    }
    const object = this.#resolve(partial);
    const open = this.#next();
    this.#enter(open);
    if (this.#isOp(")")) {
      this.#fail(`${method}() needs one argument`, this.#peek());
    }
    const arg = this.#parseOr();
    if (this.#isOp(",") && !this.#isOp(")", 1)) {
      this.#fail(`${method}() takes one argument`, this.#peek(1));
    }
    if (this.#isOp(",")) this.#next();
    this.#expectOp(")", `')' to close the '(' at column ${open.column}`);
    this.#leave();
    if (
      method === "match" && arg.type === "literal" &&
      typeof arg.value === "string"
    ) {
      try {
        new Regex(arg.value);
      } catch (error) {
        if (!(error instanceof RegexSyntaxError)) throw error;
        this.#fail(`invalid regular expression: ${error.message}`, arg.column);
      }
    }
    return {
      type: "call",
      method: method as QueryMethod,
      object,
      arg,
      column: object.column,
    };
  }

  #parseAtom(): _Partial {
    const tok = this.#peek();
    switch (tok.kind) {
      case "num":
        this.#next();
        return {
          kind: "expr",
          expr: {
            type: "literal",
            value: tok.value as number,
            column: tok.column,
          },
        };
      case "str":
        this.#next();
        return {
          kind: "expr",
          expr: {
            type: "literal",
            value: tok.value as string,
            column: tok.column,
          },
        };
      case "name": {
        this.#next();
        if (tok.text === "run") return { kind: "run", column: tok.column };
        if (tok.text === "metric") {
          this.#root("metric", tok);
          return { kind: "metric", column: tok.column };
        }
        if ((SEQUENCE_KINDS as readonly string[]).includes(tok.text)) {
          const sequence = tok.text as SequenceKind;
          this.#root(sequence, tok);
          return { kind: "sequence", sequence, column: tok.column };
        }
        if (Object.hasOwn(_CONSTANTS, tok.text)) {
          return {
            kind: "expr",
            expr: {
              type: "literal",
              value: _CONSTANTS[tok.text]!,
              column: tok.column,
            },
          };
        }
        if (_KEYWORDS.has(tok.text)) {
          this.#fail(`expected an operand, found '${tok.text}'`, tok);
        }
        return this.#fail(
          `unknown name ${tok.text}: a query starts from run, metric, images, distributions or texts`,
          tok,
        );
      }
      case "op": {
        if (tok.text === "(") {
          this.#next();
          const expr = this.#parseOr();
          this.#expectOp(")", `')' to close the '(' at column ${tok.column}`);
          return { kind: "expr", expr };
        }
        if (tok.text === "[") {
          this.#next();
          this.#enter(tok);
          const items: Expr[] = [];
          while (!this.#isOp("]")) {
            items.push(this.#parseOr());
            if (!this.#isOp(",")) break;
            this.#next();
          }
          this.#expectOp(
            "]",
            `',' or ']' to close the '[' at column ${tok.column}`,
          );
          this.#leave();
          return {
            kind: "expr",
            expr: { type: "list", items, column: tok.column },
          };
        }
        if (tok.text === "{") {
          this.#next();
          this.#enter(tok);
          const entries: { key: string; value: Expr }[] = [];
          while (!this.#isOp("}")) {
            const keyTok = this.#peek();
            if (keyTok.kind !== "str") {
              this.#fail(
                `dict keys must be string literals, found ${_describe(keyTok)}`,
                keyTok,
              );
            }
            this.#next();
            this.#expectOp(":", `':' after the dict key`);
            const value = this.#parseOr();
            const key = keyTok.value as string;
            const existing = entries.findIndex((e) => e.key === key);
            // As in Python, a repeated key keeps the last value.
            if (existing >= 0) entries.splice(existing, 1);
            entries.push({ key, value });
            if (!this.#isOp(",")) break;
            this.#next();
          }
          this.#expectOp(
            "}",
            `',' or '}' to close the '{' at column ${tok.column}`,
          );
          this.#leave();
          return {
            kind: "expr",
            expr: { type: "dict", entries, column: tok.column },
          };
        }
        break;
      }
      case "end":
        break;
    }
    return this.#fail(`expected an operand, found ${_describe(tok)}`, tok);
  }
}

/** The constant value of a literal-only expression, or `undefined`. */
function _constant(expr: Expr): ParamValue | undefined {
  switch (expr.type) {
    case "literal":
      return expr.value;
    case "unary": {
      const v = _constant(expr.operand);
      if (expr.op === "not" || typeof v !== "number") return undefined;
      return expr.op === "-" ? -v : v;
    }
    case "list": {
      const items: ParamValue[] = [];
      for (const item of expr.items) {
        const v = _constant(item);
        if (v === undefined) return undefined;
        items.push(v);
      }
      return items;
    }
    case "dict": {
      const out: { [key: string]: ParamValue } = {};
      for (const { key, value } of expr.entries) {
        const v = _constant(value);
        if (v === undefined) return undefined;
        Object.defineProperty(out, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    default:
      return undefined;
  }
}

function _isTimeRef(expr: Expr): boolean {
  switch (expr.type) {
    case "run_attr":
      return expr.path.length === 0 && _TIME_FIELDS.has(expr.attr);
    case "metric":
      return expr.path.length === 0 && expr.field === "last_time";
    case "run_metric":
    case "sequence":
      return expr.path.length === 0 && expr.field === "last_time";
    default:
      return false;
  }
}

function _describe(tok: _Token): string {
  switch (tok.kind) {
    case "end":
      return "the end of the query";
    case "name":
      return `'${tok.text}'`;
    case "op":
      return `'${tok.text}'`;
    default:
      return tok.text.length > 20 ? `${tok.text.slice(0, 20)}…` : tok.text;
  }
}

/** The query for an error message, cut around `column` when it is long. */
function _excerpt(query: string, column: number): string {
  const flat = query.replace(/[\r\n\t]/g, " ");
  if (flat.length <= 120) return flat;
  const start = Math.max(0, Math.min(column - 60, flat.length - 120));
  const end = Math.min(flat.length, start + 120);
  return `${start > 0 ? "…" : ""}${flat.slice(start, end)}${
    end < flat.length ? "…" : ""
  }`;
}
