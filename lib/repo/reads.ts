/**
 * Reading a run's points and log for the API and the CLI: from its own
 * space, through the one read path (`RunSpaces.readRun`), or a series'
 * preview from the index (docs/ARCHITECTURE.md, "Series reads").
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type { Context } from "../types.ts";
import { canonicalJson } from "../util/json.ts";
import { Preview } from "../series/preview.ts";
import {
  readPreviews,
  readSeriesBuckets,
  seriesKey,
} from "../storage/run_file.ts";
import {
  type LogPage,
  type LogQuery,
  readLogPage,
} from "../storage/run_logs.ts";
import type { Repo } from "./repo.ts";

/** Points of one series as the API returns them. */
export interface SeriesData {
  /** The series name, as asked. */
  name: string;
  /** The series context, as asked. */
  context: Context;
  /** Points in the run before downsampling (within the step range). */
  total: number;
  /** Step of each returned point. */
  steps: number[];
  /** Value of each returned point; may be NaN or ±Infinity. */
  values: number[];
  /** Epoch of each returned point; `null` where none was tracked. */
  epochs: (number | null)[];
  /** Wall time of each returned point, in seconds since the epoch. */
  times: number[];
  /** How the points were chosen: what a chart needs to draw them honestly. */
  resolution: Resolution;
}

/**
 * How a series' points were chosen. `raw`: every point in the range.
 * `buckets`: from each bucket of `width` steps (bucket k holds the steps
 * `origin + k·width` to `origin + (k+1)·width − 1`), its first, last, lowest
 * and highest point and its first NaN. `preview`: from each of the index
 * preview's coarse buckets, its lowest, highest and last point only.
 */
export interface Resolution {
  /** How the points were chosen (see above). */
  kind: "raw" | "buckets" | "preview";
  /** Width of a bucket in steps (1 for `raw`). */
  width: number;
  /** Where bucket 0 starts (0 for `raw` and `buckets`, which are aligned on multiples of the width). */
  origin: number;
}

/** Options of {@linkcode readSeries}. */
export interface ReadSeriesOptions {
  /** Buckets for min/max-preserving downsampling; 0 returns every point. Default 1,000. */
  points?: number;
  /** Lowest step to return (inclusive); default: no lower bound. */
  from?: number;
  /** Highest step to return (inclusive); default: no upper bound. */
  to?: number;
}

/** Largest bucket count a caller may ask for. */
export const MAX_POINTS = 100_000;

/**
 * Reads one series of a run from its own space, within a step range,
 * downsampled so that every bucket keeps its first, last, min and max point.
 * Throws `AimError` `run_not_found` when the run or the series (that name
 * with exactly that context) does not exist, `bad_request` for a `points`
 * outside 0 to {@linkcode MAX_POINTS}.
 *
 * @example All points, or a chart's worth of a step range
 * ```ts
 * import { readSeries } from "./reads.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * for (let step = 0; step < 10_000; step++) {
 *   run.track(1 / (1 + step), { name: "loss", step, context: { subset: "train" } });
 * }
 * await run.close();
 *
 * const all = readSeries(repo, run.hash, "loss", { subset: "train" }, { points: 0 });
 * console.log(all.total, all.steps.length); // 10000 10000
 * const chart = readSeries(repo, run.hash, "loss", { subset: "train" }, { points: 100, from: 1000, to: 1999 });
 * console.log(chart.total, chart.steps.length <= 400, chart.steps[0]); // 1000 true 1000
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readSeries(
  repo: Repo,
  hash: string,
  name: string,
  context: Context,
  options: ReadSeriesOptions = {},
): SeriesData {
  const buckets = options.points ?? 1000;
  if (!Number.isInteger(buckets) || buckets < 0 || buckets > MAX_POINTS) {
    throw badRequest(
      `points must be an integer from 0 to ${MAX_POINTS}, got ${buckets}`,
    );
  }
  const read = repo.readRun(
    hash,
    (db) =>
      readSeriesBuckets(db, name, canonicalJson(context), {
        from: options.from ?? -Infinity,
        to: options.to ?? Infinity,
        buckets,
      }),
  );
  if (read === null) {
    throw new AimError(
      "run_not_found",
      `Run ${hash} has no series ${JSON.stringify(name)} with context ${
        canonicalJson(context)
      }`,
    );
  }
  const n = read.points.length;
  const out = {
    steps: new Array<number>(n),
    values: new Array<number>(n),
    epochs: new Array<number | null>(n),
    times: new Array<number>(n),
  };
  read.points.forEach((p, i) => {
    out.steps[i] = p.step;
    out.values[i] = p.value;
    out.epochs[i] = Number.isNaN(p.epoch) ? null : p.epoch;
    out.times[i] = p.time;
  });
  // Buckets one step wide hold what every point would: they are raw.
  const raw = read.width <= 1;
  return {
    name,
    context,
    total: read.total,
    ...out,
    resolution: {
      kind: raw ? "raw" : "buckets",
      width: raw ? 1 : read.width,
      origin: 0,
    },
  };
}

/**
 * A series' preview (at most 96 points: every bucket's lowest, highest and last) from
 * the index for an indexed run, from its own space otherwise. No point data
 * is read: this is what charts across thousands of runs use.
 *
 * @example A sparkline without reading points
 * ```ts
 * import { readSeriesPreview } from "./reads.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * for (let step = 0; step < 10_000; step++) run.track(Math.sin(step / 500), { name: "wave" });
 * await run.close();
 *
 * const preview = readSeriesPreview(repo, run.hash, "wave", {}, true);
 * console.log(preview.steps.length <= 96, Math.max(...preview.values) > 0.99); // true true
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readSeriesPreview(
  repo: Repo,
  hash: string,
  name: string,
  context: Context,
  indexed: boolean,
): {
  name: string;
  context: Context;
  preview: true;
  steps: number[];
  values: number[];
  resolution: Resolution;
} {
  const key = canonicalJson(context);
  const bytes = indexed
    ? repo.index().preview(hash, name, key)
    : repo.readRun(hash, (db) =>
      readPreviews(db).get(seriesKey(name, key)) ?? null);
  const preview = new Preview(bytes);
  const { steps, values } = preview.points();
  return {
    name,
    context,
    preview: true,
    steps,
    values,
    resolution: {
      kind: "preview",
      width: preview.width,
      origin: Number.isNaN(preview.origin) ? 0 : preview.origin,
    },
  };
}

/** Most lines of a log read at once. */
export const MAX_LOG_LINES = 100_000;

/** Longest text a log search looks for, in characters. */
export const MAX_LOG_SEARCH = 1000;

/**
 * A page of a run's log, in time order (see `LogQuery` for the ways to
 * page it; `limit` defaults to 1,000, at most {@linkcode MAX_LOG_LINES}),
 * with the number of lines and the `seq` of the last one stored. Bad paging
 * is `AimError` `bad_request`.
 *
 * @example Page through a run's log, search it, follow it
 * ```ts
 * import { readLogs } from "./reads.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * const t = Date.now() / 1000;
 * for (let epoch = 1; epoch <= 5; epoch++) run.log(`epoch ${epoch} done`, "stdout", t + epoch);
 * // A client's line arrives late but carries the time it was written.
 * run.log("loss is NaN", "warning", t + 2.5);
 * await run.close();
 *
 * const last = readLogs(repo, run.hash, { offset: -2 });
 * console.log(last.total, last.lines.map((l) => `${l.line} ${l.text}`)); // 6 ["5 epoch 4 done", "6 epoch 5 done"]
 * const found = readLogs(repo, run.hash, { contains: "NAN" });
 * console.log(found.matches, found.lines[0]?.line, found.lines[0]?.seq); // 1 3 6
 * console.log(readLogs(repo, run.hash, { since: found.lines[0]!.seq }).lines); // []
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readLogs(
  repo: Repo,
  hash: string,
  query: Partial<LogQuery> = {},
): LogPage {
  const limit = query.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LOG_LINES) {
    throw badRequest(
      `limit must be an integer from 0 to ${MAX_LOG_LINES}, got ${limit}`,
    );
  }
  const ways = (["offset", "before", "after", "since"] as const).filter((k) =>
    query[k] !== undefined
  );
  if (ways.length > 1) {
    throw badRequest(
      `a log is read from one place: give one of offset, before, after and since, not ${
        ways.join(" and ")
      }`,
    );
  }
  if (query.offset !== undefined && !Number.isSafeInteger(query.offset)) {
    throw badRequest(`offset must be an integer, got ${query.offset}`);
  }
  for (const key of ["before", "after", "since"] as const) {
    const value = query[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw badRequest(
        `${key} must be a line's seq, a non-negative integer, got ${value}`,
      );
    }
  }
  const contains = query.contains;
  if (contains !== undefined) {
    if (ways.length > 0 && ways[0] !== "offset") {
      throw badRequest(
        `a log search pages its matches with offset and limit, not ${ways[0]}`,
      );
    }
    if (contains.length > MAX_LOG_SEARCH) {
      throw badRequest(
        `a log search looks for at most ${MAX_LOG_SEARCH} characters, got ${contains.length}`,
      );
    }
  }
  const page: LogQuery = { limit };
  if (query.offset !== undefined) page.offset = query.offset;
  if (query.before !== undefined) page.before = query.before;
  if (query.after !== undefined) page.after = query.after;
  if (query.since !== undefined) page.since = query.since;
  if (contains) page.contains = contains;
  return repo.readRun(hash, (db) => readLogPage(db, page));
}
