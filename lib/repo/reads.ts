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
  type LogLine,
  readLogLines,
  readPreviews,
  readSeriesBuckets,
  seriesKey,
} from "../storage/run_file.ts";
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

/**
 * Lines of a run's log from `offset` (a line number, from 0; default 0), at
 * most `limit` (default 1,000, at most 100,000), and how many there are.
 *
 * @example Page through a run's log
 * ```ts
 * import { readLogs } from "./reads.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * for (let epoch = 1; epoch <= 5; epoch++) run.log(`epoch ${epoch} done`);
 * run.log("loss is NaN", "warning");
 * await run.close();
 *
 * const { lines, total } = readLogs(repo, run.hash, 4, 10);
 * console.log(total, lines.map((l) => `${l.seq} ${l.level}: ${l.text}`)); // 6 ["5 info: epoch 5 done", "6 warning: loss is NaN"]
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readLogs(
  repo: Repo,
  hash: string,
  offset = 0,
  limit = 1000,
): { lines: LogLine[]; total: number } {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw badRequest(`offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isInteger(limit) || limit < 0 || limit > 100_000) {
    throw badRequest(`limit must be an integer from 0 to 100000, got ${limit}`);
  }
  return repo.readRun(hash, (db) => readLogLines(db, offset, limit));
}
