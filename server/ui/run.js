/// <reference lib="dom" />
// @ts-check
// The run page: attributes, params as a tree, tags, one chart per series
// grouped by context, system metrics, the terminal log (followed while
// the run is live), and a tab for each kind of object the run tracked
// (images, distributions, texts: the explorers' views, for this run). Refreshes itself while the run is live. This module
// owns the run and the tabs; each tab's content is its own module.

import { ApiError, deleteRun, getRun, patchRun } from "./api.js";
import { errorText, fill, h, toast } from "./dom.js";
import { every } from "./every.js";
import { DistributionsView } from "./distributions.js";
import { ImagesView } from "./images.js";
import { RunCharts } from "./run_charts.js";
import { renderHead } from "./run_head.js";
import { RunLog } from "./run_logs.js";
import { renderOverview } from "./run_overview.js";
import { startOf } from "./series_draw.js";
import { TextsView } from "./texts.js";
import { link } from "./urls.js";

/** @import { Run } from "./api_types.js" */

/** @typedef {"overview" | "metrics" | "system" | "logs" | SequenceKind} Tab */
/** @import { SequenceKind } from "./objects_api.js" */

const TABS = /** @type {const} */ ([
  "overview",
  "metrics",
  "system",
  "logs",
  "images",
  "distributions",
  "texts",
]);

/** The tabs of the kinds of objects, in order, with their titles. */
const OBJECT_TABS = /** @type {const} */ ([
  ["images", "Images"],
  ["distributions", "Distributions"],
  ["texts", "Texts"],
]);

/** How often a live run is read again, in milliseconds. */
const LIVE_MS = 2000;

/**
 * Mounts the page for run `params[0]`; returns its unmount function.
 * @param {HTMLElement} root
 * @param {{ params: string[], navigate: (path: string) => void }} app
 * @returns {() => void}
 */
export function mount(root, { params, navigate }) {
  const hash = params[0] ?? "";
  const tabParam = new URLSearchParams(location.search).get("tab");
  /**
   * @type {{
   *   run: Run | null,
   *   tab: Tab,
   *   charts: RunCharts | null,
   *   log: RunLog | null,
   *   objects: { destroy(): void } | null,
   *   stopped: boolean,
   * }}
   */
  const state = {
    run: null,
    tab: TABS.find((tab) => tab === tabParam) ?? "overview",
    charts: null,
    log: null,
    objects: null,
    stopped: false,
  };
  const head = h("div.run-top");
  const tabs = h("nav.tabs");
  const content = h("div.run-content");
  root.append(h("section.run-page", {}, head, tabs, content));

  /** @returns {Promise<boolean>} Whether the run exists. */
  async function load() {
    try {
      state.run = await getRun(hash);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        fill(
          head,
          h(
            "p.empty",
            {},
            `No run ${hash}. `,
            link("runs", "Back to the runs"),
          ),
        );
        return false;
      }
      throw error;
    }
    showHead();
    renderTabs();
    return true;
  }

  // --- Header ---------------------------------------------------------------
  function showHead() {
    const run = state.run;
    if (run === null) return;
    renderHead(head, run, {
      compare: () => navigate(`metrics?runs=${run.hash}`),
      patch,
      remove,
    });
  }

  /** @param {{ archived?: boolean, tags?: string[], name?: string, description?: string }} body */
  async function patch(body) {
    try {
      state.run = await patchRun(hash, body);
      showHead();
      // The overview lists the same attributes.
      if (state.tab === "overview") renderOverview(content, state.run);
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  function remove() {
    const name = state.run?.name || hash;
    const dialog = h("dialog.confirm");
    dialog.append(
      h("p", {
        text:
          `Delete run ${name}? Its files and index rows are removed; this cannot be undone.`,
      }),
      h(
        "div.buttons",
        {},
        h("button", { text: "Cancel", onclick: () => dialog.close() }),
        h("button.danger", {
          text: "Delete",
          onclick: async () => {
            dialog.close();
            try {
              await deleteRun(hash);
              toast(`Deleted ${state.run?.name || hash}`);
              navigate("runs");
            } catch (error) {
              toast(errorText(error), "error");
            }
          },
        }),
      ),
    );
    dialog.addEventListener("close", () => dialog.remove());
    root.append(dialog);
    dialog.showModal();
  }

  // --- Tabs -----------------------------------------------------------------
  /** @param {Run} run */
  const series = (run) => run.metrics.filter((m) => m.context?.system !== true);
  /** @param {Run} run */
  const system = (run) => run.metrics.filter((m) => m.context?.system === true);

  function renderTabs() {
    const run = state.run;
    if (run === null) return;
    /** @type {[Tab, string][]} */
    const items = [
      ["overview", "Overview"],
      ["metrics", `Metrics (${series(run).length})`],
      ["system", `System (${system(run).length})`],
      ["logs", "Logs"],
    ];
    for (const [kind, title] of OBJECT_TABS) {
      const sequences = (run.sequences ?? []).filter((q) => q.kind === kind);
      if (sequences.length > 0 || state.tab === kind) {
        items.push([kind, `${title} (${sequences.length})`]);
      }
    }
    tabs.replaceChildren(...items.map(([key, label]) => {
      const a = h("a", {
        href: `${location.pathname}?tab=${key}`,
        text: label,
        class: key === state.tab ? "active" : "",
        dataset: { tab: key },
      });
      a.addEventListener("click", (e) => {
        e.preventDefault();
        if (state.tab !== key) showTab(key);
      });
      return a;
    }));
  }

  /** @param {Tab} key */
  function showTab(key) {
    state.tab = key;
    history.replaceState(null, "", `${location.pathname}?tab=${key}`);
    renderTabs();
    renderContent();
  }

  function renderContent() {
    state.charts?.destroy();
    state.charts = null;
    state.log?.destroy();
    state.log = null;
    state.objects?.destroy();
    state.objects = null;
    content.replaceChildren();
    const run = state.run;
    if (run === null) return;
    if (state.tab === "metrics") {
      state.charts = new RunCharts(
        content,
        hash,
        series(run),
        "This run has no metrics yet.",
      );
    } else if (state.tab === "system") {
      state.charts = new RunCharts(
        content,
        hash,
        system(run),
        'No system metrics: `aim run` records them (CPU, memory, GPU) with the context {"system": true}.',
        // Samples are taken every few seconds: time says more than their count.
        { x: "time", start: startOf(run.created_at), units: true },
      );
    } else if (
      state.tab === "images" || state.tab === "distributions" ||
      state.tab === "texts"
    ) {
      const box = h("div.objects-view");
      const options = { q: `run.hash == "${hash}"`, showRun: false };
      const view = state.tab === "images"
        ? new ImagesView(box, options)
        : state.tab === "distributions"
        ? new DistributionsView(box, options)
        : new TextsView(box, options);
      content.append(view.controls, box);
      state.objects = view;
    } else if (state.tab === "logs") {
      state.log = new RunLog(content, hash, run.live);
    } else renderOverview(content, run);
  }

  // --- Live -----------------------------------------------------------------
  /** @param {Run} run */
  const shape = (run) =>
    JSON.stringify([
      run.status,
      run.live,
      run.indexed,
      run.metrics.length,
      (run.sequences ?? []).length,
    ]);
  let chartTick = 0;
  const stopLive = every(LIVE_MS, async () => {
    if (state.run === null) return;
    const wasActive = state.run.live || !state.run.indexed ||
      state.run.status === "running";
    if (!wasActive) return;
    const before = shape(state.run);
    const run = await getRun(hash);
    state.run = run;
    if (state.stopped) return;
    // After the run was read: the tick that sees it ended reads its last lines.
    await state.log?.refresh();
    showHead();
    if (before !== shape(run)) renderTabs();
    // Charts every other tick: each chart is one more request.
    if (
      (state.tab === "metrics" || state.tab === "system") &&
      ++chartTick % 2 === 0
    ) {
      await state.charts?.refresh(run);
    }
  });

  load().then((ok) => ok && renderContent()).catch((error) =>
    toast(errorText(error), "error")
  );

  return () => {
    state.stopped = true;
    stopLive();
    state.charts?.destroy();
    state.log?.destroy();
    state.objects?.destroy();
  };
}
