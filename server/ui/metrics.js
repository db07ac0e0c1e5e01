/// <reference lib="dom" />
// @ts-check
// The metrics explorer: one metric (and context) across runs, a line per
// matching run from POST /api/series/search, coloured and grouped by a
// param, EMA smoothing, per-group mean with a min/max or std band, x by
// step / epoch / relative time, log scale, a y range that leaves out
// outliers or is set by hand, and zoom. Lines can be dashed by a second
// field and split into a chart per value of a third (facets). More metrics
// (and contexts) can be charted below the first, a chart each (or each
// facet); the charts share the x range (a zoom on one zooms all), the
// cursor, the colours and the dashes.
//
// Lines are drawn first from their index previews (pages of the search,
// drawn as they arrive), then read again at the plot's pixel width, by
// themselves: the whole series, or the zoomed range. Until then a line is
// drawn as what it is, an envelope marked as a preview (series_draw.js).
// The newest search or zoom wins: older requests are aborted.
// This module wires the parts together and owns the state.

import { ApiError, checkQueryAnswer, newestRuns, searchRuns } from "./api.js";
import { showQueryWarnings } from "./query_problem.js";
import { LineChart } from "./chart.js";
import { errorText, h, toast } from "./dom.js";
import { every } from "./every.js";
import {
  buildCatalog,
  chooseContext,
  closeNames,
  contextsOf,
  defaultMetric,
  emptyCatalog,
  metricNames,
} from "./metrics_catalog.js";
import { ExplorerControls } from "./metrics_controls.js";
import { renderLegend } from "./metrics_legend.js";
import { lineKey, linesOf } from "./metrics_lines.js";
import {
  colorsOf,
  dashesOf,
  groupOf,
  groupTitle,
  isHidden,
  planChart,
} from "./metrics_plot.js";
import { Refiner } from "./metrics_refine.js";
import { searchAgain, searchLines } from "./metrics_search.js";
import {
  lineLimit,
  readSettings,
  seriesQuery,
  settingsSearch,
  statusText,
} from "./metrics_state.js";
import { fmtContextKey } from "./format.js";
import { canonical, compareValues } from "./params.js";
import { debounce } from "./tasks.js";
import { viewsBar } from "./views.js";
import { download } from "./explore_common.js";
import { toCsv } from "./explore_axes.js";

/** @import { BinarySeriesPage } from "./api_types.js" */
/** @import { Line } from "./metrics_lines.js" */
/** @import { DashEntry, Group, Plan } from "./metrics_plot.js" */
/** @import { ExplorerState, Panel } from "./metrics_state.js" */
/** @import { ReadTarget } from "./metrics_search.js" */
/** @import { Points, Projection } from "./series_draw.js" */

/** Runs sampled for the metric, context and param lists. */
const CATALOG_RUNS = 1000;
/**
 * Milliseconds between redraws while lines are refined: each redraw draws
 * every line (hundreds of milliseconds for hundreds of lines), which
 * competes with reading the next ones.
 */
const REFINE_REDRAW_MS = 1000;
/** Pixels high: the chart of one metric, and each of several. */
const CHART_HEIGHT = 460;
const STACKED_HEIGHT = 300;
/** Values of the facet field charted, at most, for each metric. */
const MAX_FACETS = 24;

/**
 * A chart below the first.
 * @typedef {object} MoreChart
 * @property {HTMLElement} element  Its title and its chart.
 * @property {HTMLElement} title
 * @property {HTMLElement} box  The chart's container.
 * @property {LineChart} chart
 */

/**
 * What one chart shows: the lines of a metric, or of a metric and a value
 * of the facet field.
 * @typedef {object} Cell
 * @property {number} panel  The metric's rank among those charted.
 * @property {string | null} facet  The value; null when not split.
 * @property {Line[]} lines
 */

/**
 * Mounts the explorer in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @param {import("./app.js").PageContext} app
 * @returns {() => void}
 */
export function mount(root, app) {
  /** @type {ExplorerState} */
  const state = {
    ...readSettings(location.search),
    catalog: emptyCatalog(),
    lines: [],
    total: 0,
    failed: 0,
    gen: 0,
    loading: false,
    refining: false,
    hidden: new Set(),
    zoom: null,
    fetchMs: 0,
    firstChart: false,
    allFull: false,
    loadedQuery: null,
    invalid: false,
    why: null,
  };
  /** Runs the catalog was built from. */
  let sampled = 0;
  /** The search's requests (previews); aborted by a newer search. */
  let searching = new AbortController();

  const controls = new ExplorerControls(state, {
    onSearch: () => searchNow(),
    onMetric: () => {
      fillContexts();
      searchNow();
    },
    onContext: () => searchNow(),
    contextsOf: (metric) => contextsOf(state.catalog, metric),
    onMore: () => searchNow(),
    onGroup: (group) => {
      state.group = group;
      saveUrl();
      redraw();
      refiner.pump();
    },
    onDash: (dash) => {
      state.dash = dash;
      saveUrl();
      redraw();
      refiner.pump();
    },
    onFacet: (facet) => {
      state.facet = facet;
      saveUrl();
      redraw();
      refiner.pump();
    },
    onAgg: (agg) => {
      state.agg = agg;
      saveUrl();
      redraw();
      refiner.pump();
    },
    onSmooth: (weight) => {
      state.smooth = weight;
      scheduleRedraw();
    },
    onSmoothDone: () => saveUrl(),
    onX: (x) => {
      state.x = x;
      state.zoom = null;
      for (const c of allCharts()) c.configure({ xKind: x });
      saveUrl();
      refine();
      redraw();
    },
    onLog: (log) => {
      state.log = log;
      for (const c of allCharts()) c.configure({ logY: log });
      saveUrl();
      redraw();
    },
    onYLimits: ({ robust, min, max }) => {
      Object.assign(state, { robust, yMin: min, yMax: max });
      for (const c of allCharts()) c.configure({ yLimits: yLimits() });
      saveUrl();
      redraw();
    },
  });
  const status = h("div.explorer-status", { role: "status" });
  const chartBox = h("div.chart-main");
  const firstTitle = h("h3.chart-title", { hidden: true });
  const moreBox = h("div.more-charts");
  /** @type {MoreChart[]} */
  const more = [];
  const empty = h("p.empty.chart-empty", { hidden: true });
  const legend = h("div.legend.panel");
  const exports = h(
    "div.chart-exports",
    {},
    h("button", {
      type: "button",
      text: "Export PNG",
      onclick: () => exportPng(),
    }),
    h("button", {
      type: "button",
      text: "Export CSV",
      onclick: () => exportCsv(),
    }),
  );
  root.append(
    h(
      "section.metrics-page",
      {},
      viewsBar("metrics", app),
      controls.form,
      controls.errorBox,
      controls.options,
      status,
      exports,
      h(
        "div.explorer-body",
        {},
        h("div.panel", {}, firstTitle, chartBox, empty, moreBox),
        legend,
      ),
    ),
  );
  /**
   * The charts as drawn (lines and axes, on white, one below the other)
   * as a PNG file.
   */
  function exportPng() {
    const plots = [chartBox, ...more.map((m) => m.box)].flatMap((box) => {
      const canvas = box.querySelector("canvas");
      return canvas ? [canvas] : [];
    });
    if (plots.length === 0) return toast("Nothing is drawn yet");
    const out = document.createElement("canvas");
    out.width = Math.max(...plots.map((p) => p.width));
    out.height = plots.reduce((sum, p) => sum + p.height, 0);
    const ctx = /** @type {CanvasRenderingContext2D} */ (out.getContext("2d"));
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, out.width, out.height);
    let top = 0;
    for (const plot of plots) {
      ctx.drawImage(plot, 0, top);
      top += plot.height;
    }
    out.toBlob((blob) => {
      if (blob) download("metrics.png", blob);
    }, "image/png");
  }

  /**
   * The drawn points as CSV: one row per point of each line (a group's
   * mean, a run's line), x as the axis shows it; an empty y is a gap.
   */
  function exportCsv() {
    const lines = allCharts().flatMap((c) => c.drawn());
    if (lines.length === 0) return toast("Nothing is drawn yet");
    download(
      "metrics.csv",
      new Blob([
        toCsv(
          ["line", state.x, "value"],
          lines.flatMap((line) =>
            line.xs.map((x, i) => [line.label, x, line.ys[i]])
          ),
        ),
      ], { type: "text/csv" }),
    );
  }

  const onResize = debounce(() => {
    refine();
    redraw();
  }, 200);
  /**
   * A chart of the explorer: sharing the cursor with the others, and its
   * zoom through {@link zoom}.
   * @param {HTMLElement} box
   * @param {number} height
   */
  const newChart = (box, height) =>
    new LineChart(box, {
      height,
      xKind: state.x,
      logY: state.log,
      yLimits: yLimits(),
      sync: { key: "aim-metrics" },
      onZoom: (range) => zoom(range),
      onResize,
    });
  const chart = newChart(
    chartBox,
    state.more.length ? STACKED_HEIGHT : CHART_HEIGHT,
  );

  /** The chart of the first metric, then those of the others. */
  function allCharts() {
    return [chart, ...more.map((m) => m.chart)];
  }

  /** @returns {Panel[]} The metrics charted, the first one first. */
  function panels() {
    return [{ metric: state.metric, context: controls.context }, ...state.more];
  }

  /** @param {Panel} panel */
  const panelTitle = (panel) =>
    `${panel.metric} · ${
      panel.context ? fmtContextKey(panel.context) : "any context"
    }`;

  /** The first chart's height now. */
  let firstHeight = state.more.length ? STACKED_HEIGHT : CHART_HEIGHT;

  /**
   * A chart for each title, the first one's first; the titles shown when
   * there are several, each chart as high as their number allows.
   * @param {string[]} titles
   */
  function layoutCharts(titles) {
    const wanted = Math.max(1, titles.length) - 1;
    if (more.length !== wanted) {
      while (more.length > wanted) more.pop()?.chart.destroy();
      while (more.length < wanted) {
        const box = h("div.chart-main");
        const title = h("h3.chart-title");
        const element = h("div.chart-more", {}, title, box);
        moreBox.append(element);
        const added = newChart(box, STACKED_HEIGHT);
        // A chart added for a new facet value shows the others' x range.
        if (state.zoom) added.zoomTo(state.zoom);
        more.push({ element, title, box, chart: added });
      }
      moreBox.replaceChildren(...more.map((m) => m.element));
    }
    more.forEach((m, i) => m.title.textContent = titles[i + 1] ?? "");
    firstTitle.hidden = titles.length < 2;
    firstTitle.textContent = titles[0] ?? "";
    const height = titles.length < 2 ? CHART_HEIGHT : STACKED_HEIGHT;
    if (height !== firstHeight) {
      firstHeight = height;
      chart.configure({ height });
    }
  }

  /** @returns {import("./chart.js").YLimits} */
  function yLimits() {
    return { robust: state.robust, min: state.yMin, max: state.yMax };
  }

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
      catalogLoaded = loadCatalog();
      catalogLoaded.then(searchNow).catch(report);
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
    sampled = page.runs.length;
    controls.setMetricNames(metricNames(state.catalog));
    if (!state.metric) {
      const metric = defaultMetric(state.catalog);
      if (metric !== null) {
        state.metric = metric;
        controls.metric = metric;
      }
    }
    fillContexts();
    controls.refreshMore();
    controls.setGroups(state.catalog.params, state);
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

  // --- Search: index previews first -----------------------------------------
  /** @returns {string} */
  const query = () => seriesQuery(state, controls.context);

  /**
   * Which chart a line is on: the first metric whose name and context it
   * has; -1 for none.
   * @param {Line} line
   * @param {Panel[]} charted
   * @returns {number}
   */
  const chartOf = (line, charted) =>
    charted.findIndex((p) =>
      p.metric === line.series.name &&
      (p.context === "" || p.context === canonical(line.series.context))
    );

  function searchNow() {
    search().catch(report);
  }

  async function search() {
    state.metric = controls.metric;
    state.runQ = controls.runQuery;
    state.more = controls.more;
    saveUrl();
    searching.abort();
    refiner.stop();
    searching = new AbortController();
    const signal = searching.signal;
    const gen = ++state.gen;
    Object.assign(state, {
      zoom: null,
      lines: [],
      failed: 0,
      total: 0,
      loading: false,
      refining: false,
      allFull: false,
      invalid: false,
      why: null,
      loadedQuery: null,
    });
    layoutCharts(cells().cells.map(cellTitle));
    controls.hideProblem();
    if (!state.metric) {
      redraw();
      return;
    }
    state.loading = true;
    chartBox.dataset.loading = "true";
    status.textContent = "Loading…";
    const q = query();
    const started = performance.now();
    try {
      const answer = await checkQueryAnswer(state.runQ, {
        kind: "metrics",
        signal,
      });
      showQueryWarnings(
        controls.errorBox,
        answer.ok ? answer.warnings ?? [] : [],
      );
      const problem = answer.ok ? null : answer;
      if (problem !== null) {
        state.loading = false;
        state.invalid = true;
        controls.showProblem(problem, state.runQ);
        redraw();
        return;
      }
      state.loadedQuery = q;
      refine();
      await searchLines(q, {
        signal,
        max: lineLimit(state),
        onPage: (page, offset) => {
          if (offset === 0) state.total = page.total;
          take(page, offset);
          // The first page at once: the chart appears while the rest loads.
          offset === 0 ? redraw() : scheduleRedraw();
          // Lines are read at pixel resolution as soon as they are known.
          refiner.pump();
        },
      });
      state.fetchMs = performance.now() - started;
      state.loading = false;
      redraw();
      markDrawn("aim:all-lines");
      if (state.total === 0) await explain(gen);
      else {
        refiner.pump();
        settled();
      }
    } catch (error) {
      if (signal.aborted) return;
      state.loading = false;
      if (!(error instanceof ApiError)) throw error;
      controls.showProblem(error, q);
      redraw();
    } finally {
      if (gen === state.gen) delete chartBox.dataset.loading;
    }
  }

  /**
   * @param {BinarySeriesPage} page
   * @param {number} offset
   */
  function take(page, offset) {
    const { lines, failed } = linesOf(page, offset);
    state.lines.push(...lines);
    state.failed += failed;
    refiner.found(lines);
  }

  /**
   * Says why no series matches, when it can: no metric of that name (and
   * the close ones), no such context, or no run passing the filter.
   * @param {number} gen
   */
  async function explain(gen) {
    await catalogLoaded.catch(() => {});
    const metric = state.catalog.metrics.get(state.metric);
    const sample = state.hashes.length
      ? "the selected runs"
      : sampled < CATALOG_RUNS
      ? "any run"
      : `the ${CATALOG_RUNS.toLocaleString("en-US")} newest runs`;
    /** @type {string | null} */
    let why = null;
    if (metric === undefined) {
      const close = closeNames(state.metric, metricNames(state.catalog));
      why = `no metric is named ${JSON.stringify(state.metric)} in ${sample}${
        close.length
          ? ` (did you mean ${
            close.map((n) => JSON.stringify(n)).join(" or ")
          }?)`
          : ""
      }`;
    } else if (controls.context && !metric.contexts.has(controls.context)) {
      why = `${JSON.stringify(state.metric)} has no context ${
        fmtContextKey(controls.context)
      } in ${sample}`;
    } else if (state.runQ.trim()) {
      const runs = await searchRuns({ q: state.runQ, limit: 0 });
      why = runs.total === 0
        ? "the run filter matches no run"
        : `none of the ${
          runs.total.toLocaleString("en-US")
        } runs the filter matches has this metric`;
    }
    if (gen !== state.gen) return;
    state.why = why;
    redraw();
  }

  // --- Refining: every visible line at pixel resolution ---------------------
  /** The lines the chart shows: a mean of all counts every one. */
  function visibleLines() {
    return state.hidden.size === 0
      ? state.lines
      : state.lines.filter((line) => !isHidden(line, state));
  }

  const refiner = new Refiner({
    query: () => state.loadedQuery,
    visible: visibleLines,
    all: () => state.lines,
    loading: () => state.loading,
    onRead: (line, points, t) => keep(line, points, t),
    onBusy: (busy) => {
      state.refining = busy;
      if (busy) showStatus();
      else settled();
    },
    onError: report,
  });

  /**
   * Once every line found is read for the view (or could not be): the last
   * redraw, and the mark of every line at pixel resolution, after a search
   * (once) or for a zoom.
   */
  function settled() {
    if (state.loading || state.refining) return;
    const drawn = redraw();
    if (drawn.lines.length === 0 || drawn.coarse > 0) return;
    if (state.zoom !== null) markDrawn("aim:zoom-full");
    else if (!state.allFull) {
      state.allFull = true;
      markDrawn("aim:all-lines-full");
    }
  }

  /**
   * The view changed (a search, a zoom, an axis, the plot's width): the
   * reads for the old one are aborted, the visible lines read for the new.
   */
  function refine() {
    refiner.restart(
      state.loadedQuery === null
        ? null
        : { points: chart.plotWidth, zoom: state.zoom, view: view() },
    );
  }

  /**
   * Keeps points read at pixel resolution for `t` as the line's.
   * @param {Line} line
   * @param {Points} points
   * @param {ReadTarget} t
   */
  function keep(line, points, t) {
    const read = { points, width: t.points, range: t.zoom };
    if (t.zoom) line.zoomed = read;
    else {
      line.full = read;
      line.stale = false;
    }
    planSoon();
    scheduleRedraw(REFINE_REDRAW_MS);
  }

  // --- Drawing --------------------------------------------------------------
  /** @type {ReturnType<typeof setTimeout> | null} */
  let redrawTimer = null;
  /** Redraws in `ms`, unless a redraw is already due. */
  function scheduleRedraw(ms = 120) {
    if (redrawTimer === null) {
      redrawTimer = setTimeout(() => {
        redrawTimer = null;
        redraw();
      }, ms);
    }
  }

  /** @type {Plan} */
  let shown = { groups: [], dashed: [], lines: [], coarse: 0, clipped: 0 };
  /** Values of the facet field left without a chart. */
  let uncharted = 0;
  /** Whether every chart has had a line drawn yet: the mark of the first. */
  let everyChart = false;

  /**
   * The charts' contents: a cell for each metric, or for each metric and
   * value of the facet field (in order of value, {@link MAX_FACETS} at
   * most); and how many values were left without a chart.
   * @returns {{ cells: Cell[], uncharted: number }}
   */
  function cells() {
    const charted = panels();
    /** @type {Line[][]} */
    const byPanel = charted.length === 1
      ? [state.lines]
      : charted.map(() => []);
    if (charted.length > 1) {
      for (const line of state.lines) {
        byPanel[chartOf(line, charted)]?.push(line);
      }
    }
    if (!state.facet) {
      return {
        cells: byPanel.map((lines, panel) => ({ panel, facet: null, lines })),
        uncharted: 0,
      };
    }
    /** @type {Cell[]} */
    const split = [];
    let left = 0;
    byPanel.forEach((lines, panel) => {
      /** @type {Map<string, Line[]>} */
      const byValue = new Map();
      for (const line of lines) {
        const value = /** @type {string} */ (groupOf(line, state.facet));
        const those = byValue.get(value);
        if (those) those.push(line);
        else byValue.set(value, [line]);
      }
      const values = [...byValue.keys()].sort(compareValues);
      left = Math.max(left, values.length - MAX_FACETS);
      // A metric without lines yet keeps its (empty) chart.
      if (values.length === 0) split.push({ panel, facet: null, lines });
      for (const facet of values.slice(0, MAX_FACETS)) {
        split.push({ panel, facet, lines: byValue.get(facet) ?? [] });
      }
    });
    return { cells: split, uncharted: left };
  }

  /**
   * A chart's title: its metric and context, and its value of the facet
   * field.
   * @param {Cell} cell
   * @returns {string}
   */
  function cellTitle(cell) {
    const panel = /** @type {Panel} */ (panels()[cell.panel]);
    return cell.facet === null
      ? panelTitle(panel)
      : `${panelTitle(panel)} · ${groupTitle(state.facet)} = ${cell.facet}`;
  }

  /**
   * What each chart is to draw now, the first one's first; each line's
   * drawing is kept for the next plan while its points and the scale stay.
   * A run (or group) has one colour, and a value of the dash field one
   * pattern, on every chart.
   * @returns {{ cells: Cell[], plans: Plan[], uncharted: number }}
   */
  function plan() {
    const split = cells();
    const several = split.cells.length > 1;
    const charted = panels();
    const colors = several ? colorsOf(state.lines, state.group) : null;
    const dashes = dashesOf(state.lines, state.dash);
    const plans = split.cells.map((cell) =>
      planChart(cell.lines, {
        group: state.group,
        dash: state.dash,
        dashes,
        agg: state.agg,
        hidden: state.hidden,
        contextChosen: charted[cell.panel]?.context !== "",
        view: view(),
        zoom: state.zoom,
        width: chart.plotWidth,
        ...(colors ? { colors } : {}),
        metricNamed: charted.length > 1,
      })
    );
    return { ...split, plans };
  }

  let planning = false;
  /**
   * Plans soon, without drawing: lines just read are drawn (in memory)
   * while the next ones are being read, so the last redraw has only the
   * last ones to draw.
   */
  function planSoon() {
    if (planning) return;
    planning = true;
    setTimeout(() => {
      planning = false;
      plan();
    });
  }

  /**
   * Sets the mark `name` once the chart has drawn (uPlot draws in a
   * microtask queued by setData, which runs before this one).
   * @param {string} name
   */
  function markDrawn(name) {
    queueMicrotask(() => performance.mark(name));
  }

  /**
   * The legend's entries across the charts: a metric's charts (one per
   * facet value) add up, and the first metric with an entry counts it, as
   * the others chart the same runs.
   * @param {Cell[]} split
   * @param {Plan[]} plans
   * @returns {{ groups: Group[], dashed: DashEntry[] }}
   */
  function legendOf(split, plans) {
    /** @type {Map<string, { panel: number, group: Group }>} */
    const groups = new Map();
    /** @type {Map<string, { panel: number, entry: DashEntry }>} */
    const dashed = new Map();
    plans.forEach((p, i) => {
      const panel = split[i]?.panel ?? 0;
      for (const g of p.groups) {
        const seen = groups.get(g.key);
        if (seen === undefined) {
          groups.set(g.key, {
            panel,
            group: { ...g, members: [...g.members] },
          });
        } else if (seen.panel === panel) seen.group.members.push(...g.members);
      }
      for (const d of p.dashed) {
        const seen = dashed.get(d.key);
        if (seen === undefined) dashed.set(d.key, { panel, entry: { ...d } });
        else if (seen.panel === panel) seen.entry.count += d.count;
      }
    });
    const merged = [...groups.values()].map((seen) => seen.group);
    if (state.group) merged.sort((a, b) => compareValues(a.label, b.label));
    return {
      groups: merged,
      dashed: [...dashed.values()].map((seen) => seen.entry)
        .sort((a, b) => compareValues(a.label, b.label)),
    };
  }

  /** @returns {Plan} */
  function redraw() {
    if (redrawTimer !== null) {
      clearTimeout(redrawTimer);
      redrawTimer = null;
    }
    const { cells: split, plans, uncharted: left } = plan();
    layoutCharts(split.map(cellTitle));
    const charts = allCharts();
    plans.forEach((p, i) =>
      charts[i]?.setData(p.lines, { keepZoom: state.zoom !== null })
    );
    const planned = {
      ...legendOf(split, plans),
      lines: plans.flatMap((p) => p.lines),
      coarse: plans.reduce((sum, p) => sum + p.coarse, 0),
      clipped: plans.reduce((sum, p) => sum + p.clipped, 0),
    };
    shown = planned;
    uncharted = left;
    chartBox.dataset.colors = String(
      new Set(planned.lines.map((l) => l.color)).size,
    );
    renderLegend(legend, planned.groups, {
      title: state.group ? `Groups by ${groupTitle(state.group)}` : "Runs",
      grouped: state.group !== "",
      hidden: state.hidden,
      dashed: planned.dashed,
      dashTitle: `Strokes by ${groupTitle(state.dash)}`,
      onToggle: (key) => {
        if (state.hidden.has(key)) state.hidden.delete(key);
        else state.hidden.add(key);
        redraw();
        refiner.pump();
      },
    });
    showStatus();
    if (!state.firstChart && planned.lines.length > 0) {
      state.firstChart = true;
      markDrawn("aim:first-chart");
    }
    if (!everyChart && plans.length > 0 && plans.every((p) => p.lines.length)) {
      everyChart = true;
      markDrawn("aim:every-chart");
    }
    return planned;
  }

  /** The status line; with nothing drawn, the chart's place says why instead. */
  function showStatus() {
    const text = statusText(state, {
      drawn: shown.lines.length,
      coarse: shown.coarse,
      clipped: shown.clipped,
      uncharted,
    });
    const nothing = shown.lines.length === 0 && !state.loading;
    status.textContent = nothing ? "" : text;
    empty.hidden = !nothing;
    empty.textContent = nothing ? text : "";
  }

  // --- Zoom: the range at pixel resolution ----------------------------------
  /** @param {[number, number] | null} range */
  function zoom(range) {
    state.zoom = range;
    for (const c of allCharts()) c.zoomTo(range);
    // The reads go out first; meanwhile the points drawn now are drawn at
    // the new scale: envelopes where too coarse, until the range is read.
    // A reset draws the whole series kept.
    refine();
    redraw();
  }

  // --- Live -----------------------------------------------------------------
  const stopLive = every(() => Math.max(5000, 3 * state.fetchMs), async () => {
    if (state.loading || state.refining || state.zoom !== null) return;
    if (!state.lines.some((l) => l.run.live || l.run.status === "running")) {
      return;
    }
    const gen = state.gen;
    const q = state.loadedQuery;
    if (q === null) return;
    const page = await searchAgain(
      q,
      state.lines.length,
      lineLimit(state),
      searching.signal,
    );
    if (gen !== state.gen || state.zoom !== null) return;
    // Keep what was read of each line; a run with newer data reads again.
    const before = new Map(state.lines.map((line) => [line.key, line]));
    state.lines = [];
    state.failed = 0;
    state.total = page.total;
    take(page, 0);
    for (const line of state.lines) {
      const old = before.get(lineKey(line));
      if (old === undefined) continue;
      line.full = old.full;
      line.stale = old.stale || old.run.data_version !== line.run.data_version;
    }
    redraw();
    refine();
  });

  /** @param {unknown} error */
  function report(error) {
    if (error instanceof Error && error.name === "AbortError") return;
    toast(errorText(error), "error");
  }

  showCompared();
  // A metric and context in the address need no catalog: search at once.
  const early = state.metric !== "" && state.context !== null;
  if (early) {
    controls.setContexts([], state.context ?? "");
    searchNow();
  }
  let catalogLoaded = loadCatalog();
  catalogLoaded
    .then(() => early ? undefined : searchNow())
    .catch(report);

  return () => {
    state.gen++;
    searching.abort();
    refiner.stop();
    stopLive();
    for (const c of allCharts()) c.destroy();
  };
}
