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
  /** Series name as given to `run.track()`; with `context` it names the series. */
  name: string;
  /** The context the points were tracked with; `{}` when none was given. */
  context: Context;
  /** Points tracked so far, NaN values included. */
  count: number;
  /** Step of the first point tracked (not necessarily the lowest). */
  first_step: number | null;
  /** Step of the latest point tracked (not necessarily the highest). */
  last_step: number | null;
  /** Value of the latest point; NaN when that value was NaN. */
  last: number;
  /** Lowest non-NaN value. */
  min: number;
  /** Highest non-NaN value. */
  max: number;
  /** Wall time of the last point, seconds since the epoch. */
  last_time: number | null;
}

/** The kinds of sequences of objects a run can hold besides series. */
export type SequenceKind = "images" | "distributions" | "texts";

/** Every sequence kind, as queries name them (`images.name == "samples"`). */
export const SEQUENCE_KINDS: readonly SequenceKind[] = [
  "images",
  "distributions",
  "texts",
];

/**
 * Summary of one sequence of objects (images, distributions or texts),
 * kept up to date by the writer on every flush. A point is one
 * `run.track()` call; it holds one object, or a list (a batch of images).
 */
export interface SequenceSummary {
  /** What the sequence holds. */
  kind: SequenceKind;
  /** Name as given to `run.track()`; with `kind` and `context` it names the sequence. */
  name: string;
  /** The context the objects were tracked with; `{}` when none was given. */
  context: Context;
  /** Points tracked so far (`run.track()` calls). */
  count: number;
  /** Objects tracked so far: a list of 16 images at one step counts 16. */
  items: number;
  /** Step of the first point tracked; `null` when empty. */
  first_step: number | null;
  /** Step of the latest point tracked. */
  last_step: number | null;
  /** Wall time of the latest point, seconds since the epoch. */
  last_time: number | null;
}

/** Everything a query or a listing needs to know about one run. */
export interface RunRecord {
  /** Lower-case hex identifier, also the name of the run's folder. */
  hash: string;
  /** A name for people; `""` when none was given. Not unique. */
  name: string;
  /** The experiment the run belongs to; `""` when none was given. */
  experiment: string;
  /** Free text; `""` when none was given. */
  description: string;
  /** Tags, each once, in the order they were added. */
  tags: string[];
  /**
   * Lifecycle state. A run whose writer died before finalizing it still
   * says `running` in its own file; listings and queries show it `crashed`.
   */
  status: RunStatus;
  /** Signal name (`"SIGTERM"`) when the run was terminated or killed. */
  signal: string | null;
  /**
   * Exit code of the process the run recorded (`aim run`'s command, or a
   * program that exited non-zero); `null` while running, when the run was
   * closed by its program, or when no code is known.
   */
  exit_code: number | null;
  /** Seconds since the epoch. */
  created_at: number;
  /** Seconds since the epoch; `null` while running. */
  ended_at: number | null;
  /**
   * Put away by a person; `false` until set. Queries still match archived
   * runs (filter them with `not run.archived`); the web UI can hide them.
   */
  archived: boolean;
  /** Nested parameters, keyed by the name given to `run.set()`. */
  params: { [key: string]: ParamValue };
  /** One summary per series, in the order the series were first tracked. */
  metrics: SeriesSummary[];
  /**
   * One summary per sequence of objects (images, distributions, texts), in
   * the order they were first tracked; absent is the same as none.
   */
  sequences?: SequenceSummary[];
  /** Incremented by every committed flush of the run's writer. */
  data_version: number;
}

/** A run as listings show it: its record and what only a reader knows. */
export interface ListedRun {
  /** The run as its own space or the index has it, with its effective status. */
  record: RunRecord;
  /** Its writer is alive. */
  live: boolean;
  /** The index covers its data (no marker). */
  indexed: boolean;
}

/** A run that could not be read or indexed, and why (skipped, never fatal). */
export interface RunFailure {
  /** The run's hash. */
  hash: string;
  /** What went wrong, naming the file. */
  reason: string;
}
