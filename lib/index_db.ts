/**
 * `index.db`: the repository's SQLite index. It only accelerates queries and
 * never holds a fact that the run spaces do not (DESIGN.md, "Index access").
 * Each run is written in one short transaction that replaces its rows.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { canonicalJson, decodeJson, encodeJson } from "./_json.ts";
import { flattenParams } from "./query_sql.ts";
import { seriesKey } from "./run_space.ts";
import { openDatabase, transaction } from "./_sqlite.ts";
import type { FsMode } from "./fs_mode.ts";
import type { RunRecord } from "./types.ts";

/** Bumped whenever SCHEMA changes: an index of another version is rebuilt. */
const SCHEMA_VERSION = 3;

// Child tables are clustered by run (WITHOUT ROWID, keyed by hash first), so
// writing or deleting one run touches few pages; value lookups go through
// partial indexes, each leaf in exactly one of them.
const SCHEMA = `
CREATE TABLE runs(
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, experiment TEXT NOT NULL,
  description TEXT NOT NULL, status TEXT NOT NULL, signal TEXT, exit_code INTEGER,
  created_at REAL NOT NULL, ended_at REAL, archived INTEGER NOT NULL,
  data_version INTEGER NOT NULL, indexed_at REAL NOT NULL, record TEXT NOT NULL);
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_experiment ON runs(experiment);
CREATE TABLE params(
  hash TEXT NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, num REAL, str TEXT,
  PRIMARY KEY(hash, path)) WITHOUT ROWID;
CREATE INDEX params_num ON params(path, num) WHERE num IS NOT NULL;
CREATE INDEX params_str ON params(path, str) WHERE str IS NOT NULL;
CREATE TABLE tags(hash TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(hash, tag)) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE series(
  hash TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last REAL, min REAL, max REAL, last_time REAL, preview BLOB,
  PRIMARY KEY(hash, name, context)) WITHOUT ROWID;
CREATE INDEX series_name ON series(name, context);
`;

/** The repository index. Not safe to share across threads: open one per thread. */
export class IndexDb {
  readonly path: string;
  #db: DatabaseSync;
  #closed = false;
  /** Longest write transaction so far, in milliseconds. */
  longestWriteMs = 0;

  /** True when opening found no index or one of another schema version and built it anew. */
  readonly rebuilt: boolean;

  constructor(path: string, mode: FsMode) {
    this.path = path;
    this.#db = openDatabase(path, mode);
    // Commits stay short when the WAL is folded back rarely; readers never wait on it.
    this.#db.exec(
      "PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -32000;",
    );
    this.rebuilt = transaction(this.#db, () => {
      const version = Number(
        (this.#db.prepare("PRAGMA user_version").get() as {
          user_version: number;
        }).user_version,
      );
      if (version === SCHEMA_VERSION) return false;
      for (const table of ["runs", "params", "tags", "series"]) {
        this.#db.exec(`DROP TABLE IF EXISTS ${table}`);
      }
      this.#db.exec(SCHEMA);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      return true;
    });
  }

  /** Folds the WAL back into the database file; for idle moments, never inside a write. */
  checkpoint(): void {
    this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
  }

  /** The underlying connection, for read queries. */
  get db(): DatabaseSync {
    return this.#db;
  }

  /** Replaces the run's rows with `record` in one transaction; returns its duration in ms. */
  write(
    record: RunRecord,
    previews: Map<string, Uint8Array> = new Map(),
  ): number {
    const tags = [...new Set(record.tags)];
    const params = flattenParams(record.params);
    const recordText = encodeJson(record);
    const db = this.#db;
    const start = performance.now();
    transaction(db, () => {
      this.#deleteRows(record.hash);
      db.prepare(
        "INSERT INTO runs(hash, name, experiment, description, status, signal, exit_code, created_at, ended_at, archived, data_version, indexed_at, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
      ).run(
        record.hash,
        record.name,
        record.experiment,
        record.description,
        record.status,
        record.signal,
        record.exit_code,
        record.created_at,
        record.ended_at,
        record.archived ? 1 : 0,
        record.data_version,
        Date.now() / 1000,
        recordText,
      );
      const putParam = db.prepare(
        "INSERT INTO params(hash, path, type, num, str) VALUES (?,?,?,?,?)",
      );
      for (const row of params) {
        putParam.run(record.hash, row.path, row.type, row.num, row.str);
      }
      const putTag = db.prepare("INSERT INTO tags(hash, tag) VALUES (?, ?)");
      for (const tag of tags) putTag.run(record.hash, tag);
      const putSeries = db.prepare(
        "INSERT INTO series(hash, name, context, count, first_step, last_step, last, min, max, last_time, preview) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      );
      for (const s of record.metrics) {
        const context = canonicalJson(s.context);
        putSeries.run(
          record.hash,
          s.name,
          context,
          s.count,
          s.first_step,
          s.last_step,
          _real(s.last),
          _real(s.min),
          _real(s.max),
          s.last_time,
          previews.get(seriesKey(s.name, context)) ?? null,
        );
      }
    });
    const elapsed = performance.now() - start;
    if (elapsed > this.longestWriteMs) this.longestWriteMs = elapsed;
    return elapsed;
  }

  /** The stored preview of one series (see `preview.ts`), or `null`. */
  preview(hash: string, name: string, contextKey: string): Uint8Array | null {
    const row = this.#db.prepare(
      "SELECT preview FROM series WHERE hash = ? AND name = ? AND context = ?",
    )
      .get(hash, name, contextKey) as
        | { preview: Uint8Array | null }
        | undefined;
    return row?.preview ?? null;
  }

  /** Removes every row of the run. */
  remove(hash: string): void {
    transaction(this.#db, () => this.#deleteRows(hash));
  }

  /** The indexed record of a run, or `null`. */
  get(hash: string): RunRecord | null {
    const row = this.#db.prepare("SELECT record FROM runs WHERE hash = ?").get(
      hash,
    ) as
      | { record: string }
      | undefined;
    return row === undefined ? null : decodeJson(row.record) as RunRecord;
  }

  /** Every indexed record, oldest first. */
  all(): RunRecord[] {
    return this.#db.prepare("SELECT record FROM runs ORDER BY created_at, hash")
      .all()
      .map((row) => decodeJson(String(row.record)) as RunRecord);
  }

  /** Data version each indexed run was indexed at. */
  versions(): Map<string, number> {
    const out = new Map<string, number>();
    for (
      const row of this.#db.prepare("SELECT hash, data_version FROM runs").all()
    ) {
      out.set(String(row.hash), Number(row.data_version));
    }
    return out;
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #deleteRows(hash: string) {
    for (const table of ["runs", "params", "tags", "series"]) {
      this.#db.prepare(`DELETE FROM ${table} WHERE hash = ?`).run(hash);
    }
  }
}

function _real(value: number): number | null {
  return value === value ? value : null;
}
