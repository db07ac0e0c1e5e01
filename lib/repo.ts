/**
 * A repository: opening it, starting and resuming runs, reading a run from
 * its own space, and the unindexed markers.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { AimError } from "./errors.ts";
import { detectFsMode, type FsMode } from "./fs_mode.ts";
import { IndexDb } from "./index_db.ts";
import {
  crashEndTime,
  isLive,
  LOCK_FILE,
  readHeartbeat,
  writeHeartbeat,
} from "./liveness.ts";
import { openDatabase, openForReading, transaction } from "./_sqlite.ts";
import { decodeJson } from "./_json.ts";
import {
  checkVersion,
  discoverRepo,
  INDEX_DB,
  initRepo,
  PROGRESS_DIR,
  repoPathFor,
  RUNS_DIR,
} from "./repo_layout.ts";
import {
  corruptRunError,
  hasChunkBounds,
  HASH_PATTERN,
  hasPreviewColumn,
  readDataVersion,
  readPreviews,
  readRecord,
  RUN_DB,
  RUN_SCHEMA,
} from "./run_space.ts";
import { Run, type RunHost } from "./run_writer.ts";
import { handleSignals } from "./_finalizer.ts";
import type { ParamValue, RunRecord } from "./types.ts";

/** Options of {@linkcode Repo.startRun}. */
export interface StartRunOptions {
  experiment?: string;
  name?: string;
  description?: string;
  tags?: string[];
  /**
   * Whether the writer finalizes its runs and exits 128+n on SIGTERM, SIGINT
   * and SIGHUP (default true). Turn off only when the program finalizes runs
   * itself on those signals.
   */
  handleSignals?: boolean;
}

/** A run read from its own space, with what only the reader can know. */
export interface LoadedRun {
  /** The record; a non-live run still marked `running` reads as `crashed`. */
  record: RunRecord;
  live: boolean;
}

/** An open repository. */
export class Repo implements RunHost {
  /** Absolute path of the repository folder (`…/.aim`). */
  readonly path: string;
  readonly mode: FsMode;
  #index: IndexDb | null = null;

  private constructor(path: string) {
    this.path = path;
    this.mode = detectFsMode(path);
  }

  /**
   * Opens the repository at `path` (a `.aim` folder or a folder holding
   * one); without `path`, discovers it like git (`AIM_REPO`, then the nearest
   * `.aim` upward). `create` makes it when missing.
   */
  static open(
    path?: string,
    options: { create?: boolean } = {},
  ): Promise<Repo> {
    return Promise.resolve(Repo.openSync(path, options));
  }

  /** Synchronous {@linkcode Repo.open}. */
  static openSync(path?: string, options: { create?: boolean } = {}): Repo {
    let repo: string;
    if (path !== undefined && options.create) repo = initRepo(path).path;
    else if (path !== undefined) repo = discoverRepo(path);
    else repo = discoverRepo();
    checkVersion(repo);
    return new Repo(repo);
  }

  /** The run space of `hash`; refuses anything that is not a run hash. */
  runDir(hash: string): string {
    return join(this.path, RUNS_DIR, validateHash(hash));
  }

  /** Path of the run's unindexed marker. */
  markerPath(hash: string): string {
    return join(this.path, PROGRESS_DIR, validateHash(hash));
  }

  /** Creates the unindexed marker when missing. */
  touchMarker(hash: string): void {
    Deno.openSync(this.markerPath(hash), { write: true, create: true }).close();
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

  /** Hashes of every run space, sorted. */
  listRuns(): string[] {
    return _listHashes(join(this.path, RUNS_DIR));
  }

  /** Hashes of every run with an unindexed marker, sorted. */
  listMarkers(): string[] {
    return _listHashes(join(this.path, PROGRESS_DIR));
  }

  /** Whether the run's writer is alive (DESIGN.md, "Liveness"). */
  isLive(hash: string): boolean {
    return isLive(this.runDir(hash), this.mode);
  }

  /** The index, opened on first use and kept open until {@linkcode Repo.close}. */
  index(): IndexDb {
    if (this.#index === null) {
      this.#index = new IndexDb(join(this.path, INDEX_DB), this.mode);
      // A new or rebuilt index covers nothing yet: every run needs indexing.
      if (this.#index.rebuilt) {
        for (const hash of this.listRuns()) this.touchMarker(hash);
      }
    }
    return this.#index;
  }

  /** Starts a new run: its space, lock, heartbeat and marker exist before this returns. */
  startRun(options: StartRunOptions = {}): Promise<Run> {
    for (const key of ["name", "experiment", "description"] as const) {
      if (options[key] !== undefined && typeof options[key] !== "string") {
        throw new TypeError(
          `startRun() option ${key} must be a string, got ${typeof options[
            key
          ]}`,
        );
      }
    }
    if (
      options.tags !== undefined &&
      (!Array.isArray(options.tags) ||
        options.tags.some((t) => typeof t !== "string" || t === ""))
    ) {
      throw new TypeError(
        "startRun() option tags must be an array of non-empty strings",
      );
    }
    const hash = newHash();
    const dir = this.runDir(hash);
    Deno.mkdirSync(dir);
    const lock = _lock(dir, hash);
    const meta = new Map<string, unknown>([
      ["hash", hash],
      ["name", options.name ?? ""],
      ["experiment", options.experiment ?? ""],
      ["description", options.description ?? ""],
      ["tags", [...new Set(options.tags ?? [])]],
      ["status", "running"],
      ["signal", null],
      ["exit_code", null],
      ["created_at", Date.now() / 1000],
      ["ended_at", null],
      ["archived", false],
    ]);
    return Promise.resolve(
      this.#open(hash, dir, lock, meta, new Map(), 0, options),
    );
  }

  /**
   * Reopens a finalized or crashed run to append to it. Refuses a live run.
   */
  resumeRun(
    hash: string,
    options: Pick<StartRunOptions, "handleSignals"> = {},
  ): Promise<Run> {
    const dir = this.runDir(hash);
    if (!_exists(join(dir, RUN_DB))) {
      throw new AimError("run_not_found", `No run ${hash} in ${this.path}`);
    }
    if (this.isLive(hash)) throw _liveError(hash, dir);
    const lock = _lock(dir, hash);
    let db: DatabaseSync | null = null;
    try {
      db = openDatabase(join(dir, RUN_DB), this.mode);
      const state = transaction(db, () => {
        const meta = new Map<string, unknown>();
        for (const row of db!.prepare("SELECT key, value FROM meta").all()) {
          meta.set(String(row.key), JSON.parse(String(row.value)));
        }
        const params = new Map<string, ParamValue>();
        for (const row of db!.prepare("SELECT key, value FROM params").all()) {
          params.set(
            String(row.key),
            decodeJson(String(row.value)) as ParamValue,
          );
        }
        return { meta, params, version: readDataVersion(db!) };
      }, "DEFERRED");
      db.close();
      db = null;
      state.meta.set("status", "running");
      state.meta.set("ended_at", null);
      state.meta.set("signal", null);
      state.meta.set("exit_code", null);
      return Promise.resolve(
        this.#open(
          hash,
          dir,
          lock,
          state.meta,
          state.params,
          state.version,
          options,
        ),
      );
    } catch (error) {
      db?.close();
      lock.close();
      throw error;
    }
  }

  /**
   * Reads a run from its own space (the slow path, for unindexed runs).
   * Throws `AimError` `run_corrupt` naming the file when it cannot be read.
   */
  loadRun(hash: string): LoadedRun {
    const dir = this.runDir(hash);
    const path = join(dir, RUN_DB);
    if (!_exists(path)) {
      throw new AimError("run_not_found", `No run ${hash} in ${this.path}`);
    }
    const live = this.isLive(hash);
    let record: RunRecord;
    let db: DatabaseSync | null = null;
    try {
      db = openForReading(path, this.mode);
      const opened = db;
      record = transaction(opened, () => readRecord(opened, hash), "DEFERRED");
    } catch (cause) {
      throw corruptRunError(hash, path, cause);
    } finally {
      db?.close();
    }
    if (!live && record.status === "running") {
      record.status = "crashed";
      record.ended_at = crashEndTime(dir, record);
    }
    return { record, live };
  }

  /** @internal The writer's last step: index its own finalized run. */
  indexFinalized(hash: string, db: DatabaseSync): void {
    const [record, previews] = transaction(
      db,
      () => [readRecord(db, hash), readPreviews(db)] as const,
      "DEFERRED",
    );
    this.index().write(record, previews);
    this.removeMarker(hash);
    // Only this writer writes the run, but keep the protocol honest anyway.
    if (readDataVersion(db) !== record.data_version) this.touchMarker(hash);
  }

  /** Closes the index connection; open runs stay open. Safe to call twice. */
  close(): void {
    this.#index?.close();
    this.#index = null;
  }

  #open(
    hash: string,
    dir: string,
    lock: Deno.FsFile,
    meta: Map<string, unknown>,
    params: Map<string, ParamValue>,
    version: number,
    options: Pick<StartRunOptions, "handleSignals">,
  ): Run {
    writeHeartbeat(dir);
    const db = openDatabase(join(dir, RUN_DB), this.mode);
    db.exec(RUN_SCHEMA);
    // A run written before series previews existed gains the column when resumed.
    if (!hasPreviewColumn(db)) {
      db.exec("ALTER TABLE series ADD COLUMN preview BLOB");
    }
    // …and its new chunks record their step bounds (older ones keep NULL).
    if (!hasChunkBounds(db)) {
      db.exec(
        "ALTER TABLE chunks ADD COLUMN min_step INTEGER; ALTER TABLE chunks ADD COLUMN max_step INTEGER",
      );
    }
    if (options.handleSignals === false) handleSignals(false);
    const run = new Run(hash, dir, db, lock, this, {
      meta: new Map(meta),
      params,
      dataVersion: version,
    });
    // The first flush writes the run's attributes and creates its marker.
    run.markAllMetaDirty();
    run.flush();
    return run;
  }
}

/** Throws `TypeError` unless `hash` looks like a run hash (no path tricks). */
export function validateHash(hash: string): string {
  if (typeof hash !== "string" || !HASH_PATTERN.test(hash)) {
    throw new TypeError(
      `Invalid run hash ${
        JSON.stringify(String(hash).slice(0, 80))
      }: a run hash is 8 to 64 lower-case hex characters`,
    );
  }
  return hash;
}

/** A new random run hash: 20 hex characters. */
export function newHash(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function _lock(dir: string, hash: string): Deno.FsFile {
  const file = Deno.openSync(join(dir, LOCK_FILE), {
    read: true,
    write: true,
    create: true,
  });
  if (!file.tryLockSync(true)) {
    file.close();
    throw _liveError(hash, dir);
  }
  return file;
}

function _liveError(hash: string, dir: string): AimError {
  const beat = readHeartbeat(dir);
  const who = beat === null
    ? "another process"
    : `pid ${beat.pid} on ${beat.host}`;
  return new AimError("run_live", `Run ${hash} is live: ${who} is writing it`);
}

function _listHashes(dir: string): string[] {
  const out: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (HASH_PATTERN.test(entry.name)) out.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

function _exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export { repoPathFor };
