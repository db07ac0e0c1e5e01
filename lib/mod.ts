/**
 * aim's storage and query core, for programs that track runs from
 * TypeScript and tools that read them: repositories, run writers, the index
 * and indexing, and the query language. It knows nothing of HTTP. How the
 * parts fit is told in docs/ARCHITECTURE.md.
 *
 * @example Track a run, then find it with a query
 * ```ts
 * import { Repo, searchRuns } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   using repo = await Repo.open(`${dir}/.aim`, { create: true });
 *   const run = await repo.startRun({ experiment: "base", name: "lr-0.01" });
 *   run.set("hparams", { lr: 0.01 });
 *   for (let step = 0; step < 100; step++) {
 *     run.track(Math.exp(-step / 50), { name: "loss", step, context: { subset: "train" } });
 *   }
 *   await run.close();
 *
 *   const page = searchRuns(repo, 'run.hparams.lr < 0.1 and run.metrics["loss", {"subset": "train"}].last < 0.2');
 *   console.log(page.runs.map((r) => r.record.name)); // ["lr-0.01"]
 * } // the repository's index is closed here
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { AimError, type AimErrorCode } from "./errors.ts";
export type {
  Context,
  ListedRun,
  ParamValue,
  RunFailure,
  RunRecord,
  RunStatus,
  SequenceKind,
  SequenceSummary,
  SeriesSummary,
} from "./types.ts";
export { RUN_STATUSES, SEQUENCE_KINDS } from "./types.ts";
export {
  DEFAULT_BINS,
  Distribution,
  Image,
  type ImageFormat,
  type ImageOptions,
  MAX_BINS,
  MAX_CAPTION,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_PIXELS,
  MAX_TEXT_BYTES,
  Text,
  type TextOptions,
  THUMB_EDGE,
} from "./objects/mod.ts";
export {
  type Ending,
  finalizeAll,
  FORMAT_VERSION,
  handleSignals,
  type LoadedRun,
  type LockOptions,
  type LogLine,
  type LogPage,
  type LogQuery,
  newHash,
  repoPathFor,
  Run,
  type RunHost,
  RunLock,
  RunSpaces,
  type SeriesPoints,
  type StoredObject,
  type Tail,
  type TrackedObject,
  type TrackOptions,
  validateHash,
} from "./storage/mod.ts";
export {
  type Indexable,
  IndexDb,
  type IndexOutcome,
  indexRun,
  type IndexRunOptions,
  markHidden,
  reindex,
  type ReindexOptions,
  type ReindexSummary,
} from "./index/mod.ts";
export {
  type DistributionMatrix,
  type MatrixOptions,
  MAX_LOG_LINES,
  type ObjectsAt,
  readDistributionMatrix,
  readLogs,
  readObject,
  readObjectBytes,
  readObjectsAtStep,
  readSequence,
  type ReadSequenceOptions,
  readSeries,
  type ReadSeriesOptions,
  readSeriesPreview,
  removeRun,
  Repo,
  type RepoOptions,
  type RepoStatus,
  repoStatus,
  type RunPatch,
  type SequenceData,
  type SequenceRef,
  type SeriesData,
  type StartRunOptions,
  updateRun,
} from "./repo/mod.ts";
export {
  createView,
  deleteView,
  getView,
  listViews,
  type SavedView,
  updateView,
  VIEW_PAGES,
  type ViewList,
  type ViewPage,
} from "./repo/mod.ts";
export {
  type ArithmeticOp,
  type BinaryExpr,
  type CallExpr,
  checkNames,
  closestNames,
  type CompareExpr,
  type CompareOp,
  type DictExpr,
  type Expr,
  type ListExpr,
  type LiteralExpr,
  type LogicalExpr,
  MAX_LIMIT,
  type MemberExpr,
  METRIC_FIELDS,
  type MetricExpr,
  type MetricField,
  type MetricMatch,
  type MetricPage,
  type ParamExpr,
  parseQuery,
  type PathKey,
  type Query,
  QUERY_METHODS,
  type QueryMethod,
  type QueryNameWarning,
  QuerySyntaxError,
  RUN_ATTRIBUTES,
  type RunAttrExpr,
  type RunAttribute,
  type RunMetricExpr,
  type RunPage,
  runToJson,
  searchMetrics,
  type SearchOptions,
  searchRuns,
  searchSequences,
  SEQUENCE_FIELDS,
  type SequenceExpr,
  type SequenceField,
  type SequenceMatch,
  type SequencePage,
  type UnaryExpr,
} from "./query/mod.ts";
export {
  type FieldCatalog,
  type FieldOptions,
  type FieldRow,
  type FieldTable,
  listFields,
  runFields,
  type SeriesName,
} from "./query/mod.ts";
export { downsample, type StepValues } from "./series/mod.ts";
export { type Clock, systemClock } from "./util/mod.ts";
export type { FsMode } from "./util/mod.ts";
