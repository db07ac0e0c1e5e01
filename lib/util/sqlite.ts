/**
 * Opening SQLite files the way every part of aim needs them.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import type { FsMode } from "./fs_mode.ts";

/** Opens `path` with the journal mode for `mode` and a busy timeout (milliseconds). */
export function openDatabase(
  path: string,
  mode: FsMode,
  options: { busyTimeout?: number; readOnly?: boolean } = {},
): DatabaseSync {
  const db = new DatabaseSync(path, {
    readOnly: options.readOnly ?? false,
    timeout: options.busyTimeout ?? 10_000,
  });
  if (!options.readOnly) {
    // WAL needs shared memory on one host, so network filesystems keep a rollback journal.
    db.exec(
      mode === "local"
        ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=1000;"
        : "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;",
    );
  }
  return db;
}

/**
 * Opens `path` read-only for a folder that cannot be written (a read-only
 * mount, a full disk): as usual when SQLite can, else as an immutable file
 * when no write-ahead log holds data that the file lacks. Null when
 * neither works: the file cannot be read safely.
 */
export function openReadOnly(path: string, mode: FsMode): DatabaseSync | null {
  try {
    const db = openDatabase(path, mode, { readOnly: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch (error) {
    if (!isSqliteError(error)) throw error;
  }
  let walBytes = 0;
  try {
    walBytes = Deno.statSync(`${path}-wal`).size;
  } catch {
    // No log: the file holds everything.
  }
  if (walBytes > 0) return null;
  // Without shared memory (it cannot be created here) SQLite opens a
  // WAL-mode file only as immutable, which is exact when the log is empty.
  const url = pathToFileURL(path);
  url.search = "?immutable=1";
  try {
    const db = new DatabaseSync(url.href, { readOnly: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch (error) {
    if (!isSqliteError(error)) throw error;
    return null;
  }
}

/** Runs `fn` in a transaction: commits on return, rolls back on throw. */
export function transaction<T>(
  db: DatabaseSync,
  fn: () => T,
  kind: "DEFERRED" | "IMMEDIATE" = "IMMEDIATE",
): T {
  db.exec(`BEGIN ${kind}`);
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

/** SQLite cannot hold NaN: a real column stores it as NULL. */
export function toSqlReal(value: number): number | null {
  return value === value ? value : null;
}

/** A real column's value as a number: NULL (and a missing value) is NaN. */
export function fromSqlReal(value: unknown): number {
  return value === null || value === undefined ? NaN : Number(value);
}

/**
 * Whether a SQLite error says the file is not a database or is damaged
 * (SQLITE_NOTADB, SQLITE_CORRUPT). Deno's node:sqlite gives only the
 * message, not the result code, so both are looked at.
 */
export function isCorruptionError(error: unknown): boolean {
  if (!isSqliteError(error)) return false;
  if (error.errcode === 26 || error.errcode === 11) return true;
  return /file is not a database|database disk image is malformed/i.test(
    error.message,
  );
}

/** An error raised by SQLite (node:sqlite's `ERR_SQLITE_ERROR`), with SQLite's result code when known. */
export function isSqliteError(
  error: unknown,
): error is Error & { errcode?: number; errstr?: string } {
  return error instanceof Error &&
    (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
}
