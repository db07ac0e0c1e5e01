/**
 * Reading a run's points and log from its own space, and editing or removing
 * a run whose writer is gone. Used by the server's API; the CLI's `runs rm`
 * uses {@linkcode removeRun} too.
 *
 * @module
 */

import { join } from "node:path";
import { canonicalJson } from "./_json.ts";
import { openDatabase, openForReading, transaction } from "./_sqlite.ts";
import { downsampleIndices } from "./downsample.ts";
import { AimError } from "./errors.ts";
import { indexRun } from "./indexer.ts";
import { LOCK_FILE } from "./liveness.ts";
import type { Repo } from "./repo.ts";
import {
  corruptRunError,
  readDataVersion,
  readPoints,
  readPreviews,
  RUN_DB,
  seriesKey,
} from "./run_space.ts";
import type { Context, RunRecord } from "./types.ts";
import { Preview } from "./preview.ts";

/** Points of one series as the API returns them. */
export interface SeriesData {
  name: string;
  context: Context;
  /** Points in the run before downsampling (within the step range). */
  total: number;
  steps: number[];
  values: number[];
  epochs: (number | null)[];
  times: number[];
}

/** Options of {@linkcode readSeries}. */
export interface ReadSeriesOptions {
  /** Buckets for min/max-preserving downsampling; 0 returns every point. Default 1,000. */
  points?: number;
  /** Inclusive step range. */
  from?: number;
  to?: number;
}

/** Largest bucket count a caller may ask for. */
export const MAX_POINTS = 100_000;

/**
 * Reads one series of a run from its own space, within a step range,
 * downsampled so that every bucket keeps its first, last, min and max point.
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
    throw new RangeError(
      `points must be an integer from 0 to ${MAX_POINTS}, got ${buckets}`,
    );
  }
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  const ranged = options.from !== undefined || options.to !== undefined;
  const points = _withRun(
    repo,
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
    : _withRun(repo, hash, (db) =>
      readPreviews(db).get(seriesKey(name, key)) ?? null);
  const { steps, values } = new Preview(bytes).points();
  return { name, context, preview: true, steps, values };
}

/** One line of a run's log. */
export interface LogLine {
  seq: number;
  time: number;
  level: string;
  text: string;
}

/** Lines of a run's log from `offset` (a line number, from 0), at most `limit`. */
export function readLogs(
  repo: Repo,
  hash: string,
  offset = 0,
  limit = 1000,
): { lines: LogLine[]; total: number } {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(
      `offset must be a non-negative integer, got ${offset}`,
    );
  }
  if (!Number.isInteger(limit) || limit < 0 || limit > 100_000) {
    throw new RangeError(
      `limit must be an integer from 0 to 100000, got ${limit}`,
    );
  }
  return _withRun(repo, hash, (db) => {
    const total = Number(
      (db.prepare("SELECT count(*) AS n FROM logs").get() as { n: number }).n,
    );
    const lines = db.prepare(
      "SELECT seq, time, level, text FROM logs ORDER BY seq LIMIT ? OFFSET ?",
    ).all(limit, offset)
      .map((row) => ({
        seq: Number(row.seq),
        time: Number(row.time),
        level: String(row.level),
        text: String(row.text),
      }));
    return { lines, total };
  });
}

/** Attributes that can be edited on a run whose writer is gone. */
export interface RunPatch {
  name?: string;
  description?: string;
  tags?: string[];
  archived?: boolean;
}

/**
 * Edits a run's attributes in its own space (a new data version), then
 * indexes it. Refuses a live run: its writer owns its attributes.
 */
export function updateRun(
  repo: Repo,
  hash: string,
  patch: RunPatch,
): RunRecord {
  const checks: [keyof RunPatch, (v: unknown) => boolean, string][] = [
    ["name", (v) => typeof v === "string", "a string"],
    ["description", (v) => typeof v === "string", "a string"],
    [
      "tags",
      (v) =>
        Array.isArray(v) && v.every((t) => typeof t === "string" && t !== ""),
      "an array of non-empty strings",
    ],
    ["archived", (v) => typeof v === "boolean", "true or false"],
  ];
  for (const key of Object.keys(patch)) {
    const check = checks.find(([name]) => name === key);
    if (check === undefined) {
      throw new TypeError(
        `Cannot edit ${
          JSON.stringify(key)
        }: editable are name, description, tags, archived`,
      );
    }
    if (!check[1](patch[key as keyof RunPatch])) {
      throw new TypeError(`${key} must be ${check[2]}`);
    }
  }
  _whileLocked(repo, hash, (path) => {
    const db = openDatabase(path, repo.mode);
    try {
      transaction(db, () => {
        const put = db.prepare(
          "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        );
        for (const [key, value] of Object.entries(patch)) {
          put.run(
            key,
            JSON.stringify(
              key === "tags" ? [...new Set(value as string[])] : value,
            ),
          );
        }
        put.run("data_version", JSON.stringify(readDataVersion(db) + 1));
      });
    } finally {
      db.close();
    }
    repo.touchMarker(hash);
  });
  const outcome = indexRun(repo, hash);
  if (outcome.kind !== "indexed") {
    throw new AimError(
      "run_live",
      `Run ${hash} became live while it was edited`,
    );
  }
  return outcome.record;
}

/**
 * Deletes a run: its space, its marker and its index rows. Refuses a live
 * run unless `force`.
 */
export function removeRun(
  repo: Repo,
  hash: string,
  options: { force?: boolean } = {},
): void {
  const dir = repo.runDir(hash);
  try {
    Deno.statSync(dir);
  } catch {
    throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
  }
  if (!options.force && repo.isLive(hash)) {
    throw new AimError(
      "run_live",
      `Run ${hash} is live (its writer is running): stop it first or pass --force`,
    );
  }
  Deno.removeSync(dir, { recursive: true });
  repo.removeMarker(hash);
  repo.index().remove(hash);
}

function _withRun<T>(
  repo: Repo,
  hash: string,
  read: (db: ReturnType<typeof openForReading>) => T,
): T {
  const path = join(repo.runDir(hash), RUN_DB);
  try {
    Deno.statSync(path);
  } catch {
    throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
  }
  let db;
  try {
    db = openForReading(path, repo.mode);
  } catch (cause) {
    throw corruptRunError(hash, path, cause);
  }
  try {
    return transaction(db, () => read(db), "DEFERRED");
  } catch (cause) {
    // Arguments are checked before the file is opened: what fails here is the file.
    if (cause instanceof AimError) throw cause;
    throw corruptRunError(hash, path, cause);
  } finally {
    db.close();
  }
}

/** Runs `fn` holding the run's writer lock, so no writer can resume it meanwhile. */
function _whileLocked(
  repo: Repo,
  hash: string,
  fn: (path: string) => void,
): void {
  const dir = repo.runDir(hash);
  const path = join(dir, RUN_DB);
  try {
    Deno.statSync(path);
  } catch {
    throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
  }
  if (repo.isLive(hash)) {
    throw new AimError(
      "run_live",
      `Run ${hash} is live: edit it when its writer has ended`,
    );
  }
  const lock = Deno.openSync(join(dir, LOCK_FILE), {
    read: true,
    write: true,
    create: true,
  });
  try {
    if (!lock.tryLockSync(true)) {
      throw new AimError(
        "run_live",
        `Run ${hash} is live: edit it when its writer has ended`,
      );
    }
    try {
      fn(path);
    } finally {
      lock.unlockSync();
    }
  } finally {
    lock.close();
  }
}
