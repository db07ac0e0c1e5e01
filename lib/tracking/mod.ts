/**
 * Feeding runs from outside TypeScript: the JSON-lines tracking protocol
 * that `aim track` reads on stdin and `aim run` on fd 3, a child program's
 * terminal output as log lines, system metrics of a process tree, and what
 * a run records about how it was launched, and the writers of runs tracked
 * over HTTP.
 *
 * @module
 */

export {
  applyMessage,
  Ingester,
  type IngestOptions,
  type IngestSummary,
  MAX_LINE,
  type Message,
  parseMessage,
} from "./protocol.ts";
export {
  MAX_LIST,
  type ObjectParseOptions,
  parseObjects,
  UPLOAD_PREFIX,
} from "./object_messages.ts";
export { MAX_LOG_LINE, TerminalLog } from "./terminal_log.ts";
export {
  gpuSamples,
  hostSamples,
  type MonitorOptions,
  monitorSystem,
  parseNvidiaSmi,
  ProcessTreeSampler,
  type SystemMonitor,
  type SystemSample,
} from "./system_metrics.ts";
export { launchInfo } from "./launch.ts";
export {
  type BatchAck,
  MAX_BATCH_WARNINGS,
  parseRemoteEnding,
  parseRemoteOpen,
  REMOTE_SEQ,
  type RemoteOpen,
  RemoteRuns,
  type RemoteRunsOptions,
  type RemoteState,
} from "./remote_runs.ts";
