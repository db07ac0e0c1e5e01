/**
 * Indexing runs that their writers did not index: crashed writers, and runs
 * whose writer's last index write failed. {@linkcode indexRun} is the one
 * per-run policy; `aim reindex` ({@linkcode reindex}) and the `aim up`
 * indexer Worker both loop over it. It follows the marker protocol
 * (docs/ARCHITECTURE.md, "Marker protocol"): read at version v, commit rows
 * for v, delete the marker, and re-create it if the version moved.
 *
 * @module
 */

import { AimError } from "../errors.ts";
import type { RunFailure, RunRecord } from "../types.ts";
import { crashEndTime, readHeartbeat } from "../storage/liveness.ts";
import {
  readDataVersion,
  readMeta,
  readPreviews,
  runFileFeatures,
} from "../storage/run_file.ts";
import type { Junk, RunLock, RunSpaces } from "../storage/run_spaces.ts";
import { readEditedRecord, readEdits } from "../storage/run_edits.ts";
import { readTails } from "../storage/run_objects.ts";
import type { IndexDb } from "./index_db.ts";

/** A repository's run spaces with its index: what indexing needs (a `Repo` is one). */
export interface Indexable extends RunSpaces {
  /** The index, opened on first use. */
  index(): IndexDb;
}

/** What indexing one run did. */
export type IndexOutcome =
  | {
    kind: "indexed";
    record: RunRecord;
    /** Duration of the index write transaction, in milliseconds. */
    writeMs: number;
    /** A writer committed during the read: the marker stays for the next pass. */
    markerKept: boolean;
  }
  /** Its writer is alive (or another process holds its lock): left to it. */
  | { kind: "live" }
  /** No run space any more: its index rows and marker were dropped. */
  | { kind: "missing" };

/** Options of {@linkcode indexRun}. */
export interface IndexRunOptions {
  /**
   * Also record a stalled run as `crashed` in its own space (end time = last
   * heartbeat), not only in the index. Default false.
   */
  finalizeStalled?: boolean;
  /**
   * Index a live run too, reading it while its writer writes (its marker
   * then survives whenever the writer commits meanwhile). For `--all` and
   * tests; default false.
   */
  includeLive?: boolean;
  /** The run's lock, when the caller holds it already. */
  heldLock?: RunLock;
  /**
   * How long to wait for the run's lock while another process (not a
   * writer) holds it, in milliseconds; default 0.
   */
  lockWaitMs?: number;
}

/**
 * Indexes one run from its own space in one short index transaction,
 * holding the run's lock so that no edit or deletion interleaves. Throws
 * `AimError` `run_corrupt` (naming the file) when the run cannot be read;
 * its files and marker are then left untouched.
 *
 * @example A live run is its writer's to index
 * ```ts
 * import { indexRun } from "./indexing.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "training" });
 * run.track(1, { name: "loss" });
 * run.flush();
 * console.log(indexRun(repo, run.hash).kind); // live
 * const outcome = indexRun(repo, run.hash, { includeLive: true });
 * console.log(outcome.kind === "indexed" && outcome.record.status); // running
 * await run.close();
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function indexRun(
  spaces: Indexable,
  hash: string,
  options: IndexRunOptions = {},
): IndexOutcome {
  const index = spaces.index();
  let lock: RunLock | null = options.heldLock ?? null;
  try {
    lock ??= spaces.lockRun(hash, { waitMs: options.lockWaitMs ?? 0 });
    // On a network filesystem another host's writer holds no lock here.
    if (
      lock !== options.heldLock && spaces.mode === "network" &&
      spaces.isLive(hash)
    ) {
      lock.release();
      lock = null;
    }
  } catch (error) {
    if (!(error instanceof AimError)) throw error;
    if (error.code === "run_not_found") {
      return _dropMissing(spaces, index, hash);
    }
    if (error.code !== "run_live") throw error;
  }
  if (lock === null && !options.includeLive) return { kind: "live" };
  try {
    const live = lock === null;
    if (options.finalizeStalled && lock !== null) {
      _recordCrash(spaces, lock, hash);
    }
    let record: RunRecord;
    let previews: Map<string, Uint8Array>;
    let tails: ReturnType<typeof readTails>;
    let editsBefore = 0;
    try {
      let current: boolean;
      editsBefore = readEdits(spaces.runDir(hash)).version;
      [record, previews, tails, current] = spaces.readRun(
        hash,
        (db) =>
          [
            readEditedRecord(db, hash, spaces.runDir(hash)),
            readPreviews(db),
            readTails(db),
            runFileFeatures(db).pyramid,
          ] as const,
      );
      // A file of an older format gets its series' pyramids once, here
      // (when the disk allows: it is read from raw points meanwhile).
      if (!current && lock !== null) {
        try {
          spaces.upgradeRun(lock, hash);
        } catch (error) {
          if (!(error instanceof AimError) || error.code === "run_corrupt") {
            throw error;
          }
        }
      }
    } catch (error) {
      if (error instanceof AimError && error.code === "run_not_found") {
        return _dropMissing(spaces, index, hash);
      }
      throw error;
    }
    if (!live && record.status === "running") {
      record.status = "crashed";
      record.ended_at = crashEndTime(spaces.runDir(hash), record);
    }
    const writeMs = index.write(record, previews, tails);
    spaces.removeMarker(hash);
    // Holding the lock, no writer can have written since the read; without
    // it a writer may have committed after our read, and its marker must
    // stay. Editors take no run lock: an edit made since the read marks the
    // run again (its editor marks it too, after writing the edit).
    const markerKept = (live &&
      spaces.readRun(hash, readDataVersion) !== record.data_version) ||
      readEdits(spaces.runDir(hash)).version !== editsBefore;
    if (markerKept) spaces.touchMarker(hash);
    return { kind: "indexed", record, writeMs, markerKept };
  } finally {
    if (lock !== options.heldLock) lock?.release();
  }
}

/** A run whose space is gone: nothing left to index, so nothing may stay listed. */
function _dropMissing(
  spaces: RunSpaces,
  index: IndexDb,
  hash: string,
): IndexOutcome {
  index.remove(hash);
  spaces.removeMarker(hash);
  return { kind: "missing" };
}

/** Writes `crashed` and the last sign of life into a stalled run's own space. */
function _recordCrash(spaces: RunSpaces, lock: RunLock, hash: string): void {
  spaces.writeRun(lock, hash, (db) => {
    if (readMeta(db).get("status") !== "running") return null;
    const last = db.prepare("SELECT max(last_time) AS t FROM series").get() as {
      t: number | null;
    };
    const beat = readHeartbeat(spaces.runDir(hash))?.time ?? null;
    const ended = beat === null ? last.t : Math.max(beat, last.t ?? beat);
    return new Map<string, unknown>([
      ["status", "crashed"],
      ...(ended !== null ? [["ended_at", ended] as const] : []),
    ]);
  });
}

/**
 * Marks the runs that have a space but neither index rows nor a marker (a
 * marker deleted by hand, an index restored from a backup): without a marker
 * they would be invisible until `reindex --all`. Returns their hashes.
 */
export function markHidden(spaces: Indexable): string[] {
  const index = spaces.index();
  const marked = new Set(spaces.listMarkers());
  // One lookup per run space: nothing as large as the index is held. A
  // folder without its run file is junk, not a hidden run.
  const hidden = spaces.listRuns().filter((hash) =>
    !marked.has(hash) && !index.has(hash) && _isFile(spaces.runFile(hash))
  );
  for (const hash of hidden) spaces.touchMarker(hash);
  return hidden;
}

/** Summary of {@linkcode reindex}. */
export interface ReindexSummary {
  /** Runs considered (markers, or every run space with `all`). */
  candidates: number;
  /** Runs indexed (with `dryRun`: that would be). */
  indexed: number;
  /** Indexed runs that were recorded `crashed`. */
  crashed: number;
  /** Runs left to their live writer, which indexes them when it finalizes. */
  skippedLive: number;
  /** Runs that could not be read, each with why; the others were still indexed. */
  failed: RunFailure[];
  /** Index rows dropped because their run space no longer exists. */
  removed: number;
  /** Runs that had neither index rows nor a marker, found and indexed. */
  hidden: number;
  /** Leftovers of interrupted run creations and deletions, removed. */
  swept: number;
  /** Those leftovers, each with what it was. */
  sweptItems: Junk[];
  /** What in the repository is not a run or a marker: reported, never deleted. */
  junk: Junk[];
  /** Longest index write transaction, in milliseconds: the longest a reader waited. */
  longestWriteMs: number;
  /** Wall time of the whole pass, in seconds. */
  seconds: number;
}

/** Options of {@linkcode reindex}. */
export interface ReindexOptions {
  /** Rebuild from every run space, not only those with a marker. */
  all?: boolean;
  /** Also record stalled runs as `crashed` in their own space. */
  finalizeStalled?: boolean;
  /** Count what would be done; write nothing. */
  dryRun?: boolean;
  /** Called after each run with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Indexes every non-live run that has a marker (or, with `all`, every run),
 * one transaction per run. A run that cannot be read is reported and
 * skipped; nothing is ever deleted but index rows and markers of runs whose
 * space is gone.
 *
 * @example Index what a writer left unindexed
 * ```ts
 * import { reindex } from "./indexing.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "a" });
 * await run.close();
 * // As when the writer's last index write failed: the run keeps its marker.
 * repo.touchMarker(run.hash);
 * const summary = reindex(repo);
 * console.log(summary.candidates, summary.indexed, summary.failed); // 1 1 []
 * console.log(repo.listMarkers()); // []
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function reindex(
  spaces: Indexable,
  options: ReindexOptions = {},
): ReindexSummary {
  const start = performance.now();
  const index = spaces.index();
  if (!options.dryRun) index.requireWritable();
  const { removed, kept } = options.dryRun
    ? { removed: [], kept: spaces.listJunk() }
    : spaces.sweep();
  const hidden = options.all || options.dryRun ? [] : markHidden(spaces);
  const hashes = options.all ? spaces.listRuns() : spaces.listMarkers();
  const summary: ReindexSummary = {
    candidates: hashes.length,
    indexed: 0,
    crashed: 0,
    skippedLive: 0,
    failed: [],
    removed: 0,
    hidden: hidden.length,
    swept: removed.length,
    sweptItems: removed,
    junk: kept.filter((item) => !item.leftover),
    longestWriteMs: 0,
    seconds: 0,
  };
  if (!options.dryRun) index.deferCheckpoints();
  let done = 0;
  for (const hash of hashes) {
    try {
      if (options.dryRun) {
        if (spaces.isLive(hash)) summary.skippedLive++;
        else summary.indexed++;
      } else {
        const outcome = indexRun(spaces, hash, options);
        if (outcome.kind === "live") summary.skippedLive++;
        else if (outcome.kind === "indexed") {
          summary.indexed++;
          if (outcome.record.status === "crashed") summary.crashed++;
          summary.longestWriteMs = Math.max(
            summary.longestWriteMs,
            outcome.writeMs,
          );
        }
      }
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      summary.failed.push({ hash, reason: error.message });
    }
    options.onProgress?.(++done, hashes.length);
  }
  if (options.all && !options.dryRun) {
    const present = new Set(spaces.listRuns());
    for (const hash of index.versions().keys()) {
      if (!present.has(hash)) {
        index.remove(hash);
        summary.removed++;
      }
    }
  }
  if (!options.dryRun && summary.indexed > 0) index.checkpoint();
  summary.seconds = (performance.now() - start) / 1000;
  return summary;
}

function _isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
