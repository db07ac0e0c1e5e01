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
  /** Absolute path of the repository folder (`…/.aim`). */
  repo: string;
  /** `local` or `network`, as `detectFsMode` decided for the repository. */
  fs_mode: string;
  /** Run spaces in `runs/`. */
  runs: number;
  /** Runs the index covers (in the index, no unindexed marker). */
  indexed: number;
  /**
   * Runs with neither index rows nor a marker (a marker deleted by hand):
   * invisible to searches until `aim reindex` (or the `aim up` indexer)
   * finds and marks them.
   */
  hidden: number;
  /**
   * Entries of `runs/` and `progress/` that are not runs or markers, by
   * their names and kinds (`aim reindex` also finds run folders without
   * their `run.db`, and says what each one is).
   */
  junk: number;
  /** Unindexed runs whose writer is alive: it indexes them when it finalizes. */
  unindexed_live: number;
  /** Unindexed runs whose writer is gone: left for `aim reindex` or `aim up`. */
  unindexed_stalled: number;
  /**
   * `writable`; `read-only` when the repository or the disk refuses writes
   * (searches still use the index); `unavailable` when it cannot even be
   * read (every run is then read from its own space).
   */
  index: "writable" | "read-only" | "unavailable";
  /** Why the index is not writable, or null. */
  index_problem: string | null;
  /** Bytes of `index.db` and its WAL. */
  index_bytes: number;
}

/**
 * Counts the repository's runs: from the listings, the markers, the
 * heartbeats and the index; opens no run database.
 *
 * @example What aim status shows
 * ```ts
 * import { repoStatus } from "./status.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * await (await repo.startRun()).close();
 * const live = await repo.startRun();
 *
 * const { runs, indexed, unindexed_live, unindexed_stalled } = repoStatus(repo);
 * console.log(runs, indexed, unindexed_live, unindexed_stalled); // 2 1 1 0
 * await live.close();
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function repoStatus(repo: Repo): RepoStatus {
  // The index first: opening a new or outdated one marks every run.
  const index = repo.index();
  const runs = new Set(repo.listRuns());
  const markers = new Set(repo.listMarkers());
  let live = 0;
  let stalled = 0;
  for (const hash of markers) {
    if (!runs.has(hash)) continue;
    if (repo.isLiveRecent(hash)) live++;
    else stalled++;
  }
  let indexed = 0;
  let hidden = 0;
  // One read of every indexed hash rather than a lookup per run: aim up
  // answers this on every /api/index.
  const inIndex = index.empty ? new Set<string>() : index.versions();
  for (const hash of runs) {
    if (markers.has(hash)) continue;
    if (inIndex.has(hash)) indexed++;
    else if (!index.empty) hidden++;
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
    indexed,
    hidden,
    junk: repo.listJunk({ deep: false }).length,
    index: index.empty
      ? "unavailable"
      : index.readOnlyBecause !== null
      ? "read-only"
      : "writable",
    index_problem: index.readOnlyBecause,
    unindexed_live: live,
    unindexed_stalled: stalled,
    index_bytes: bytes,
  };
}
