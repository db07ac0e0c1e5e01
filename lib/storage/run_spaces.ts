/**
 * The run spaces and unindexed markers of a repository, and the one way to
 * do each thing with them: list runs and markers, tell whether a run is
 * live, lock a run (or refuse it as live), and open a run's file for
 * reading (docs/ARCHITECTURE.md, "Repository layout" and "Locks").
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { AimError, messageOf, writeFailure } from "../errors.ts";
import type { RunRecord } from "../types.ts";
import { detectFsMode, type FsMode } from "../util/fs_mode.ts";
import {
  isSqliteError,
  openDatabase,
  openReadOnly,
  transaction,
} from "../util/sqlite.ts";
import {
  HASH_PATTERN,
  LOCK_FILE,
  PROGRESS_DIR,
  RUN_DB,
  RUNS_DIR,
  validateHash,
} from "./layout.ts";
import {
  crashEndTime,
  isLive,
  lockHeldIn,
  readHeartbeat,
  writeHeartbeat,
} from "./liveness.ts";
import {
  readDataVersion,
  RunFileError,
  runFileFeatures,
  upgradeRunFile,
} from "./run_file.ts";
import { RecordCache } from "./record_cache.ts";
import { EDITS_FILE, readEditedRecord } from "./run_edits.ts";

/**
 * Prefix of the hidden folder a new run is built in before it is renamed
 * into place (its name never matches a run hash, so listings skip it).
 */
export const STAGING_PREFIX = ".new-";

/** Prefix of the hidden folder a run space is moved to while it is deleted. */
export const TRASH_PREFIX = ".deleting-";

/** A run read from its own space, with what only the reader can know. */
export interface LoadedRun {
  /** The record; a non-live run still marked `running` reads as `crashed`. */
  record: RunRecord;
  /** Its writer is alive. */
  live: boolean;
}

/** Something in `runs/` or `progress/` that is not a run or a marker. */
export interface Junk {
  /** Absolute path. */
  path: string;
  /** What is wrong with it, for people. */
  reason: string;
  /**
   * aim's own leftover (a run creation or deletion a killed process did not
   * finish), which {@linkcode RunSpaces.sweep} removes; anything else is
   * only reported.
   */
  leftover: boolean;
  /** The run hash it is named after, when it is named like one. */
  hash: string | null;
}

/** Options of {@linkcode RunSpaces.lockRun}. */
export interface LockOptions {
  /**
   * How long to wait, in milliseconds, while the lock is held by someone
   * who is not a live writer (another process indexing, editing or deleting
   * the run for a moment). A live writer is refused at once. Default 2,000.
   */
  waitMs?: number;
}

/**
 * A run's lock, held by its writer for its lifetime and for a moment by
 * whoever indexes, edits or deletes a stalled run. Released on
 * {@linkcode RunLock.release}, at scope end with `using`, or when the
 * process dies.
 *
 * @example Exclude everyone else from a finalized run
 * ```ts
 * import { AimError } from "../errors.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * try {
 *   repo.lockRun(run.hash);
 * } catch (error) {
 *   console.log(error instanceof AimError && error.code); // run_live: its writer holds it
 * }
 * await run.close();
 * {
 *   using lock = repo.lockRun(run.hash); // no one indexes, edits or deletes it now
 *   console.log(lock.held); // true
 * } // released here
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunLock implements Disposable {
  #file: Deno.FsFile | null;

  /** @internal Use {@linkcode RunSpaces.lockRun}. */
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Whether this lock is still held (not yet released). */
  get held(): boolean {
    return this.#file !== null;
  }

  /** Unlocks and closes the lock file; safe to call twice. */
  release(): void {
    const file = this.#file;
    if (file === null) return;
    this.#file = null;
    try {
      file.unlockSync();
    } finally {
      file.close();
    }
  }

  /** `using lock = spaces.lockRun(hash)` releases it at scope end. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * The run spaces (`runs/<hash>/`) and markers (`progress/<hash>`) of one repository.
 *
 * @example Read unindexed runs from their own space
 * ```ts
 * import { RunSpaces } from "./run_spaces.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "probe" });
 * run.track(1, { name: "loss" });
 * run.flush();
 *
 * const spaces = new RunSpaces(repo.path); // opens no index
 * for (const hash of spaces.listMarkers()) {
 *   const { record, live } = spaces.loadRun(hash);
 *   console.log(record.name, live, record.metrics[0]?.count); // probe true 1
 * }
 * await run.close(); // indexed by its writer: no marker left
 * console.log(spaces.listRuns().length, spaces.listMarkers()); // 1 []
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunSpaces {
  /** Absolute path of the repository folder (`…/.aim`). */
  readonly path: string;
  /** Whether the repository is on a local or a network filesystem. */
  readonly mode: FsMode;
  /**
   * Records of runs whose writer is gone, as last read from their files
   * ({@linkcode RunSpaces.loadRun} reads a file again only once it changes).
   */
  readonly records: RecordCache = new RecordCache();
  /**
   * How long, in milliseconds, {@linkcode RunSpaces.loadRunRecent} reuses
   * what it read of a run; 0 (the default) reads afresh every time.
   */
  recentMs = 0;
  #recent = new Map<string, { at: number; run: LoadedRun }>();

  /** The spaces of the repository at `path` (already validated). */
  constructor(path: string, mode: FsMode = detectFsMode(path)) {
    this.path = path;
    this.mode = mode;
  }

  /** The run space of `hash`; refuses anything that is not a run hash (`bad_hash`). */
  runDir(hash: string): string {
    return join(this.path, RUNS_DIR, validateHash(hash));
  }

  /** The run's database file. */
  runFile(hash: string): string {
    return join(this.runDir(hash), RUN_DB);
  }

  /** Path of the run's unindexed marker. */
  markerPath(hash: string): string {
    return join(this.path, PROGRESS_DIR, validateHash(hash));
  }

  /** Creates the unindexed marker when missing. */
  touchMarker(hash: string): void {
    try {
      Deno.openSync(this.markerPath(hash), { write: true, create: true })
        .close();
    } catch (error) {
      throw writeFailure(error, `the marker of run ${hash}`) ?? error;
    }
  }

  /** Removes the unindexed marker when present. */
  removeMarker(hash: string): void {
    try {
      Deno.removeSync(this.markerPath(hash));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** Whether the run has an unindexed marker. */
  hasMarker(hash: string): boolean {
    try {
      Deno.statSync(this.markerPath(hash));
      return true;
    } catch {
      return false;
    }
  }

  /** Hashes of every run space, sorted; entries that are not folders named like a hash are skipped. */
  listRuns(): string[] {
    return _listHashes(
      join(this.path, RUNS_DIR),
      (entry) => entry.isDirectory || entry.isSymlink,
    );
  }

  /** Hashes of every unindexed marker, sorted; anything but a file named like a hash is skipped. */
  listMarkers(): string[] {
    return _listHashes(join(this.path, PROGRESS_DIR), (entry) => entry.isFile);
  }

  /**
   * What in `runs/` and `progress/` is not a run or a marker: aim's own
   * leftovers of a killed creation or deletion, a run folder without its
   * `run.db` (or with one that is not a regular file), and anything else
   * (junk named like a hash, foreign files). Listings already skip all of it.
   * `deep` (default true) also looks inside every run folder for its
   * `run.db`: one stat per run.
   */
  listJunk({ deep = true }: { deep?: boolean } = {}): Junk[] {
    const junk: Junk[] = [];
    const runs = join(this.path, RUNS_DIR);
    for (const entry of _entries(runs)) {
      const path = join(runs, entry.name);
      const staged = entry.name.startsWith(STAGING_PREFIX);
      const trashed = entry.name.startsWith(TRASH_PREFIX);
      if (staged || trashed) {
        const hash = entry.name.slice(
          (staged ? STAGING_PREFIX : TRASH_PREFIX).length,
        ).split(".")[0]!;
        junk.push({
          path,
          reason: staged
            ? "a run creation that was interrupted"
            : "a run deletion that was interrupted",
          // A folder whose lock is held is still being created or deleted.
          leftover: !lockHeldIn(path),
          hash: HASH_PATTERN.test(hash) ? hash : null,
        });
      } else if (!HASH_PATTERN.test(entry.name)) {
        junk.push({
          path,
          reason: "not named like a run",
          leftover: false,
          hash: null,
        });
      } else if (!(entry.isDirectory || entry.isSymlink)) {
        junk.push({
          path,
          reason: "not a folder",
          leftover: false,
          hash: entry.name,
        });
      } else if (deep) {
        let db: Deno.FileInfo | null = null;
        try {
          db = Deno.statSync(join(path, RUN_DB));
        } catch {
          // Missing: reported below.
        }
        if (db === null || !db.isFile) {
          junk.push({
            path,
            reason: db === null
              ? `a run folder without its ${RUN_DB}`
              : `its ${RUN_DB} is not a regular file`,
            leftover: false,
            hash: entry.name,
          });
        }
      }
    }
    const progress = join(this.path, PROGRESS_DIR);
    for (const entry of _entries(progress)) {
      if (HASH_PATTERN.test(entry.name) && entry.isFile) continue;
      junk.push({
        path: join(progress, entry.name),
        reason: HASH_PATTERN.test(entry.name)
          ? "named like a marker but not a regular file"
          : "not named like a marker",
        leftover: false,
        hash: HASH_PATTERN.test(entry.name) ? entry.name : null,
      });
    }
    return junk;
  }

  /**
   * Removes aim's own leftovers (interrupted creations and deletions, see
   * {@linkcode RunSpaces.listJunk}); returns them, and what is left: junk
   * that is only reported, never deleted by aim on its own.
   */
  sweep(): { removed: Junk[]; kept: Junk[] } {
    const removed: Junk[] = [];
    const kept: Junk[] = [];
    for (const item of this.listJunk()) {
      if (!item.leftover) {
        kept.push(item);
        continue;
      }
      try {
        Deno.removeSync(item.path, { recursive: true });
        removed.push(item);
      } catch (error) {
        // Gone meanwhile is fine; anything else stays for the next sweep.
        if (error instanceof Deno.errors.NotFound) removed.push(item);
        else kept.push(item);
      }
    }
    return { removed, kept };
  }

  /** Whether the run's writer is alive (docs/ARCHITECTURE.md, "Liveness"). */
  isLive(hash: string): boolean {
    return isLive(this.runDir(hash), this.mode);
  }

  /**
   * Takes the run's lock: the writer's for its lifetime, and everyone's who
   * changes a run that is not live (index it, edit it, delete it), so that
   * these exclude each other. Throws `AimError` `run_live` when a live
   * writer holds it, or when another process still holds it after
   * `options.waitMs`; `run_not_found` when the run has no space.
   */
  lockRun(hash: string, options: LockOptions = {}): RunLock {
    const dir = this.runDir(hash);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(join(dir, LOCK_FILE), {
        read: true,
        write: true,
        create: true,
      });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new AimError("run_not_found", `No run ${hash} in ${this.path}`);
      }
      throw writeFailure(error, `the lock of run ${hash}`) ?? error;
    }
    const deadline = Date.now() + (options.waitMs ?? 2000);
    while (!file.tryLockSync(true)) {
      const live = isLive(dir, this.mode);
      if (live || Date.now() >= deadline) {
        file.close();
        throw live ? liveError(hash, dir) : new AimError(
          "run_live",
          `Run ${hash} is busy: another process is indexing, editing or deleting it; try again`,
        );
      }
      _sleep(5);
    }
    return new RunLock(file);
  }

  /**
   * Reads the run's file with `read` in one read transaction: the one way
   * to read a run from its own space. Throws `AimError` `run_not_found`
   * when the run has no file, and `run_corrupt` naming the file when it is
   * not a regular file or SQLite or the format rejects it. Other errors
   * from `read` propagate as they are.
   */
  readRun<T>(hash: string, read: (db: DatabaseSync) => T): T {
    return this.#inFile(
      hash,
      (path) => openForReading(path, this.mode),
      read,
      "DEFERRED",
    );
  }

  /**
   * Creates the space of a new run, complete or not at all: it is built in
   * a hidden folder (`runs/.new-<hash>`: its lock taken, its file holding
   * the schema and `meta` at data version 1, its first heartbeat), its
   * marker is made, and only then is it renamed into place. A process
   * killed at any instant leaves no run, or a readable one. Returns the
   * run's lock, held.
   */
  createRun(hash: string, meta: Map<string, unknown>): RunLock {
    const dir = this.runDir(hash);
    const staging = join(this.path, RUNS_DIR, `${STAGING_PREFIX}${hash}`);
    try {
      Deno.mkdirSync(staging);
    } catch (error) {
      throw writeFailure(error, `a new run in ${this.path}`) ?? error;
    }
    let lock: RunLock | null = null;
    try {
      const file = Deno.openSync(join(staging, LOCK_FILE), {
        read: true,
        write: true,
        create: true,
      });
      file.lockSync(true);
      lock = new RunLock(file);
      const db = openDatabase(join(staging, RUN_DB), this.mode);
      try {
        upgradeRunFile(db);
        transaction(db, () => {
          const put = db.prepare(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
          );
          for (const [key, value] of meta) put.run(key, JSON.stringify(value));
          put.run("data_version", "1");
        });
      } finally {
        db.close();
      }
      writeHeartbeat(staging);
      // The marker first: a marker without a run is skipped and cleaned up,
      // while a run without a marker would be invisible until reindex --all.
      this.touchMarker(hash);
      Deno.renameSync(staging, dir);
      return lock;
    } catch (error) {
      lock?.release();
      try {
        Deno.removeSync(staging, { recursive: true });
      } catch {
        // Left for reindex to clean up.
      }
      throw writeFailure(error, `a new run in ${this.path}`) ?? error;
    }
  }

  /**
   * Changes the attributes of a run that is not live, holding its lock (the
   * only writes into a run space by anyone but its writer): `change` gets
   * the run file inside a write transaction and returns the attributes to
   * set, or null to change nothing. They are committed with a new data
   * version, and the run's marker is made to exist. Returns whether
   * anything changed.
   */
  writeRun(
    lock: RunLock,
    hash: string,
    change: (db: DatabaseSync) => Map<string, unknown> | null,
  ): boolean {
    if (!lock.held) {
      throw new TypeError(`writeRun() needs the lock of run ${hash}, held`);
    }
    const changed = this.#inFile(
      hash,
      (path) => openDatabase(path, this.mode),
      (db) => {
        const entries = change(db);
        if (entries === null || entries.size === 0) return false;
        const put = db.prepare(
          "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        );
        for (const [key, value] of entries) put.run(key, JSON.stringify(value));
        put.run("data_version", JSON.stringify(readDataVersion(db) + 1));
        return true;
      },
      "IMMEDIATE",
    );
    if (changed) this.touchMarker(hash);
    return changed;
  }

  /**
   * Brings a run file written by an older aim to this format (its series
   * get their pyramids), holding the run's lock; returns whether it did.
   * Reads work without it, only slower.
   */
  upgradeRun(lock: RunLock, hash: string): boolean {
    if (!lock.held) {
      throw new TypeError(`upgradeRun() needs the lock of run ${hash}, held`);
    }
    const current = this.readRun(hash, (db) => runFileFeatures(db).pyramid);
    if (current) return false;
    this.#inFile(
      hash,
      (path) => openDatabase(path, this.mode),
      upgradeRunFile,
      "IMMEDIATE",
    );
    return true;
  }

  /**
   * {@linkcode RunSpaces.loadRun}, or what it answered less than
   * {@linkcode RunSpaces.recentMs} ago. Searches go over every unindexed
   * run on every request; a server answering many sets this so that each
   * run's heartbeat, lock and files are probed a few times a second at
   * most, however many requests come (their answers may be that old).
   */
  loadRunRecent(hash: string): LoadedRun {
    if (this.recentMs <= 0) return this.loadRun(hash);
    const recent = this.#fresh(hash);
    if (recent !== undefined) return recent;
    const now = performance.now();
    const run = this.loadRun(hash);
    // Forget what is stale once in a while, so that the map stays small.
    if (this.#recent.size > 4096) {
      for (const [key, entry] of this.#recent) {
        if (now - entry.at >= this.recentMs) this.#recent.delete(key);
      }
    }
    this.#recent.set(hash, { at: now, run });
    return run;
  }

  /**
   * {@linkcode RunSpaces.isLive}, or what {@linkcode RunSpaces.loadRunRecent}
   * found less than {@linkcode RunSpaces.recentMs} ago: `aim status` over
   * the API probes every unindexed run, as searches do.
   */
  isLiveRecent(hash: string): boolean {
    return this.#fresh(hash)?.live ?? this.isLive(hash);
  }

  /** What {@linkcode RunSpaces.loadRunRecent} read of `hash` less than `recentMs` ago. */
  #fresh(hash: string): LoadedRun | undefined {
    const recent = this.#recent.get(hash);
    return recent !== undefined &&
        performance.now() - recent.at < this.recentMs
      ? recent.run
      : undefined;
  }

  /**
   * Reads a run's record from its own space (the slow path, for unindexed
   * runs); a run whose writer is gone but that still says `running` reads
   * as `crashed`, ended at its last sign of life.
   */
  loadRun(hash: string): LoadedRun {
    const live = this.isLive(hash);
    // A run whose writer is gone changes only when its files do: its record
    // is kept, keyed by their size and time.
    let signature = live ? null : this.#signature(hash);
    let record = signature === null
      ? undefined
      : this.records.get(hash, signature);
    // Reading may itself add a log file beside the run's: the record is kept
    // under the signature its files have once read, twice alike.
    for (let attempt = 0; record === undefined; attempt++) {
      const read = this.readRun(
        hash,
        (db) => readEditedRecord(db, hash, this.runDir(hash)),
      );
      const after = live ? null : this.#signature(hash);
      if (after === null) this.records.delete(hash);
      else if (after === signature || attempt > 0) {
        this.records.set(hash, after, read);
      }
      if (after === signature || after === null || attempt > 0) record = read;
      signature = after;
    }
    if (!live && record.status === "running") {
      record = {
        ...record,
        status: "crashed",
        ended_at: crashEndTime(this.runDir(hash), record),
      };
    }
    return { record, live };
  }

  /** Size, modification time and inode of the run's file, its log and its edits: change when its data does. */
  #signature(hash: string): string | null {
    const parts: string[] = [];
    const dir = this.runDir(hash);
    for (const file of [RUN_DB, `${RUN_DB}-wal`, EDITS_FILE]) {
      try {
        const stat = Deno.statSync(join(dir, file));
        parts.push(`${stat.ino}:${stat.size}:${stat.mtime?.getTime()}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) return null;
        parts.push("-");
      }
    }
    return parts.join("/");
  }

  /**
   * Opens the run's file with `open` and runs `fn` in one transaction of
   * `kind`; SQLite and format errors become `run_corrupt` naming the file.
   */
  #inFile<T>(
    hash: string,
    open: (path: string) => DatabaseSync,
    fn: (db: DatabaseSync) => T,
    kind: "DEFERRED" | "IMMEDIATE",
  ): T {
    const path = this.runFile(hash);
    this.#requireFile(hash, path);
    // A write the disk refuses is not the file's fault.
    const refused = (cause: unknown) =>
      kind === "IMMEDIATE" ? writeFailure(cause, `run ${hash}`) : null;
    let db: DatabaseSync;
    try {
      db = open(path);
    } catch (cause) {
      throw refused(cause) ?? corruptRunError(hash, path, cause);
    }
    try {
      return transaction(db, () => fn(db), kind);
    } catch (cause) {
      if (isSqliteError(cause) || cause instanceof RunFileError) {
        throw refused(cause) ?? corruptRunError(hash, path, cause);
      }
      throw cause;
    } finally {
      db.close();
    }
  }

  /** Throws `run_not_found` when the run has no file, `run_corrupt` when it is not a regular one. */
  #requireFile(hash: string, path: string): void {
    let stat: Deno.FileInfo;
    try {
      stat = Deno.statSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new AimError("run_not_found", `No run ${hash} in ${this.path}`);
      }
      throw corruptRunError(hash, path, error);
    }
    // Opening a FIFO or a device would block or read garbage.
    if (!stat.isFile) {
      throw corruptRunError(hash, path, "it is not a regular file");
    }
  }
}

/** The error for a run whose file cannot be read: names the run, the file and the cause. */
export function corruptRunError(
  hash: string,
  path: string,
  cause: unknown,
): AimError {
  return new AimError(
    "run_corrupt",
    `Cannot read run ${hash} from ${path}: ${messageOf(cause)}`,
    { cause },
  );
}

/** The error for a run whose writer is alive, naming the writer. */
export function liveError(hash: string, dir: string): AimError {
  return new AimError(
    "run_live",
    `Run ${hash} is live: ${writerOf(dir)} is writing it`,
  );
}

/** Who writes the run in `dir`, as its heartbeat says: `pid 42 on node7`. */
export function writerOf(dir: string): string {
  const beat = readHeartbeat(dir);
  return beat === null ? "another process" : `pid ${beat.pid} on ${beat.host}`;
}

/**
 * Opens another writer's run file for reading. Read-only first: closing a
 * read-write connection would write a dead writer's WAL back into the file,
 * which costs more than the read itself. A file that needs recovery (a hot
 * rollback journal) is opened read-write, which performs it.
 */
function openForReading(path: string, mode: FsMode): DatabaseSync {
  let db: DatabaseSync | null = null;
  try {
    db = openDatabase(path, mode, { readOnly: true });
    // Touch the schema now so that an unreadable file fails here, not later.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch {
    db?.close();
  }
  try {
    return openDatabase(path, mode);
  } catch (error) {
    // A folder that cannot be written (a read-only snapshot) is still read.
    return openReadOnly(path, mode) ?? _throw(error);
  }
}

function _throw(error: unknown): never {
  throw error;
}

function _listHashes(
  dir: string,
  keep: (entry: Deno.DirEntry) => boolean,
): string[] {
  const out: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (HASH_PATTERN.test(entry.name) && keep(entry)) out.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

/** The entries of `dir`; none when it does not exist. */
function _entries(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

const _sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds (short waits for a lock held a moment). */
function _sleep(ms: number): void {
  Atomics.wait(_sleeper, 0, 0, ms);
}
