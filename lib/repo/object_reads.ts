/**
 * Reading a run's sequences of objects for the API: one sequence's objects
 * in a step range (metadata; texts and histograms with their payload), one
 * object's bytes, the objects of a step across many sequences (a grid's
 * step slider), a distribution sequence as a matrix of steps × bins, and
 * the tails and thumbnails a search answers with, from the index for
 * indexed runs (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type { Context, SequenceKind } from "../types.ts";
import { canonicalJson } from "../util/json.ts";
import { RunFileError } from "../storage/run_file.ts";
import {
  parseTail,
  readHistograms,
  readObjects,
  readObjectsAt,
  readPayload,
  readSteps,
  readTails,
  sequenceId,
  sequenceKey,
  type StoredObject,
  type Tail,
} from "../storage/run_objects.ts";
import type { Repo } from "./repo.ts";

/** Most objects one read returns. */
export const MAX_OBJECTS = 10_000;
/** Most distinct steps a sequence read lists. */
export const MAX_STEPS = 100_000;
/** Most rows of a distribution matrix. */
export const MAX_MATRIX_ROWS = 10_000;
/** Most bins of a distribution matrix. */
export const MAX_MATRIX_BINS = 1024;

/** One sequence's objects in a step range, as the API returns them. */
export interface SequenceData {
  /** The kind of sequence, as asked. */
  kind: SequenceKind;
  /** The sequence name, as asked. */
  name: string;
  /** The sequence context, as asked. */
  context: Context;
  /** Objects in the range (matching `search`, for texts) before paging. */
  total: number;
  /** Every distinct step of the whole sequence, in order (at most {@linkcode MAX_STEPS}). */
  steps: number[];
  /**
   * The page of objects, by step then tracking order: each with its id (the
   * key of its bytes), step, epoch, time, point, item and metadata; a text
   * with its `text`, a histogram with its `counts` and `edges`.
   */
  objects: StoredObject[];
}

/** Options of {@linkcode readSequence}. */
export interface ReadSequenceOptions {
  /** Lowest step (inclusive); default none. */
  from?: number;
  /** Highest step (inclusive); default none. */
  to?: number;
  /** Objects to skip first (default 0). */
  offset?: number;
  /** Most objects to return (default 1,000, at most {@linkcode MAX_OBJECTS}). */
  limit?: number;
  /** Texts only: keep those whose text or caption contains this, ignoring case. */
  search?: string;
}

/**
 * Reads one sequence of a run from its own space. Throws `AimError`
 * `run_not_found` when the run or the sequence (that kind and name with
 * exactly that context) does not exist, `bad_request` for a bad page.
 *
 * @example Texts with a word in them
 * ```ts
 * import { readSequence } from "./object_reads.ts";
 * import { Repo, Text } from "../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * for (let step = 0; step < 10; step++) {
 *   run.track(new Text(step % 3 === 0 ? `step ${step}: a cat` : `step ${step}`), { name: "samples", step });
 * }
 * await run.close();
 * const found = readSequence(repo, run.hash, "texts", "samples", {}, { search: "CAT" });
 * console.log(found.total, found.objects.map((o) => o.text)); // 4 ["step 0: a cat", "step 3: a cat", "step 6: a cat", "step 9: a cat"]
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readSequence(
  repo: Repo,
  hash: string,
  kind: SequenceKind,
  name: string,
  context: Context,
  options: ReadSequenceOptions = {},
): SequenceData {
  const limit = options.limit ?? 1000;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_OBJECTS) {
    throw badRequest(
      `limit must be an integer from 0 to ${MAX_OBJECTS}, got ${limit}`,
    );
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw badRequest(`offset must be a non-negative integer, got ${offset}`);
  }
  const key = canonicalJson(context);
  return repo.readRun(hash, (db) => {
    const id = sequenceId(db, kind, name, key);
    if (id === null) throw _noSequence(hash, kind, name, key);
    const page = readObjects(db, id, {
      from: options.from ?? -Infinity,
      to: options.to ?? Infinity,
      offset,
      limit,
      payloads: true,
      ...(options.search !== undefined && options.search !== ""
        ? { search: options.search }
        : {}),
    });
    return {
      kind,
      name,
      context,
      total: page.total,
      steps: readSteps(db, id, MAX_STEPS),
      objects: page.objects,
    };
  });
}

/**
 * The bytes of object `id` of a run: an image as tracked (or with `thumb`
 * its thumbnail: the image itself when it is small or a JPEG), a text as
 * UTF-8, a histogram's float64 counts (and edges). Throws `AimError`
 * `run_not_found` when the run has no such object.
 */
export function readObject(
  repo: Repo,
  hash: string,
  id: number,
  thumb = false,
): Uint8Array {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw badRequest(`an object id is a positive integer, got ${id}`);
  }
  const bytes = repo.readRun(hash, (db) => readPayload(db, id, thumb));
  if (bytes === null) {
    throw new AimError("run_not_found", `Run ${hash} has no object ${id}`);
  }
  return bytes;
}

/**
 * The bytes of several objects of one run, read in one transaction (a
 * grid's thumbnails); ids the run lacks are left out.
 */
export function readObjectBytes(
  repo: Repo,
  hash: string,
  ids: readonly number[],
  thumb = false,
): Map<number, Uint8Array> {
  return repo.readRun(hash, (db) => {
    const out = new Map<number, Uint8Array>();
    for (const id of ids) {
      const bytes = readPayload(db, id, thumb);
      if (bytes !== null) out.set(id, bytes);
    }
    return out;
  });
}

/** A sequence named by its run, name and context. */
export interface SequenceRef {
  /** The run's hash. */
  run: string;
  /** The sequence's name. */
  name: string;
  /** Its context. */
  context: Context;
}

/** The objects one sequence has at a step (see {@linkcode readObjectsAtStep}). */
export interface ObjectsAt extends SequenceRef {
  /** The step found (the highest at or below the one asked, else the lowest above), or null. */
  step: number | null;
  /** Its objects, in tracking order. */
  objects: StoredObject[];
  /** Why the sequence could not be read (its run is gone, or corrupt), or null. */
  error: string | null;
}

/**
 * For each sequence of `kind`, its objects at `step` (or the nearest step
 * it has): what a grid shows when its step slider moves. Runs are read one
 * at a time, each once; one that cannot be read gets its `error`.
 */
export function readObjectsAtStep(
  repo: Repo,
  kind: SequenceKind,
  sequences: readonly SequenceRef[],
  step: number,
  check?: () => void,
): ObjectsAt[] {
  const byRun = new Map<string, number[]>();
  sequences.forEach((ref, i) => {
    const list = byRun.get(ref.run) ?? [];
    list.push(i);
    byRun.set(ref.run, list);
  });
  const out: ObjectsAt[] = sequences.map((ref) => ({
    ...ref,
    step: null,
    objects: [],
    error: null,
  }));
  for (const [hash, indexes] of byRun) {
    check?.();
    try {
      repo.readRun(hash, (db) => {
        for (const i of indexes) {
          const ref = sequences[i]!;
          const id = sequenceId(db, kind, ref.name, canonicalJson(ref.context));
          if (id === null) {
            out[i]!.error = _noSequence(
              hash,
              kind,
              ref.name,
              canonicalJson(ref.context),
            ).message;
            continue;
          }
          const found = readObjectsAt(db, id, step, kind !== "images");
          out[i]!.step = found.step;
          out[i]!.objects = found.objects;
        }
      });
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      for (const i of indexes) out[i]!.error = error.message;
    }
  }
  return out;
}

/** A distribution sequence as a heatmap: rows of steps, columns of equal bins. */
export interface DistributionMatrix {
  /** The sequence name, as asked. */
  name: string;
  /** The sequence context, as asked. */
  context: Context;
  /** Histograms in the step range; at most `rows` of them are returned, spread evenly. */
  total: number;
  /** Each row's step. */
  steps: number[];
  /** Each row's epoch, or null. */
  epochs: (number | null)[];
  /** Each row's time, seconds since the epoch. */
  times: number[];
  /** Each row's object id (its exact histogram: the sequence read, or the object's bytes). */
  ids: number[];
  /** Each row's own lowest and highest edge. */
  lows: number[];
  /** See `lows`. */
  highs: number[];
  /** The lowest edge of any row: where column 0 starts. */
  low: number;
  /** The highest edge of any row: where the last column ends. */
  high: number;
  /** Columns: equal bins from `low` to `high`. */
  bins: number;
  /**
   * `counts[row][column]`: each row's counts spread over the columns in
   * proportion to how much of each of its bins a column covers.
   */
  counts: number[][];
}

/** Options of {@linkcode readDistributionMatrix}. */
export interface MatrixOptions {
  /** Lowest step (inclusive); default none. */
  from?: number;
  /** Highest step (inclusive); default none. */
  to?: number;
  /** Most rows (default 1,000, at most {@linkcode MAX_MATRIX_ROWS}). */
  rows?: number;
  /** Columns (default: the most bins of any row read, at most {@linkcode MAX_MATRIX_BINS}). */
  bins?: number;
}

/**
 * Reads a distribution sequence as a matrix of steps × bins on common
 * edges, for a heatmap: histograms whose ranges drift over training are
 * put on one axis. Throws `run_not_found` when the sequence does not exist.
 *
 * @example Weights drifting over training
 * ```ts
 * import { readDistributionMatrix } from "./object_reads.ts";
 * import { Distribution, Repo } from "../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * for (let step = 0; step < 100; step++) {
 *   run.track(new Distribution([1, 2, 1], { range: [step, step + 3] }), { name: "weights", step });
 * }
 * await run.close();
 * const matrix = readDistributionMatrix(repo, run.hash, "weights", {}, { rows: 10, bins: 20 });
 * console.log(matrix.total, matrix.steps.length, matrix.low, matrix.high, matrix.counts[0]!.length); // 100 10 0 102 20
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readDistributionMatrix(
  repo: Repo,
  hash: string,
  name: string,
  context: Context,
  options: MatrixOptions = {},
): DistributionMatrix {
  const rows = options.rows ?? 1000;
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_MATRIX_ROWS) {
    throw badRequest(
      `rows must be an integer from 1 to ${MAX_MATRIX_ROWS}, got ${rows}`,
    );
  }
  if (
    options.bins !== undefined &&
    (!Number.isInteger(options.bins) || options.bins < 1 ||
      options.bins > MAX_MATRIX_BINS)
  ) {
    throw badRequest(
      `bins must be an integer from 1 to ${MAX_MATRIX_BINS}, got ${options.bins}`,
    );
  }
  const key = canonicalJson(context);
  const { total, histograms } = repo.readRun(hash, (db) => {
    const id = sequenceId(db, "distributions", name, key);
    if (id === null) throw _noSequence(hash, "distributions", name, key);
    return readHistograms(
      db,
      id,
      options.from ?? -Infinity,
      options.to ?? Infinity,
      rows,
    );
  });
  let low = Infinity, high = -Infinity, most = 1;
  for (const h of histograms) {
    low = Math.min(low, h.edges[0]!);
    high = Math.max(high, h.edges[h.edges.length - 1]!);
    most = Math.max(most, h.counts.length);
  }
  if (histograms.length === 0) [low, high] = [0, 1];
  const bins = options.bins ?? Math.min(most, MAX_MATRIX_BINS);
  const counts = histograms.map((h) =>
    rebin(h.counts, h.edges, low, high, bins)
  );
  return {
    name,
    context,
    total,
    steps: histograms.map((h) => h.step),
    epochs: histograms.map((h) => h.epoch),
    times: histograms.map((h) => h.time),
    ids: histograms.map((h) => h.id),
    lows: histograms.map((h) => h.edges[0]!),
    highs: histograms.map((h) => h.edges[h.edges.length - 1]!),
    low,
    high,
    bins,
    counts,
  };
}

/**
 * A histogram's counts spread over `bins` equal bins from `low` to `high`,
 * each bin's count shared in proportion to its overlap with them (samples
 * taken as spread evenly within a bin). The total is kept.
 */
export function rebin(
  counts: ArrayLike<number>,
  edges: ArrayLike<number>,
  low: number,
  high: number,
  bins: number,
): number[] {
  const out = new Array<number>(bins).fill(0);
  const width = (high - low) / bins;
  for (let j = 0; j < counts.length; j++) {
    const count = counts[j]!;
    if (count === 0) continue;
    const a = edges[j]!, b = edges[j + 1]!;
    const first = Math.max(
      0,
      Math.min(bins - 1, Math.floor((a - low) / width)),
    );
    const last = Math.max(
      0,
      Math.min(bins - 1, Math.ceil((b - low) / width) - 1),
    );
    for (let k = first; k <= last; k++) {
      const start = k === 0 ? -Infinity : low + k * width;
      const end = k === bins - 1 ? Infinity : low + (k + 1) * width;
      const overlap = Math.min(b, end) - Math.max(a, start);
      if (overlap > 0) out[k]! += (count * overlap) / (b - a);
    }
  }
  return out;
}

/** A sequence's tail and thumbnail, as a search answers them. */
export interface SequenceTail {
  /** The objects of its last step, or null. */
  tail: Tail | null;
  /** The thumbnail of its last image (PNG, or a small JPEG), or null. */
  thumb: Uint8Array | null;
}

/**
 * The tails (and thumbnails) of sequences of search matches, keyed by
 * `hash` + `sequenceKey(kind, name, contextKey)`: from the index for
 * indexed runs (one statement), from their own space for the others.
 * Sequences that cannot be read are left out.
 */
export function readTailsOf(
  repo: Repo,
  kind: SequenceKind,
  matches: readonly {
    run: { record: { hash: string }; indexed: boolean };
    sequence: { name: string; context: Context };
  }[],
  check?: () => void,
): Map<string, SequenceTail> {
  const out = new Map<string, SequenceTail>();
  const indexed: [string, string, string, string][] = [];
  const unindexed = new Set<string>();
  for (const { run, sequence } of matches) {
    if (run.indexed) {
      indexed.push([
        run.record.hash,
        kind,
        sequence.name,
        canonicalJson(sequence.context),
      ]);
    } else unindexed.add(run.record.hash);
  }
  for (const [key, value] of repo.index().tails(indexed)) {
    out.set(key, { tail: _tailOrNull(value.tail), thumb: value.thumb });
  }
  for (const hash of unindexed) {
    check?.();
    try {
      const tails = repo.readRun(hash, readTails);
      for (const [key, value] of tails) {
        out.set(hash + key, {
          tail: _tailOrNull(value.tail),
          thumb: value.thumb,
        });
      }
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
    }
  }
  return out;
}

/** The key {@linkcode readTailsOf} answers a sequence under. */
export function tailKey(
  hash: string,
  kind: SequenceKind,
  name: string,
  context: Context,
): string {
  return hash + sequenceKey(kind, name, canonicalJson(context));
}

/** A stored tail, or null when there is none or it is malformed (a listing goes on). */
function _tailOrNull(text: string | null): Tail | null {
  try {
    return parseTail(text);
  } catch (error) {
    if (error instanceof RunFileError) return null;
    throw error;
  }
}

function _noSequence(
  hash: string,
  kind: SequenceKind,
  name: string,
  contextKey: string,
): AimError {
  return new AimError(
    "run_not_found",
    `Run ${hash} has no ${kind} sequence ${
      JSON.stringify(name)
    } with context ${contextKey}`,
  );
}
