/**
 * A repository: its run spaces and markers (from `storage/`) together with
 * its index (from `index/`). Opening it, starting and resuming runs, and the
 * index a finishing writer updates.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { AimError } from "../errors.ts";
import type { ParamValue } from "../types.ts";
import { decodeJson } from "../util/json.ts";
import {
  isCorruptionError,
  isSqliteError,
  openDatabase,
  transaction,
} from "../util/sqlite.ts";
import { detectFsMode } from "../util/fs_mode.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { IndexDb } from "../index/index_db.ts";
import { handleSignals } from "../storage/finalizer.ts";
import {
  checkVersion,
  discoverRepo,
  INDEX_DB,
  initRepo,
  newHash,
  validateHash,
} from "../storage/layout.ts";
import { writeHeartbeat } from "../storage/liveness.ts";
import {
  readDataVersion,
  readMeta,
  readPreviews,
  upgradeRunFile,
} from "../storage/run_file.ts";
import { readEditedRecord, readEdits } from "../storage/run_edits.ts";
import { readTails } from "../storage/run_objects.ts";
import { type RunLock, RunSpaces } from "../storage/run_spaces.ts";
import { Run, type RunHost } from "../storage/run_writer.ts";

/** Options of {@linkcode Repo.open}. */
export interface RepoOptions {
  /** Create the repository when it does not exist (default false). */
  create?: boolean;
  /**
   * The time source of the runs this repository writes: flush timing,
   * heartbeats and default point times. Default: the system clock; tests
   * give one they move by hand.
   */
  clock?: Clock;
}

/** Options of {@linkcode Repo.startRun}. */
export interface StartRunOptions {
  /** The experiment the run belongs to; default `""`. */
  experiment?: string;
  /** A name for people; default `""`. */
  name?: string;
  /** Free text; default `""`. */
  description?: string;
  /** Tags (non-empty strings; duplicates are dropped). */
  tags?: string[];
  /**
   * Whether the writer finalizes its runs and exits 128+n on SIGTERM, SIGINT
   * and SIGHUP (default true). Turn off only when the program finalizes runs
   * itself on those signals.
   */
  handleSignals?: boolean;
  /**
   * The new run's hash (8 to 64 lower-case hex characters); default a fresh
   * random one. A remote client chooses its run's hash, so that opening the
   * run again after a lost answer finds the same run. `AimError`
   * `run_live` when a run of that hash exists.
   */
  hash?: string;
  /**
   * @internal Attributes no record shows, written with the run's creation
   * (see `Run.setInternal`).
   */
  internal?: Record<string, number | string | boolean | null>;
}

/**
 * An open repository: the run spaces with their markers, and the index.
 *
 * @example Track a run, read it back, resume it
 * ```ts
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   using repo = await Repo.open(`${dir}/.aim`, { create: true });
 *   const run = await repo.startRun({ experiment: "base", name: "lr-0.01" });
 *   run.set("hparams", { lr: 0.01 });
 *   run.track(0.25, { name: "loss", step: 10, context: { subset: "train" } });
 *   await run.close();
 *   const record = repo.index().get(run.hash);
 *   console.log(record?.metrics[0]?.last); // 0.25
 *
 *   const again = await repo.resumeRun(run.hash);
 *   again.track(0.2, { name: "loss", context: { subset: "train" } }); // step 11
 *   await again.close();
 *   console.log(repo.index().get(run.hash)?.metrics[0]?.last_step); // 11
 * } // the index is closed here
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Repo extends RunSpaces implements RunHost, Disposable {
  #index: IndexDb | null = null;
  /** The time source of this repository's writers (the system clock unless a test gives one). */
  readonly clock: Clock;

  private constructor(path: string, clock: Clock) {
    super(path, detectFsMode(path));
    this.clock = clock;
  }

  /**
   * Opens the repository at `path` (a `.aim` folder or a folder holding
   * one); without `path`, discovers it like git (`AIM_REPO`, then the nearest
   * `.aim` upward). `create` makes it when missing.
   */
  static open(path?: string, options: RepoOptions = {}): Promise<Repo> {
    return Promise.resolve(Repo.openSync(path, options));
  }

  /** Synchronous {@linkcode Repo.open}. */
  static openSync(path?: string, options: RepoOptions = {}): Repo {
    let repo: string;
    if (path !== undefined && options.create) repo = initRepo(path).path;
    else if (path !== undefined) repo = discoverRepo(path);
    else repo = discoverRepo();
    checkVersion(repo);
    return new Repo(repo, options.clock ?? systemClock);
  }

  /**
   * The index, opened on first use and kept open until {@linkcode Repo.close}.
   * It never fails to open: an index that cannot be written (a full disk, a
   * read-only repository) is opened read-only, and one that cannot be read
   * either is replaced by an empty one in memory ({@linkcode IndexDb.empty}),
   * so that searches read every run from its own space. A corrupt index is
   * moved aside (`index.db.corrupt-<time>`) and built anew.
   */
  index(): IndexDb {
    if (this.#index === null) this.#index = this.#openIndex();
    return this.#index;
  }

  #openIndex(): IndexDb {
    const path = join(this.path, INDEX_DB);
    let failure: Error;
    try {
      return this.#writableIndex(path);
    } catch (error) {
      if (!isSqliteError(error)) throw error;
      failure = error;
    }
    // A file that is not an index at all is only in the way: rebuild it.
    if (isCorruptionError(failure) && _moveAside(path)) {
      try {
        return this.#writableIndex(path);
      } catch (error) {
        if (!isSqliteError(error)) throw error;
        failure = error;
      }
    }
    const reason = failure.message;
    try {
      return new IndexDb(path, this.mode, { readOnlyBecause: reason });
    } catch (error) {
      if (!isSqliteError(error) && !(error instanceof AimError)) throw error;
    }
    return new IndexDb(path, this.mode, {
      readOnlyBecause: reason,
      empty: true,
    });
  }

  #writableIndex(path: string): IndexDb {
    const index = new IndexDb(path, this.mode);
    // A new or rebuilt index covers nothing yet: every run needs indexing.
    if (index.rebuilt) {
      for (const hash of this.listRuns()) this.touchMarker(hash);
    }
    return index;
  }

  /** Starts a new run: its space, lock, heartbeat and marker exist before this returns. */
  startRun(options: StartRunOptions = {}): Promise<Run> {
    for (const key of ["name", "experiment", "description"] as const) {
      const value = options[key];
      if (
        value !== undefined &&
        (typeof value !== "string" || !value.isWellFormed())
      ) {
        throw new TypeError(
          `startRun() option ${key} must be a string of valid Unicode, got ${
            JSON.stringify(value)
          }`,
        );
      }
    }
    if (
      options.tags !== undefined &&
      (!Array.isArray(options.tags) ||
        options.tags.some((t) =>
          typeof t !== "string" || t === "" || !t.isWellFormed()
        ))
    ) {
      throw new TypeError(
        "startRun() option tags must be an array of non-empty strings of valid Unicode",
      );
    }
    let hash = newHash();
    if (options.hash !== undefined) {
      hash = validateHash(options.hash);
      if (_exists(this.runDir(hash))) {
        throw new AimError(
          "run_live",
          `Cannot start run ${hash}: a run of that hash exists in ${this.path}`,
        );
      }
    }
    const meta = new Map<string, unknown>([
      ["hash", hash],
      ["name", options.name ?? ""],
      ["experiment", options.experiment ?? ""],
      ["description", options.description ?? ""],
      ["tags", [...new Set(options.tags ?? [])]],
      ["status", "running"],
      ["signal", null],
      ["exit_code", null],
      ["created_at", this.clock.now() / 1000],
      ["ended_at", null],
      ["archived", false],
      ...Object.entries(options.internal ?? {}),
    ]);
    const lock = this.createRun(hash, meta);
    return Promise.resolve(
      this.#open(hash, lock, meta, new Map(), 1, false, options),
    );
  }

  /**
   * Reopens a finalized or crashed run to append to it. Refuses a live run
   * (`AimError` `run_live`) and an unknown one (`run_not_found`).
   */
  resumeRun(
    hash: string,
    options: Pick<StartRunOptions, "handleSignals"> = {},
  ): Promise<Run> {
    const lock = this.lockRun(hash);
    try {
      const state = this.readRun(hash, (db) => {
        const params = new Map<string, ParamValue>();
        for (const row of db.prepare("SELECT key, value FROM params").all()) {
          params.set(
            String(row.key),
            decodeJson(String(row.value)) as ParamValue,
          );
        }
        return { meta: readMeta(db), params, version: readDataVersion(db) };
      });
      state.meta.set("status", "running");
      state.meta.set("ended_at", null);
      state.meta.set("signal", null);
      state.meta.set("exit_code", null);
      writeHeartbeat(this.runDir(hash));
      return Promise.resolve(
        this.#open(
          hash,
          lock,
          state.meta,
          state.params,
          state.version,
          true,
          options,
        ),
      );
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** @internal The writer's last step: index its own finalized run. */
  indexFinalized(hash: string, db: DatabaseSync): void {
    const dir = this.runDir(hash);
    const editsBefore = readEdits(dir).version;
    const [record, previews, tails] = transaction(
      db,
      () =>
        [
          readEditedRecord(db, hash, dir),
          readPreviews(db),
          readTails(db),
        ] as const,
      "DEFERRED",
    );
    this.index().write(record, previews, tails);
    this.removeMarker(hash);
    // Only this writer writes the run, but keep the protocol honest anyway;
    // an edit made since the read marks the run again.
    if (
      readDataVersion(db) !== record.data_version ||
      readEdits(dir).version !== editsBefore
    ) this.touchMarker(hash);
  }

  /** Closes the index connection; open runs stay open. Safe to call twice. */
  close(): void {
    this.#index?.close();
    this.#index = null;
  }

  /** `using repo = Repo.openSync(path)` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(
    hash: string,
    lock: RunLock,
    meta: Map<string, unknown>,
    params: Map<string, ParamValue>,
    version: number,
    resumed: boolean,
    options: Pick<StartRunOptions, "handleSignals">,
  ): Run {
    let db: DatabaseSync;
    try {
      db = openDatabase(this.runFile(hash), this.mode);
      // A resumed run written by an older aim is brought to this format.
      if (resumed) upgradeRunFile(db);
    } catch (cause) {
      lock.release();
      throw new AimError(
        "run_corrupt",
        `Cannot open run ${hash} for writing: ${
          cause instanceof Error ? cause.message : cause
        }`,
        { cause },
      );
    }
    if (options.handleSignals === false) handleSignals(false);
    const run = new Run(hash, this.runDir(hash), db, lock, this, {
      meta: new Map(meta),
      params,
      dataVersion: version,
    });
    if (resumed) {
      // The resumed run's state (running, no end) is written at once.
      run.markAllMetaDirty();
      run.flush();
    }
    return run;
  }
}

function _exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Moves a file that is not an index out of the way; false when it cannot. */
function _moveAside(path: string): boolean {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  try {
    Deno.renameSync(path, `${path}.corrupt-${stamp}`);
    for (const suffix of ["-wal", "-shm"]) {
      try {
        Deno.removeSync(path + suffix);
      } catch {
        // Not there.
      }
    }
    console.error(
      `warning: ${path} was not a readable index: moved to ${path}.corrupt-${stamp} and built anew`,
    );
    return true;
  } catch {
    return false;
  }
}
