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
  /** Runs the index covers (no unindexed marker). */
  indexed: number;
  /** Unindexed runs whose writer is alive: it indexes them when it finalizes. */
  unindexed_live: number;
  /** Unindexed runs whose writer is gone: left for `aim reindex` or `aim up`. */
  unindexed_stalled: number;
  /** Bytes of `index.db` and its WAL. */
  index_bytes: number;
}

/**
 * Counts the repository's runs; opens no run database (markers and heartbeats only).
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
