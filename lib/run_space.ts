/**
 * The on-disk format of one run's space, `runs/<hash>/run.db`, shared by its
 * writer and every reader. Points are stored as one packed chunk per series
 * per flush, never as one row per point.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { decodeJson } from "./_json.ts";
import { AimError } from "./errors.ts";
import type {
  Context,
  ParamValue,
  RunRecord,
  RunStatus,
  SeriesSummary,
} from "./types.ts";
import { RUN_STATUSES } from "./types.ts";

/** The run database inside a run space. */
export const RUN_DB = "run.db";

/** Run hashes: lower-case hex, 8 to 64 characters; anything else is refused. */
export const HASH_PATTERN = /^[0-9a-f]{8,64}$/;

/** Schema of `run.db`; `meta` values and `params` values are JSON (see `_json.ts`). */
export const RUN_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS params(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last REAL, min REAL, max REAL, last_time REAL, preview BLOB, UNIQUE(name, context));
CREATE TABLE IF NOT EXISTS chunks(
  series_id INTEGER NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL,
  first_step INTEGER NOT NULL, last_step INTEGER NOT NULL,
  has_epoch INTEGER NOT NULL, data BLOB NOT NULL,
  min_step INTEGER, max_step INTEGER,
  PRIMARY KEY(series_id, seq));
CREATE TABLE IF NOT EXISTS logs(
  seq INTEGER PRIMARY KEY, time REAL NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL);
`;

/** Points of one series, in tracking order. Epoch is NaN where none was given. */
export interface SeriesPoints {
  steps: Float64Array;
  values: Float64Array;
  times: Float64Array;
  epochs: Float64Array;
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
): Uint8Array {
  const columns = epochs === null ? 3 : 4;
  const out = new Float64Array(n * columns);
  out.set(values.subarray(0, n), 0);
  out.set(steps.subarray(0, n), n);
  out.set(times.subarray(0, n), 2 * n);
  if (epochs !== null) out.set(epochs.subarray(0, n), 3 * n);
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
    throw new RangeError(
      `chunk holds ${data.byteLength} bytes but ${n} points need ${
        n * columns * 8
      }`,
    );
  }
  const floats = new Float64Array(
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
  return row === undefined ? 0 : Number(JSON.parse(row.value));
}

/**
 * Reads the run's record as its writer left it (status as written: a dead
 * writer's run still says `running`). Call inside a read transaction for a
 * consistent snapshot.
 */
export function readRecord(db: DatabaseSync, hash: string): RunRecord {
  const meta = new Map<string, unknown>();
  for (const row of db.prepare("SELECT key, value FROM meta").all()) {
    meta.set(String(row.key), JSON.parse(String(row.value)));
  }
  const params: { [key: string]: ParamValue } = {};
  for (
    const row of db.prepare("SELECT key, value FROM params ORDER BY key").all()
  ) {
    params[String(row.key)] = decodeJson(String(row.value)) as ParamValue;
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
    throw new RangeError(
      `meta.status is ${JSON.stringify(status)}, not a run state`,
    );
  }
  const created = meta.get("created_at");
  if (typeof created !== "number") {
    throw new RangeError("meta.created_at is missing");
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
    data_version: Number(meta.get("data_version") ?? 0),
  };
}

/** A series summary from a `series` row of `run.db` or of `index.db` (NULL value = NaN). */
export function seriesFromRow(row: Record<string, unknown>): SeriesSummary {
  return {
    name: String(row.name),
    context: decodeJson(String(row.context)) as Context,
    count: Number(row.count),
    first_step: row.first_step === null ? null : Number(row.first_step),
    last_step: row.last_step === null ? null : Number(row.last_step),
    last: _real(row.last),
    min: _real(row.min),
    max: _real(row.max),
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
  const chunks = range !== undefined && hasChunkBounds(db)
    ? db.prepare(
      "SELECT n, has_epoch, data FROM chunks WHERE series_id = ? AND (min_step IS NULL OR (max_step >= ? AND min_step <= ?)) ORDER BY seq",
    ).all(series.id, _bound(range.from), _bound(range.to))
    : db.prepare(
      "SELECT n, has_epoch, data FROM chunks WHERE series_id = ? ORDER BY seq",
    ).all(series.id);
  let total = 0;
  for (const chunk of chunks) total += Number(chunk.n);
  const points: SeriesPoints = {
    steps: new Float64Array(total),
    values: new Float64Array(total),
    times: new Float64Array(total),
    epochs: new Float64Array(total),
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
    offset += n;
  }
  return points;
}

function _real(value: unknown): number {
  return value === null || value === undefined ? NaN : Number(value);
}

function _string(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function _nullableString(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** The error for a run whose files cannot be read: names the run, the file and the cause. */
export function corruptRunError(
  hash: string,
  path: string,
  cause: unknown,
): AimError {
  return new AimError(
    "run_corrupt",
    `Cannot read run ${hash} from ${path}: ${
      cause instanceof Error ? cause.message : cause
    }`,
    { cause },
  );
}

/** Each series' preview state (see `preview.ts`), keyed by {@linkcode seriesKey}. */
export function readPreviews(db: DatabaseSync): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  // Run files written before previews existed have no such column.
  if (!hasPreviewColumn(db)) return out;
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

/** Whether the run file's series table has the `preview` column. */
export function hasPreviewColumn(db: DatabaseSync): boolean {
  return _hasColumn(db, "series", "preview");
}

/** True when the file's chunks record their lowest and highest step (newer files). */
export function hasChunkBounds(db: DatabaseSync): boolean {
  return _hasColumn(db, "chunks", "min_step");
}

/** Older run files lack columns added since; a resumed run gains them. */
function _hasColumn(db: DatabaseSync, table: string, column: string): boolean {
  return db.prepare(`PRAGMA table_info(${table})`).all().some((row) =>
    row.name === column
  );
}

/** A range end as SQLite can compare it with integers (it has no infinities). */
function _bound(step: number): number {
  return Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, step));
}
