/**
 * Run and metric search: one answer whether runs are indexed or not.
 * Indexed runs are answered by SQL on the index (finished in TypeScript
 * where the query cannot be pushed down); unindexed runs (marker present)
 * are read from their own space, one file at a time, with the same
 * evaluator. Results are merged, sorted and paginated.
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type {
  ListedRun,
  ParamValue,
  RunFailure,
  RunRecord,
  SequenceKind,
  SequenceSummary,
  SeriesSummary,
} from "../types.ts";
import { SEQUENCE_KINDS } from "../types.ts";
import { contextKey, decodeJson } from "../util/json.ts";
import type { Repo } from "../repo/repo.ts";
import {
  compareCodePoints,
  evalMetricQuery,
  evalRunQuery,
  evalSequenceQuery,
  evalValue,
} from "./eval.ts";
import { parseQuery, type Query } from "./parser.ts";
import {
  type CompiledQuery,
  compileMetricQuery,
  compileRunQuery,
  compileSequenceQuery,
  type SqlArg,
} from "./sql.ts";
import { seriesKey } from "../storage/run_file.ts";

/** Most results one search may return. */
export const MAX_LIMIT = 100_000;

/** Options of {@linkcode searchRuns} and {@linkcode searchMetrics}. */
export interface SearchOptions {
  /**
   * Sort key: a query expression such as `run.hparams.lr`, `run.name` or
   * `run.metrics["loss"].last` (not `metric`: metric matches are sorted by
   * their run); a leading `-` sorts descending. Default: `run.created_at`.
   * None sorts last either way.
   */
  sort?: string;
  /** Results to return (default 1,000; at most {@linkcode MAX_LIMIT}). */
  limit?: number;
  /** Results to skip first, for the next page (default 0). */
  offset?: number;
  /** "Now" for `run.duration` of unfinished runs, seconds since the epoch. */
  now?: number;
  /**
   * Called between units of work (a run read, a batch of index rows, a long
   * text matched): a deadline or a cancellation stops the search by
   * throwing from it.
   */
  check?: () => void;
}

/** A page of runs. */
export interface RunPage {
  /** The page of matching runs, in sort order. */
  runs: ListedRun[];
  /** Matches before pagination. */
  total: number;
  /** Unindexed runs that could not be read (skipped, never fatal). */
  unreadable: RunFailure[];
}

/** A (run, series) match. */
export interface MetricMatch {
  /** The run the series belongs to. */
  run: ListedRun;
  /** The matching series' summary (no points: read them with `readSeries`). */
  series: SeriesSummary;
}

/** A page of metric matches. */
export interface MetricPage {
  /** The page of matching (run, series) pairs, in sort order. */
  matches: MetricMatch[];
  /** Matches before pagination. */
  total: number;
  /** Unindexed runs that could not be read (skipped, never fatal). */
  unreadable: RunFailure[];
}

/**
 * Runs matching `text` (a run query; an empty query matches all). Runs with
 * a marker are read from their own space; all others from the index, whose
 * records are decoded only when the query or the sort needs them.
 *
 * @example Filter and sort a sweep
 * ```ts
 * import { searchRuns } from "./search.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * for (const lr of [0.1, 0.01, 0.001]) {
 *   const run = await repo.startRun({ experiment: "sweep", name: `lr-${lr}` });
 *   run.set("hparams", { lr });
 *   await run.close();
 * }
 * const page = searchRuns(repo, 'run.experiment == "sweep" and run.hparams.lr < 0.1', {
 *   sort: "-run.hparams.lr",
 *   limit: 10,
 * });
 * console.log(page.total, page.runs.map((r) => r.record.name)); // 2 ["lr-0.01", "lr-0.001"]
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function searchRuns(
  repo: Repo,
  text: string,
  options: SearchOptions = {},
): RunPage {
  const query = parseQuery(text);
  if (query.usesMetric) {
    throw badRequest(
      "This query mentions metric: search series with `aim metrics ls` (or use run.metrics[...] here)",
    );
  }
  if (query.sequenceKind !== null) {
    throw badRequest(
      `This query mentions ${query.sequenceKind}: search sequences with POST /api/sequences/search`,
    );
  }
  const search = _begin(repo, query, options, compileRunQuery);
  const { compiled, markers, now, limit, offset, check, sort } = search;
  const tick = _every(256, check);
  if (compiled.exact && sort.byCreation) {
    return _searchRunsByCreation(search);
  }
  const candidates: _Candidate[] = [];
  // Sorting by a record field, or finishing an inexact query, needs every record.
  const rows = repo.index().statement(
    `SELECT r.hash, r.created_at, c.record FROM runs r JOIN records c ON c.hash = r.hash WHERE ${compiled.where}`,
  ).all(...compiled.args);
  for (const row of rows) {
    tick();
    const hash = String(row.hash);
    if (markers.has(hash)) continue;
    const record = decodeJson(String(row.record)) as RunRecord;
    if (!compiled.exact && !evalRunQuery(query, record, now, check)) continue;
    candidates.push({
      hash,
      created_at: Number(row.created_at),
      run: { record, live: false, indexed: true },
    });
  }
  const unindexed = _unindexedRuns(search);
  candidates.push(...unindexed.runs.map(_candidate));
  _sortCandidates(candidates, sort, now);
  return {
    runs: candidates.slice(offset, offset + limit).map((c) => c.run!),
    total: candidates.length,
    unreadable: unindexed.unreadable,
  };
}

/**
 * An exact query in the default order: SQL counts the matches and returns
 * only the rows up to the page's end, in order (the runs_created index covers
 * it), so memory stays flat at 100,000 runs. Unindexed runs are merged in.
 */
function _searchRunsByCreation(search: _Search): RunPage {
  const { repo, compiled, markers, now, limit, offset, check, sort } = search;
  const tick = _every(256, check);
  const { runs, unreadable } = _unindexedRuns(search);
  const candidates = runs.map(_candidate);
  // The first offset+limit of the merge come from the first offset+limit of
  // each side. One pass counts and pages (at least one row, to carry the count).
  const rows = repo.index().statement(
    `SELECT r.hash, r.created_at, count(*) OVER () AS total FROM runs r WHERE (${compiled.where}) AND r.hash NOT IN (SELECT value FROM json_each(?)) ORDER BY r.created_at ${
      sort.descending ? "DESC" : ""
    }, r.hash LIMIT ?`,
  ).all(
    ...compiled.args,
    JSON.stringify([...markers]),
    Math.max(1, offset + limit),
  );
  const total = rows.length > 0 ? Number(rows[0]!.total) : 0;
  for (const row of rows) {
    tick();
    candidates.push({
      hash: String(row.hash),
      created_at: Number(row.created_at),
      run: null,
    });
  }
  _sortCandidates(candidates, sort, now);
  const page = candidates.slice(offset, offset + limit);
  _fillRecords(repo, page);
  return {
    runs: page.map((c) => c.run!),
    total: total + candidates.length - rows.length,
    unreadable,
  };
}

interface _Candidate {
  hash: string;
  created_at: number;
  /** Null until decoded: only the returned page needs its records. */
  run: ListedRun | null;
}

function _fillRecords(repo: Repo, page: _Candidate[]): void {
  const missing = page.filter((c) => c.run === null);
  if (missing.length === 0) return;
  const records = _indexedRecords(repo, missing.map((c) => c.hash));
  for (const candidate of missing) {
    candidate.run = {
      record: records.get(candidate.hash)!,
      live: false,
      indexed: true,
    };
  }
}

/** The indexed records of `hashes`, decoded, read in one statement. */
function _indexedRecords(
  repo: Repo,
  hashes: string[],
): Map<string, RunRecord> {
  const rows = repo.index().statement(
    "SELECT hash, record FROM records WHERE hash IN (SELECT value FROM json_each(?))",
  ).all(JSON.stringify([...new Set(hashes)]));
  return new Map(
    rows.map((row) => [
      String(row.hash),
      decodeJson(String(row.record)) as RunRecord,
    ]),
  );
}

interface _SortSpec {
  query: Query;
  descending: boolean;
  /**
   * By creation time (the default order, or newest first): the index has
   * the key, so no record is needed to sort.
   */
  byCreation: boolean;
}

function _sortSpec(spec: string | undefined): _SortSpec {
  const descending = spec?.trim().startsWith("-") ?? false;
  const text = (descending ? spec!.trim().slice(1) : spec)?.trim() ||
    "run.created_at";
  const query = parseQuery(text);
  if (query.usesMetric || query.sequenceKind !== null || query.expr === null) {
    throw badRequest(
      `Cannot sort by ${
        JSON.stringify(spec)
      }: give a run expression such as run.hparams.lr`,
    );
  }
  return { query, descending, byCreation: text === "run.created_at" };
}

function _sortCandidates(
  items: _Candidate[],
  sort: _SortSpec,
  now: number,
): void {
  if (sort.byCreation) {
    const direction = sort.descending ? -1 : 1;
    items.sort((a, b) =>
      direction * (a.created_at - b.created_at) ||
      _compareStrings(a.hash, b.hash)
    );
    return;
  }
  _sort(items, (c) => c.run!.record, sort, now);
}

/**
 * (run, series) pairs matching `text`, a query that may mention `metric`.
 * Sorted as runs are; a run's matches stay together, by series name, then
 * context.
 *
 * @example Find the series that ended low
 * ```ts
 * import { searchMetrics } from "./search.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * for (const [name, loss] of [["a", 0.3], ["b", 0.7]] as const) {
 *   const run = await repo.startRun({ name });
 *   run.track(loss, { name: "loss", context: { subset: "val" } });
 *   run.track(loss / 2, { name: "loss", context: { subset: "train" } });
 *   await run.close();
 * }
 * const page = searchMetrics(repo, 'metric.name == "loss" and metric.last < 0.5');
 * for (const { run, series } of page.matches) {
 *   console.log(run.record.name, series.context.subset, series.last);
 * }
 * // a train 0.15
 * // a val 0.3
 * // b train 0.35
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function searchMetrics(
  repo: Repo,
  text: string,
  options: SearchOptions = {},
): MetricPage {
  const query = parseQuery(text);
  if (query.sequenceKind !== null) {
    throw badRequest(
      `This query mentions ${query.sequenceKind}: search them as sequences (POST /api/sequences/search), not as metrics`,
    );
  }
  const search = _begin(repo, query, options, compileMetricQuery);
  const page = _searchMembers(search, _SERIES);
  return {
    matches: page.matches.map(({ run, member }) => ({ run, series: member })),
    total: page.total,
    unreadable: page.unreadable,
  };
}

/** A (run, sequence) match. */
export interface SequenceMatch {
  /** The run the sequence belongs to. */
  run: ListedRun;
  /** The matching sequence's summary (no objects: read them with `readSequence`). */
  sequence: SequenceSummary;
}

/** A page of sequence matches. */
export interface SequencePage {
  /** The kind of sequence searched. */
  kind: SequenceKind;
  /** The page of matching (run, sequence) pairs, in sort order. */
  matches: SequenceMatch[];
  /** Matches before pagination. */
  total: number;
  /** Unindexed runs that could not be read (skipped, never fatal). */
  unreadable: RunFailure[];
}

/**
 * (run, sequence) pairs of one kind (images, distributions or texts)
 * matching `text`, a query that may mention that kind
 * (`images.name == "samples" and images.context.subset == "val"`) and
 * `run`. The kind comes from the query, or from `options.kind` when the
 * query names none (`run.hparams.lr < 0.1` with kind `images`: every image
 * sequence of those runs). Sorted as runs are; a run's matches stay
 * together, by name, then context. Throws `AimError` `bad_request` when
 * neither says the kind, or they disagree.
 *
 * @example Find the validation samples
 * ```ts
 * import { searchSequences } from "./search.ts";
 * import { Image, Repo, Text } from "../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "gan" });
 * const pixels = new Uint8Array(8 * 8).fill(200);
 * for (const subset of ["train", "val"]) {
 *   run.track(Image.fromPixels(pixels, 8, 8, 1), { name: "samples", step: 0, context: { subset } });
 * }
 * run.track(new Text("a sample"), { name: "samples", step: 0 });
 * await run.close();
 * const page = searchSequences(repo, 'images.name == "samples" and images.context.subset == "val"');
 * console.log(page.kind, page.total, page.matches[0]?.sequence.context); // images 1 { subset: "val" }
 * console.log(searchSequences(repo, "", { kind: "texts" }).total); // 1
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function searchSequences(
  repo: Repo,
  text: string,
  options: SearchOptions & { kind?: SequenceKind } = {},
): SequencePage {
  const query = parseQuery(text);
  if (query.usesMetric) {
    throw badRequest(
      "This query mentions metric: search series with POST /api/series/search (or aim metrics ls)",
    );
  }
  if (
    options.kind !== undefined &&
    !(SEQUENCE_KINDS as readonly string[]).includes(options.kind)
  ) {
    throw badRequest(
      `kind must be one of ${SEQUENCE_KINDS.join(", ")}, got ${
        JSON.stringify(options.kind)
      }`,
    );
  }
  const kind = query.sequenceKind ?? options.kind;
  if (kind === undefined) {
    throw badRequest(
      `Say which sequences to search: a query that mentions images, distributions or texts, or a kind`,
    );
  }
  if (options.kind !== undefined && options.kind !== kind) {
    throw badRequest(
      `The query mentions ${kind} but the kind asked for is ${options.kind}`,
    );
  }
  const search = _begin(repo, query, options, compileSequenceQuery);
  const page = _searchMembers(search, _sequences(kind));
  return {
    kind,
    matches: page.matches.map(({ run, member }) => ({ run, sequence: member })),
    total: page.total,
    unreadable: page.unreadable,
  };
}

/**
 * What a search over the members of runs (series, or sequences of one
 * kind) needs to know of them: where the index keeps them, and how to
 * find and test them in a record.
 */
interface _Members<M> {
  /** The index table and its alias, as the compiled query names it. */
  table: string;
  /** SQL that keeps only this kind of member, with its arguments. */
  filter: string;
  filterArgs: SqlArg[];
  /** The record's members of this kind. */
  of(record: RunRecord): readonly M[];
  /** A member's name and context, as `seriesKey` makes them. */
  key(member: M): string;
  /** Whether a member matches the query. */
  matches(
    query: Query,
    record: RunRecord,
    member: M,
    now: number,
    check: (() => void) | undefined,
  ): boolean;
}

const _SERIES: _Members<SeriesSummary> = {
  table: "series s",
  filter: "",
  filterArgs: [],
  of: (record) => record.metrics,
  key: (series) => seriesKey(series.name, contextKey(series.context)),
  matches: evalMetricQuery,
};

function _sequences(kind: SequenceKind): _Members<SequenceSummary> {
  return {
    table: "sequences q",
    filter: "q.kind = ? AND ",
    filterArgs: [kind],
    of: (record) => (record.sequences ?? []).filter((q) => q.kind === kind),
    key: (sequence) => seriesKey(sequence.name, contextKey(sequence.context)),
    matches: evalSequenceQuery,
  };
}

interface _MemberPage<M> {
  matches: { run: ListedRun; member: M }[];
  total: number;
  unreadable: RunFailure[];
}

/** (run, member) pairs matching a search, sorted and paged. */
function _searchMembers<M>(
  search: _Search,
  members: _Members<M>,
): _MemberPage<M> {
  const { repo, query, compiled, markers, now, limit, offset, check, sort } =
    search;
  const tick = _every(256, check);
  if (compiled.exact && sort.byCreation) {
    return _searchMembersByCreation(search, members);
  }
  const alias = members.table.slice(-1);
  const matches: { run: ListedRun; member: M }[] = [];
  const rows = repo.index().statement(
    `SELECT r.hash, c.record, ${alias}.name, ${alias}.context FROM runs r JOIN ${members.table} ON ${alias}.hash = r.hash JOIN records c ON c.hash = r.hash WHERE ${members.filter}(${compiled.where})`,
  ).all(...members.filterArgs, ...compiled.args);
  const decoded = new Map<string, RunRecord>();
  for (const row of rows) {
    tick();
    const hash = String(row.hash);
    if (markers.has(hash)) continue;
    let record = decoded.get(hash);
    if (record === undefined) {
      record = decodeJson(String(row.record)) as RunRecord;
      decoded.set(hash, record);
    }
    const key = seriesKey(String(row.name), String(row.context));
    const member = members.of(record).find((m) => members.key(m) === key);
    if (member === undefined) continue;
    if (
      compiled.exact || members.matches(query, record, member, now, check)
    ) {
      matches.push({ run: { record, live: false, indexed: true }, member });
    }
  }
  const unindexed = _unindexedMembers(search, members);
  matches.push(...unindexed.matches);
  _sort(
    matches,
    (m) => m.run.record,
    sort,
    now,
    (m) => members.key(m.member),
  );
  return {
    matches: matches.slice(offset, offset + limit),
    total: matches.length,
    unreadable: unindexed.unreadable,
  };
}

/** Exact query, default order: sort keys from the index, records decoded for the page only. */
function _searchMembersByCreation<M>(
  search: _Search,
  members: _Members<M>,
): _MemberPage<M> {
  const { repo, compiled, markers, limit, offset, check, sort } = search;
  const tick = _every(256, check);
  interface Pending {
    hash: string;
    created_at: number;
    key: string;
    match: { run: ListedRun; member: M } | null;
  }
  const alias = members.table.slice(-1);
  const pending: Pending[] = [];
  const rows = repo.index().statement(
    `SELECT r.hash, r.created_at, ${alias}.name, ${alias}.context FROM runs r JOIN ${members.table} ON ${alias}.hash = r.hash WHERE ${members.filter}(${compiled.where})`,
  ).all(...members.filterArgs, ...compiled.args);
  for (const row of rows) {
    tick();
    const hash = String(row.hash);
    if (markers.has(hash)) continue;
    pending.push({
      hash,
      created_at: Number(row.created_at),
      key: seriesKey(String(row.name), String(row.context)),
      match: null,
    });
  }
  const { matches: found, unreadable } = _unindexedMembers(search, members);
  for (const match of found) {
    pending.push({
      hash: match.run.record.hash,
      created_at: match.run.record.created_at,
      key: members.key(match.member),
      match,
    });
  }
  const direction = sort.descending ? -1 : 1;
  pending.sort((a, b) =>
    direction * (a.created_at - b.created_at) ||
    _compareStrings(a.hash, b.hash) || _compareStrings(a.key, b.key)
  );
  const page = pending.slice(offset, offset + limit);
  const records = _indexedRecords(
    repo,
    page.filter((p) => p.match === null).map((p) => p.hash),
  );
  const matches: { run: ListedRun; member: M }[] = [];
  for (const p of page) {
    if (p.match !== null) {
      matches.push(p.match);
      continue;
    }
    const record = records.get(p.hash)!;
    const member = members.of(record).find((m) => members.key(m) === p.key)!;
    matches.push({ run: { record, live: false, indexed: true }, member });
  }
  return { matches, total: pending.length, unreadable };
}

/** The runs matching a run query, split by where their answer comes from. */
export interface MatchedRuns {
  /** Indexed matches, with their records when the query needed them decoded. */
  indexed: { hash: string; created_at: number; record: RunRecord | null }[];
  /** Matches read from their own spaces (a marker, or no usable index). */
  unindexed: ListedRun[];
  /** Unindexed runs that could not be read (skipped, never fatal). */
  unreadable: RunFailure[];
  /** "Now" the query was evaluated at. */
  now: number;
}

/**
 * Every run matching `query` (a parsed run query), unsorted and unpaged:
 * for callers that read other values of the matches than their records
 * (`fields.ts`). An exact query decodes no indexed record.
 */
export function matchRuns(
  repo: Repo,
  query: Query,
  options: Pick<SearchOptions, "now" | "check"> = {},
): MatchedRuns {
  if (query.usesMetric) {
    throw badRequest(
      "This query mentions metric: it selects series, not runs (use run.metrics[...] here)",
    );
  }
  const search = _begin(repo, query, { ...options, limit: 0 }, compileRunQuery);
  const { compiled, markers, now, check } = search;
  const tick = _every(256, check);
  const indexed: MatchedRuns["indexed"] = [];
  const rows = repo.index().statement(
    compiled.exact
      ? `SELECT r.hash, r.created_at FROM runs r WHERE ${compiled.where}`
      : `SELECT r.hash, r.created_at, c.record FROM runs r JOIN records c ON c.hash = r.hash WHERE ${compiled.where}`,
  ).all(...compiled.args);
  for (const row of rows) {
    tick();
    const hash = String(row.hash);
    if (markers.has(hash)) continue;
    let record: RunRecord | null = null;
    if (!compiled.exact) {
      record = decodeJson(String(row.record)) as RunRecord;
      if (!evalRunQuery(query, record, now, check)) continue;
    }
    indexed.push({ hash, created_at: Number(row.created_at), record });
  }
  const { runs, unreadable } = _unindexedRuns(search);
  return { indexed, unindexed: runs, unreadable, now };
}

/** The indexed records of `hashes`, decoded, read in one statement. */
export function indexedRecords(
  repo: Repo,
  hashes: string[],
): Map<string, RunRecord> {
  return _indexedRecords(repo, hashes);
}

/** One search's inputs, as its steps share them. */
interface _Search {
  repo: Repo;
  query: Query;
  compiled: CompiledQuery;
  /** Runs with a marker: answered from their own spaces, never from the index. */
  markers: Set<string>;
  now: number;
  limit: number;
  offset: number;
  sort: _SortSpec;
  check: (() => void) | undefined;
}

/** Checks the options, opens the index and compiles the query: a search's first steps. */
function _begin(
  repo: Repo,
  query: Query,
  options: SearchOptions,
  compile: (query: Query, now: number) => CompiledQuery,
): _Search {
  const now = options.now ?? Date.now() / 1000;
  const { limit, offset } = _page(options);
  const sort = _sortSpec(options.sort);
  // Open the index first: opening may rebuild it and mark every run.
  const index = repo.index();
  // An index that could not be opened holds nothing: every run is read
  // from its own space, as if it had a marker.
  const markers = new Set(index.empty ? repo.listRuns() : repo.listMarkers());
  const compiled = compile(query, now);
  return {
    repo,
    query,
    compiled,
    markers,
    now,
    limit,
    offset,
    sort,
    check: options.check,
  };
}

/** The unindexed runs matching a run query, read from their own spaces. */
function _unindexedRuns(
  { repo, markers, query, now, check }: _Search,
): { runs: ListedRun[]; unreadable: RunFailure[] } {
  const runs: ListedRun[] = [];
  const unreadable = _scanUnindexed(repo, markers, check, (run) => {
    if (evalRunQuery(query, run.record, now, check)) runs.push(run);
  });
  return { runs, unreadable };
}

/** The (run, member) pairs of unindexed runs matching a query, read from their own spaces. */
function _unindexedMembers<M>(
  { repo, markers, query, now, check }: _Search,
  members: _Members<M>,
): { matches: { run: ListedRun; member: M }[]; unreadable: RunFailure[] } {
  const matches: { run: ListedRun; member: M }[] = [];
  const unreadable = _scanUnindexed(repo, markers, check, (run) => {
    for (const member of members.of(run.record)) {
      if (members.matches(query, run.record, member, now, check)) {
        matches.push({ run, member });
      }
    }
  });
  return { matches, unreadable };
}

function _candidate(run: ListedRun): _Candidate {
  return { hash: run.record.hash, created_at: run.record.created_at, run };
}

/** Reads each unindexed run from its own space, one file open at a time. */
function _scanUnindexed(
  repo: Repo,
  markers: Set<string>,
  check: (() => void) | undefined,
  visit: (run: ListedRun) => void,
): RunFailure[] {
  const unreadable: RunFailure[] = [];
  for (const hash of markers) {
    check?.();
    let loaded;
    try {
      loaded = repo.loadRunRecent(hash);
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      // A marker left behind by a removed run: nothing to show.
      if (error.code === "run_not_found") continue;
      unreadable.push({ hash, reason: error.message });
      continue;
    }
    visit({ record: loaded.record, live: loaded.live, indexed: false });
  }
  return unreadable;
}

function _page(options: SearchOptions): { limit: number; offset: number } {
  const limit = options.limit ?? 1000;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw badRequest(
      `limit must be an integer from 0 to ${MAX_LIMIT}, got ${limit}`,
    );
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw badRequest(
      `offset must be a non-negative integer up to ${Number.MAX_SAFE_INTEGER}, got ${offset}`,
    );
  }
  return { limit, offset };
}

/** Sorts by the sort expression, then by creation time and hash so that pages are stable. */
function _sort<T>(
  items: T[],
  recordOf: (item: T) => RunRecord,
  sort: _SortSpec,
  now: number,
  tieBreak: (item: T) => string = () => "",
): void {
  const keyed = items.map((item) => ({
    item,
    key: evalValue(sort.query, recordOf(item), now),
    record: recordOf(item),
  }));
  keyed.sort((a, b) => {
    const order = _compareKeys(a.key, b.key, sort.descending);
    if (order !== 0) return order;
    return a.record.created_at - b.record.created_at ||
      _compareStrings(a.record.hash, b.record.hash) ||
      _compareStrings(tieBreak(a.item), tieBreak(b.item));
  });
  keyed.forEach((entry, i) => (items[i] = entry.item));
}

/**
 * Numbers (and booleans) before strings before anything else, None and NaN
 * last; `descending` reverses the order within a kind, never the kinds, so
 * None and NaN stay last either way. Strings order by code point, as `<`
 * compares them in queries.
 */
function _compareKeys(
  a: ParamValue,
  b: ParamValue,
  descending: boolean,
): number {
  const rank = (v: ParamValue) =>
    typeof v === "number"
      ? (Number.isNaN(v) ? 4 : 0)
      : typeof v === "boolean"
      ? 0
      : typeof v === "string"
      ? 1
      : v === null
      ? 4
      : 2;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  let order = 0;
  if (ra === 0) order = Number(a) - Number(b) || 0;
  else if (ra === 1) order = compareCodePoints(a as string, b as string);
  return descending ? -order : order;
}

function _compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A function that calls `check` once every `n` calls (and never when there is none). */
function _every(n: number, check: (() => void) | undefined): () => void {
  if (check === undefined) return () => {};
  let count = 0;
  return () => {
    if (++count >= n) {
      count = 0;
      check();
    }
  };
}
