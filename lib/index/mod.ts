/**
 * The repository's index (`index.db`): one short transaction per run that
 * replaces its rows, and the one per-run indexing policy that `aim
 * reindex` and the `aim up` indexer share. The index only accelerates
 * queries; every fact in it is also in a run space.
 *
 * @module
 */

export { IndexDb } from "./index_db.ts";
export { flattenParams, type ParamRow } from "./params.ts";
export {
  type Indexable,
  type IndexOutcome,
  indexRun,
  type IndexRunOptions,
  markHidden,
  reindex,
  type ReindexOptions,
  type ReindexSummary,
} from "./indexing.ts";
