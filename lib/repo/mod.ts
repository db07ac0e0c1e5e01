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
