/// <reference lib="dom" />
// @ts-check
// The metrics explorer: one metric (and context) across runs, a line per
// matching run from POST /api/series/search (fetched in pages, drawn as they
// arrive), coloured and grouped by a param, EMA smoothing, per-group mean
// with a min/max or std band, x by step / epoch / relative time, log scale,
// and zoom that re-reads the range from each run at screen resolution.
// This module wires the parts together and owns the state.

import { ApiError, checkQuery, newestRuns, searchRuns } from "./api.js";
import { LineChart } from "./chart.js";
import { errorText, h, toast } from "./dom.js";
import { every } from "./every.js";
import {
  buildCatalog,
  chooseContext,
  contextsOf,
  defaultMetric,
  emptyCatalog,
  metricNames,
} from "./metrics_catalog.js";
import { ExplorerControls } from "./metrics_controls.js";
import { renderLegend } from "./metrics_legend.js";
import { linesOf } from "./metrics_lines.js";
import { groupOf, groupTitle, planChart } from "./metrics_plot.js";
import { readWhole, searchAgain, searchLines } from "./metrics_search.js";
import {
  readSettings,
  seriesQuery,
  settingsSearch,
  statusText,
} from "./metrics_state.js";
import { readZoomed, zoomPoints } from "./metrics_zoom.js";

/** @import { SeriesPage } from "./api_types.js" */
/** @import { Projection } from "./metrics_lines.js" */
/** @import { ExplorerState } from "./metrics_state.js" */

/** Runs sampled for the metric, context and param lists. */
const CATALOG_RUNS = 1000;

/**
 * Mounts the explorer in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @returns {() => void}
 */
export function mount(root) {
  /** @type {ExplorerState} */
  const state = {
    ...readSettings(location.search),
    catalog: emptyCatalog(),
    lines: [],
    total: 0,
    failed: 0,
    gen: 0,
    loading: false,
    hidden: new Set(),
    zoom: null,
    zoomGen: 0,
    zoomLoading: false,
    fetchMs: 0,
    firstChart: false,
    loadedQuery: null,
  };

  const controls = new ExplorerControls(state, {
    onSearch: () => search(),
    onMetric: () => {
      fillContexts();
      search();
    },
    onContext: () => search(),
    onGroup: (group) => {
      state.group = group;
      saveUrl();
      redraw();
    },
    onAgg: (agg) => {
      state.agg = agg;
      saveUrl();
      redraw();
    },
    onSmooth: (weight) => {
      state.smooth = weight;
      scheduleRedraw();
    },
    onSmoothDone: () => saveUrl(),
    onX: (x) => {
      state.x = x;
      state.zoom = null;
      chart.configure({ xKind: x });
      saveUrl();
      redraw();
    },
    onLog: (log) => {
      state.log = log;
      chart.configure({ logY: log });
      saveUrl();
      redraw();
    },
  });
  const status = h("div.explorer-status");
  const chartBox = h("div.chart-main");
  const legend = h("div.legend.panel");
  root.append(
    h(
      "section.metrics-page",
      {},
      controls.form,
      controls.errorBox,
      controls.options,
      status,
      h("div.explorer-body", {}, h("div.panel", {}, chartBox), legend),
    ),
  );
  const chart = new LineChart(chartBox, {
    height: 460,
    xKind: state.x,
    logY: state.log,
    onZoom: (range) => zoom(range),
  });

  function saveUrl() {
    const search = settingsSearch(state, controls.context);
    history.replaceState(null, "", `${location.pathname}?${search}`);
  }

  /** @returns {Projection} */
  const view = () => ({ x: state.x, log: state.log, smooth: state.smooth });

  function showCompared() {
    controls.showCompared(state.hashes.length, () => {
      state.hashes = [];
      showCompared();
      loadCatalog().then(search);
    });
  }

  // --- Catalog: metric names, contexts, params ------------------------------
  async function loadCatalog() {
    const page = state.hashes.length
      ? await searchRuns({
        q: `run.hash in ${JSON.stringify(state.hashes)}`,
        limit: CATALOG_RUNS,
      })
      : await newestRuns({ q: "", limit: CATALOG_RUNS });
    state.catalog = buildCatalog(page.runs);
    controls.setMetricNames(metricNames(state.catalog));
    if (!state.metric) {
      const metric = defaultMetric(state.catalog);
      if (metric !== null) {
        state.metric = metric;
        controls.metric = metric;
      }
    }
    fillContexts();
    controls.setGroups(state.catalog.params, state.group);
  }

  /** Offers the contexts of the metric entered; the address's context wins once. */
  function fillContexts() {
    const contexts = contextsOf(state.catalog, controls.metric);
    controls.setContexts(
      contexts,
      chooseContext(contexts, controls.context, state.context),
    );
    state.context = null;
  }

  // --- Search ---------------------------------------------------------------
  /** @returns {string} */
  const query = () => seriesQuery(state, controls.context);

  async function search() {
    state.metric = controls.metric;
    state.runQ = controls.runQuery;
    saveUrl();
    const gen = ++state.gen;
    const isCurrent = () => gen === state.gen;
    state.zoom = null;
    state.zoomGen++;
    state.lines = [];
    state.failed = 0;
    state.total = 0;
    controls.hideProblem();
    if (!state.metric) {
      status.textContent = "Choose a metric.";
      redraw();
      return;
    }
    state.loading = true;
    chartBox.dataset.loading = "true";
    status.textContent = "Loading…";
    const q = query();
    state.loadedQuery = q;
    const started = performance.now();
    try {
      const problem = await checkQuery(state.runQ, { kind: "metrics" });
      if (!isCurrent()) return;
      if (problem !== null) {
        state.loading = false;
        showProblem(problem, state.runQ);
        redraw();
        return;
      }
      await searchLines(q, {
        isCurrent,
        onFirst: (page) => {
          state.total = page.total;
          take(page);
          redraw();
        },
        onPage: (page) => {
          take(page);
          scheduleRedraw();
        },
      });
      if (!isCurrent()) return;
      state.fetchMs = performance.now() - started;
      state.loading = false;
      redraw();
      performance.mark("aim:all-lines");
    } catch (error) {
      if (!isCurrent()) return;
      state.loading = false;
      if (!(error instanceof ApiError)) throw error;
      showProblem(error, query());
      redraw();
    } finally {
      if (isCurrent()) delete chartBox.dataset.loading;
    }
  }

  /** @param {SeriesPage} page */
  function take(page) {
    const { lines, failed } = linesOf(page);
    state.lines.push(...lines);
    state.failed += failed;
  }

  /**
   * @param {{ message: string, column?: number | null }} problem
   * @param {string} source
   */
  function showProblem(problem, source) {
    controls.showProblem(problem, source);
    status.textContent = "";
  }

  // --- Drawing --------------------------------------------------------------
  /** @type {ReturnType<typeof setTimeout> | null} */
  let redrawTimer = null;
  function scheduleRedraw() {
    if (redrawTimer === null) {
      redrawTimer = setTimeout(() => {
        redrawTimer = null;
        redraw();
      }, 120);
    }
  }

  /**
   * Index previews carry steps and values only: for an epoch or time axis,
   * read the lines that lack them from their runs (then redraw).
   */
  let filling = false;
  async function fillAxes() {
    const key = state.x === "epoch" ? "epochs" : "times";
    const lacking = state.lines.filter((line) => !line.data[key]);
    if (state.x === "step" || lacking.length === 0 || filling) return;
    filling = true;
    const gen = state.gen;
    try {
      await readWhole(lacking, () => gen === state.gen);
    } finally {
      filling = false;
    }
    if (gen === state.gen) redraw();
  }

  function redraw() {
    fillAxes().catch((error) => toast(errorText(error), "error"));
    const plan = planChart(state.lines, {
      group: state.group,
      agg: state.agg,
      hidden: state.hidden,
      contextChosen: controls.context !== "",
      view: view(),
    });
    chart.setData(plan.lines, plan.bands, { keepZoom: state.zoom !== null });
    chartBox.dataset.colors = String(
      new Set(plan.lines.map((l) => l.color)).size,
    );
    renderLegend(legend, plan.groups, {
      title: state.group ? `Groups by ${groupTitle(state.group)}` : "Runs",
      grouped: state.group !== "",
      hidden: state.hidden,
      onToggle: (key) => {
        if (state.hidden.has(key)) state.hidden.delete(key);
        else state.hidden.add(key);
        redraw();
      },
    });
    status.textContent = statusText(state, plan.lines.length);
    if (!state.firstChart && plan.lines.length > 0) {
      state.firstChart = true;
      performance.mark("aim:first-chart");
    }
  }

  // --- Zoom: each line's own points in the range ----------------------------
  /** @param {[number, number] | null} range */
  async function zoom(range) {
    const gen = ++state.zoomGen;
    state.zoom = range;
    if (range === null) {
      for (const line of state.lines) line.zoomed = null;
      redraw();
      return;
    }
    const lines = state.lines.filter((line) => {
      const key = state.group ? groupOf(line, state.group) : line.key;
      return key === null || !state.hidden.has(key);
    });
    state.zoomLoading = true;
    status.textContent = statusText(state, chart.lineCount);
    const isCurrent = () => gen === state.zoomGen;
    await readZoomed(lines, {
      range,
      view: view(),
      points: zoomPoints(chartBox.clientWidth, lines.length),
      query: state.loadedQuery,
      total: state.total,
      isCurrent,
      onProgress: scheduleRedraw,
    });
    if (!isCurrent()) return;
    state.zoomLoading = false;
    redraw();
  }

  // --- Live -----------------------------------------------------------------
  const stopLive = every(() => Math.max(5000, 3 * state.fetchMs), async () => {
    if (state.loading || state.zoom !== null) return;
    if (!state.lines.some((l) => l.run.live || l.run.status === "running")) {
      return;
    }
    const gen = state.gen;
    const page = await searchAgain(query(), state.lines.length);
    if (gen !== state.gen || state.zoom !== null) return;
    state.lines = [];
    state.failed = 0;
    state.total = page.total;
    take(page);
    redraw();
  });

  showCompared();
  // A metric and context in the address need no catalog: search at once.
  const early = state.metric !== "" && state.context !== null;
  if (early) {
    controls.setContexts([], state.context ?? "");
    search().catch((error) => toast(errorText(error), "error"));
  }
  loadCatalog()
    .then(() => early ? undefined : search())
    .catch((error) => toast(errorText(error), "error"));

  return () => {
    state.gen++;
    state.zoomGen++;
    stopLive();
    chart.destroy();
  };
}
