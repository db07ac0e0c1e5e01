/// <reference lib="dom" />
// @ts-check
// The index status page: repository counts, the background indexer's
// activity and last failures, and the runs the index does not cover yet.

import { indexStatus, newestRuns } from "./api.js";
import { badges } from "./badges.js";
import { errorText, h, toast } from "./dom.js";
import { every } from "./every.js";
import { fmtBytes, fmtDuration, fmtTime } from "./format.js";
import { link } from "./urls.js";

/** Runs looked at for the unindexed list (the newest live or crashed ones). */
const SAMPLE = 1000;

/**
 * Mounts the page in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @returns {() => void}
 */
export function mount(root) {
  const cards = h("div.cards");
  const indexer = h("div.panel.indexer");
  const failures = h("div.panel.failures");
  const unindexed = h("div.panel.unindexed");
  root.append(
    h("section.status-page", {}, cards, indexer, unindexed, failures),
  );

  async function refresh() {
    const [{ status, indexer: state }, runs] = await Promise.all([
      indexStatus(),
      newestRuns({
        q: 'run.status == "running" or run.status == "crashed"',
        limit: SAMPLE,
      }),
    ]);
    /** @param {string} value @param {string} label @param {boolean} [warn] */
    const card = (value, label, warn = false) =>
      h(
        `div.card${warn ? ".warn" : ""}`,
        { dataset: { key: label } },
        h("div.v", { text: value }),
        h("div.k", { text: label }),
      );
    cards.replaceChildren(
      card(status.runs.toLocaleString("en-US"), "runs"),
      card(status.indexed.toLocaleString("en-US"), "indexed"),
      card(status.unindexed_live.toLocaleString("en-US"), "unindexed, live"),
      card(
        status.unindexed_stalled.toLocaleString("en-US"),
        "unindexed, stalled",
        status.unindexed_stalled > 0,
      ),
      card(fmtBytes(status.index_bytes), "index size"),
      card(status.fs_mode, "filesystem"),
    );
    const now = Date.now() / 1000;
    indexer.replaceChildren(
      h("h3", { text: "Background indexer" }),
      state === null
        ? h("p.empty", {
          text:
            "Not running (aim up --no-index): run aim reindex to index stalled runs.",
        })
        : h(
          "table.kv",
          {},
          h(
            "tbody",
            {},
            [
              [
                "state",
                state.running
                  ? (state.in_progress
                    ? "indexing"
                    : "idle, watching for new markers")
                  : "stopped",
              ],
              [
                "indexing now",
                state.in_progress
                  ? link(`run/${state.in_progress}`, state.in_progress)
                  : "nothing",
              ],
              ["queue", String(state.queue)],
              ["indexed since start", state.indexed.toLocaleString("en-US")],
              ["recorded crashed", state.crashed.toLocaleString("en-US")],
              [
                "longest index write",
                `${state.longest_write_ms.toFixed(1)} ms`,
              ],
              [
                "last pass",
                state.last_pass_at
                  ? `${fmtDuration(now - state.last_pass_at)} ago`
                  : "not yet",
              ],
              ["worker restarts", String(state.restarts)],
            ].map(([k, v]) =>
              h("tr", {}, h("th", { text: k }), h("td", {}, v))
            ),
          ),
        ),
    );
    const list = runs.runs.filter((r) => !r.indexed);
    unindexed.replaceChildren(
      h("h3", { text: "Runs the index does not cover yet" }),
      list.length === 0
        ? h("p.empty", { text: "None: the index covers every run." })
        : h(
          "table.list",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["run", "state", "created", "experiment"].map((t) =>
                h("th", { text: t })
              ),
            ),
          ),
          h(
            "tbody",
            {},
            list.map((r) =>
              h(
                "tr",
                { dataset: { hash: r.hash } },
                h("td", {}, link(`run/${r.hash}`, r.name || r.hash)),
                h("td", {}, badges(r)),
                h("td", { text: fmtTime(r.created_at) }),
                h("td", { text: r.experiment }),
              )
            ),
          ),
        ),
    );
    const failed = state?.failures ?? [];
    failures.replaceChildren(
      h("h3", { text: "Last indexing failures" }),
      failed.length === 0 ? h("p.empty", { text: "None." }) : h(
        "table.list",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["when", "run", "reason"].map((t) => h("th", { text: t })),
          ),
        ),
        h(
          "tbody",
          {},
          [...failed].reverse().map((f) =>
            h(
              "tr",
              {},
              h("td", { text: fmtTime(new Date(f.at * 1000).toISOString()) }),
              h("td", {}, link(`run/${f.hash}`, f.hash)),
              h("td", { text: f.reason }),
            )
          ),
        ),
      ),
    );
  }

  refresh().catch((error) => toast(errorText(error), "error"));
  return every(2000, refresh);
}
