/**
 * A repository as a whole: its run spaces and its index together. Opening
 * it, starting and resuming runs, reading a run's points and log, editing
 * and deleting runs, and counting what is indexed.
 *
 * @module
 */

export { Repo, type RepoOptions, type StartRunOptions } from "./repo.ts";
export {
  MAX_LOG_LINES,
  MAX_LOG_SEARCH,
  MAX_POINTS,
  readLogs,
  readSeries,
  type ReadSeriesOptions,
  readSeriesPreview,
  type Resolution,
  type SeriesData,
} from "./reads.ts";
export {
  type DistributionMatrix,
  type MatrixOptions,
  MAX_MATRIX_BINS,
  MAX_MATRIX_ROWS,
  MAX_OBJECTS,
  MAX_STEPS,
  type ObjectsAt,
  readDistributionMatrix,
  readObject,
  readObjectBytes,
  readObjectsAtStep,
  readSequence,
  type ReadSequenceOptions,
  readTailsOf,
  rebin,
  type SequenceData,
  type SequenceRef,
  type SequenceTail,
  tailKey,
} from "./object_reads.ts";
export { removeRun, type RunPatch, updateRun, validatePatch } from "./edit.ts";
export { type RepoStatus, repoStatus } from "./status.ts";
export {
  createView,
  deleteView,
  getView,
  listViews,
  MAX_VIEW_NAME,
  MAX_VIEW_STATE,
  type SavedView,
  updateView,
  validateViewId,
  VIEW_PAGES,
  type ViewList,
  type ViewPage,
  VIEWS_DIR,
} from "./views.ts";
