/**
 * Messages between the server's main thread and its Workers, shared by both
 * sides: a discriminated union on `type`.
 *
 * @module
 */

import type { SeriesColumn } from "./series_binary.ts";
import type { Ending } from "../lib/mod.ts";
import type { BatchAck, RemoteOpen, RemoteState } from "../lib/tracking/mod.ts";
import type { SequenceKind, SequenceRef } from "../lib/mod.ts";

/** Worker names: `main.ts` starts the matching loop when it runs as a Worker. */
export const INDEXER_WORKER = "aim-indexer";
export const QUERY_WORKER = "aim-query";

/** A run that failed to index, and why. */
export interface IndexerFailure {
  hash: string;
  reason: string;
  /** Seconds since the epoch. */
  at: number;
}

/** What the background indexer reports after every run and every pass. */
export interface IndexerState {
  /** Unindexed runs left to look at in the current pass (live ones are looked at and skipped). */
  queue: number;
  /** Runs indexed since the indexer started (across restarts). */
  indexed: number;
  /** Runs recorded `crashed` by the indexer. */
  crashed: number;
  /** Most recent failures, newest last (at most 50). */
  failures: IndexerFailure[];
  /** The run being indexed now, or null. */
  in_progress: string | null;
  /** Longest single index write transaction, in milliseconds. */
  longest_write_ms: number;
  /** When the last pass over the markers ended (seconds since the epoch), or null. */
  last_pass_at: number | null;
  /** Worker restarts after a crash. */
  restarts: number;
  /**
   * Why the indexer is not indexing (the index cannot be written: a full
   * disk, a read-only repository), or null. It looks again every few
   * intervals.
   */
  paused: string | null;
  running: boolean;
}

/** Main thread → indexer Worker. */
export type ToIndexer =
  | {
    type: "start";
    repo: string;
    intervalSeconds: number;
  }
  | { type: "wake" }
  | { type: "stop" };

/** Indexer Worker → main thread. */
export type FromIndexer =
  | { type: "ready" }
  | {
    type: "indexed";
    hash: string;
    crashed: boolean;
    writeMs: number;
    queue: number;
  }
  | { type: "failed"; hash: string; reason: string }
  | { type: "progress"; inProgress: string | null; queue: number }
  | { type: "pass"; at: number }
  | { type: "paused"; reason: string | null }
  | { type: "stopped" };

/** A read the query Workers perform. */
export type QueryRequest =
  | { kind: "runs"; q: string; sort?: string; limit?: number; offset?: number }
  | {
    kind: "metrics";
    q: string;
    sort?: string;
    limit?: number;
    offset?: number;
    /** Buckets per series when points are read from run files. */
    points: number;
    from?: number;
    to?: number;
    /**
     * `preview`: each series' index preview (no run file opened);
     * `full`: buckets of `points` read from each run file. Default:
     * `full` with a step range, else `preview`.
     */
    detail?: "preview" | "full";
    /** Point columns to return; default all. */
    columns?: SeriesColumn[];
    /** `binary`: see `series_binary.ts`; default JSON. */
    encoding?: "json" | "binary";
  }
  | { kind: "run"; hash: string }
  | {
    kind: "series";
    hash: string;
    name: string;
    context: Record<string, unknown>;
    points?: number;
    from?: number;
    to?: number;
  }
  | {
    kind: "logs";
    hash: string;
    offset?: number;
    limit?: number;
    before?: number;
    after?: number;
    since?: number;
    contains?: string;
  }
  | { kind: "status" }
  /** One row per run matching `q` with the value of each field. */
  | { kind: "fields"; q: string; fields: string[]; limit?: number }
  /** The fields the explorers offer: attributes, param paths, series. */
  | { kind: "catalog" }
  | {
    kind: "sequences";
    /** The kind of sequence searched, when the query names none. */
    sequence?: SequenceKind;
    q: string;
    sort?: string;
    limit?: number;
    offset?: number;
    /** Inline each match's index thumbnail as a data URL. */
    thumbs?: boolean;
  }
  | {
    kind: "sequence";
    hash: string;
    sequence: SequenceKind;
    name: string;
    context: Record<string, unknown>;
    from?: number;
    to?: number;
    limit?: number;
    offset?: number;
    search?: string;
  }
  | { kind: "object"; hash: string; id: number; thumb: boolean }
  | {
    kind: "objects";
    objects: { run: string; id: number }[];
    thumb: boolean;
  }
  | {
    kind: "objects_at";
    sequence: SequenceKind;
    sequences: SequenceRef[];
    step: number;
  }
  | {
    kind: "distribution";
    hash: string;
    name: string;
    context: Record<string, unknown>;
    from?: number;
    to?: number;
    rows?: number;
    bins?: number;
  }
  /** Warnings for the params a query and a sort name that no run has. */
  | { kind: "names"; q: string; sort?: string };

/** Main thread → query Worker. */
export type ToQuery =
  | {
    type: "open";
    repo: string;
    /**
     * One 32-bit slot the main thread writes a request's id into to cancel
     * it; the Worker looks at it between units of work.
     */
    cancel: SharedArrayBuffer;
  }
  | {
    type: "request";
    id: number;
    request: QueryRequest;
    /** The request's deadline, in milliseconds from now. */
    timeoutMs: number;
  };

/** An error crossing the thread boundary, enough to map it to HTTP. */
export interface WireError {
  name: string;
  message: string;
  /** The `AimError` code; absent for a bug. */
  code?: string;
  /** A query syntax error's column. */
  column?: number;
  /** A bug's stack, to log. */
  stack?: string;
}

/** Query Worker → main thread. */
export type FromQuery =
  | { type: "ready" }
  | { type: "result"; id: number; body: string | Uint8Array }
  | { type: "error"; id: number; error: WireError };

/** The tracking Workers' name: they hold the writers of remote runs. */
export const TRACKING_WORKER = "aim-tracking";

/** A call on the remote runs of a tracking Worker (see `RemoteRuns`). */
export type TrackingRequest =
  | { kind: "open"; open: RemoteOpen }
  | {
    kind: "batch";
    hash: string;
    seq: number;
    /** The batch's protocol lines, moved (not copied) to the Worker. */
    bytes: Uint8Array;
    stopAtClose: boolean;
  }
  | { kind: "close"; hash: string; seq: number; ending: Ending };

/** Main thread → tracking Worker. */
export type ToTracking =
  | {
    type: "start";
    repo: string;
    /** Client silence before its run is recorded crashed, in milliseconds. */
    timeoutMs: number;
  }
  | { type: "request"; id: number; request: TrackingRequest }
  | { type: "suspend" };

/** Tracking Worker → main thread. */
export type FromTracking =
  | { type: "ready" }
  | { type: "result"; id: number; body: RemoteState | BatchAck }
  | { type: "error"; id: number; error: WireError }
  | { type: "crashed"; hashes: string[] }
  | { type: "suspended"; count: number };
