/**
 * Fields of runs: for a run query and a list of run expressions (a param
 * path, a run attribute, a series summary such as
 * `run.metrics["loss", {"subset": "val"}].min`), one row per matching run
 * with the value of each (docs/ARCHITECTURE.md, "Queries"). Indexed runs
 * are answered from the index's tables (params, runs, series), their
 * records decoded only for what those tables cannot answer; unindexed runs
 * from their own spaces with the evaluator. The answer is the same either
 * way, which `tests/query_equivalence_test.ts` holds.
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type { ParamValue, RunFailure, RunRecord } from "../types.ts";
import { contextKey, decodeJson } from "../util/json.ts";
import type { Repo } from "../repo/repo.ts";
import { evalValue } from "./eval.ts";
import { knownParamPaths } from "./name_check.ts";
import {
  closestNames,
  formatParamPath,
  paramNameWarnings,
  paramsNamed,
} from "./names.ts";
import { parseQuery, type Query, QuerySyntaxError } from "./parser.ts";
import { indexedRecords, matchRuns, MAX_LIMIT } from "./search.ts";

/** Most fields one request may ask for. */
export const MAX_FIELDS = 64;

/** Options of {@linkcode runFields}. */
export interface FieldOptions {
  /** Rows to return, oldest run first (default and most: {@linkcode MAX_LIMIT}). */
  limit?: number;
  /** "Now" for `run.duration` of unfinished runs, seconds since the epoch. */
  now?: number;
  /** Called between units of work; a deadline throws from it. */
  check?: () => void;
}

/** One matching run and the value of each field, in the order asked. */
export interface FieldRow {
  /** The run's hash. */
  hash: string;
  /** The index covers the run (no marker). */
  indexed: boolean;
  /** Its writer is alive. */
  live: boolean;
  /** One value per field; None where the run has no such value. */
  values: ParamValue[];
}

/** The answer of {@linkcode runFields}. */
export interface FieldTable {
  /** The fields, as asked. */
  fields: string[];
  /** One row per matching run, by creation time (then hash). */
  rows: FieldRow[];
  /** Matching runs before the limit. */
  total: number;
  /** Unindexed runs that could not be read (skipped, never fatal). */
  unreadable: RunFailure[];
}

/**
 * The value of each of `fields` (run expressions) for every run matching
 * `q`. A field that does not parse, mentions `metric`, names a param no run
 * has or a series no run has is refused with an `AimError` naming it and
 * its place (`fields[2]`).
 *
 * @example A sweep as a table
 * ```ts
 * import { runFields } from "./fields.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * for (const lr of [0.1, 0.01]) {
 *   const run = await repo.startRun({ name: `lr-${lr}` });
 *   run.set("hparams", { lr });
 *   run.track(lr * 10, { name: "loss", context: { subset: "val" } });
 *   await run.close();
 * }
 * const table = runFields(repo, "", [
 *   "run.name",
 *   "run.hparams.lr",
 *   'run.metrics["loss", {"subset": "val"}].min',
 * ]);
 * console.log(table.rows.map((row) => row.values)); // [["lr-0.1", 0.1, 1], ["lr-0.01", 0.01, 0.1]]
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function runFields(
  repo: Repo,
  q: string,
  fields: readonly string[],
  options: FieldOptions = {},
): FieldTable {
  const limit = options.limit ?? MAX_LIMIT;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw badRequest(
      `limit must be an integer from 0 to ${MAX_LIMIT}, got ${limit}`,
    );
  }
  const parsed = _parseFields(fields);
  const query = parseQuery(q);
  const matched = matchRuns(repo, query, {
    ...(options.now !== undefined ? { now: options.now } : {}),
    ...(options.check !== undefined ? { check: options.check } : {}),
  });
  _checkNamesExist(repo, parsed, options.check);
  const { now, unindexed } = matched;
  interface Pending {
    hash: string;
    created_at: number;
    record: RunRecord | null;
    row: FieldRow;
  }
  const all: Pending[] = [
    ...matched.indexed.map((m) => ({
      hash: m.hash,
      created_at: m.created_at,
      record: m.record,
      row: { hash: m.hash, indexed: true, live: false, values: [] },
    })),
    ...unindexed.map((run) => ({
      hash: run.record.hash,
      created_at: run.record.created_at,
      record: run.record,
      row: {
        hash: run.record.hash,
        indexed: false,
        live: run.live,
        values: [],
      },
    })),
  ];
  all.sort((a, b) =>
    a.created_at - b.created_at ||
    (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
  );
  const page = all.slice(0, limit);
  const fromIndex = page.filter((p) => p.record === null);
  const hashes = JSON.stringify(fromIndex.map((p) => p.hash));
  // Index answers per field: hash → value; a hash left out needs its record.
  const answers = fromIndex.length === 0
    ? parsed.map(() => new Map<string, ParamValue>())
    : _fromIndex(repo, parsed, hashes, now);
  const needRecord = fromIndex.filter((p) =>
    answers.some((answer) => !answer.has(p.hash))
  );
  const records = indexedRecords(repo, needRecord.map((p) => p.hash));
  for (const p of page) {
    options.check?.();
    const record = p.record ?? records.get(p.hash) ?? null;
    p.row.values = parsed.map((field, i) => {
      const known = answers[i]!;
      if (p.record === null && known.has(p.hash)) return known.get(p.hash)!;
      if (record === null) {
        // Removed between the two statements: as if it had no such value.
        return null;
      }
      return evalValue(field.query, record, now);
    });
  }
  return {
    fields: [...fields],
    rows: page.map((p) => p.row),
    total: all.length,
    unreadable: matched.unreadable,
  };
}

/** A field, parsed, and how the index's tables answer it (if they can). */
interface _Field {
  text: string;
  /** Its place in the request, for messages: `fields[2]`. */
  place: string;
  query: Query;
  source: _Source;
}

type _Source =
  | { kind: "param"; at: string; lo: string; hi: string }
  | { kind: "column"; column: string }
  | { kind: "duration" }
  | { kind: "series"; name: string; context: string; column: string }
  | { kind: "record" };

const _COLUMNS = new Set([
  "hash",
  "name",
  "experiment",
  "description",
  "status",
  "signal",
  "exit_code",
  "created_at",
  "ended_at",
  "archived",
]);
const _SERIES_COLUMNS = new Set([
  "count",
  "first_step",
  "last_step",
  "last",
  "min",
  "max",
  "last_time",
]);

/**
 * Parses each field as a run expression, refusing with its place and text
 * one that does not parse, is empty or mentions `metric`.
 */
function _parseFields(fields: readonly unknown[]): _Field[] {
  if (fields.length > MAX_FIELDS) {
    throw badRequest(
      `At most ${MAX_FIELDS} fields may be asked at once, got ${fields.length}`,
    );
  }
  return fields.map((text, i) => {
    const place = `fields[${i}]`;
    if (typeof text !== "string") {
      throw badRequest(
        `${place} must be a string such as "run.hparams.lr", got ${
          JSON.stringify(text)
        }`,
      );
    }
    let query: Query;
    try {
      query = parseQuery(text);
    } catch (error) {
      if (!(error instanceof QuerySyntaxError)) throw error;
      throw badRequest(`${place} ${JSON.stringify(text)}: ${error.message}`, {
        cause: error,
      });
    }
    if (query.expr === null) {
      throw badRequest(
        `${place} is empty: give a run expression such as run.hparams.lr`,
      );
    }
    if (query.usesMetric) {
      throw badRequest(
        `${place} ${
          JSON.stringify(text)
        } mentions metric: a field is a run expression, e.g. run.metrics["loss"].last`,
      );
    }
    return { text, place, query, source: _source(query) };
  });
}

function _source(query: Query): _Source {
  const expr = query.expr!;
  if (
    expr.type === "param" && expr.path.every((k) => typeof k === "string")
  ) {
    const at = JSON.stringify(expr.path);
    return {
      kind: "param",
      at,
      lo: `${at.slice(0, -1)},`,
      hi: `${at.slice(0, -1)}-`,
    };
  }
  if (expr.type === "run_attr" && expr.path.length === 0) {
    if (_COLUMNS.has(expr.attr)) return { kind: "column", column: expr.attr };
    if (expr.attr === "duration") return { kind: "duration" };
  }
  if (
    expr.type === "run_metric" && expr.field !== null &&
    _SERIES_COLUMNS.has(expr.field) && expr.path.length === 0
  ) {
    return {
      kind: "series",
      name: expr.name,
      context: contextKey(expr.context),
      column: expr.field,
    };
  }
  return { kind: "record" };
}

/** Most fields one statement joins (SQLite joins at most 64 tables). */
const _JOINS_PER_STATEMENT = 24;

/**
 * The values of `fields` for the indexed runs `hashes` (a JSON array) that
 * the index's tables answer exactly, one map per field; a run left out of
 * a field's map is evaluated on its record. One statement per batch of
 * fields, one row per run (as arrays, not objects): 10,000 runs × 9
 * fields is 10,000 rows, not 90,000.
 */
function _fromIndex(
  repo: Repo,
  fields: readonly _Field[],
  hashes: string,
  now: number,
): Map<string, ParamValue>[] {
  const answers = fields.map(() => new Map<string, ParamValue>());
  const answered = fields.flatMap((field, i) =>
    field.source.kind === "record" ? [] : [i]
  );
  for (let at = 0; at < answered.length; at += _JOINS_PER_STATEMENT) {
    const batch = answered.slice(at, at + _JOINS_PER_STATEMENT);
    _answerBatch(repo, fields, batch, answers, hashes, now);
  }
  return answers;
}

/** Answers the fields numbered `batch` with one statement (see `_fromIndex`). */
function _answerBatch(
  repo: Repo,
  fields: readonly _Field[],
  batch: readonly number[],
  answers: Map<string, ParamValue>[],
  hashes: string,
  now: number,
): void {
  // Positional arguments follow the statement's text: columns, then joins.
  const columns: string[] = [];
  const columnArgs: string[] = [];
  const joins: string[] = [];
  const joinArgs: string[] = [];
  let runs = false;
  // Where each field's columns start in a row.
  const first: number[] = [];
  for (const i of batch) {
    const source = fields[i]!.source;
    first.push(columns.length);
    switch (source.kind) {
      case "param":
        // The leaf at the path (a primary key seek), and whether rows lie
        // below it (a dict, rebuilt from the record) when there is none.
        joins.push(
          `LEFT JOIN params p${i} ON p${i}.hash = h.value AND p${i}.path = ?`,
        );
        joinArgs.push(source.at);
        columns.push(
          `p${i}.type`,
          `p${i}.num`,
          `p${i}.str`,
          `p${i}.hash IS NULL AND EXISTS (SELECT 1 FROM params b WHERE b.hash = h.value AND b.path > ? AND b.path < ?)`,
        );
        columnArgs.push(source.lo, source.hi);
        break;
      case "column":
      case "duration":
        runs = true;
        columns.push(
          source.kind === "column" ? `r.${source.column}` : "r.created_at",
          "r.ended_at",
          "r.hash IS NOT NULL",
        );
        break;
      case "series":
        joins.push(
          `LEFT JOIN series s${i} ON s${i}.hash = h.value AND s${i}.name = ? AND s${i}.context = ?`,
        );
        joinArgs.push(source.name, source.context);
        columns.push(`s${i}.count`, `s${i}.${source.column}`);
        break;
      case "record":
        throw new TypeError(`${fields[i]!.place} is not answered by the index`);
    }
  }
  if (runs) joins.unshift("LEFT JOIN runs r ON r.hash = h.value");
  const statement = repo.index().statement(
    `SELECT ${columns.join(", ")}, h.value FROM json_each(?) h ${
      joins.join(" ")
    }`,
  );
  // Only this text uses this statement, so the setting stays with it.
  // (Deno has the method; its node:sqlite types do not declare it yet.)
  (statement as typeof statement & {
    setReturnArrays(enabled: boolean): void;
  }).setReturnArrays(true);
  const rows = statement.all(
    ...columnArgs,
    hashes,
    ...joinArgs,
  ) as unknown as unknown[][];
  const hashAt = columns.length;
  batch.forEach((i, k) => {
    const out = answers[i]!;
    const source = fields[i]!.source;
    const c = first[k]!;
    for (const row of rows) {
      const hash = row[hashAt] as string;
      const value = _cell(source, row, c, now);
      if (value !== undefined) out.set(hash, value);
    }
  });
}

/**
 * A field's value from its columns in a row starting at `c`; undefined
 * when the index cannot say (a dict or a list param, a run gone).
 */
function _cell(
  source: _Source,
  row: unknown[],
  c: number,
  now: number,
): ParamValue | undefined {
  switch (source.kind) {
    case "param":
      if (row[c] === null) return Number(row[c + 3]) !== 0 ? undefined : null;
      return _leaf(row[c] as string, row[c + 1], row[c + 2]);
    case "column":
    case "duration": {
      if (Number(row[c + 2]) === 0) return undefined;
      if (source.kind === "duration") {
        const ended = row[c + 1];
        return (ended === null ? now : Number(ended)) - Number(row[c]);
      }
      if (source.column === "archived") return Number(row[c]) !== 0;
      return row[c] as ParamValue;
    }
    case "series": {
      if (row[c] === null) return null;
      const v = row[c + 1];
      if (v !== null) return Number(v);
      return ["last", "min", "max"].includes(source.column) ? NaN : null;
    }
    case "record":
      return undefined;
  }
}

/** A leaf param's value; undefined for a list or an empty dict (`j`). */
function _leaf(
  type: string,
  num: unknown,
  str: unknown,
): ParamValue | undefined {
  switch (type) {
    case "n":
      return num === null ? NaN : Number(num);
    case "b":
      return Number(num) !== 0;
    case "s":
      return String(str);
    case "z":
      return null;
    default:
      return undefined;
  }
}

/**
 * Refuses a field naming a param or a series that no run of the
 * repository has: a typo would otherwise draw an axis of Nones.
 */
function _checkNamesExist(
  repo: Repo,
  fields: _Field[],
  check?: () => void,
): void {
  let known: string[][] | null = null;
  let series: { name: string; context: string }[] | null = null;
  for (const field of fields) {
    const expr = field.query.expr!;
    if (paramsNamed(field.query).length > 0) {
      known ??= knownParamPaths(repo, check);
      // No param in any run: nothing to compare with (an empty repository).
      const [warning] = known.length === 0
        ? []
        : paramNameWarnings(field.query, known);
      if (warning !== undefined) {
        throw badRequest(`${field.place}: ${warning.message}`);
      }
    }
    if (expr.type === "run_metric") {
      series ??= listSeries(repo, check).map((s) => ({
        name: s.name,
        context: contextKey(s.context),
      }));
      if (series.length === 0) continue;
      const context = contextKey(expr.context);
      if (series.some((s) => s.name === expr.name && s.context === context)) {
        continue;
      }
      const contexts = series.filter((s) => s.name === expr.name);
      if (contexts.length > 0) {
        throw badRequest(
          `${field.place}: no run has a series ${
            JSON.stringify(expr.name)
          } with the context ${context}; its contexts are ${
            contexts.map((s) => s.context).join(", ")
          }`,
        );
      }
      const close = closestNames(expr.name, series.map((s) => s.name));
      throw badRequest(
        `${field.place}: no run has a series ${JSON.stringify(expr.name)}${
          close.length > 0
            ? `: did you mean ${
              close.map((n) => JSON.stringify(n)).join(" or ")
            }?`
            : ""
        }`,
      );
    }
  }
}

/** A series name and context that some run has. */
export interface SeriesName {
  /** The series' name. */
  name: string;
  /** Its context, `{}` when none. */
  context: { [key: string]: ParamValue };
}

/**
 * Every (name, context) of a series some run has: from the index, and from
 * the own space of each run it does not cover. Sorted by name, then
 * context.
 */
export function listSeries(repo: Repo, check?: () => void): SeriesName[] {
  const index = repo.index();
  const found = new Map<string, SeriesName>();
  const add = (name: string, contextText: string) => {
    const key = JSON.stringify([name, contextText]);
    if (!found.has(key)) {
      found.set(key, {
        name,
        context: decodeJson(contextText) as SeriesName["context"],
      });
    }
  };
  if (!index.empty) {
    for (
      const row of index.statement(
        "SELECT DISTINCT name, context FROM series",
      ).all()
    ) {
      add(String(row.name), String(row.context));
    }
  }
  for (const hash of index.empty ? repo.listRuns() : repo.listMarkers()) {
    check?.();
    try {
      const { record } = repo.loadRunRecent(hash);
      for (const s of record.metrics) add(s.name, contextKey(s.context));
    } catch (error) {
      // An unreadable run is reported by the searches themselves.
      if (!(error instanceof AimError)) throw error;
    }
  }
  return [...found.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : contextKey(a.context) <
        contextKey(b.context)
      ? -1
      : 1
  );
}

/** What {@linkcode listFields} offers. */
export interface FieldCatalog {
  /** Run attributes, as expressions (`run.name`). */
  attributes: string[];
  /** Every param path some run has, as expressions (`run.hparams.lr`), sorted. */
  params: string[];
  /** Every series some run has. */
  series: SeriesName[];
  /** The summary fields of a series (`last`, `min`, …). */
  series_fields: string[];
}

/** The run attributes offered as fields. */
export const FIELD_ATTRIBUTES = [
  "name",
  "experiment",
  "status",
  "created_at",
  "ended_at",
  "duration",
  "archived",
  "exit_code",
  "signal",
  "description",
  "hash",
  "tags",
] as const;

/** The fields of a repository's runs, from the index and the runs it does not cover. */
export function listFields(repo: Repo, check?: () => void): FieldCatalog {
  return {
    attributes: FIELD_ATTRIBUTES.map((a) => `run.${a}`),
    params: knownParamPaths(repo, check).map(formatParamPath).sort(),
    series: listSeries(repo, check),
    series_fields: ["last", "min", "max", "count", "last_step"],
  };
}
