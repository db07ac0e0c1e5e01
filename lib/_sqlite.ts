/**
 * Opening SQLite files the way every part of aim needs them.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
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

/**
 * Opens another writer's run file for reading. Read-only first: closing a
 * read-write connection would write a dead writer's WAL back into the file,
 * which costs more than the read itself. A file that needs recovery (a hot
 * rollback journal) is opened read-write, which performs it.
 */
export function openForReading(path: string, mode: FsMode): DatabaseSync {
  let db: DatabaseSync | null = null;
  try {
    db = openDatabase(path, mode, { readOnly: true });
    // Touch the schema now so that an unreadable file fails here, not later.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch {
    db?.close();
    return openDatabase(path, mode);
  }
}
