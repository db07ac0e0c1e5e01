/**
 * Query Workers: run searches and run-file reads off the main thread, so a
 * heavy request (thousands of unindexed runs) never stalls the others.
 * Results go back as JSON text (non-finite numbers as strings).
 *
 * @module
 */

import {
  AimError,
  checkNames,
  type Context,
  type ListedRun,
  listFields,
  readLogs,
  readSeries,
  readSeriesPreview,
  Repo,
  repoStatus,
  runFields,
  runToJson,
  searchMetrics,
  type SearchOptions,
  searchRuns,
  validateHash,
} from "../lib/mod.ts";
import { badRequest } from "../lib/errors.ts";
import { encodeSeriesAnswer, SERIES_COLUMNS } from "./series_binary.ts";
import type { FromQuery, QueryRequest, ToQuery } from "./messages.ts";
import { toJson, toWireError } from "./wire.ts";
import {
  answerDistribution,
  answerObject,
  answerObjects,
  answerObjectsAt,
  answerSequence,
  answerSequences,
} from "./object_answers.ts";
import { workerScope } from "./_worker_scope.ts";

/**
 * Answers one request against `repo`; returns the response body as JSON
 * text. `check` is called between units of work: a deadline or a
 * cancellation throws from it.
 */
export function answer(
  repo: Repo,
  request: QueryRequest,
  check?: () => void,
): string | Uint8Array {
  const paging = (r: { sort?: string; limit?: number; offset?: number }) => ({
    ..._paging(r),
    ...(check !== undefined ? { check } : {}),
  });
  switch (request.kind) {
    case "runs": {
      const page = searchRuns(repo, request.q, paging(request));
      return toJson({
        runs: page.runs.map((run) => runToJson(run)),
        total: page.total,
        unreadable: page.unreadable,
      });
    }
    case "metrics":
      return _metrics(repo, request, paging(request), check);
    case "run": {
      validateHash(request.hash);
      return toJson(runToJson(_loadListed(repo, request.hash)));
    }
    case "series": {
      validateHash(request.hash);
      return toJson(
        readSeries(
          repo,
          request.hash,
          request.name,
          request.context as Context,
          {
            ...(request.points !== undefined ? { points: request.points } : {}),
            ...(request.from !== undefined ? { from: request.from } : {}),
            ...(request.to !== undefined ? { to: request.to } : {}),
          },
        ),
      );
    }
    case "status":
      return toJson(repoStatus(repo));
    case "fields":
      return toJson(
        runFields(repo, request.q, request.fields, {
          ...(request.limit !== undefined ? { limit: request.limit } : {}),
          ...(check !== undefined ? { check } : {}),
        }),
      );
    case "catalog":
      return toJson(listFields(repo, check));
    case "names":
      return toJson(
        checkNames(repo, { q: request.q, sort: request.sort ?? "" }, check),
      );
    case "logs": {
      validateHash(request.hash);
      const { kind: _, hash, ...query } = request;
      return toJson(readLogs(repo, hash, query));
    }
    case "sequences":
      return answerSequences(repo, request, paging(request), check);
    case "sequence":
      return answerSequence(repo, request);
    case "object":
      return answerObject(repo, request);
    case "objects":
      return answerObjects(repo, request, check);
    case "objects_at":
      return answerObjectsAt(repo, request, check);
    case "distribution":
      return answerDistribution(repo, request);
  }
}

/**
 * A page of series matches with their points: previews from the index, or
 * buckets read from each run file.
 */
function _metrics(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "metrics" }>,
  paging: SearchOptions,
  check?: () => void,
): string | Uint8Array {
  const ranged = request.from !== undefined || request.to !== undefined;
  const detail = request.detail ?? (ranged ? "full" : "preview");
  if (detail === "preview" && ranged) {
    throw badRequest(
      'A step range needs "detail": "full": previews cover whole series',
    );
  }
  const page = searchMetrics(repo, request.q, paging);
  const columns = request.columns ?? SERIES_COLUMNS;
  const series = page.matches.map(({ run, series }) => {
    check?.();
    let data: Record<string, unknown> | null = null;
    let error: string | null = null;
    try {
      data = detail === "full"
        ? {
          ...readSeries(repo, run.record.hash, series.name, series.context, {
            points: request.points,
            ...(request.from !== undefined ? { from: request.from } : {}),
            ...(request.to !== undefined ? { to: request.to } : {}),
          }),
        }
        // Previews come from the index: no run file is opened.
        : {
          ...readSeriesPreview(
            repo,
            run.record.hash,
            series.name,
            series.context,
            run.indexed,
          ),
        };
    } catch (cause) {
      if (!(cause instanceof AimError)) throw cause;
      error = cause.message;
    }
    return { run: runToJson(run), series, data, error };
  });
  const answer = { series, total: page.total, unreadable: page.unreadable };
  if (request.encoding === "binary") {
    return encodeSeriesAnswer(answer, columns);
  }
  for (const { data } of series) {
    for (const column of SERIES_COLUMNS) {
      if (data !== null && !columns.includes(column)) delete data[column];
    }
  }
  return toJson(answer);
}

/** A run from the index, or from its own space when it has a marker or is missing from the index. */
function _loadListed(repo: Repo, hash: string): ListedRun {
  if (!repo.hasMarker(hash)) {
    const record = repo.index().get(hash);
    if (record !== null) return { record, live: false, indexed: true };
  }
  const { record, live } = repo.loadRun(hash);
  return { record, live, indexed: false };
}

function _paging(request: { sort?: string; limit?: number; offset?: number }) {
  return {
    ...(request.sort !== undefined ? { sort: request.sort } : {}),
    ...(request.limit !== undefined ? { limit: request.limit } : {}),
    ...(request.offset !== undefined ? { offset: request.offset } : {}),
  };
}

/** How long a query Worker reuses what it read of an unindexed run. */
export const RECENT_MS = 250;

/** Runs the query loop in this Worker. */
export function runQueryWorker(): void {
  let repo: Repo | null = null;
  let cancel: Int32Array<ArrayBufferLike> = new Int32Array(1);
  workerScope().onmessage = (event: MessageEvent<ToQuery>) => {
    const message = event.data;
    if (message.type === "open") {
      repo = Repo.openSync(message.repo);
      // Searches come many a second: each unindexed run is probed a few
      // times a second at most.
      repo.recentMs = RECENT_MS;
      cancel = new Int32Array(message.cancel);
      return;
    }
    const { id, timeoutMs } = message;
    const deadline = performance.now() + timeoutMs;
    const check = () => {
      if (Atomics.load(cancel, 0) === id) {
        throw new AimError(
          "unavailable",
          "The search was cancelled: its client went away",
        );
      }
      if (performance.now() > deadline) throw queryTimeout(timeoutMs);
    };
    let reply: FromQuery;
    try {
      reply = {
        type: "result",
        id,
        body: answer(repo!, message.request, check),
      };
    } catch (error) {
      reply = { type: "error", id, error: toWireError(error) };
    }
    // A binary answer's bytes move to the main thread rather than being copied.
    workerScope().postMessage(
      reply,
      reply.type === "result" && typeof reply.body !== "string"
        ? [reply.body.buffer as ArrayBuffer]
        : [],
    );
  };
  // Messages sent before the handler existed would be lost: say when it does.
  workerScope().postMessage({ type: "ready" } satisfies FromQuery);
}

/** The error of a search that ran past its deadline, naming the limit. */
export function queryTimeout(timeoutMs: number): AimError {
  return new AimError(
    "query_timeout",
    `The search took longer than its limit of ${
      timeoutMs / 1000
    } s and was stopped: narrow the query, or raise aim up --query-timeout`,
  );
}
