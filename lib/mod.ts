/**
 * aim's storage and query core: repositories, run writers, the index and
 * indexing. Knows nothing of HTTP.
 *
 * ```ts
 * import { Repo } from "./lib/mod.ts";
 * const repo = await Repo.open(".aim", { create: true });
 * const run = await repo.startRun({ experiment: "base", name: "lr-0.01" });
 * run.set("hparams", { lr: 0.01 });
 * run.track(0.25, { name: "loss", step: 10, context: { subset: "train" } });
 * await run.close();
 * ```
 *
 * @module
 */

export { newHash, Repo, validateHash } from "./repo.ts";
export type { LoadedRun, StartRunOptions } from "./repo.ts";
export { Run } from "./run_writer.ts";
export type { Ending, TrackOptions } from "./run_writer.ts";
export { AimError } from "./errors.ts";
export type { AimErrorCode } from "./errors.ts";
export { IndexDb } from "./index_db.ts";
export { flattenParams } from "./query_sql.ts";
export { indexRun, reindex } from "./indexer.ts";
export type {
  IndexFailure,
  IndexOutcome,
  ReindexOptions,
  ReindexSummary,
} from "./indexer.ts";
export { detectFsMode } from "./fs_mode.ts";
export type { FsMode } from "./fs_mode.ts";
export {
  discoverRepo,
  FORMAT_VERSION,
  initRepo,
  repoPathFor,
} from "./repo_layout.ts";
export { finalizeAll, handleSignals } from "./_finalizer.ts";
export { readPoints } from "./run_space.ts";
export type { SeriesPoints } from "./run_space.ts";
export type {
  Context,
  ParamValue,
  RunRecord,
  RunStatus,
  SeriesSummary,
} from "./types.ts";
export { RUN_STATUSES } from "./types.ts";
