/// <reference lib="dom" />
// @ts-check
// Reading the explorer's lines: the series search's index previews in
// pages (a small first one, so the chart appears while the rest loads),
// and the lines again at pixel resolution, whole or for a zoomed range, by
// pages of the same search in the binary form with only the columns the
// axis needs (or one by one when pages cannot serve). Every request takes
// the caller's AbortSignal: the newest search or zoom wins.

import { readSeries, searchSeriesBinary } from "./api.js";
import { axisColumn, lineKey, stepRange } from "./metrics_lines.js";

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
/** Lines read at once one by one (those pages cannot serve). */
export const PARALLEL_READS = 4;
/** The most buckets a read asks for, whatever the plot's width. */
const MAX_POINTS = 10_000;

/**
 * @typedef {object} PreviewCallbacks
 * @property {AbortSignal} signal  Aborted once a newer search started: no
 *   further request is made, those under way are cancelled.
 * @property {(page: BinarySeriesPage, offset: number) => void} onPage
 *   Each page as it arrives, the first one first.
 * @property {number} max  Lines read at most (the first ones).
 */

/**
 * Reads the index previews of the lines of series query `q`, up to `max`:
 * a small first page, then the others {@link PARALLEL} at a time. Rejects
 * with an AbortError once aborted.
 * @param {string} q
 * @param {PreviewCallbacks} callbacks
 * @returns {Promise<void>}
 */
export async function searchLines(q, { signal, onPage, max }) {
  const first = await searchSeriesBinary(_previews(q, FIRST_PAGE, 0), {
    signal,
  });
  onPage(first, 0);
  const wanted = Math.min(first.total, max);
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
 * @param {number} max  Lines read at most.
 * @param {AbortSignal} signal
 * @returns {Promise<BinarySeriesPage>}
 */
export function searchAgain(q, drawn, max, signal) {
  const limit = Math.min(max, Math.max(PAGE, drawn));
  return searchSeriesBinary(_previews(q, limit, 0), { signal });
}

/**
 * What reads at pixel resolution are for: the view when they started.
 * @typedef {object} ReadTarget
 * @property {number} points  Buckets per line: the plot's width in pixels.
 * @property {[number, number] | null} zoom  The zoomed x range; null for
 *   the whole series.
 * @property {Projection} view
 */

/**
 * Whether lines are read by pages of their search for a target: yes for
 * whole series and for step ranges; an epoch or time range maps to other
 * steps in each run, so each line is read on its own.
 * @param {ReadTarget} target
 * @returns {boolean}
 */
export function readsByPage(target) {
  return target.zoom === null || target.view.x === "step";
}

/**
 * Reads page `page` (lines `page·PAGE` to `page·PAGE + PAGE - 1` in the
 * search's order) of series query `q` at pixel resolution for `target`, in
 * the binary form, with only the columns the axis needs.
 * @param {string} q
 * @param {number} page
 * @param {ReadTarget} target
 * @param {AbortSignal} signal
 * @returns {Promise<Map<string, Points | string>>}  By line key: the
 *   points, or why there are none.
 */
export async function readPage(q, page, target, signal) {
  const { zoom } = target;
  const answer = await searchSeriesBinary({
    q,
    detail: "full",
    points: _points(target),
    columns: _columns(target),
    limit: PAGE,
    offset: page * PAGE,
    ...(zoom ? { from: Math.floor(zoom[0]), to: Math.ceil(zoom[1]) } : {}),
  }, { signal });
  /** @type {Map<string, Points | string>} */
  const found = new Map();
  for (const item of answer.series) {
    found.set(
      lineKey(item),
      item.data ? toPoints(item.data) : item.error ?? "no points",
    );
  }
  return found;
}

/**
 * Reads one line at pixel resolution for `target` from its run: the lines
 * a page missed (runs added or removed since the search), and lines zoomed
 * on an epoch or time axis. Null when no point of the line falls in the
 * zoomed range.
 * @param {Line} line
 * @param {ReadTarget} target
 * @param {AbortSignal} signal
 * @returns {Promise<Points | null>}
 */
export async function readLine(line, target, signal) {
  const { zoom, view } = target;
  const range = zoom ? stepRange(line, zoom, view) : null;
  if (zoom && range === null) return null;
  const data = await readSeries(
    line.run.hash,
    line.series.name,
    line.series.context,
    {
      points: _points(target),
      ...(range ? { from: range[0], to: range[1] } : {}),
    },
    { signal },
  );
  return toPoints(data);
}

/**
 * @param {ReadTarget} target
 * @returns {number}
 */
function _points(target) {
  return Math.min(MAX_POINTS, Math.max(1, Math.round(target.points)));
}

/**
 * @param {ReadTarget} target
 * @returns {NonNullable<SeriesSearch["columns"]>}
 */
function _columns(target) {
  const column = axisColumn(target.view);
  return column ? ["steps", "values", column] : ["steps", "values"];
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
