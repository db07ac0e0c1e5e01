/**
 * Run spaces: the repository layout, each run's own file and its writer,
 * liveness, locks and the unindexed markers. Everything here writes or
 * reads one run at a time; nothing here knows of the index.
 *
 * @module
 */

export {
  checkVersion,
  discoverRepo,
  FORMAT_VERSION,
  HASH_PATTERN,
  HEARTBEAT_FILE,
  INDEX_DB,
  initRepo,
  LOCK_FILE,
  newHash,
  PROGRESS_DIR,
  repoPathFor,
  RUN_DB,
  RUNS_DIR,
  validateHash,
  VERSION_FILE,
} from "./layout.ts";
export {
  crashEndTime,
  currentHeartbeat,
  type Heartbeat,
  heartbeatInterval,
  heartbeatTimeout,
  hostName,
  isLive,
  processStart,
  readHeartbeat,
  writeHeartbeat,
} from "./liveness.ts";
export {
  hasObjectTables,
  MAX_TIME,
  OBJECT_SCHEMA,
  readDataVersion,
  readMeta,
  readPoints,
  readPreviews,
  readRecord,
  readSequenceSummaries,
  readSeriesBuckets,
  RUN_FILE_VERSION,
  RunFileError,
  type RunFileFeatures,
  runFileFeatures,
  sequenceFromRow,
  type SeriesBuckets,
  seriesFromRow,
  seriesKey,
  type SeriesPoints,
  upgradeRunFile,
} from "./run_file.ts";
export {
  type LogLine,
  type LogPage,
  type LogQuery,
  readLogPage,
} from "./run_logs.ts";
export {
  corruptRunError,
  type Junk,
  liveError,
  type LoadedRun,
  type LockOptions,
  RunLock,
  RunSpaces,
  STAGING_PREFIX,
  TRASH_PREFIX,
  writerOf,
} from "./run_spaces.ts";
export { RecordCache, type RecordCacheStats } from "./record_cache.ts";
export {
  type HistogramRow,
  type ObjectMeta,
  type ObjectRange,
  parseTail,
  readHistograms,
  readObjects,
  readObjectsAt,
  readPayload,
  readSteps,
  readTails,
  sequenceId,
  sequenceKey,
  type StoredObject,
  type Tail,
  TAIL_OBJECTS,
} from "./run_objects.ts";
export { kindOf, type TrackedObject } from "./sequence_writer.ts";
export {
  type Ending,
  MAX_BACKLOG,
  MAX_OBJECT_BACKLOG,
  Run,
  type RunHost,
  type TrackOptions,
} from "./run_writer.ts";
export { finalizeAll, HANDLED_SIGNALS, handleSignals } from "./finalizer.ts";
