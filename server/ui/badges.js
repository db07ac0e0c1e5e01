/// <reference lib="dom" />
// @ts-check
// A run's state as badges: its status, and live / stalled / unindexed /
// archived.

import { h } from "./dom.js";

/** @import { Run } from "./api_types.js" */

/**
 * The badges of `run`, in the order the tests and the eye expect.
 * @param {Run} run
 * @returns {HTMLSpanElement[]}
 */
export function badges(run) {
  const out = [h(`span.badge.status-${run.status}`, { text: run.status })];
  if (run.live) {
    out.push(
      h("span.badge.flag-live", {
        text: "live",
        title: "its writer is running",
      }),
    );
  } else if (!run.indexed && run.status === "crashed") {
    out.push(h("span.badge.flag-stalled", {
      text: "stalled",
      title: "its writer vanished; the indexer will record it crashed",
    }));
  }
  if (!run.indexed) {
    out.push(h("span.badge.flag-unindexed", {
      text: "unindexed",
      title:
        "read from its own files: the index does not cover its latest data yet",
    }));
  }
  if (run.archived) {
    out.push(h("span.badge.flag-archived", { text: "archived" }));
  }
  return out;
}
