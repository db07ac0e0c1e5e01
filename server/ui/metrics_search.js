/// <reference lib="dom" />
// @ts-check
// Reading the explorer's lines: the series search's index previews in
// pages (a small first one, so the chart appears while the rest loads),
// then the lines again at pixel resolution, whole or for a zoomed range,
// by pages of the same search in the binary form, only the columns the
// axis needs. Every request takes the caller's AbortSignal: the newest
// search or zoom wins.

import { readSeries, searchSeriesBinary } from "./api.js";
import { axisColumn, lineKey, stepRange } from "./metrics_lines.js";
import { MAX_LINES } from "./metrics_state.js";
import { toPoints } from "./series_draw.js";
import { pool } from "./tasks.js";

/** @import { BinarySeriesPage } from "./api_types.js" */
/** @import { SeriesSearch } from "./api.js" */
/** @import { Line } from "./metrics_lines.js" */
/** @import { Points, Projection } from "./series_draw.js" */

/** Lines per search request. */
export const PAGE = 50;
/** A small first page: the chart appears while the rest loads. */
const FIRST_PAGE = 10;
/** Search requests at once: the server has two query Workers. */
export const PARALLEL = 2;
/** Series read at once, one request each (lines the pages missed). */
export const PARALLEL_READS = 4;
/** The most buckets a read asks for, whatever the plot's width. */
const MAX_POINTS = 10_000;

/**
 * @typedef {object} PreviewCallbacks
 * @property {AbortSignal} signal  Aborted once a newer search started: no
 *   further request is made, those under way are cancelled.
 * @property {(page: BinarySeriesPage, offset: number) => void} onPage
 *   Each page as it arrives, the first one first.
 */

/**
 * Reads the index previews of the lines of series query `q`, up to
 * {@link MAX_LINES}: a small first page, then the others {@link PARALLEL}
 * at a time. Rejects with an AbortError once aborted.
 * @param {string} q
 * @param {PreviewCallbacks} callbacks
 * @returns {Promise<void>}
 */
export async function searchLines(q, { signal, onPage }) {
  const first = await searchSeriesBinary(_previews(q, FIRST_PAGE, 0), {
    signal,
  });
  onPage(first, 0);
  const wanted = Math.min(first.total, MAX_LINES);
  const offsets = [];
  for (let offset = FIRST_PAGE; offset < wanted; offset += PAGE) {
    offsets.push(offset);
  }
  await pool(
    offsets.map((offset) => async () => {
      signal.throwIfAborted();
      const limit = Math.min(PAGE, wanted - offset);
      onPage(
        await searchSeriesBinary(_previews(q, limit, offset), { signal }),
        offset,
      );
    }),
    PARALLEL,
  );
}

/**
 * The first lines of `q` again, as many as are drawn now (a live refresh).
 * @param {string} q
 * @param {number} drawn  Lines found so far.
 * @param {AbortSignal} signal
 * @returns {Promise<BinarySeriesPage>}
 */
export function searchAgain(q, drawn, signal) {
  const limit = Math.min(MAX_LINES, Math.max(PAGE, drawn));
  return searchSeriesBinary(_previews(q, limit, 0), { signal });
}

/**
 * @typedef {object} LinesRead
 * @property {string | null} query  The search that found the lines.
 * @property {number} points  Buckets per line: the plot's width in pixels.
 * @property {[number, number] | null} zoom  The zoomed x range; null for
 *   the whole series.
 * @property {Projection} view
 * @property {AbortSignal} signal  Aborted once a newer read started.
 * @property {(line: Line, points: Points) => void} onRead  A line's points.
 * @property {(line: Line, error: string) => void} onFailed  A line that
 *   could not be read.
 */

/**
 * Reads `lines` again at pixel resolution: by pages of the search that
 * found them ({@link PARALLEL} at a time; only the pages holding one of
 * them) when the x axis is the step or nothing is zoomed, then one request
 * per line for the lines the pages missed (runs added or removed since)
 * or for a zoom on an epoch or time axis. Rejects with an AbortError once
 * aborted, or with the first failed request.
 * @param {Line[]} lines
 * @param {LinesRead} read
 * @returns {Promise<void>}
 */
export async function readLines(lines, read) {
  const { query, zoom, view, signal, onRead } = read;
  const points = Math.min(MAX_POINTS, Math.max(1, Math.round(read.points)));
  const column = axisColumn(view);
  /** @type {SeriesSearch["columns"]} */
  const columns = column ? ["steps", "values", column] : ["steps", "values"];
  const steps = zoom && view.x === "step"
    ? { from: Math.floor(zoom[0]), to: Math.ceil(zoom[1]) }
    : {};
  let pending = lines;
  if (query !== null && (zoom === null || view.x === "step")) {
    const byKey = new Map(lines.map((line) => [line.key, line]));
    const pages = [
      ...new Set(lines.map((line) => Math.floor(line.index / PAGE))),
    ]
      .sort((a, b) => a - b);
    await pool(
      pages.map((page) => async () => {
        signal.throwIfAborted();
        const answer = await searchSeriesBinary({
          q: query,
          detail: "full",
          points,
          columns,
          limit: PAGE,
          offset: page * PAGE,
          ...steps,
        }, { signal });
        for (const item of answer.series) {
          const line = byKey.get(lineKey(item));
          if (line === undefined) continue;
          byKey.delete(line.key);
          if (item.data) onRead(line, toPoints(item.data));
          else read.onFailed(line, item.error ?? "no points");
        }
      }),
      PARALLEL,
    );
    pending = [...byKey.values()];
  }
  await pool(
    pending.map((line) => async () => {
      signal.throwIfAborted();
      const range = zoom ? stepRange(line, zoom, view) : null;
      if (zoom && range === null) return;
      const data = await readSeries(
        line.run.hash,
        line.series.name,
        line.series.context,
        { points, ...(range ? { from: range[0], to: range[1] } : {}) },
        { signal },
      );
      onRead(line, toPoints(data));
    }),
    PARALLEL_READS,
  );
}

/**
 * A page of index previews: steps and values.
 * @param {string} q
 * @param {number} limit
 * @param {number} offset
 * @returns {SeriesSearch}
 */
function _previews(q, limit, offset) {
  return {
    q,
    detail: "preview",
    columns: ["steps", "values"],
    limit,
    offset,
  };
}
