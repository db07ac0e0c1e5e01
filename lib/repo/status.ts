/**
 * Repository counts: what `aim status` and the server's `/api/index` show.
 *
 * @module
 */

import { join } from "node:path";
import { INDEX_DB } from "../storage/layout.ts";
import type { Repo } from "./repo.ts";

/** Counts of runs by index state. */
export interface RepoStatus {
  repo: string;
  fs_mode: string;
  runs: number;
  indexed: number;
  unindexed_live: number;
  unindexed_stalled: number;
  /** Bytes of `index.db` and its WAL. */
  index_bytes: number;
}

/** Counts the repository's runs; opens no run database (markers and heartbeats only). */
export function repoStatus(repo: Repo): RepoStatus {
  const runs = new Set(repo.listRuns());
  let live = 0;
  let stalled = 0;
  for (const hash of repo.listMarkers()) {
    if (!runs.has(hash)) continue;
    if (repo.isLive(hash)) live++;
    else stalled++;
  }
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      bytes += Deno.statSync(join(repo.path, INDEX_DB + suffix)).size;
    } catch {
      // Not created yet.
    }
  }
  return {
    repo: repo.path,
    fs_mode: repo.mode,
    runs: runs.size,
    indexed: runs.size - live - stalled,
    unindexed_live: live,
    unindexed_stalled: stalled,
    index_bytes: bytes,
  };
}
