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
import { downsampleIndices } from "../series/downsample.ts";
import { Preview } from "../series/preview.ts";
import {
  type LogLine,
  readLogLines,
  readPoints,
  readPreviews,
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
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  const ranged = options.from !== undefined || options.to !== undefined;
  const points = repo.readRun(
    hash,
    (db) =>
      readPoints(
        db,
        name,
        canonicalJson(context),
        ranged ? { from, to } : undefined,
      ),
  );
  if (points === null) {
    throw new AimError(
      "run_not_found",
      `Run ${hash} has no series ${JSON.stringify(name)} with context ${
        canonicalJson(context)
      }`,
    );
  }
  // Without a range every point read is kept, as read; with one, the points
  // in range, by their index in what was read.
  const keep = ranged ? _inRange(points.steps, from, to) : null;
  const steps = keep ? _pick(points.steps, keep) : points.steps;
  const values = keep ? _pick(points.values, keep) : points.values;
  const shown = buckets === 0 || steps.length <= buckets
    ? Int32Array.from(steps.keys())
    : downsampleIndices(steps, values, buckets);
  const out = {
    steps: new Array<number>(shown.length),
    values: new Array<number>(shown.length),
    epochs: new Array<number | null>(shown.length),
    times: new Array<number>(shown.length),
  };
  for (let i = 0; i < shown.length; i++) {
    const at = keep ? keep[shown[i]!]! : shown[i]!;
    const epoch = points.epochs[at]!;
    out.steps[i] = points.steps[at]!;
    out.values[i] = points.values[at]!;
    out.epochs[i] = Number.isNaN(epoch) ? null : epoch;
    out.times[i] = points.times[at]!;
  }
  return { name, context, total: steps.length, ...out };
}

/** Indices of the steps within [from, to]. */
function _inRange(steps: Float64Array, from: number, to: number): Int32Array {
  const kept: number[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step >= from && step <= to) kept.push(i);
  }
  return Int32Array.from(kept);
}

/** `array` at `indices`. */
function _pick(array: Float64Array, indices: Int32Array): Float64Array {
  const out = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = array[indices[i]!]!;
  return out;
}

/**
 * A series' preview (at most 64 points, every bucket's low and high) from
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
 * console.log(preview.steps.length <= 64, Math.max(...preview.values) > 0.99); // true true
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
} {
  const key = canonicalJson(context);
  const bytes = indexed
    ? repo.index().preview(hash, name, key)
    : repo.readRun(hash, (db) =>
      readPreviews(db).get(seriesKey(name, key)) ?? null);
  const { steps, values } = new Preview(bytes).points();
  return { name, context, preview: true, steps, values };
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
