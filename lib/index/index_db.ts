/**
 * `index.db`: the repository's SQLite index. It only accelerates queries and
 * never holds a fact that the run spaces do not (docs/ARCHITECTURE.md, "The
 * index"). Each run is written in one short transaction that replaces its
 * rows.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { canonicalJson, decodeJson, encodeJson } from "../util/json.ts";
import {
  openDatabase,
  openReadOnly,
  toSqlReal,
  transaction,
} from "../util/sqlite.ts";
import type { FsMode } from "../util/fs_mode.ts";
import { seriesKey } from "../storage/run_file.ts";
import { sequenceKey } from "../storage/run_objects.ts";
import type { RunRecord } from "../types.ts";
import { AimError } from "../errors.ts";
import { flattenParams } from "./params.ts";

/** Prepared statements an index connection keeps (see {@linkcode IndexDb.statement}). */
const STATEMENT_CACHE = 64;

/** Bumped whenever SCHEMA changes: an index of another version is rebuilt. */
const SCHEMA_VERSION = 8;

// Child tables are clustered by run (WITHOUT ROWID, keyed by hash first), so
// writing or deleting one run touches few pages; value lookups go through
// partial indexes, each leaf in exactly one of them.
const SCHEMA = `
CREATE TABLE runs(
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, experiment TEXT NOT NULL,
  description TEXT NOT NULL, status TEXT NOT NULL, signal TEXT, exit_code INTEGER,
  created_at REAL NOT NULL, ended_at REAL, archived INTEGER NOT NULL,
  data_version INTEGER NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE records(hash TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE INDEX runs_created ON runs(created_at, hash);
CREATE INDEX runs_experiment ON runs(experiment);
CREATE TABLE params(
  hash TEXT NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, num REAL, str TEXT,
  PRIMARY KEY(hash, path)) WITHOUT ROWID;
CREATE INDEX params_num ON params(path, num) WHERE num IS NOT NULL;
CREATE INDEX params_str ON params(path, type, str) WHERE str IS NOT NULL;
CREATE TABLE tags(hash TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(hash, tag)) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE series(
  hash TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last REAL, min REAL, max REAL, last_time REAL,
  PRIMARY KEY(hash, name, context)) WITHOUT ROWID;
-- Covering the summary fields, so a series filter never reads a series row.
CREATE INDEX series_name ON series(name, context, last, min, max, count, first_step, last_step, last_time);
CREATE TABLE previews(hash TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL, preview BLOB NOT NULL);
CREATE INDEX previews_key ON previews(hash, name, context);
CREATE TABLE sequences(
  hash TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL,
  count INTEGER NOT NULL, items INTEGER NOT NULL, first_step INTEGER, last_step INTEGER,
  last_time REAL, PRIMARY KEY(hash, kind, name, context)) WITHOUT ROWID;
CREATE INDEX sequences_name ON sequences(kind, name, context, count, items, first_step, last_step, last_time);
-- Each sequence's last step (JSON) and the thumbnail of its last image: a
-- grid's first answer, read without opening a run file.
CREATE TABLE tails(hash TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL, tail TEXT, thumb BLOB);
CREATE INDEX tails_key ON tails(hash, kind, name, context);
`;

/** Every table of the schema: each holds rows keyed by a run's hash. */
const _TABLES = [
  "runs",
  "records",
  "params",
  "tags",
  "series",
  "previews",
  "sequences",
  "tails",
];

/** Writes between checkpoints in a deferred loop (a run of 200 params adds ~120 pages of WAL). */
const CHECKPOINT_EVERY = 64;

/**
 * The repository index. Not safe to share across threads: open one per
 * thread. `using index = new IndexDb(path, mode)` closes it at scope end.
 *
 * @example A second connection to a repository's index
 * ```ts
 * import { join } from "node:path";
 * import { IndexDb } from "./index_db.ts";
 * import { INDEX_DB } from "../storage/mod.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "a" });
 * run.track(0.5, { name: "loss" });
 * await run.close(); // its writer indexes the run as it finalizes
 *
 * {
 *   // One connection per thread, as each Worker of `aim up` opens its own.
 *   using index = new IndexDb(join(repo.path, INDEX_DB), repo.mode);
 *   console.log(index.rebuilt); // false: the writer created it
 *   console.log(index.get(run.hash)?.status); // finished
 *   console.log(index.versions().get(run.hash) === run.dataVersion); // true
 * } // closed here
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class IndexDb implements Disposable {
  /** Path of the `index.db` file. */
  readonly path: string;
  #db: DatabaseSync;
  #closed = false;
  /** Longest write transaction so far, in milliseconds. */
  longestWriteMs = 0;

  /** Prepared statements by SQL: preparing them inside a write would lengthen it. */
  #statements = new Map<string, StatementSync>();
  #writes = 0;
  #deferred = false;

  /** True when opening found no index or one of another schema version and built it anew. */
  readonly rebuilt: boolean;
  /**
   * Why the index cannot be written (a full disk, a read-only repository),
   * or null when it can. Writes then throw `AimError` `storage_full` or
   * `repo_read_only`.
   */
  readonly readOnlyBecause: string | null;
  /**
   * The index could not be opened at all and this one, in memory, holds
   * nothing: searches then read every run from its own space.
   */
  readonly empty: boolean;

  /**
   * Opens the index at `path`, creating it when missing, in the journal
   * mode for `mode`. An index of another schema version is dropped and
   * built anew, empty ({@linkcode IndexDb.rebuilt}): every run then needs
   * indexing again, which `Repo.index()` arranges. With `readOnlyBecause`
   * it is opened read-only, for a repository that cannot be written (an
   * index of another version then cannot be used: SQLite's error is thrown).
   * With `empty` as well, nothing is opened: the index is an empty one in
   * memory ({@linkcode IndexDb.empty}).
   */
  constructor(
    path: string,
    mode: FsMode,
    options: { readOnlyBecause?: string; empty?: boolean } = {},
  ) {
    this.path = path;
    this.readOnlyBecause = options.readOnlyBecause ?? null;
    this.empty = options.empty === true;
    if (this.empty) {
      this.#db = openDatabase(":memory:", mode);
      this.#db.exec(SCHEMA);
      this.rebuilt = false;
      return;
    }
    if (this.readOnlyBecause !== null) {
      const db = openReadOnly(path, mode);
      if (db === null) {
        throw new AimError(
          "repo_read_only",
          `The index ${path} cannot be read without writing: ${this.readOnlyBecause}`,
        );
      }
      this.#db = db;
      const version = Number(
        (this.#db.prepare("PRAGMA user_version").get() as {
          user_version: number;
        }).user_version,
      );
      if (version !== SCHEMA_VERSION) {
        this.#db.close();
        throw new AimError(
          "repo_read_only",
          `The index ${path} is of schema version ${version}, this aim needs ${SCHEMA_VERSION}, and it cannot be rebuilt: ${this.readOnlyBecause}`,
        );
      }
      this.rebuilt = false;
      return;
    }
    this.#db = openDatabase(path, mode);
    // A small page cache: each thread of aim up holds a connection.
    this.#db.exec("PRAGMA cache_size = -8000");
    this.rebuilt = transaction(this.#db, () => {
      const version = Number(
        (this.#db.prepare("PRAGMA user_version").get() as {
          user_version: number;
        }).user_version,
      );
      if (version === SCHEMA_VERSION) return false;
      for (const table of _TABLES) {
        this.#db.exec(`DROP TABLE IF EXISTS ${table}`);
      }
      this.#db.exec(SCHEMA);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      return true;
    });
  }

  /** Folds the WAL back into the database file; for idle moments, never inside a write. */
  checkpoint(): void {
    if (this.readOnlyBecause !== null) return;
    this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
  }

  /**
   * For a loop that indexes many runs (aim up's indexer, `aim reindex`): no
   * checkpoint inside a COMMIT, where SQLite's own one made one write in
   * many take ~40-80 ms; {@linkcode write} checkpoints after every
   * {@linkcode CHECKPOINT_EVERY} writes instead, outside its transaction.
   * Other connections (a finishing run's) keep SQLite's checkpoints, which
   * bound the WAL whatever else has the index open.
   */
  deferCheckpoints(): void {
    if (this.readOnlyBecause !== null) return;
    this.#db.exec("PRAGMA wal_autocheckpoint = 0");
    this.#deferred = true;
  }

  #checkpointNow(): boolean {
    if (!this.#deferred) return false;
    this.#writes = (this.#writes + 1) % CHECKPOINT_EVERY;
    return this.#writes === 0;
  }

  /** The underlying connection, for read queries. */
  get db(): DatabaseSync {
    return this.#db;
  }

  /**
   * Replaces the run's rows with `record` in one transaction, with its
   * series' previews and its sequences' tails and thumbnails (keyed by
   * `seriesKey` and `sequenceKey`); returns its duration in ms.
   */
  write(
    record: RunRecord,
    previews: Map<string, Uint8Array> = new Map(),
    tails: Map<string, { tail: string | null; thumb: Uint8Array | null }> =
      new Map(),
  ): number {
    this.requireWritable();
    const tags = [...new Set(record.tags)];
    const params = flattenParams(record.params);
    const recordText = encodeJson(record);
    const db = this.#db;
    const start = performance.now();
    transaction(db, () => {
      this.#deleteRows(record.hash);
      this.statement(
        "INSERT INTO runs(hash, name, experiment, description, status, signal, exit_code, created_at, ended_at, archived, data_version, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
      );
      this.statement("INSERT INTO records(hash, record) VALUES (?, ?)").run(
        record.hash,
        recordText,
      );
      const putParam = this.statement(
        "INSERT INTO params(hash, path, type, num, str) VALUES (?,?,?,?,?)",
      );
      for (const row of params) {
        putParam.run(record.hash, row.path, row.type, row.num, row.str);
      }
      const putTag = this.statement(
        "INSERT INTO tags(hash, tag) VALUES (?, ?)",
      );
      for (const tag of tags) putTag.run(record.hash, tag);
      const putSeries = this.statement(
        "INSERT INTO series(hash, name, context, count, first_step, last_step, last, min, max, last_time) VALUES (?,?,?,?,?,?,?,?,?,?)",
      );
      const putPreview = this.statement(
        "INSERT INTO previews(hash, name, context, preview) VALUES (?,?,?,?)",
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
          toSqlReal(s.last),
          toSqlReal(s.min),
          toSqlReal(s.max),
          s.last_time,
        );
        const preview = previews.get(seriesKey(s.name, context));
        if (preview !== undefined) {
          putPreview.run(record.hash, s.name, context, preview);
        }
      }
      const putSequence = this.statement(
        "INSERT INTO sequences(hash, kind, name, context, count, items, first_step, last_step, last_time) VALUES (?,?,?,?,?,?,?,?,?)",
      );
      const putTail = this.statement(
        "INSERT INTO tails(hash, kind, name, context, tail, thumb) VALUES (?,?,?,?,?,?)",
      );
      for (const q of record.sequences ?? []) {
        const context = canonicalJson(q.context);
        putSequence.run(
          record.hash,
          q.kind,
          q.name,
          context,
          q.count,
          q.items,
          q.first_step,
          q.last_step,
          q.last_time,
        );
        const tail = tails.get(sequenceKey(q.kind, q.name, context));
        if (tail !== undefined) {
          putTail.run(
            record.hash,
            q.kind,
            q.name,
            context,
            tail.tail,
            tail.thumb,
          );
        }
      }
    });
    const elapsed = performance.now() - start;
    if (elapsed > this.longestWriteMs) this.longestWriteMs = elapsed;
    if (this.#checkpointNow()) this.checkpoint();
    return elapsed;
  }

  /** The stored preview of one series (see `preview.ts`), or `null`. */
  preview(hash: string, name: string, contextKey: string): Uint8Array | null {
    const row = this.statement(
      "SELECT preview FROM previews WHERE hash = ? AND name = ? AND context = ?",
    )
      .get(hash, name, contextKey) as
        | { preview: Uint8Array | null }
        | undefined;
    return row?.preview ?? null;
  }

  /**
   * The stored tails (JSON text, see `Tail`) and thumbnails of sequences of
   * indexed runs, for `[hash, kind, name, contextKey]` keys, keyed by
   * `hash` + {@linkcode sequenceKey}; missing ones are left out.
   */
  tails(
    keys: readonly (readonly [string, string, string, string])[],
  ): Map<string, { tail: string | null; thumb: Uint8Array | null }> {
    const out = new Map<
      string,
      { tail: string | null; thumb: Uint8Array | null }
    >();
    if (keys.length === 0) return out;
    const rows = this.statement(
      "SELECT t.hash, t.kind, t.name, t.context, t.tail, t.thumb FROM json_each(?) j JOIN tails t ON t.hash = j.value ->> 0 AND t.kind = j.value ->> 1 AND t.name = j.value ->> 2 AND t.context = j.value ->> 3",
    ).all(JSON.stringify(keys));
    for (const row of rows) {
      out.set(
        String(row.hash) +
          sequenceKey(String(row.kind), String(row.name), String(row.context)),
        {
          tail: row.tail === null ? null : String(row.tail),
          thumb: row.thumb as Uint8Array | null,
        },
      );
    }
    return out;
  }

  /** Removes every row of the run. */
  remove(hash: string): void {
    this.requireWritable();
    transaction(this.#db, () => this.#deleteRows(hash));
  }

  /** Throws `storage_full` or `repo_read_only` unless the index can be written. */
  requireWritable(): void {
    if (this.readOnlyBecause === null) return;
    const full = /full|I\/O|space/i.test(this.readOnlyBecause);
    throw new AimError(
      full ? "storage_full" : "repo_read_only",
      `Cannot write the index ${this.path}: ${this.readOnlyBecause} (${
        full ? "is the disk full?" : "the repository is read-only here"
      }; reading still works)`,
    );
  }

  /** The indexed record of a run, or `null`. */
  get(hash: string): RunRecord | null {
    const row = this.statement("SELECT record FROM records WHERE hash = ?")
      .get(
        hash,
      ) as
        | { record: string }
        | undefined;
    return row === undefined ? null : decodeJson(row.record) as RunRecord;
  }

  /** Every indexed record, oldest first. */
  all(): RunRecord[] {
    return this.statement(
      "SELECT c.record FROM runs r JOIN records c ON c.hash = r.hash ORDER BY r.created_at, r.hash",
    )
      .all()
      .map((row) => decodeJson(String(row.record)) as RunRecord);
  }

  /** Whether the run has rows in the index. */
  has(hash: string): boolean {
    return this.statement("SELECT 1 FROM runs WHERE hash = ?").get(hash) !==
      undefined;
  }

  /** Data version each indexed run was indexed at. */
  versions(): Map<string, number> {
    const out = new Map<string, number>();
    for (
      const row of this.statement("SELECT hash, data_version FROM runs").all()
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

  /** Closes the connection at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The prepared statement for `sql`, kept for the next call (the 64 used
   * last). node:sqlite frees a statement only when it is garbage collected,
   * which a long-lived connection serving many requests does rarely: one
   * prepared per request grows the process by kilobytes each time.
   */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
    } else {
      this.#statements.delete(sql);
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  #deleteRows(hash: string) {
    for (const table of _TABLES) {
      this.statement(`DELETE FROM ${table} WHERE hash = ?`).run(hash);
    }
  }
}
