/**
 * The writer of one run: it alone writes into `runs/<hash>/`. Points are
 * buffered and flushed (one SQLite transaction, one packed chunk per series)
 * at least every second; every flush bumps the run's data version and then
 * makes sure the run's unindexed marker exists (docs/ARCHITECTURE.md,
 * "Marker protocol").
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { contextKey, encodeJson } from "../util/json.ts";
import { toSqlReal, transaction } from "../util/sqlite.ts";
import type { Clock } from "../util/clock.ts";
import { AimError, writeFailure } from "../errors.ts";
import { Preview } from "../series/preview.ts";
import type { Context, ParamValue, RunStatus } from "../types.ts";
import {
  BlockStore,
  encodeChunk,
  markUnordered,
  MAX_CHUNK_POINTS,
  MAX_TIME,
  readLatestPage,
  seriesExtent,
} from "./run_file.ts";
import { type PendingBlocks, PyramidBuilder } from "../series/pyramid.ts";
import { heartbeatInterval, writeHeartbeat } from "./liveness.ts";
import type { RunLock } from "./run_spaces.ts";
import { registerOpenRun, unregisterOpenRun } from "./finalizer.ts";
import { EDITABLE } from "./run_edits.ts";
import {
  kindOf,
  SequenceWriter,
  type SequenceWrites,
  type TrackedObject,
} from "./sequence_writer.ts";

/** Options of {@linkcode Run.track}. */
export interface TrackOptions {
  /** Series name; with `context` it identifies the series. */
  name: string;
  /** Integer step; defaults to the series' last step + 1 (0 for a new series). */
  step?: number;
  /** Integer epoch the point belongs to; none by default (read back as `null`). */
  epoch?: number;
  /**
   * What sets this series apart from others of the same name, e.g.
   * `{ subset: "train" }`; default `{}`. A plain object, compared as
   * canonical JSON (key order does not matter).
   */
  context?: Context;
  /** Wall time of the point in seconds since the epoch; defaults to now. */
  time?: number;
}

/** How a run ended, recorded by {@linkcode Run.finalize}. */
export interface Ending {
  /** The final state. */
  status: Exclude<RunStatus, "running">;
  /** Signal name (`"SIGTERM"`) that ended the run; default `null`. */
  signal?: string | null;
  /** Exit code of the process the run recorded; default `null`. */
  exitCode?: number | null;
  /**
   * When the run ended, in seconds since the epoch; default now. A run
   * recorded `crashed` after its remote client fell silent ended when it
   * was last heard from.
   */
  endedAt?: number;
}

/** Points buffered before a flush is forced, whatever the time. */
const FLUSH_POINTS = 1 << 16;
/** Longest time a tracked point waits in memory, in milliseconds. */
const FLUSH_MS = 1000;
/** How often the timer looks for buffered data; it flushes what is older than FLUSH_MS - TICK_MS. */
const TICK_MS = 250;
/**
 * Points kept in memory while the disk refuses flushes; beyond it new points
 * are dropped (and counted), so a training program never runs out of memory.
 */
export const MAX_BACKLOG = 4_000_000;
/** Bytes of objects (images, histograms, texts) buffered before a flush is forced. */
const FLUSH_OBJECT_BYTES = 8 << 20;
/** Objects buffered before a flush is forced. */
const FLUSH_OBJECTS = 4096;
/**
 * Bytes of objects kept in memory while the disk refuses flushes; beyond it
 * new objects are dropped (and counted).
 */
export const MAX_OBJECT_BACKLOG = 256 << 20;
/** Log lines kept in memory while the disk refuses flushes. */
const MAX_LOG_BACKLOG = 100_000;
/** Longest pause between two retries of a refused flush, in milliseconds. */
const MAX_RETRY_MS = 10_000;
/** How long finalization keeps retrying a refused flush, in milliseconds. */
const FINALIZE_RETRY_MS = 10_000;

class _Series {
  id = -1;
  nextSeq = 0;
  /** Whether every chunk stored starts at or after where the earlier ones end. */
  ordered = true;
  /** The highest step stored. */
  highest = -Infinity;
  count = 0;
  firstStep: number | null = null;
  lastStep: number | null = null;
  last = NaN;
  min = NaN;
  max = NaN;
  lastTime: number | null = null;
  n = 0;
  values = new Float64Array(64);
  steps = new Float64Array(64);
  times = new Float64Array(64);
  epochs: Float64Array | null = null;

  preview = new Preview();
  /** The series' pyramid, null once it is given up (a series of over 2^32 points). */
  pyramid: PyramidBuilder | null = new PyramidBuilder();

  constructor(readonly name: string, readonly contextKey: string) {}

  push(value: number, step: number, time: number, epoch: number | undefined) {
    if (this.n === this.values.length) this.#grow();
    this.preview.add(step, value);
    const i = this.n++;
    this.values[i] = value;
    this.steps[i] = step;
    this.times[i] = time;
    if (epoch !== undefined) {
      if (this.epochs === null) {
        this.epochs = new Float64Array(this.values.length).fill(NaN);
      }
      this.epochs[i] = epoch;
    } else if (this.epochs !== null) this.epochs[i] = NaN;
    if (this.count++ === 0) this.firstStep = step;
    this.lastStep = step;
    this.last = value;
    this.lastTime = time;
    // NaN never wins a comparison, so it never becomes min or max.
    if (value < this.min || this.min !== this.min) {
      if (value === value) this.min = value;
    }
    if (value > this.max || this.max !== this.max) {
      if (value === value) this.max = value;
    }
  }

  #grow() {
    const size = this.values.length * 2;
    const grow = (from: Float64Array) => {
      const to = new Float64Array(size);
      to.set(from);
      return to;
    };
    this.values = grow(this.values);
    this.steps = grow(this.steps);
    this.times = grow(this.times);
    if (this.epochs !== null) {
      this.epochs = grow(this.epochs);
      this.epochs.fill(NaN, this.n);
    }
  }
}

/** What the writer needs from its repository; kept narrow to avoid an import cycle. */
export interface RunHost {
  /** The writer's time source: flush timing, heartbeats, default point times. */
  readonly clock: Clock;
  /** Makes sure the run's unindexed marker exists. */
  touchMarker(hash: string): void;
  /** Indexes the finalized run in one short transaction and removes its marker. */
  indexFinalized(hash: string, db: DatabaseSync): void;
}

/**
 * An open run. Create it with `Repo.startRun()` or `Repo.resumeRun()`;
 * finalize it with {@linkcode Run.close} (also done on exit and on
 * SIGTERM, SIGINT and SIGHUP).
 *
 * @example Track a training loop
 * ```ts
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * {
 *   await using run = await repo.startRun({ name: "baseline" });
 *   run.set("hparams", { lr: 0.01, layers: [64, 64] });
 *   run.addTag("baseline");
 *   for (let epoch = 0; epoch < 3; epoch++) {
 *     for (let i = 0; i < 10; i++) {
 *       const loss = 1 / (1 + 10 * epoch + i);
 *       run.track(loss, { name: "loss", epoch, context: { subset: "train" } });
 *     }
 *     run.track(0.7 + epoch / 10, { name: "accuracy", epoch, context: { subset: "val" } });
 *     run.log(`epoch ${epoch} done`);
 *   }
 *   console.log(run.get("hparams")); // { lr: 0.01, layers: [ 64, 64 ] }
 * } // `await using` finalizes the run here, as finished
 * const [record] = repo.index().all();
 * console.log(record?.status, record?.metrics[0]?.last_step); // finished 29
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Run {
  /** The run's hash: its identifier and the name of its folder. */
  readonly hash: string;
  /** Absolute path of the run's space, `<repo>/runs/<hash>`. */
  readonly dir: string;
  #db: DatabaseSync;
  #host: RunHost;
  #lock: RunLock;
  #series = new Map<string, Map<string, _Series>>();
  #dirtySeries = new Set<_Series>();
  #meta = new Map<string, unknown>();
  #dirtyMeta = new Set<string>();
  #params = new Map<string, ParamValue>();
  #dirtyParams = new Set<string>();
  #logs: { time: number; level: string; text: string }[] = [];
  #buffered = 0;
  /** Why the last flush was refused (a full disk, a read-only folder), until one succeeds. */
  #storageError: AimError | null = null;
  #retryAt = 0;
  #retryMs = 250;
  #dropped = 0;
  /** When the oldest unflushed change was made (ms), 0 when nothing is buffered. */
  #dirtySince = 0;
  #lastHeartbeat: number;
  #dataVersion: number;
  #stopTimer: () => void;
  #clock: Clock;
  #closed = false;
  /** While above 0, track() and log() leave flushing to the holder (see holdFlushes). */
  #holds = 0;
  #insertChunk: StatementSync;
  /** The run file's pyramid blocks. */
  #blocks: BlockStore;
  /** The run's sequences of objects and the objects waiting for a flush. */
  #objects: SequenceWriter;
  #updateSeries: StatementSync;

  /** @internal Use `Repo.startRun()` or `Repo.resumeRun()`. */
  constructor(
    hash: string,
    dir: string,
    db: DatabaseSync,
    lock: RunLock,
    host: RunHost,
    state: {
      meta: Map<string, unknown>;
      params: Map<string, ParamValue>;
      dataVersion: number;
    },
  ) {
    this.hash = hash;
    this.dir = dir;
    this.#db = db;
    this.#lock = lock;
    this.#host = host;
    this.#meta = state.meta;
    this.#params = state.params;
    this.#dataVersion = state.dataVersion;
    this.#blocks = new BlockStore(db);
    this.#objects = new SequenceWriter(db);
    this.#insertChunk = db.prepare(
      "INSERT INTO chunks(series_id, seq, n, first_step, last_step, has_epoch, data, min_step, max_step, first_seq, unordered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#updateSeries = db.prepare(
      "UPDATE series SET count = ?, first_step = ?, last_step = ?, last = ?, min = ?, max = ?, last_time = ?, preview = ? WHERE id = ?",
    );
    for (
      const row of db.prepare(
        "SELECT id, name, context, count, first_step, last_step, last, min, max, last_time, preview, pyramid, ordered, (SELECT coalesce(max(seq) + 1, 0) FROM chunks WHERE series_id = series.id) AS next_seq FROM series",
      ).all()
    ) {
      const series = this.#seriesFor(String(row.name), String(row.context));
      series.id = Number(row.id);
      series.nextSeq = Number(row.next_seq);
      series.count = Number(row.count);
      series.firstStep = row.first_step === null
        ? null
        : Number(row.first_step);
      series.lastStep = row.last_step === null ? null : Number(row.last_step);
      series.last = row.last === null ? NaN : Number(row.last);
      series.min = row.min === null ? NaN : Number(row.min);
      series.max = row.max === null ? NaN : Number(row.max);
      series.lastTime = row.last_time === null ? null : Number(row.last_time);
      series.preview = new Preview(row.preview as Uint8Array | null);
      series.ordered = row.ordered === 1;
      series.highest = seriesExtent(db, series.id)?.hi ?? -Infinity;
      if (row.pyramid !== 1) series.pyramid = null;
      else {
        const stored = readLatestPage(db, series.id);
        if (stored !== null) {
          series.pyramid!.resume(stored.maxStep, stored.latest);
        }
      }
    }
    const heartbeatMs = heartbeatInterval() * 1000;
    // Deno's timers are numbers; the node typings that node:sqlite pulls in say otherwise.
    this.#clock = host.clock;
    this.#lastHeartbeat = this.#clock.now();
    // The timer never keeps a finished program alive: normal exit finalizes the run.
    this.#stopTimer = this.#clock.every(TICK_MS, () => this.#tick(heartbeatMs));
    registerOpenRun(this);
  }

  /** @internal Marks every attribute for the next flush (a new or resumed run). */
  markAllMetaDirty(): void {
    for (const key of this.#meta.keys()) this.#dirtyMeta.add(key);
  }

  /** Whether the run has been finalized. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of committed flushes; what the index compares against. */
  get dataVersion(): number {
    return this.#dataVersion;
  }

  /** A name for people (default `""`); set it at any time while the run is open. */
  get name(): string {
    return String(this.#meta.get("name") ?? "");
  }
  set name(value: string) {
    this.#setMeta("name", _requireString("name", value));
  }
  /** The experiment the run belongs to (default `""`); settable while open. */
  get experiment(): string {
    return String(this.#meta.get("experiment") ?? "");
  }
  set experiment(value: string) {
    this.#setMeta("experiment", _requireString("experiment", value));
  }
  /** Free text (default `""`); settable while open. */
  get description(): string {
    return String(this.#meta.get("description") ?? "");
  }
  set description(value: string) {
    this.#setMeta("description", _requireString("description", value));
  }
  /** A copy of the tags; change them with {@linkcode Run.addTag} and {@linkcode Run.removeTag}. */
  get tags(): string[] {
    return [...(this.#meta.get("tags") as string[] ?? [])];
  }

  /** Adds a tag (no-op if present). */
  addTag(tag: string): void {
    _requireString("tag", tag);
    if (tag === "") throw new TypeError("A tag must not be empty");
    const tags = this.tags;
    if (!tags.includes(tag)) this.#setMeta("tags", [...tags, tag]);
  }

  /** Removes a tag (no-op if absent). */
  removeTag(tag: string): void {
    this.#setMeta("tags", this.tags.filter((t) => t !== tag));
  }

  /** Marks the run archived (the web UI can hide archived runs) or not. */
  set archived(value: boolean) {
    this.#setMeta("archived", value === true);
  }

  /**
   * Sets the parameter `key` to a JSON-like value (nested objects, arrays,
   * NaN and ±Infinity allowed), replacing any earlier value of `key`.
   */
  set(key: string, value: ParamValue): void {
    this.#checkOpen();
    _requireString("parameter key", key);
    if (key === "") throw new TypeError("A parameter key must not be empty");
    // Validates now, so a bad value fails in the caller and nothing is half-written.
    encodeJson(value);
    this.#params.set(key, structuredClone(value));
    this.#dirtyParams.add(key);
    this.#dirtySince ||= this.#clock.now();
  }

  /** The parameter `key`, or `undefined`. */
  get(key: string): ParamValue | undefined {
    return this.#params.get(key);
  }

  /**
   * Records one point of the series (`name`, `context`), or of a sequence
   * of objects: an {@linkcode Image}, a {@linkcode Distribution}, a
   * {@linkcode Text}, or a list of one kind of them (a batch at one step).
   * Buffered; flushed within a second.
   */
  track(
    value: number | TrackedObject | readonly TrackedObject[],
    options: TrackOptions,
  ): void {
    if (typeof value !== "number") {
      if (
        value !== null && typeof value === "object" &&
        (Array.isArray(value) || kindOf(value) !== null)
      ) {
        return this.#trackObjects(value as TrackedObject[], options);
      }
      throw new TypeError(
        `track() needs a number for series ${
          JSON.stringify(options?.name)
        }, got ${_describe(value)}`,
      );
    }
    if (this.#closed) this.#checkOpen();
    const name = options?.name;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `track() needs a non-empty string name, got ${_describe(name)}`,
      );
    }
    const context = options.context;
    // The key is recomputed on every call (no cache by object identity), so a
    // context object mutated between calls still lands in the right series.
    const series = this.#seriesFor(
      name,
      context === undefined ? "{}" : _contextKey(context),
    );
    let step = options.step;
    if (step === undefined) {
      step = series.lastStep === null ? 0 : series.lastStep + 1;
    } else if (!Number.isSafeInteger(step)) {
      throw new TypeError(
        `track() step for series ${
          JSON.stringify(name)
        } must be an integer, got ${_describe(step)}`,
      );
    }
    const epoch = options.epoch;
    if (epoch !== undefined && !Number.isSafeInteger(epoch)) {
      throw new TypeError(
        `track() epoch for series ${
          JSON.stringify(name)
        } must be an integer, got ${_describe(epoch)}`,
      );
    }
    const now = this.#clock.now();
    const time = options.time;
    if (time !== undefined && !(time >= 0 && time <= MAX_TIME)) {
      throw new RangeError(
        `track() time must be seconds since the epoch, from 0 to ${MAX_TIME} (the end of year 9999), got ${
          _describe(time)
        }`,
      );
    }
    if (this.#storageError !== null && this.#buffered >= MAX_BACKLOG) {
      if (this.#dropped++ === 0) {
        console.error(
          `aim: run ${this.hash}: ${MAX_BACKLOG} points wait for the disk; new points are dropped until it takes them`,
        );
      }
      return;
    }
    series.push(value, step, time ?? now / 1000, epoch);
    this.#dirtySeries.add(series);
    if (this.#dirtySince === 0) this.#dirtySince = now;
    // Checked here too, so a loop that never yields to the timer still flushes every second.
    if (
      (++this.#buffered >= FLUSH_POINTS ||
        now - this.#dirtySince >= FLUSH_MS) && this.#holds === 0
    ) {
      this.#flushOrKeep(now);
    }
  }

  #trackObjects(
    value: TrackedObject | readonly TrackedObject[],
    options: TrackOptions,
  ): void {
    if (this.#closed) this.#checkOpen();
    const name = options?.name;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `track() needs a non-empty string name, got ${_describe(name)}`,
      );
    }
    _requireString("sequence name", name);
    const list = Array.isArray(value) ? value : [value as TrackedObject];
    const kind = list.length === 0 ? null : kindOf(list[0]);
    if (kind === null || list.some((item) => kindOf(item) !== kind)) {
      throw new TypeError(
        `track() needs a number, an Image, a Distribution or a Text, or a non-empty list of one kind of them, for ${
          JSON.stringify(name)
        }`,
      );
    }
    const context = options.context;
    const key = context === undefined ? "{}" : _contextKey(context);
    let step = options.step;
    if (step === undefined) {
      const last = this.#objects.lastStep(kind, name, key);
      step = last === null ? 0 : last + 1;
    } else if (!Number.isSafeInteger(step)) {
      throw new TypeError(
        `track() step for ${kind} ${
          JSON.stringify(name)
        } must be an integer, got ${_describe(step)}`,
      );
    }
    const epoch = options.epoch;
    if (epoch !== undefined && !Number.isSafeInteger(epoch)) {
      throw new TypeError(
        `track() epoch for ${kind} ${
          JSON.stringify(name)
        } must be an integer, got ${_describe(epoch)}`,
      );
    }
    const time = options.time;
    if (time !== undefined && !(time >= 0 && time <= MAX_TIME)) {
      throw new RangeError(
        `track() time must be seconds since the epoch, from 0 to ${MAX_TIME} (the end of year 9999), got ${
          _describe(time)
        }`,
      );
    }
    const now = this.#clock.now();
    if (
      this.#storageError !== null &&
      this.#objects.pendingBytes >= MAX_OBJECT_BACKLOG
    ) {
      if (this.#dropped++ === 0) {
        console.error(
          `aim: run ${this.hash}: ${MAX_OBJECT_BACKLOG} bytes of objects wait for the disk; new objects are dropped until it takes them`,
        );
      }
      return;
    }
    this.#objects.track(
      kind,
      name,
      key,
      list,
      step,
      epoch ?? null,
      time ?? now / 1000,
    );
    if (this.#dirtySince === 0) this.#dirtySince = now;
    if (
      this.#objects.pendingBytes >= FLUSH_OBJECT_BYTES ||
      this.#objects.pending >= FLUSH_OBJECTS ||
      now - this.#dirtySince >= FLUSH_MS
    ) {
      this.#flushOrKeep(now);
    }
  }

  /**
   * Appends a line to the run's log (terminal output, warnings) with a
   * `level` (default `info`) at `time`, in seconds since the epoch (default
   * now). Buffered like points; flushed within a second.
   */
  log(
    text: string,
    level = "info",
    time: number = this.#clock.now() / 1000,
  ): void {
    this.#checkOpen();
    if (
      this.#storageError !== null && this.#logs.length >= MAX_LOG_BACKLOG
    ) {
      this.#dropped++;
      return;
    }
    this.#logs.push({ time, level, text: String(text) });
    this.#dirtySince ||= this.#clock.now();
    if (this.#logs.length >= 10_000 && this.#holds === 0) {
      this.#flushOrKeep(this.#clock.now());
    }
  }

  /**
   * @internal Runs `fn` with no flush started from inside `track()` or
   * `log()`, so that what `fn` records is committed in one transaction by
   * the caller's own `flush()` (with the sequence number that says it is
   * stored: remote tracking, docs/ARCHITECTURE.md, "Remote tracking"). The
   * timer cannot run meanwhile: `fn` is synchronous.
   */
  holdFlushes<T>(fn: () => T): T {
    this.#holds++;
    try {
      return fn();
    } finally {
      this.#holds--;
    }
  }

  /**
   * @internal Sets the attribute `key`, which no record shows, with the
   * next flush: in the same transaction as the data (remote tracking keeps
   * the last batch it stored under `remote_seq`).
   */
  setInternal(key: string, value: number | string | boolean | null): void {
    this.#checkOpen();
    this.#meta.set(key, value);
    this.#dirtyMeta.add(key);
    this.#dirtySince ||= this.#clock.now();
  }

  /** @internal The attribute `key` as this writer has it (see {@linkcode Run.setInternal}). */
  getInternal(key: string): unknown {
    return this.#meta.get(key);
  }

  /**
   * Points and log lines waiting in memory to be committed (many while the
   * disk refuses flushes).
   */
  get backlog(): number {
    return this.#buffered + this.#logs.length + this.#objects.pending;
  }

  /**
   * Why flushes are refused now (`AimError` `storage_full` or
   * `repo_read_only`), or null. While they are, what is tracked waits in
   * memory (up to {@linkcode MAX_BACKLOG} points) and flushes are retried
   * with back-off; nothing that was committed is ever at risk.
   */
  get storageError(): AimError | null {
    return this.#storageError;
  }

  /**
   * Commits everything buffered in one transaction, bumps the data version,
   * then makes sure the unindexed marker exists. A no-op when nothing
   * changed. Throws `AimError` `storage_full` or `repo_read_only` when the
   * disk refuses the write; everything stays buffered for the next try.
   */
  flush(): void {
    try {
      this.#commit();
    } catch (error) {
      const refused = writeFailure(error, `run ${this.hash}`);
      if (refused === null) throw error;
      this.#refused(refused);
      throw refused;
    }
    if (this.#storageError !== null) {
      console.error(
        `aim: run ${this.hash} is written again: what waited in memory is stored${
          this.#dropped > 0 ? ` (${this.#dropped} points were dropped)` : ""
        }`,
      );
      this.#storageError = null;
      this.#retryMs = 250;
    }
  }

  /** A flush when one is due and not held back by a refused one; a refusal keeps the data buffered. */
  #flushOrKeep(now: number): void {
    if (this.#storageError !== null && now < this.#retryAt) return;
    try {
      this.flush();
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
    }
  }

  /**
   * Writes the buffered points of `series` as chunks of at most
   * {@linkcode MAX_CHUNK_POINTS}, and the pages of pyramid blocks they change
   * (recorded in `pending`, committed once the transaction is).
   */
  #writePoints(
    series: _Series,
    id: number,
    pending: Map<_Series, _Pending>,
  ): void {
    const first = series.count - series.n;
    let { ordered, highest } = series;
    for (let at = 0, seq = series.nextSeq; at < series.n; seq++) {
      const n = Math.min(MAX_CHUNK_POINTS, series.n - at);
      const [low, high] = _stepBounds(series.steps, at, n);
      // A chunk that starts before an earlier one ends: the series' chunks
      // are indexed by their bounds from now on.
      if (ordered && low < highest) {
        markUnordered(this.#db, id);
        ordered = false;
      }
      highest = Math.max(highest, high);
      this.#insertChunk.run(
        id,
        seq,
        n,
        series.steps[at]!,
        series.steps[at + n - 1]!,
        series.epochs === null ? 0 : 1,
        encodeChunk(
          n,
          series.values,
          series.steps,
          series.times,
          series.epochs,
          at,
        ),
        low,
        high,
        first + at,
        ordered ? 0 : 1,
      );
      at += n;
    }
    const done: _Pending = { ordered, highest, blocks: null };
    pending.set(series, done);
    // Point numbers are stored as 32 bits in the pyramid: beyond, reads use raw points.
    if (series.pyramid !== null && series.count >= 2 ** 32) {
      series.pyramid = null;
      this.#db.prepare("UPDATE series SET pyramid = 0 WHERE id = ?").run(id);
      this.#db.prepare("DELETE FROM blocks WHERE series_id = ?").run(id);
    }
    if (series.pyramid === null) return;
    const blocks = series.pyramid.pending({
      n: series.n,
      steps: series.steps,
      values: series.values,
      times: series.times,
      epochs: series.epochs,
      firstSeq: first,
    }, (level, block) => this.#blocks.block(id, level, block));
    this.#blocks.write(id, blocks.writes);
    done.blocks = blocks;
  }

  /** Notes a refused flush: told once, retried with back-off. */
  #refused(error: AimError): void {
    if (this.#storageError === null) {
      console.error(
        `aim: ${error.message}; keeping ${this.backlog} points and log lines in memory and retrying`,
      );
    }
    this.#storageError = error;
    this.#retryAt = this.#clock.now() + this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  #commit(): void {
    if (
      this.#dirtySeries.size === 0 && this.#dirtyMeta.size === 0 &&
      this.#dirtyParams.size === 0 && this.#logs.length === 0 &&
      this.#objects.pending === 0
    ) return;
    const db = this.#db;
    const version = this.#dataVersion + 1;
    const newIds = new Map<_Series, number>();
    const pending = new Map<_Series, _Pending>();
    let objects: SequenceWrites | null = null;
    transaction(db, () => {
      if (this.#objects.pending > 0) objects = this.#objects.write(db);
      for (const series of this.#dirtySeries) {
        let id = series.id;
        if (id < 0) {
          const row = db.prepare(
            "INSERT INTO series(name, context, count, pyramid) VALUES (?, ?, 0, ?) RETURNING id",
          ).get(
            series.name,
            series.contextKey,
            series.pyramid === null ? 0 : 1,
          ) as { id: number };
          id = row.id;
          newIds.set(series, id);
        }
        if (series.n > 0) this.#writePoints(series, id, pending);
        this.#updateSeries.run(
          series.count,
          series.firstStep,
          series.lastStep,
          toSqlReal(series.last),
          toSqlReal(series.min),
          toSqlReal(series.max),
          series.lastTime,
          series.preview.bytes(),
          id,
        );
      }
      const putParam = db.prepare(
        "INSERT OR REPLACE INTO params(key, value) VALUES (?, ?)",
      );
      for (const key of this.#dirtyParams) {
        putParam.run(key, encodeJson(this.#params.get(key)));
      }
      const putLog = db.prepare(
        "INSERT INTO logs(time, level, text) VALUES (?, ?, ?)",
      );
      for (const line of this.#logs) {
        putLog.run(line.time, line.level, line.text);
      }
      const putMeta = db.prepare(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
      );
      for (const key of this.#dirtyMeta) {
        putMeta.run(key, JSON.stringify(this.#meta.get(key) ?? null));
      }
      putMeta.run("data_version", JSON.stringify(version));
    });
    // Only after the commit: a failed flush leaves every buffer as it was.
    if (objects !== null) this.#objects.commit(objects);
    for (const [series, id] of newIds) series.id = id;
    for (const [series, done] of pending) {
      series.ordered = done.ordered;
      series.highest = done.highest;
      if (done.blocks !== null) series.pyramid?.commit(done.blocks);
    }
    for (const series of this.#dirtySeries) {
      if (series.n > 0) {
        series.nextSeq += Math.ceil(series.n / MAX_CHUNK_POINTS);
      }
      series.n = 0;
    }
    this.#dirtySeries.clear();
    this.#dirtyParams.clear();
    this.#dirtyMeta.clear();
    this.#logs = [];
    this.#buffered = 0;
    this.#dirtySince = 0;
    this.#dataVersion = version;
    this.#host.touchMarker(this.hash);
  }

  /**
   * Finalizes the run: flush, record the end, index it in one short
   * transaction, remove its marker, release its lock. Safe to call twice;
   * only the first ending counts. Never throws for a failed index write: the
   * run stays unindexed (its marker remains) and a warning goes to stderr.
   */
  finalize(ending: Ending): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    unregisterOpenRun(this);
    try {
      this.#meta.set("status", ending.status);
      this.#meta.set("ended_at", ending.endedAt ?? this.#clock.now() / 1000);
      this.#meta.set("signal", ending.signal ?? null);
      this.#meta.set("exit_code", ending.exitCode ?? null);
      for (const key of ["status", "ended_at", "signal", "exit_code"]) {
        this.#dirtyMeta.add(key);
      }
      this.#finalFlush();
      writeHeartbeat(this.dir, true);
      try {
        this.#host.indexFinalized(this.hash, this.#db);
      } catch (error) {
        console.error(
          `warning: run ${this.hash} is finalized but not indexed (aim reindex will index it): ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
    } finally {
      try {
        this.#db.close();
      } finally {
        this.#lock.release();
      }
    }
  }

  /**
   * The last flush, retried for a while when the disk refuses it; when it
   * never succeeds, the run stays as it was last committed (its marker
   * kept, so it will read as crashed) and the refusal is thrown.
   */
  #finalFlush(): void {
    // Real time, whatever clock the run keeps: this waits for the disk.
    const deadline = performance.now() + FINALIZE_RETRY_MS;
    for (;;) {
      try {
        return this.flush();
      } catch (error) {
        if (!(error instanceof AimError) || performance.now() >= deadline) {
          if (error instanceof AimError) {
            console.error(
              `aim: run ${this.hash} cannot be finalized: ${error.message}; ${this.backlog} points and log lines and its end are not stored; it will read as crashed`,
            );
          }
          throw error;
        }
        _sleep(250);
      }
    }
  }

  /**
   * @internal Closes the writer without ending the run: with `keep` (the
   * default) what is buffered is flushed first; without it, it is dropped
   * (what was committed stays). The lock is released and the run still
   * says `running` in its own file: it reads as crashed once this process
   * is gone, and {@linkcode Run} can be resumed with `Repo.resumeRun()`.
   * `aim up` does this to its remote runs when it stops, so their clients
   * resume them when it is back. Safe to call twice, and after finalize().
   */
  suspend(keep = true): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    unregisterOpenRun(this);
    try {
      if (keep) this.#finalFlush();
    } finally {
      try {
        this.#db.close();
      } finally {
        this.#lock.release();
      }
    }
  }

  /** Finalizes the run as `finished`. Safe to call twice. */
  close(): Promise<void> {
    this.finalize({ status: "finished" });
    return Promise.resolve();
  }

  /** `await using run = await repo.startRun()` closes the run at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #tick(heartbeatMs: number) {
    if (this.#closed) return;
    try {
      const since = this.#dirtySince;
      const now = this.#clock.now();
      if (since !== 0 && now - since >= FLUSH_MS - TICK_MS) {
        this.#flushOrKeep(now);
      }
      if (now - this.#lastHeartbeat >= heartbeatMs) {
        this.#lastHeartbeat = now;
        writeHeartbeat(this.dir);
      }
    } catch (error) {
      // A heartbeat the full disk refuses was told of with the flush.
      if (this.#storageError !== null && writeFailure(error, "") !== null) {
        return;
      }
      // A failing disk must not kill the training program: report and retry next tick.
      console.error(
        `warning: run ${this.hash}: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
  }

  #seriesFor(name: string, contextKey: string): _Series {
    let byContext = this.#series.get(name);
    if (byContext === undefined) {
      byContext = new Map();
      this.#series.set(name, byContext);
    }
    let series = byContext.get(contextKey);
    if (series === undefined) {
      // Checked once per series, not per point.
      _requireString("series name", name);
      series = new _Series(name, contextKey);
      byContext.set(contextKey, series);
    }
    return series;
  }

  #setMeta(key: string, value: unknown) {
    this.#checkOpen();
    this.#meta.set(key, value);
    this.#dirtyMeta.add(key);
    // Edits made from outside (run_edits.ts) give way to a value set later.
    if ((EDITABLE as readonly string[]).includes(key)) {
      const setAt = this.#meta.get("set_at") as Record<string, number> ?? {};
      this.#meta.set("set_at", { ...setAt, [key]: this.#clock.now() / 1000 });
      this.#dirtyMeta.add("set_at");
    }
    this.#dirtySince ||= this.#clock.now();
  }

  #checkOpen() {
    if (this.#closed) {
      throw new Error(
        `Run ${this.hash} is closed: resume it with repo.resumeRun("${this.hash}") to write more`,
      );
    }
  }
}

/** Canonical key of a context; a `TypeError` names track() for anything but a plain object. */
function _contextKey(context: Context): string {
  if (
    context === null || typeof context !== "object" || Array.isArray(context)
  ) {
    throw new TypeError(
      `track() context must be a plain object, got ${_describe(context)}`,
    );
  }
  return contextKey(context);
}

/**
 * A string of valid Unicode: a lone surrogate would be stored as U+FFFD and
 * collide with another name, failing every later flush of the run.
 */
function _requireString(what: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(
      `The ${what} must be a string, got ${_describe(value)}`,
    );
  }
  if (!value.isWellFormed()) {
    throw new TypeError(
      `The ${what} ${
        _describe(value)
      } holds a lone surrogate: it must be valid Unicode`,
    );
  }
  return value;
}

function _describe(value: unknown): string {
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.slice(0, 50))}`;
  }
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return `${typeof value} ${String(value)}`;
}

/** What a flush changes in a series' state, applied once it is committed. */
interface _Pending {
  ordered: boolean;
  highest: number;
  blocks: PendingBlocks | null;
}

/** The lowest and highest of `n` steps from `from`: a range read skips chunks outside it. */
function _stepBounds(
  steps: ArrayLike<number>,
  from: number,
  n: number,
): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (let i = from; i < from + n; i++) {
    const step = steps[i]!;
    if (step < low) low = step;
    if (step > high) high = step;
  }
  return [low, high];
}

const _sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds (finalization is synchronous). */
function _sleep(ms: number): void {
  Atomics.wait(_sleeper, 0, 0, ms);
}
