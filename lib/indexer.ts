/**
 * Indexing runs that their writers did not index: crashed writers, and runs
 * whose writer's last index write failed. Used by `aim reindex` and by the
 * `aim up` indexer Worker. Follows the marker protocol of DESIGN.md: read at
 * version v, commit rows for v, delete the marker, re-read the version and
 * re-create the marker if it moved.
 *
 * @module
 */

import { join } from "node:path";
import { AimError } from "./errors.ts";
import { openDatabase, openForReading, transaction } from "./_sqlite.ts";
import { crashEndTime, readHeartbeat } from "./liveness.ts";
import type { Repo } from "./repo.ts";
import {
  corruptRunError,
  readDataVersion,
  readPreviews,
  readRecord,
  RUN_DB,
} from "./run_space.ts";
import type { RunRecord } from "./types.ts";

/** What indexing one run did. */
export type IndexOutcome =
  | { kind: "indexed"; record: RunRecord; writeMs: number; markerKept: boolean }
  | { kind: "live" }
  | { kind: "missing" };

/** Options of {@linkcode indexRun}. */
export interface IndexRunOptions {
  /**
   * Also record a stalled run as `crashed` in its own space (end time = last
   * heartbeat), not only in the index. Default false.
   */
  finalizeStalled?: boolean;
  /** Index even a live run (its writer keeps its marker alive). For tests and `--all`. */
  includeLive?: boolean;
}

/**
 * Indexes one run from its own space in one short index transaction.
 * Throws `AimError` `run_corrupt` (naming the file) when the run cannot be
 * read; the run's files and marker are then left untouched.
 */
export function indexRun(
  repo: Repo,
  hash: string,
  options: IndexRunOptions = {},
): IndexOutcome {
  const dir = repo.runDir(hash);
  const path = join(dir, RUN_DB);
  try {
    Deno.statSync(path);
  } catch {
    return { kind: "missing" };
  }
  const live = repo.isLive(hash);
  if (live && !options.includeLive) return { kind: "live" };
  let db;
  try {
    db = options.finalizeStalled && !live
      ? openDatabase(path, repo.mode)
      : openForReading(path, repo.mode);
  } catch (cause) {
    throw corruptRunError(hash, path, cause);
  }
  try {
    const opened = db;
    let record: RunRecord;
    let previews: Map<string, Uint8Array>;
    try {
      if (options.finalizeStalled && !live) _recordCrash(opened, dir);
      [record, previews] = transaction(
        opened,
        () => [readRecord(opened, hash), readPreviews(opened)] as const,
        "DEFERRED",
      );
    } catch (cause) {
      throw corruptRunError(hash, path, cause);
    }
    if (!live && record.status === "running") {
      record.status = "crashed";
      record.ended_at = crashEndTime(dir, record);
    }
    const writeMs = repo.index().write(record, previews);
    repo.removeMarker(hash);
    // A writer may have committed after our read: its marker must survive.
    const markerKept = readDataVersion(opened) !== record.data_version;
    if (markerKept) repo.touchMarker(hash);
    return { kind: "indexed", record, writeMs, markerKept };
  } finally {
    db.close();
  }
}

/** Writes `crashed` and the last heartbeat time into a stalled run's own space. */
function _recordCrash(db: ReturnType<typeof openDatabase>, dir: string): void {
  transaction(db, () => {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'status'")
      .get() as
        | { value: string }
        | undefined;
    if (row === undefined || JSON.parse(row.value) !== "running") return;
    const last = db.prepare("SELECT max(last_time) AS t FROM series").get() as {
      t: number | null;
    };
    const beat = readHeartbeat(dir)?.time ?? null;
    const ended = beat === null ? last.t : Math.max(beat, last.t ?? beat);
    const put = db.prepare(
      "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
    );
    put.run("status", JSON.stringify("crashed"));
    if (ended !== null) put.run("ended_at", JSON.stringify(ended));
    put.run("data_version", JSON.stringify(readDataVersion(db) + 1));
  });
}

/** A run that could not be indexed, and why. */
export interface IndexFailure {
  hash: string;
  reason: string;
}

/** Summary of {@linkcode reindex}. */
export interface ReindexSummary {
  /** Runs considered (markers, or every run space with `all`). */
  candidates: number;
  indexed: number;
  /** Indexed runs that were recorded `crashed`. */
  crashed: number;
  skippedLive: number;
  failed: IndexFailure[];
  /** Index rows dropped because their run space no longer exists. */
  removed: number;
  longestWriteMs: number;
  seconds: number;
}

/** Options of {@linkcode reindex}. */
export interface ReindexOptions {
  /** Rebuild from every run space, not only those with a marker. */
  all?: boolean;
  finalizeStalled?: boolean;
  /** Count what would be done; write nothing. */
  dryRun?: boolean;
  /** Called after each run with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Indexes every non-live run that has a marker (or, with `all`, every run),
 * one transaction per run. A run that cannot be read is reported and
 * skipped; nothing is ever deleted but index rows of runs whose space is gone.
 */
export function reindex(
  repo: Repo,
  options: ReindexOptions = {},
): ReindexSummary {
  const start = performance.now();
  const hashes = options.all ? repo.listRuns() : repo.listMarkers();
  const summary: ReindexSummary = {
    candidates: hashes.length,
    indexed: 0,
    crashed: 0,
    skippedLive: 0,
    failed: [],
    removed: 0,
    longestWriteMs: 0,
    seconds: 0,
  };
  if (!options.dryRun) repo.index().deferCheckpoints();
  let done = 0;
  for (const hash of hashes) {
    try {
      if (options.dryRun) {
        if (repo.isLive(hash)) summary.skippedLive++;
        else summary.indexed++;
      } else {
        const outcome = indexRun(repo, hash, options);
        if (outcome.kind === "live") summary.skippedLive++;
        else if (outcome.kind === "missing") {
          // A marker whose run was removed: nothing left to index.
          repo.index().remove(hash);
          repo.removeMarker(hash);
        } else {
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
    const present = new Set(repo.listRuns());
    for (const hash of repo.index().versions().keys()) {
      if (!present.has(hash)) {
        repo.index().remove(hash);
        summary.removed++;
      }
    }
  }
  if (!options.dryRun && summary.indexed > 0) repo.index().checkpoint();
  summary.seconds = (performance.now() - start) / 1000;
  return summary;
}
