/**
 * Shapes shared by the run writer, the run reader, the index and queries.
 *
 * A {@linkcode RunRecord} is the same whether it was read from a run's own
 * space or from the index: that sameness is what lets a query give one answer
 * over indexed and unindexed runs.
 *
 * @module
 */

/** Lifecycle state of a run (docs/ARCHITECTURE.md, "Run lifecycle"). */
export type RunStatus =
  | "running"
  | "finished"
  | "failed"
  | "terminated"
  | "crashed";

/** Every state, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = [
  "running",
  "finished",
  "failed",
  "terminated",
  "crashed",
];

/** A JSON-like parameter value; numbers may be NaN or ±Infinity. */
export type ParamValue =
  | null
  | boolean
  | number
  | string
  | ParamValue[]
  | { [key: string]: ParamValue };

/** A series context: a flat or nested JSON object, `{}` when absent. */
export type Context = { [key: string]: ParamValue };

/**
 * Summary of one series, kept up to date by the writer on every flush.
 *
 * `last`, `min` and `max` may be NaN; `min`/`max` ignore NaN points and are
 * NaN only when every point is NaN. Steps are integers; `null` when empty.
 */
export interface SeriesSummary {
  name: string;
  context: Context;
  count: number;
  first_step: number | null;
  last_step: number | null;
  last: number;
  min: number;
  max: number;
  /** Wall time of the last point, seconds since the epoch. */
  last_time: number | null;
}

/** Everything a query or a listing needs to know about one run. */
export interface RunRecord {
  /** Lower-case hex identifier, also the name of the run's folder. */
  hash: string;
  name: string;
  experiment: string;
  description: string;
  tags: string[];
  status: RunStatus;
  /** Signal name (`"SIGTERM"`) when the run was terminated or killed. */
  signal: string | null;
  exit_code: number | null;
  /** Seconds since the epoch. */
  created_at: number;
  /** Seconds since the epoch; `null` while running. */
  ended_at: number | null;
  archived: boolean;
  /** Nested parameters, keyed by the name given to `run.set()`. */
  params: { [key: string]: ParamValue };
  metrics: SeriesSummary[];
  /** Incremented by every committed flush of the run's writer. */
  data_version: number;
}

/** A run as listings show it: its record and what only a reader knows. */
export interface ListedRun {
  record: RunRecord;
  /** Its writer is alive. */
  live: boolean;
  /** The index covers its data (no marker). */
  indexed: boolean;
}

/** A run that could not be read or indexed, and why (skipped, never fatal). */
export interface RunFailure {
  hash: string;
  /** What went wrong, naming the file. */
  reason: string;
}
