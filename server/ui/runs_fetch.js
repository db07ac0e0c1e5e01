/// <reference lib="dom" />
// @ts-check
// A page of the runs table from the API: newest first by default (read
// from the end of the server's cheap creation order), or sorted.

import { searchRuns } from "./api.js";
import { PROBE } from "./runs_model.js";

/** @import { RunPage } from "./api_types.js" */

/**
 * @typedef {object} PageRequest
 * @property {string} q  The run query to send.
 * @property {string} sort  "" for newest first.
 * @property {number} page  From 0.
 * @property {number} size  Rows per page.
 * @property {number | null} total  Rows matching, when known; needed to
 *   place a newest-first page. Null (first page only): a small probe
 *   finds it, and is the whole answer when few runs match.
 */

/**
 * Fetches one page of the runs table.
 * @param {PageRequest} request
 * @returns {Promise<RunPage>}
 */
export async function fetchRunsPage({ q, sort, page, size, total }) {
  if (sort !== "") {
    return await searchRuns({ q, sort, limit: size, offset: page * size });
  }
  if (total !== null) return await newestPage(q, page, size, total);
  const probe = await searchRuns({ q, limit: PROBE, offset: 0 });
  if (probe.total > PROBE) {
    return await newestPage(q, page, size, probe.total);
  }
  probe.runs.reverse();
  return probe;
}

/**
 * Page `page` counted from the newest of `total` runs.
 * @param {string} q
 * @param {number} page
 * @param {number} size
 * @param {number} total
 * @returns {Promise<RunPage>}
 */
async function newestPage(q, page, size, total) {
  const end = Math.max(0, total - page * size);
  const begin = Math.max(0, end - size);
  const answer = await searchRuns({ q, limit: end - begin, offset: begin });
  answer.runs.reverse();
  return answer;
}
