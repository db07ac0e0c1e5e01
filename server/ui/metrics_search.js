/// <reference lib="dom" />
// @ts-check
// Reading the explorer's lines: the series search in pages (a small first
// one, so the chart appears while the rest loads), and whole series for an
// epoch or time axis that index previews cannot give.

import { readSeries, searchSeries } from "./api.js";
import { MAX_LINES } from "./metrics_state.js";
import { pool } from "./tasks.js";

/** @import { SeriesPage } from "./api_types.js" */
/** @import { Line } from "./metrics_lines.js" */

/** Lines per search request. */
export const PAGE = 50;
/** A small first page: the chart appears while the rest loads. */
const FIRST_PAGE = 10;
/** Search requests at once. */
export const PARALLEL = 2;
/** Buckets per line for the overview (M4: up to 4 points each). */
export const POINTS = 100;
/** Series read at once, one request each. */
export const PARALLEL_READS = 4;

/**
 * @typedef {object} SearchCallbacks
 * @property {() => boolean} isCurrent  False once a newer search started:
 *   no further request is made and no further page reported.
 * @property {(page: SeriesPage) => void} onFirst  The first page.
 * @property {(page: SeriesPage) => void} onPage  Each later page.
 */

/**
 * Reads the lines of series query `q`, up to {@link MAX_LINES}: a small
 * first page, then the others {@link PARALLEL} at a time.
 * @param {string} q
 * @param {SearchCallbacks} callbacks
 * @returns {Promise<void>}
 */
export async function searchLines(q, { isCurrent, onFirst, onPage }) {
  const first = await searchSeries({
    q,
    points: POINTS,
    limit: FIRST_PAGE,
    offset: 0,
  });
  if (!isCurrent()) return;
  onFirst(first);
  const wanted = Math.min(first.total, MAX_LINES);
  const offsets = [];
  for (let offset = FIRST_PAGE; offset < wanted; offset += PAGE) {
    offsets.push(offset);
  }
  await pool(
    offsets.map((offset) => async () => {
      if (!isCurrent()) return;
      const page = await searchSeries({
        q,
        points: POINTS,
        limit: Math.min(PAGE, wanted - offset),
        offset,
      });
      if (!isCurrent()) return;
      onPage(page);
    }),
    PARALLEL,
  );
}

/**
 * The first lines of `q` again, as many as are drawn now (a live refresh).
 * @param {string} q
 * @param {number} drawn  Lines found so far.
 * @returns {Promise<SeriesPage>}
 */
export function searchAgain(q, drawn) {
  return searchSeries({
    q,
    points: POINTS,
    limit: Math.min(MAX_LINES, Math.max(PAGE, drawn)),
    offset: 0,
  });
}

/**
 * Reads the series of `lines` from their runs, which gives every field
 * (index previews carry steps and values only), and replaces their
 * overview points.
 * @param {Line[]} lines
 * @param {() => boolean} isCurrent  False stops further reads.
 * @returns {Promise<void>}
 */
export async function readWhole(lines, isCurrent) {
  await pool(
    lines.map((line) => async () => {
      if (!isCurrent()) return;
      line.data = await readSeries(
        line.run.hash,
        line.series.name,
        line.series.context,
        { points: POINTS },
      );
    }),
    PARALLEL_READS,
  );
}
