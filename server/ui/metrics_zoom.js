/// <reference lib="dom" />
// @ts-check
// Reading the explorer's lines again for a zoomed x range, from their runs
// at about screen resolution: by pages of the search that drew them when
// the x axis is the step, one line at a time otherwise.

import { readSeries, searchSeries } from "./api.js";
import { errorText, toast } from "./dom.js";
import { lineKey, stepRange } from "./metrics_lines.js";
import { PAGE, PARALLEL, PARALLEL_READS } from "./metrics_search.js";
import { MAX_LINES } from "./metrics_state.js";
import { pool } from "./tasks.js";

/** @import { Line, Projection } from "./metrics_lines.js" */

/**
 * @typedef {object} ZoomRead
 * @property {[number, number]} range  The x range.
 * @property {Projection} view
 * @property {number} points  Buckets per line.
 * @property {string | null} query  The search that found the lines.
 * @property {number} total  Its matches.
 * @property {() => boolean} isCurrent  False once the zoom changed: stops.
 * @property {() => void} onProgress  Some lines have their zoomed points.
 */

/**
 * Buckets per line for a zoom on a plot `width` pixels wide: pixel
 * resolution for a few lines, fewer buckets each for hundreds (M4 keeps
 * every bucket's extremes, so spikes stay visible).
 * @param {number} width
 * @param {number} lines
 * @returns {number}
 */
export function zoomPoints(width, lines) {
  return Math.min(
    Math.max(400, Math.floor(width)),
    Math.max(200, Math.floor(250_000 / lines)),
  );
}

/**
 * Sets `zoomed` on each of `lines` to its points in the range. Failed
 * requests are shown as toasts; the lines they would have read keep their
 * overview points.
 * @param {Line[]} lines
 * @param {ZoomRead} read
 * @returns {Promise<void>}
 */
export async function readZoomed(lines, read) {
  const { range, isCurrent, onProgress } = read;
  let pending = lines;
  if (read.view.x === "step" && read.query) {
    // A request per page of 50 lines rather than one per line.
    const query = read.query;
    const byKey = new Map(lines.map((line) => [line.key, line]));
    const wanted = Math.min(read.total, MAX_LINES);
    const offsets = [];
    for (let offset = 0; offset < wanted; offset += PAGE) offsets.push(offset);
    await pool(
      offsets.map((offset) => async () => {
        if (!isCurrent()) return;
        const page = await searchSeries({
          q: query,
          points: read.points,
          from: Math.floor(range[0]),
          to: Math.ceil(range[1]),
          limit: Math.min(PAGE, wanted - offset),
          offset,
        });
        if (!isCurrent()) return;
        for (const item of page.series) {
          const line = byKey.get(lineKey(item));
          if (line === undefined || item.error || !item.data) continue;
          line.zoomed = item.data;
          byKey.delete(line.key);
        }
        onProgress();
      }),
      PARALLEL,
    ).catch((error) => toast(errorText(error), "error"));
    if (!isCurrent()) return;
    // Lines the pages missed (runs added or removed since): one by one.
    pending = [...byKey.values()];
  }
  let done = 0;
  await pool(
    pending.map((line) => async () => {
      if (!isCurrent()) return;
      const steps = stepRange(line, range, read.view);
      if (steps === null) return;
      const data = await readSeries(
        line.run.hash,
        line.series.name,
        line.series.context,
        { from: steps[0], to: steps[1], points: read.points },
      );
      if (!isCurrent()) return;
      line.zoomed = data;
      if (++done % 25 === 0) onProgress();
    }),
    PARALLEL_READS,
  ).catch((error) => toast(errorText(error), "error"));
}
