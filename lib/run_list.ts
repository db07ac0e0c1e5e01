/**
 * Listing runs: indexed runs from the index, unindexed runs (marker present)
 * from their own space, merged. The query engine builds on this.
 *
 * @module
 */

import type { Repo } from "./repo.ts";
import type { IndexFailure } from "./indexer.ts";
import { AimError } from "./errors.ts";
import type { RunRecord } from "./types.ts";

/** A run as listings show it. */
export interface ListedRun {
  record: RunRecord;
  /** Its writer is alive. */
  live: boolean;
  /** The index covers its data (no marker). */
  indexed: boolean;
}

/** Every run, oldest first, and the unindexed runs that could not be read. */
export function listAllRuns(
  repo: Repo,
): { runs: ListedRun[]; unreadable: IndexFailure[] } {
  const markers = new Set(repo.listMarkers());
  const present = new Set(repo.listRuns());
  const runs: ListedRun[] = [];
  const unreadable: IndexFailure[] = [];
  for (const record of repo.index().all()) {
    if (!present.has(record.hash) || markers.has(record.hash)) continue;
    runs.push({ record, live: false, indexed: true });
  }
  for (const hash of markers) {
    if (!present.has(hash)) continue;
    try {
      const { record, live } = repo.loadRun(hash);
      runs.push({ record, live, indexed: false });
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      unreadable.push({ hash, reason: error.message });
    }
  }
  runs.sort((a, b) =>
    a.record.created_at - b.record.created_at ||
    (a.record.hash < b.record.hash ? -1 : 1)
  );
  return { runs, unreadable };
}

/** The JSON shape of a run in `aim runs ls --json` and the API. Times are ISO 8601. */
export function runToJson(
  run: ListedRun,
  now = Date.now() / 1000,
): Record<string, unknown> {
  const r = run.record;
  return {
    hash: r.hash,
    name: r.name,
    experiment: r.experiment,
    description: r.description,
    tags: r.tags,
    status: r.status,
    signal: r.signal,
    exit_code: r.exit_code,
    live: run.live,
    indexed: run.indexed,
    archived: r.archived,
    created_at: new Date(r.created_at * 1000).toISOString(),
    ended_at: r.ended_at === null
      ? null
      : new Date(r.ended_at * 1000).toISOString(),
    duration: (r.ended_at ?? now) - r.created_at,
    data_version: r.data_version,
    params: r.params,
    metrics: r.metrics.map((m) => ({
      name: m.name,
      context: m.context,
      count: m.count,
      first_step: m.first_step,
      last_step: m.last_step,
      last: m.last,
      min: m.min,
      max: m.max,
    })),
  };
}
