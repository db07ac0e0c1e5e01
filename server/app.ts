/**
 * The hono app behind `aim up`: token auth, the JSON API and (with the UI)
 * the pages. Reads go through `query` (the query Workers in production), so
 * the main thread stays free; edits are short and run here.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context as HonoContext } from "hono";
import {
  removeRun,
  type Repo,
  runToJson,
  SEQUENCE_KINDS,
  type SequenceKind,
  updateRun,
  validateHash,
} from "../lib/mod.ts";
import { badRequest } from "../lib/errors.ts";
import {
  createView,
  deleteView,
  getView,
  listViews,
  updateView,
  validatePatch,
} from "../lib/repo/mod.ts";
import type { IndexerState, QueryRequest } from "./messages.ts";
import type { PoolStatus } from "./query_pool.ts";
import { errorResponse, toJson } from "./wire.ts";
import { guardHostAndOrigin, requireToken } from "./guard.ts";
import { mountUi, notFoundPage } from "./ui_routes.ts";
import { SERIES_COLUMNS, type SeriesColumn } from "./series_binary.ts";
import { readJsonObject } from "./body.ts";
import { mountTracking, type TrackingOptions } from "./track_routes.ts";
import type { TrackingStatus } from "./tracking_pool.ts";
import {
  checkObjectList,
  mediaType,
  OBJECTS_BINARY_TYPE,
} from "./object_answers.ts";

export { TOKEN_COOKIE } from "./guard.ts";

/** Largest request body accepted, in bytes (edits and searches are small). */
export const MAX_BODY_BYTES = 1 << 20;

/** What {@linkcode createApp} needs. */
export interface AppOptions {
  repo: Repo;
  /** Required token; `null` turns authentication off (loopback only). */
  token: string | null;
  /**
   * Host names requests may name (see `allowedHostsFor`); null answers
   * any, for tests in process.
   */
  allowedHosts?: ReadonlySet<string> | null;
  /** Prefix every route is served under, e.g. `/aim`; default none. */
  basePath?: string;
  /**
   * Answers a read with JSON text (the query Worker pool, or in-process for
   * tests); `signal` aborts when the client goes away.
   */
  query: (
    request: QueryRequest,
    signal?: AbortSignal,
  ) => Promise<string | Uint8Array>;
  /** How busy the query Workers are, for `/api/health`. */
  queryStatus?: () => PoolStatus;
  /**
   * Remote tracking (the tracking Workers and the track-only token), or
   * null for a server that takes none.
   */
  tracking?:
    | (Omit<TrackingOptions, "token"> & { status?: () => TrackingStatus })
    | null;
  /** The background indexer, when running. */
  indexer?: { readonly state: IndexerState; wake(): void } | null;
  version?: string;
}

/** Builds the app. */
export function createApp(options: AppOptions): Hono {
  const base = _normalizeBase(options.basePath ?? "");
  const app = new Hono().basePath(base || "/");
  const json = (c: HonoContext, body: string | Uint8Array, status = 200) =>
    typeof body === "string"
      ? c.body(body, status as 200, {
        "content-type": "application/json; charset=utf-8",
      })
      : c.body(body as Uint8Array<ArrayBuffer>, status as 200, {
        "content-type": SERIES_BINARY_TYPE,
      });
  /** Asks a Worker `request` and sends its answer, JSON or binary. */
  const answer = async (c: HonoContext, request: QueryRequest) =>
    json(c, await options.query(request, c.req.raw.signal));

  const guard = {
    allowedHosts: options.allowedHosts ?? null,
    token: options.token,
    basePath: base,
  };
  app.use("*", guardHostAndOrigin(guard));
  // No token needed: a load balancer or a person checks whether searches are answered.
  app.get("/api/health", (c) => {
    const queries = options.queryStatus?.() ?? null;
    const ok = !(queries?.stuck ?? false);
    const tracking = options.tracking?.status?.();
    return c.json(
      {
        ok,
        version: options.version ?? null,
        queries,
        ...(tracking !== undefined ? { tracking } : {}),
      },
      ok ? 200 : 503,
    );
  });
  if (options.tracking) {
    mountTracking(app, { ...options.tracking, token: options.token });
  }
  app.use("*", requireToken(guard));

  app.get("/api/runs", (c) => {
    const request: QueryRequest = {
      kind: "runs",
      q: c.req.query("q") ?? "",
      ..._paging(c),
    };
    const sort = c.req.query("sort");
    if (sort !== undefined) request.sort = sort;
    return answer(c, request);
  });

  app.get(
    "/api/runs/:hash",
    (c) => answer(c, { kind: "run", hash: _hash(c) }),
  );

  app.get("/api/runs/:hash/series", (c) => {
    const request: QueryRequest = {
      kind: "series",
      ..._namedSequence(c, "series needs ?name="),
    };
    const points = _int(c, "points");
    if (points !== undefined) request.points = points;
    _stepRange(c, request);
    return answer(c, request);
  });

  app.post("/api/series/search", async (c) => {
    const request = _seriesSearch(await _body(c));
    return answer(c, request);
  });

  app.post("/api/runs/fields", async (c) => {
    const body = await _body(c);
    if (typeof body.q !== "string" && body.q !== undefined) {
      throw badRequest('"q" must be a run query string');
    }
    if (!Array.isArray(body.fields) || body.fields.length === 0) {
      throw badRequest(
        'fields needs a JSON body {"q": "…", "fields": ["run.hparams.lr", …]} with at least one field',
      );
    }
    const request: QueryRequest = {
      kind: "fields",
      q: body.q ?? "",
      fields: body.fields,
    };
    if (body.limit !== undefined) {
      if (typeof body.limit !== "number") {
        throw badRequest(
          `"limit" must be a number, got ${JSON.stringify(body.limit)}`,
        );
      }
      request.limit = body.limit;
    }
    return answer(c, request);
  });

  app.get("/api/fields", (c) => answer(c, { kind: "catalog" }));

  // Lines in time order, paged as lib/storage/run_logs.ts says.
  app.get("/api/runs/:hash/logs", (c) => {
    const request: QueryRequest = { kind: "logs", hash: _hash(c) };
    const offset = _int(c, "offset", { negative: true });
    if (offset !== undefined) request.offset = offset;
    for (const key of ["limit", "before", "after", "since"] as const) {
      const value = _int(c, key);
      if (value !== undefined) request[key] = value;
    }
    const contains = c.req.query("contains");
    if (contains) request.contains = contains;
    return answer(c, request);
  });

  app.post("/api/sequences/search", async (c) => {
    const body = await _body(c);
    if (typeof body.q !== "string") {
      throw badRequest('sequence search needs a JSON body {"q": "…"}');
    }
    const request: QueryRequest = { kind: "sequences", q: body.q };
    if (body.kind !== undefined) request.sequence = _kind(body.kind);
    _bodyPaging(body, request);
    if (typeof body.sort === "string") request.sort = body.sort;
    if (body.thumbs !== undefined) request.thumbs = body.thumbs === true;
    return answer(c, request);
  });

  app.get("/api/runs/:hash/sequences/:kind", (c) => {
    const hash = _hash(c);
    const name = c.req.query("name");
    if (!name) throw badRequest("a sequence needs ?name=");
    const request: QueryRequest = {
      kind: "sequence",
      hash,
      sequence: _kind(c.req.param("kind")),
      name,
      context: _context(c.req.query("context")),
    };
    const from = _number(c, "from"), to = _number(c, "to");
    const limit = _int(c, "limit"), offset = _int(c, "offset");
    if (from !== undefined) request.from = from;
    if (to !== undefined) request.to = to;
    if (limit !== undefined) request.limit = limit;
    if (offset !== undefined) request.offset = offset;
    const search = c.req.query("search");
    if (search !== undefined && search !== "") request.search = search;
    return answer(c, request);
  });

  app.get("/api/runs/:hash/objects/:id", async (c) => {
    const hash = _hash(c);
    const text = c.req.param("id") ?? "";
    const id = Number(text);
    if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(id)) {
      throw badRequest(
        `an object id is a positive integer, got ${JSON.stringify(text)}`,
      );
    }
    const thumb = ["1", "true"].includes(c.req.query("thumb") ?? "");
    // An object is never changed once stored: its address is its version.
    const etag = `"${hash}-${id}${thumb ? "-t" : ""}"`;
    const headers = {
      "cache-control": "private, max-age=31536000, immutable",
      etag,
      "x-content-type-options": "nosniff",
    };
    if (c.req.header("if-none-match") === etag) {
      return c.body(null, 304, headers);
    }
    const bytes = await options.query(
      { kind: "object", hash, id, thumb },
      c.req.raw.signal,
    ) as Uint8Array<ArrayBuffer>;
    return c.body(bytes, 200, {
      ...headers,
      "content-type": mediaType(bytes),
    });
  });

  app.post("/api/objects/batch", async (c) => {
    const body = await _body(c);
    const bytes = await options.query({
      kind: "objects",
      objects: checkObjectList(body.objects),
      thumb: body.thumb === true,
    }, c.req.raw.signal) as Uint8Array<ArrayBuffer>;
    return c.body(bytes, 200, { "content-type": OBJECTS_BINARY_TYPE });
  });

  app.post("/api/sequences/at", async (c) => {
    const body = await _body(c);
    const step = body.step;
    if (typeof step !== "number" || !Number.isFinite(step)) {
      throw badRequest(`"step" must be a number, got ${JSON.stringify(step)}`);
    }
    const list = body.sequences;
    if (!Array.isArray(list) || list.length > MAX_AT_SEQUENCES) {
      throw badRequest(
        `"sequences" must be a list of at most ${MAX_AT_SEQUENCES} {"run", "name", "context"}`,
      );
    }
    const sequences = list.map((item, i) => {
      if (
        item === null || typeof item !== "object" ||
        typeof item.run !== "string" || typeof item.name !== "string" ||
        (item.context !== undefined &&
          (item.context === null || typeof item.context !== "object" ||
            Array.isArray(item.context)))
      ) {
        throw badRequest(
          `"sequences" item ${i} must be {"run", "name", "context"?}, got ${
            JSON.stringify(item)?.slice(0, 100)
          }`,
        );
      }
      return {
        run: validateHash(item.run),
        name: item.name as string,
        context: (item.context ?? {}) as Record<string, never>,
      };
    });
    return answer(
      c,
      { kind: "objects_at", sequence: _kind(body.kind), sequences, step },
    );
  });

  app.get("/api/runs/:hash/distributions", (c) => {
    const request: QueryRequest = {
      kind: "distribution",
      ..._namedSequence(c, "a distribution needs ?name="),
    };
    _stepRange(c, request);
    const rows = _int(c, "rows"), bins = _int(c, "bins");
    if (rows !== undefined) request.rows = rows;
    if (bins !== undefined) request.bins = bins;
    return answer(c, request);
  });

  app.patch("/api/runs/:hash", async (c) => {
    const hash = _hash(c);
    const record = updateRun(options.repo, hash, validatePatch(await _body(c)));
    return json(
      c,
      toJson(
        runToJson({
          record,
          live: options.repo.isLive(hash),
          indexed: !options.repo.hasMarker(hash),
        }),
      ),
    );
  });

  app.delete("/api/runs/:hash", (c) => {
    const hash = _hash(c);
    removeRun(options.repo, hash);
    return c.json({ deleted: hash });
  });

  // Saved views are a few small files: read and written here, like edits.
  app.get("/api/views", (c) => c.json(listViews(options.repo.path)));
  app.get(
    "/api/views/:id",
    (c) => c.json(getView(options.repo.path, c.req.param("id"))),
  );
  app.post(
    "/api/views",
    async (c) => c.json(createView(options.repo.path, await _body(c)), 201),
  );
  app.patch(
    "/api/views/:id",
    async (c) =>
      c.json(updateView(options.repo.path, c.req.param("id"), await _body(c))),
  );
  app.delete("/api/views/:id", (c) => {
    const id = c.req.param("id");
    deleteView(options.repo.path, id);
    return c.json({ deleted: id });
  });

  app.get("/api/index", async (c) => {
    // The counts read the index and every marker: a read, so a Worker's.
    const status = await options.query({ kind: "status" }, c.req.raw.signal);
    return json(
      c,
      `{"indexer":${
        toJson(options.indexer?.state ?? null)
      },"status":${status}}`,
    );
  });

  mountUi(app, {
    basePath: base,
    names: async (q, sort, signal) =>
      JSON.parse(
        await options.query({ kind: "names", q, sort }, signal) as string,
      ),
  });

  app.notFound((c) =>
    notFoundPage(c, base) ??
      c.json({
        error: {
          code: "not_found",
          message: `No route ${c.req.method} ${c.req.path}`,
        },
      }, 404)
  );
  app.onError((error, c) => {
    const { status, body } = errorResponse(error);
    return c.json(body, status as 400);
  });
  return app;
}

/** Most sequences one `POST /api/sequences/at` may name. */
export const MAX_AT_SEQUENCES = 1000;

/** A sequence kind from a request, checked. */
function _kind(value: unknown): SequenceKind {
  if (!(SEQUENCE_KINDS as readonly unknown[]).includes(value)) {
    throw badRequest(
      `the kind of sequence must be one of ${SEQUENCE_KINDS.join(", ")}, got ${
        JSON.stringify(value)?.slice(0, 100)
      }`,
    );
  }
  return value as SequenceKind;
}

/** Largest `points` of a series search: buckets per series. */
export const MAX_SEARCH_POINTS = 10_000;

/** The media type of a binary series answer (see `series_binary.ts`). */
export const SERIES_BINARY_TYPE = "application/vnd.aim.series";

/** A series search request from its JSON body, every field checked. */
function _seriesSearch(body: Record<string, unknown>): QueryRequest {
  if (typeof body.q !== "string") {
    throw badRequest('series search needs a JSON body {"q": "…"}');
  }
  const points = body.points ?? 200;
  if (
    !Number.isInteger(points) || (points as number) < 0 ||
    (points as number) > MAX_SEARCH_POINTS
  ) {
    throw badRequest(
      `points must be an integer from 0 to ${MAX_SEARCH_POINTS}, got ${
        JSON.stringify(points)
      }`,
    );
  }
  const request: QueryRequest = {
    kind: "metrics",
    q: body.q,
    points: points as number,
  };
  _bodyPaging(body, request);
  if (typeof body.sort === "string") request.sort = body.sort;
  for (const key of ["from", "to"] as const) {
    if (body[key] === undefined) continue;
    if (typeof body[key] !== "number") {
      throw badRequest(`${key} must be a step number`);
    }
    request[key] = body[key] as number;
  }
  request.detail = _oneOf(body, "detail", ["preview", "full"]);
  request.encoding = _oneOf(body, "encoding", ["json", "binary"]);
  if (body.columns !== undefined) {
    const columns = body.columns;
    if (
      !Array.isArray(columns) ||
      !columns.every((c) => (SERIES_COLUMNS as readonly unknown[]).includes(c))
    ) {
      throw badRequest(
        `columns must be a list of ${SERIES_COLUMNS.join(", ")}, got ${
          JSON.stringify(columns).slice(0, 100)
        }`,
      );
    }
    request.columns = columns as SeriesColumn[];
  }
  return request;
}

/** `body[key]`, one of `allowed`, or undefined when absent. */
function _oneOf<T extends string>(
  body: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) {
    throw badRequest(
      `${key} must be ${
        allowed.map((a) => JSON.stringify(a)).join(" or ")
      }, got ${JSON.stringify(value).slice(0, 100)}`,
    );
  }
  return value as T;
}

function _normalizeBase(base: string): string {
  const trimmed = base.trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed)) {
    throw badRequest(
      `--base-path must look like /prefix, got ${JSON.stringify(base)}`,
    );
  }
  return trimmed;
}

function _hash(c: HonoContext): string {
  return validateHash(c.req.param("hash") ?? "");
}

function _paging(c: HonoContext): { limit?: number; offset?: number } {
  const out: { limit?: number; offset?: number } = {};
  const limit = _int(c, "limit");
  const offset = _int(c, "offset");
  if (limit !== undefined) out.limit = limit;
  if (offset !== undefined) out.offset = offset;
  return out;
}

function _int(
  c: HonoContext,
  name: string,
  { negative = false } = {},
): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || (value < 0 && !negative)) {
    throw badRequest(
      `?${name}= must be a${negative ? "n" : " non-negative"} integer, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return value;
}

function _number(c: HonoContext, name: string): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (Number.isNaN(value)) {
    throw badRequest(
      `?${name}= must be a number, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * The run, name and context that pick one sequence of a run, from the path
 * and `?name=`/`?context=`; `missing` is the message when `?name=` is absent.
 */
function _namedSequence(
  c: HonoContext,
  missing: string,
): { hash: string; name: string; context: Record<string, unknown> } {
  const hash = _hash(c);
  const name = c.req.query("name");
  if (!name) throw badRequest(missing);
  return { hash, name, context: _context(c.req.query("context")) };
}

/** Sets `?from=` and `?to=` on `request` where the URL gives them. */
function _stepRange(
  c: HonoContext,
  request: { from?: number; to?: number },
): void {
  const from = _number(c, "from"), to = _number(c, "to");
  if (from !== undefined) request.from = from;
  if (to !== undefined) request.to = to;
}

/** Sets `limit` and `offset` on `request` where the JSON body gives them. */
function _bodyPaging(
  body: Record<string, unknown>,
  request: { limit?: number; offset?: number },
): void {
  for (const key of ["limit", "offset"] as const) {
    if (body[key] === undefined) continue;
    if (typeof body[key] !== "number") {
      throw badRequest(`${key} must be a non-negative integer`);
    }
    request[key] = body[key] as number;
  }
}

function _context(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest(
      `?context= must be a JSON object, got ${
        JSON.stringify(text.slice(0, 100))
      }`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest(
      `?context= must be a JSON object, got ${
        JSON.stringify(text.slice(0, 100))
      }`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * The request's JSON body, read with a cap of {@linkcode MAX_BODY_BYTES}
 * (whatever Content-Length claims): a larger body is refused as it arrives,
 * never held.
 */
function _body(c: HonoContext): Promise<Record<string, unknown>> {
  return readJsonObject(c, MAX_BODY_BYTES);
}
