/**
 * The on-disk format of one run's space, `runs/<hash>/run.db`, shared by its
 * writer and every reader, with the migrations of older files beside the
 * schema. Points are stored as one packed chunk per series per flush, never
 * as one row per point (docs/ARCHITECTURE.md, "The run file").
 *
 * Readers throw plain errors here; the one read path
 * (`RunSpaces.readRun`) turns a SQLite error or a {@linkcode RunFileError}
 * into `AimError` `run_corrupt` naming the file.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { decodeJson } from "../util/json.ts";
import { fromSqlReal } from "../util/sqlite.ts";
import type {
  Context,
  ParamValue,
  RunRecord,
  RunStatus,
  SequenceKind,
  SequenceSummary,
  SeriesSummary,
} from "../types.ts";
import { RUN_STATUSES, SEQUENCE_KINDS } from "../types.ts";
import {
  BASE_LEVEL,
  type Block,
  type BlockChange,
  type BucketSource,
  decodePage,
  encodePage,
  type LatestPage,
  latestPages,
  pageOf,
  type Point,
  pointsOf,
  PyramidBuilder,
  readBuckets,
  withLatest,
} from "../series/pyramid.ts";

/**
 * Latest time a run stores, in seconds since the epoch: the end of year
 * 9999. A point or log line with a later (or a negative) time is refused, so
 * one bad clock cannot make dates unreadable for every listing.
 */
export const MAX_TIME = 253_402_300_799;

/**
 * Data in a run file that breaks the format: the file is corrupt, not the code.
 *
 * @example What the one read path turns into run_corrupt
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { readRecord, RunFileError, upgradeRunFile } from "./run_file.ts";
 *
 * const db = new DatabaseSync(":memory:");
 * try {
 *   upgradeRunFile(db); // the schema, but no meta: no run was ever created here
 *   readRecord(db, "0123abcd");
 * } catch (error) {
 *   if (!(error instanceof RunFileError)) throw error;
 *   console.log(error.message); // meta.status is undefined, not a run state
 * } finally {
 *   db.close();
 * }
 * ```
 */
export class RunFileError extends Error {
  /** `"RunFileError"`, for logs and stack traces. */
  override name = "RunFileError";
}

/**
 * Version of the run-file format this aim writes, kept in `PRAGMA
 * user_version`. 1: the first files (no previews, no chunk step bounds);
 * 2: series previews; 3: chunk step bounds; 4: each chunk's first point
 * number and each series' pyramid (`blocks`, see `series/pyramid.ts`);
 * 5: sequences of objects, whose tables ({@linkcode OBJECT_SCHEMA}) its
 * writer creates with the first object it stores (a run without objects
 * pays nothing for them). Files of version 0 were written before the
 * version was recorded and may hold any of the first three.
 */
export const RUN_FILE_VERSION = 5;

/** Most points in one chunk: a read of a range's ends decodes little beyond it. */
export const MAX_CHUNK_POINTS = 4096;

/** Schema of `run.db`; `meta` values and `params` values are JSON (see `util/json.ts`). */
export const RUN_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS params(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last REAL, min REAL, max REAL, last_time REAL, preview BLOB,
  pyramid INTEGER NOT NULL DEFAULT 0, ordered INTEGER NOT NULL DEFAULT 1,
  UNIQUE(name, context));
CREATE TABLE IF NOT EXISTS chunks(
  series_id INTEGER NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL,
  first_step INTEGER NOT NULL, last_step INTEGER NOT NULL,
  has_epoch INTEGER NOT NULL, min_step INTEGER, max_step INTEGER,
  first_seq INTEGER, unordered INTEGER NOT NULL DEFAULT 0,
  data BLOB NOT NULL, PRIMARY KEY(series_id, seq));
CREATE TABLE IF NOT EXISTS blocks(
  series_id INTEGER NOT NULL, level INTEGER NOT NULL, page INTEGER NOT NULL,
  data BLOB NOT NULL, UNIQUE(series_id, level, page));
CREATE TABLE IF NOT EXISTS logs(
  seq INTEGER PRIMARY KEY, time REAL NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL);
`;

/**
 * Tables of the sequences of objects in `run.db` (format 5), created by the
 * writer in the flush that stores its first object (see `run_objects.ts`).
 */
export const OBJECT_SCHEMA = `
CREATE TABLE IF NOT EXISTS sequences(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, items INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last_time REAL, tail TEXT, thumb BLOB, UNIQUE(kind, name, context));
CREATE TABLE IF NOT EXISTS objects(
  id INTEGER PRIMARY KEY, sequence_id INTEGER NOT NULL, step INTEGER NOT NULL,
  epoch INTEGER, time REAL NOT NULL, point INTEGER NOT NULL, item INTEGER NOT NULL,
  meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payloads(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS thumbs(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS objects_step ON objects(sequence_id, step, id);
`;

/**
 * Indexes of `run.db`, made once every column they name exists. A series
 * whose chunks come in step order (each starts at or after where every
 * earlier one ends: `series.ordered`, nearly every series) needs none: a
 * range read finds its chunks by bisecting their numbers. The chunks of
 * the others (`chunks.unordered`) are indexed by their step bounds.
 *
 * Log lines are read in time order (`run_logs.ts`), which is not the order
 * they are stored in: a client's line arrives after output written later.
 * `logs_time` keys them by (time, seq); a file written without it is read
 * through a sort, with the same answer.
 */
const RUN_INDEXES = `
CREATE INDEX IF NOT EXISTS chunks_steps ON chunks(series_id, max_step, min_step) WHERE unordered = 1;
CREATE INDEX IF NOT EXISTS logs_time ON logs(time);
`;

/**
 * Brings a run file opened for writing to {@linkcode RUN_FILE_VERSION}:
 * creates what is missing and adds the columns newer versions have. Older
 * files stay readable without it; a writer that resumes one upgrades it.
 */
export function upgradeRunFile(db: DatabaseSync): void {
  // A new file gets the whole schema; an older one, what it lacks.
  const older = _hasColumn(db, "series", "count") ? runFileFeatures(db) : null;
  db.exec(RUN_SCHEMA);
  if (older !== null) {
    if (!older.previews) db.exec("ALTER TABLE series ADD COLUMN preview BLOB");
    if (!older.chunkBounds) {
      db.exec(
        "ALTER TABLE chunks ADD COLUMN min_step INTEGER; ALTER TABLE chunks ADD COLUMN max_step INTEGER",
      );
    }
    if (!older.pyramid) {
      for (
        const [table, column, type] of [
          ["series", "pyramid", "INTEGER NOT NULL DEFAULT 0"],
          ["series", "ordered", "INTEGER NOT NULL DEFAULT 1"],
          ["chunks", "first_seq", "INTEGER"],
          ["chunks", "unordered", "INTEGER NOT NULL DEFAULT 0"],
        ]
      ) {
        if (!_hasColumn(db, table!, column!)) {
          db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
        }
      }
      _buildPyramids(db);
    }
  }
  db.exec(RUN_INDEXES);
  db.exec(`PRAGMA user_version = ${RUN_FILE_VERSION}`);
}

/**
 * Gives every series of an older file its chunks' first point numbers and
 * its pyramid, from all its points: once, by the writer that resumes the
 * run or by whoever indexes it while it is stalled.
 */
function _buildPyramids(db: DatabaseSync): void {
  const series = db.prepare("SELECT id, name, context FROM series").all();
  const putSeq = db.prepare(
    "UPDATE chunks SET first_seq = ?, min_step = ?, max_step = ? WHERE series_id = ? AND seq = ?",
  );
  for (const row of series) {
    const id = Number(row.id);
    let next = 0;
    const points = readPoints(db, String(row.name), String(row.context))!;
    // Chunks written before step bounds get them too: every chunk of a
    // file of format 4 has them.
    let ordered = true, highest = -Infinity;
    for (
      const chunk of db.prepare(
        "SELECT seq, n FROM chunks WHERE series_id = ? ORDER BY seq",
      ).all(id)
    ) {
      const n = Number(chunk.n);
      let low = Infinity, high = -Infinity;
      for (let i = next; i < next + n; i++) {
        low = Math.min(low, points.steps[i]!);
        high = Math.max(high, points.steps[i]!);
      }
      putSeq.run(next, low, high, id, Number(chunk.seq));
      if (low < highest) ordered = false;
      highest = Math.max(highest, high);
      next += n;
    }
    if (!ordered) markUnordered(db, id);
    const builder = new PyramidBuilder();
    const changes = builder.pending({
      n: points.steps.length,
      steps: points.steps,
      values: points.values,
      times: points.times,
      epochs: points.epochs,
      firstSeq: 0,
    }, () => null);
    new BlockStore(db).write(id, changes.writes);
    db.prepare("UPDATE series SET pyramid = 1 WHERE id = ?").run(id);
  }
}

/**
 * The stored blocks of one run file's pyramids, through statements prepared
 * once: a writer reads and writes a few at every flush.
 */
export class BlockStore {
  readonly #db: DatabaseSync;
  #put: StatementSync | null = null;
  #get: StatementSync | null = null;
  /** The page read last, until the next write. */
  #last: { key: string; blocks: Map<number, Block> | null } | null = null;

  /** A store over `db`, opened for writing. */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Writes blocks of one series' pyramid, each whole, into the pages that
   * hold them (keeping the pages' other blocks).
   */
  write(seriesId: number, changes: readonly BlockChange[]): void {
    const pages = new Map<
      string,
      { level: number; page: number; blocks: Map<number, Block> }
    >();
    for (const { level, block, state } of changes) {
      const page = pageOf(block);
      const key = `${level}:${page}`;
      let entry = pages.get(key);
      if (entry === undefined) {
        const blocks = new Map(this.#page(seriesId, level, page) ?? []);
        pages.set(key, entry = { level, page, blocks });
      }
      entry.blocks.set(block, state);
    }
    if (pages.size === 0) return;
    this.#last = null;
    this.#put ??= this.#db.prepare(
      "INSERT OR REPLACE INTO blocks(series_id, level, page, data) VALUES (?, ?, ?, ?)",
    );
    for (const { level, page, blocks } of pages.values()) {
      this.#put.run(seriesId, level, page, encodePage(level, page, blocks));
    }
  }

  /** A stored (complete) block of one series' pyramid, or null. */
  block(seriesId: number, level: number, block: number): Block | null {
    return this.#page(seriesId, level, pageOf(block))?.get(block) ?? null;
  }

  #page(seriesId: number, level: number, page: number) {
    // A flush that completes a page reads the pages below it block by block.
    const key = `${seriesId}:${level}:${page}`;
    if (this.#last?.key === key) return this.#last.blocks;
    this.#get ??= this.#db.prepare(
      "SELECT data FROM blocks WHERE series_id = ? AND level = ? AND page = ?",
    );
    const row = this.#get.get(seriesId, level, page) as
      | { data: Uint8Array }
      | undefined;
    const blocks = row === undefined
      ? null
      : _decodePage(row.data, level, page);
    this.#last = { key, blocks };
    return blocks;
  }
}

/**
 * The highest step of one series and its finest latest page, made from its
 * points (null for a series without points): what a writer resuming it
 * starts from.
 */
export function readLatestPage(
  db: DatabaseSync,
  seriesId: number,
): { maxStep: number; latest: LatestPage } | null {
  const hi = seriesExtent(db, seriesId)?.hi ?? null;
  if (hi === null) return null;
  const latest = latestPages(_source(db, seriesId), hi, BASE_LEVEL);
  return { maxStep: hi, latest: latest.get(BASE_LEVEL)! };
}

/** The stored (complete) blocks of one series' level from `first` to `last`, by index. */
export function readBlocks(
  db: DatabaseSync,
  seriesId: number,
  level: number,
  first: number,
  last: number,
): Map<number, Block> {
  const out = new Map<number, Block>();
  const rows = db.prepare(
    "SELECT page, data FROM blocks WHERE series_id = ? AND level = ? AND page BETWEEN ? AND ?",
  ).all(seriesId, level, pageOf(first), pageOf(last));
  for (const row of rows) {
    const blocks = _decodePage(
      row.data as Uint8Array,
      level,
      Number(row.page),
      first,
      last,
    );
    for (const [block, state] of blocks) out.set(block, state);
  }
  return out;
}

/** Where a pyramid read of one series gets its stored blocks and raw points. */
function _source(db: DatabaseSync, seriesId: number): BucketSource {
  return {
    blocks: (level, first, last) =>
      readBlocks(db, seriesId, level, first, last),
    points(lo, hi) {
      const read = _readChunks(db, seriesId, { from: lo, to: hi });
      // Chunks at the ends of the range hold points outside it.
      let n = 0;
      for (let i = 0; i < read.steps.length; i++) {
        const step = read.steps[i]!;
        if (step >= lo && step <= hi) n++;
      }
      if (n === read.steps.length) {
        return { ...read, n, firstSeq: 0 };
      }
      const out = {
        n,
        steps: new Float64Array(n),
        values: new Float64Array(n),
        times: new Float64Array(n),
        epochs: new Float64Array(n),
        seqs: new Float64Array(n),
        firstSeq: 0,
      };
      for (let i = 0, j = 0; i < read.steps.length; i++) {
        const step = read.steps[i]!;
        if (step < lo || step > hi) continue;
        out.steps[j] = step;
        out.values[j] = read.values[i]!;
        out.times[j] = read.times[i]!;
        out.epochs[j] = read.epochs[i]!;
        out.seqs[j++] = read.seqs[i]!;
      }
      return out;
    },
  };
}

function _decodePage(
  bytes: Uint8Array,
  level: number,
  page: number,
  first?: number,
  last?: number,
): Map<number, Block> {
  try {
    return decodePage(bytes, level, page, first, last);
  } catch (cause) {
    throw new RunFileError(
      `a page of pyramid blocks is malformed: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** What an opened run file holds, by format version (older files lack some). */
export interface RunFileFeatures {
  /** Series carry their preview (`series.preview`). */
  previews: boolean;
  /** Chunks record their lowest and highest step, so range reads skip chunks. */
  chunkBounds: boolean;
  /** Chunks record their first point's number, and series may have a pyramid. */
  pyramid: boolean;
}

/** The features of an opened run file: from its version, or probed when it has none. */
export function runFileFeatures(db: DatabaseSync): RunFileFeatures {
  const version = Number(
    (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version,
  );
  if (version >= 4) return { previews: true, chunkBounds: true, pyramid: true };
  if (version === 3) {
    return { previews: true, chunkBounds: true, pyramid: false };
  }
  if (version > 0) {
    return { previews: version >= 2, chunkBounds: false, pyramid: false };
  }
  return {
    previews: _hasColumn(db, "series", "preview"),
    chunkBounds: _hasColumn(db, "chunks", "min_step"),
    pyramid: false,
  };
}

/** Points of one series, in tracking order. Epoch is NaN where none was given. */
export interface SeriesPoints {
  /** Step of each point (integers). */
  steps: Float64Array;
  /** Value of each point; may be NaN or ±Infinity. */
  values: Float64Array;
  /** Wall time of each point, in seconds since the epoch. */
  times: Float64Array;
  /** Epoch of each point; NaN where none was given. */
  epochs: Float64Array;
  /** Each point's number in its series, from 0, in tracking order. */
  seqs: Float64Array;
}

/**
 * Packs `n` points as float64 columns: values, steps, times, then epochs
 * when any point has one.
 */
export function encodeChunk(
  n: number,
  values: Float64Array,
  steps: Float64Array,
  times: Float64Array,
  epochs: Float64Array | null,
  from = 0,
): Uint8Array {
  const columns = epochs === null ? 3 : 4;
  const out = new Float64Array(n * columns);
  out.set(values.subarray(from, from + n), 0);
  out.set(steps.subarray(from, from + n), n);
  out.set(times.subarray(from, from + n), 2 * n);
  if (epochs !== null) out.set(epochs.subarray(from, from + n), 3 * n);
  return new Uint8Array(out.buffer);
}

/** Appends the points of one chunk to `into` at `offset`; throws on a malformed chunk. */
export function decodeChunkInto(
  data: Uint8Array,
  n: number,
  hasEpoch: boolean,
  into: SeriesPoints,
  offset: number,
): void {
  const columns = hasEpoch ? 4 : 3;
  if (data.byteLength !== n * columns * 8) {
    throw new RunFileError(
      `chunk holds ${data.byteLength} bytes but ${n} points need ${
        n * columns * 8
      }`,
    );
  }
  // A view when the bytes are aligned for it, else a copy.
  const floats = data.byteOffset % 8 === 0
    ? new Float64Array(data.buffer, data.byteOffset, n * columns)
    : new Float64Array(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    );
  into.values.set(floats.subarray(0, n), offset);
  into.steps.set(floats.subarray(n, 2 * n), offset);
  into.times.set(floats.subarray(2 * n, 3 * n), offset);
  if (hasEpoch) into.epochs.set(floats.subarray(3 * n, 4 * n), offset);
  else into.epochs.fill(NaN, offset, offset + n);
}

/** The run's data version: bumped by every committed flush. */
export function readDataVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'data_version'")
    .get() as { value: string } | undefined;
  return row === undefined ? 0 : Number(_parse(row.value, "meta.data_version"));
}

/**
 * Reads the run's record as its writer left it (status as written: a dead
 * writer's run still says `running`). Call inside a read transaction for a
 * consistent snapshot.
 */
export function readRecord(db: DatabaseSync, hash: string): RunRecord {
  const meta = readMeta(db);
  const params: { [key: string]: ParamValue } = {};
  for (
    const row of db.prepare("SELECT key, value FROM params ORDER BY key").all()
  ) {
    params[String(row.key)] = _parse(
      String(row.value),
      `params.${row.key}`,
    ) as ParamValue;
  }
  const metrics: SeriesSummary[] = [];
  for (
    const row of db.prepare(
      "SELECT name, context, count, first_step, last_step, last, min, max, last_time FROM series ORDER BY id",
    ).all()
  ) {
    metrics.push(seriesFromRow(row));
  }
  const status = meta.get("status");
  if (
    typeof status !== "string" || !RUN_STATUSES.includes(status as RunStatus)
  ) {
    throw new RunFileError(
      `meta.status is ${JSON.stringify(status)}, not a run state`,
    );
  }
  const created = meta.get("created_at");
  if (typeof created !== "number") {
    throw new RunFileError("meta.created_at is missing");
  }
  return {
    hash,
    name: _string(meta.get("name")),
    experiment: _string(meta.get("experiment")),
    description: _string(meta.get("description")),
    tags: Array.isArray(meta.get("tags")) ? (meta.get("tags") as string[]) : [],
    status: status as RunStatus,
    signal: _nullableString(meta.get("signal")),
    exit_code: typeof meta.get("exit_code") === "number"
      ? meta.get("exit_code") as number
      : null,
    created_at: created,
    ended_at: typeof meta.get("ended_at") === "number"
      ? meta.get("ended_at") as number
      : null,
    archived: meta.get("archived") === true,
    params,
    metrics,
    sequences: hasObjectTables(db) ? readSequenceSummaries(db) : [],
    data_version: Number(meta.get("data_version") ?? 0),
  };
}

/**
 * Whether a run file holds the tables of sequences of objects: a file of
 * format 5 whose writer stored an object.
 */
export function hasObjectTables(db: DatabaseSync): boolean {
  return db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sequences'",
  ).get() !== undefined;
}

/** The summaries of a run file's sequences of objects (format 5), in the order they were first tracked. */
export function readSequenceSummaries(db: DatabaseSync): SequenceSummary[] {
  return db.prepare(
    "SELECT kind, name, context, count, items, first_step, last_step, last_time FROM sequences ORDER BY id",
  ).all().map((row) => sequenceFromRow(row));
}

/** A sequence summary from a `sequences` row of `run.db` or of `index.db`. */
export function sequenceFromRow(row: Record<string, unknown>): SequenceSummary {
  const kind = String(row.kind) as SequenceKind;
  if (!SEQUENCE_KINDS.includes(kind)) {
    throw new RunFileError(
      `sequences.kind is ${JSON.stringify(row.kind)}, not one of ${
        SEQUENCE_KINDS.join(", ")
      }`,
    );
  }
  return {
    kind,
    name: String(row.name),
    context: _parse(String(row.context), "sequences.context") as Context,
    count: Number(row.count),
    items: Number(row.items),
    first_step: row.first_step === null ? null : Number(row.first_step),
    last_step: row.last_step === null ? null : Number(row.last_step),
    last_time: row.last_time === null ? null : Number(row.last_time),
  };
}

/** The run's attributes as stored in `meta`, each value decoded from JSON. */
export function readMeta(db: DatabaseSync): Map<string, unknown> {
  const meta = new Map<string, unknown>();
  for (const row of db.prepare("SELECT key, value FROM meta").all()) {
    meta.set(String(row.key), _parse(String(row.value), `meta.${row.key}`));
  }
  return meta;
}

/** A series summary from a `series` row of `run.db` or of `index.db` (NULL value = NaN). */
export function seriesFromRow(row: Record<string, unknown>): SeriesSummary {
  return {
    name: String(row.name),
    context: _parse(String(row.context), "series.context") as Context,
    count: Number(row.count),
    first_step: row.first_step === null ? null : Number(row.first_step),
    last_step: row.last_step === null ? null : Number(row.last_step),
    last: fromSqlReal(row.last),
    min: fromSqlReal(row.min),
    max: fromSqlReal(row.max),
    last_time: row.last_time === null ? null : Number(row.last_time),
  };
}

/**
 * Reads the points of one series, or `null` when the run has no such series.
 * With `range`, chunks whose steps all lie outside it are skipped (chunks
 * written before chunk step bounds existed are always read); the caller
 * still filters points, as a chunk that overlaps the range is read whole.
 */
export function readPoints(
  db: DatabaseSync,
  name: string,
  contextKey: string,
  range?: { from: number; to: number },
): SeriesPoints | null {
  const series = db.prepare(
    "SELECT id, count FROM series WHERE name = ? AND context = ?",
  )
    .get(name, contextKey) as { id: number; count: number } | undefined;
  if (series === undefined) return null;
  return _readChunks(db, series.id, range);
}

/** The points of series `id`, those of chunks that may hold steps in `range` when given. */
function _readChunks(
  db: DatabaseSync,
  id: number,
  range?: { from: number; to: number },
): SeriesPoints {
  const features = runFileFeatures(db);
  // Older files do not record where a chunk starts: count it from all chunks' sizes.
  let starts: Map<number, number> | null = null;
  if (!features.pyramid) {
    starts = new Map();
    let next = 0;
    for (
      const row of db.prepare(
        "SELECT seq, n FROM chunks WHERE series_id = ? ORDER BY seq",
      ).all(id)
    ) {
      starts.set(Number(row.seq), next);
      next += Number(row.n);
    }
  }
  const start = features.pyramid ? "first_seq" : "seq";
  const columns = `n, has_epoch, data, ${start} AS start`;
  let chunks: Record<string, unknown>[];
  if (range === undefined || !features.chunkBounds) {
    chunks = db.prepare(
      `SELECT ${columns} FROM chunks WHERE series_id = ? ORDER BY seq`,
    ).all(id);
  } else if (!features.pyramid) {
    // Older chunks may lack bounds, and are then always read.
    chunks = db.prepare(
      `SELECT ${columns} FROM chunks WHERE series_id = ? AND (min_step IS NULL OR (max_step >= ? AND min_step <= ?)) ORDER BY seq`,
    ).all(id, _bound(range.from), _bound(range.to));
  } else if (_isOrdered(db, id)) {
    const [first, last] = _orderedSpan(db, id, range.from, range.to);
    chunks = db.prepare(
      `SELECT ${columns} FROM chunks WHERE series_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`,
    ).all(id, first, last);
  } else {
    chunks = db.prepare(
      `SELECT ${columns} FROM chunks WHERE series_id = ? AND unordered = 1 AND max_step >= ? AND min_step <= ? ORDER BY seq`,
    ).all(id, _bound(range.from), _bound(range.to));
  }
  let total = 0;
  for (const chunk of chunks) total += Number(chunk.n);
  const points: SeriesPoints = {
    steps: new Float64Array(total),
    values: new Float64Array(total),
    times: new Float64Array(total),
    epochs: new Float64Array(total),
    seqs: new Float64Array(total),
  };
  let offset = 0;
  for (const chunk of chunks) {
    const n = Number(chunk.n);
    decodeChunkInto(
      chunk.data as Uint8Array,
      n,
      chunk.has_epoch === 1,
      points,
      offset,
    );
    const first = starts === null
      ? Number(chunk.start)
      : starts.get(Number(chunk.start))!;
    for (let i = 0; i < n; i++) points.seqs[offset + i] = first + i;
    offset += n;
  }
  return points;
}

/** A series read at a resolution: the points kept and how they were chosen. */
export interface SeriesBuckets {
  /** Points kept, in order of step (then of tracking). */
  points: Point[];
  /** Points of the series within the range. */
  total: number;
  /**
   * Width in steps of the buckets the points were chosen from (aligned on
   * multiples of it); 0 when every point in the range is returned.
   */
  width: number;
  /** Whether blocks of the pyramid answered (else only raw points were read). */
  pyramid: boolean;
}

/**
 * Reads one series within the steps `from..to` at `buckets` buckets (0:
 * every point), from its pyramid where the file has one (see
 * `series/pyramid.ts`): the cost follows the buckets, not the points. Null
 * when the run has no such series.
 */
export function readSeriesBuckets(
  db: DatabaseSync,
  name: string,
  contextKey: string,
  options: { from: number; to: number; buckets: number },
): SeriesBuckets | null {
  const features = runFileFeatures(db);
  const series = db.prepare(
    `SELECT id, count, ${
      features.pyramid ? "pyramid" : "0 AS pyramid"
    } FROM series WHERE name = ? AND context = ?`,
  ).get(name, contextKey) as
    | { id: number; count: number; pyramid: number }
    | undefined;
  if (series === undefined) return null;
  const empty = { points: [], total: 0, width: 0, pyramid: false };
  if (series.count === 0) return empty;
  const bounds = !features.chunkBounds
    ? { lo: null, hi: null }
    : features.pyramid
    ? seriesExtent(db, series.id) ?? { lo: null, hi: null }
    : db.prepare(
      "SELECT min(min_step) AS lo, max(max_step) AS hi FROM chunks WHERE series_id = ?",
    ).get(series.id) as { lo: number | null; hi: number | null };
  const source = _source(db, series.id);
  let low = bounds.lo, high = bounds.hi;
  // Older chunks without step bounds: the extent comes from the points.
  if (low === null || high === null) {
    const all = source.points(-Infinity, Infinity);
    if (all.n === 0) return empty;
    low = Infinity;
    high = -Infinity;
    for (let i = 0; i < all.n; i++) {
      low = Math.min(low, all.steps[i]!);
      high = Math.max(high, all.steps[i]!);
    }
  }
  const lo = Math.max(options.from, low);
  const hi = Math.min(options.to, high);
  if (!(lo <= hi)) return empty;
  if (options.buckets === 0) {
    const all = pointsOf(source.points(lo, hi));
    return { points: all, total: all.length, width: 0, pyramid: false };
  }
  const pyramid = features.pyramid && series.pyramid === 1;
  // Only complete blocks are stored: the latest of each level is made from the one below.
  const read = readBuckets(
    pyramid ? withLatest(source, high) : source,
    lo,
    hi,
    options.buckets,
    pyramid,
  );
  return { ...read, pyramid };
}

function _string(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function _nullableString(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** Each series' preview state (see `series/preview.ts`), keyed by {@linkcode seriesKey}. */
export function readPreviews(db: DatabaseSync): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  // Run files written before previews existed have no such column.
  if (!runFileFeatures(db).previews) return out;
  for (
    const row of db.prepare("SELECT name, context, preview FROM series").all()
  ) {
    if (row.preview !== null) {
      out.set(
        seriesKey(String(row.name), String(row.context)),
        row.preview as Uint8Array,
      );
    }
  }
  return out;
}

/** Identifies a series within a run: its name and canonical context. */
export function seriesKey(name: string, contextKey: string): string {
  return `${name}\u0000${contextKey}`;
}

/** Stored JSON, decoded; text that is not JSON means a corrupt file. */
function _parse(text: string, where: string): unknown {
  try {
    return decodeJson(text);
  } catch (cause) {
    throw new RunFileError(
      `${where} is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
      { cause },
    );
  }
}

/** Whether `table` has `column` (files of version 0 are probed). */
function _hasColumn(db: DatabaseSync, table: string, column: string): boolean {
  return db.prepare(`PRAGMA table_info(${table})`).all().some((row) =>
    row.name === column
  );
}

/** A range end as SQLite can compare it with integers (it has no infinities). */
/**
 * The lowest and highest step of a series in a file of format 4 (opened
 * for reading or writing), from its
 * first and last chunk when it is ordered, else from the index of its
 * chunks' bounds; null without points.
 */
export function seriesExtent(
  db: DatabaseSync,
  id: number,
): { lo: number; hi: number } | null {
  const row = _isOrdered(db, id)
    ? db.prepare(
      "SELECT (SELECT min_step FROM chunks WHERE series_id = ?1 ORDER BY seq LIMIT 1) AS lo, (SELECT max_step FROM chunks WHERE series_id = ?1 ORDER BY seq DESC LIMIT 1) AS hi",
    ).get(id)
    : db.prepare(
      "SELECT min(min_step) AS lo, max(max_step) AS hi FROM chunks WHERE series_id = ? AND unordered = 1",
    ).get(id);
  if (row === undefined || row.lo === null || row.hi === null) return null;
  return { lo: Number(row.lo), hi: Number(row.hi) };
}

/** Whether a series' chunks come in step order (files of format 4). */
function _isOrdered(db: DatabaseSync, id: number): boolean {
  const row = db.prepare("SELECT ordered FROM series WHERE id = ?").get(id) as
    | { ordered: number }
    | undefined;
  return row?.ordered === 1;
}

/**
 * The numbers of the first and last chunk of an ordered series that may
 * hold steps from `from` to `to`, found by bisection (an empty span when
 * none does).
 */
function _orderedSpan(
  db: DatabaseSync,
  id: number,
  from: number,
  to: number,
): [number, number] {
  const bounds = db.prepare(
    "SELECT min_step AS lo, max_step AS hi FROM chunks WHERE series_id = ? AND seq = ?",
  );
  const { count } = db.prepare(
    "SELECT coalesce(max(seq) + 1, 0) AS count FROM chunks WHERE series_id = ?",
  ).get(id) as { count: number };
  const at = (seq: number) => bounds.get(id, seq) as { lo: number; hi: number };
  // Ends and starts both rise with the chunk number in an ordered series.
  const firstEndingFrom = _bisect(count, (seq) => at(seq).hi >= from);
  const firstStartingAfter = _bisect(count, (seq) => at(seq).lo > to);
  return [firstEndingFrom, firstStartingAfter - 1];
}

/** The least `i` in 0…n for which `test(i)` holds (`test` false, then true). */
function _bisect(n: number, test: (i: number) => boolean): number {
  let low = 0, high = n;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (test(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * Records that a series' chunks no longer come in step order: its chunks
 * are indexed by their step bounds from now on.
 */
export function markUnordered(db: DatabaseSync, seriesId: number): void {
  db.prepare("UPDATE chunks SET unordered = 1 WHERE series_id = ?").run(
    seriesId,
  );
  db.prepare("UPDATE series SET ordered = 0 WHERE id = ?").run(seriesId);
}

function _bound(step: number): number {
  return Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, step));
}
