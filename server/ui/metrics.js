// The metrics explorer: one metric (and context) across runs, a line per
// matching run from POST /api/series/search (fetched in pages, drawn as they
// arrive), coloured and grouped by a param, EMA smoothing, per-group mean
// with a min/max or std band, x by step / epoch / relative time, log scale,
// and zoom that re-reads the range from each run at screen resolution.

import {
  api,
  ApiError,
  checkQuery,
  newestRuns,
  qs,
  searchRuns,
} from "./api.js";
import { LineChart } from "./chart.js";
import {
  at,
  canonical,
  epochSeconds,
  every,
  fill,
  fmtContext,
  fmtValue,
  h,
  leaves,
  link,
  num,
  PALETTE,
  pool,
  toast,
} from "./util.js";

/** Lines per search request; pages are fetched side by side. */
const PAGE = 50;
/** A small first page: the chart appears while the rest loads. */
const FIRST_PAGE = 10;
const PARALLEL = 2;
/** Buckets per line for the overview (M4: up to 4 points each). */
const POINTS = 100;
const MAX_LINES = 1000;
/** Runs sampled for the metric, context and param lists. */
const CATALOG_RUNS = 1000;
const GRID = 200;

/** Mounts the explorer in `root`; returns its unmount function. */
export function mount(root) {
  const params = new URLSearchParams(location.search);
  const state = {
    metric: params.get("metric") ?? "",
    context: params.get("context"),
    runQ: params.get("q") ?? "",
    hashes: (params.get("runs") ?? "").split(",").filter((x) =>
      /^[0-9a-f]{8,64}$/.test(x)
    ),
    group: params.get("group") ?? "",
    agg: params.get("agg") ?? "",
    smooth: Number(params.get("smooth") ?? 0) || 0,
    x: params.get("x") ?? "step",
    log: params.get("log") === "1",
    catalog: { metrics: new Map(), params: [] },
    lines: [],
    total: 0,
    failed: 0,
    gen: 0,
    loading: false,
    hidden: new Set(),
    zoom: null,
    zoomGen: 0,
    fetchMs: 0,
    firstChart: false,
  };

  // --- Controls -----------------------------------------------------------------
  const metricInput = h("input.metric", {
    type: "text",
    value: state.metric,
    list: "aim-metric-names",
    placeholder: "metric name",
    "aria-label": "Metric",
    autocomplete: "off",
  });
  const names = h("datalist#aim-metric-names");
  const contextSelect = h("select.context", { "aria-label": "Context" });
  const runInput = h("input.runq", {
    type: "text",
    value: state.runQ,
    placeholder: "run filter, e.g. run.hparams.lr < 0.01",
    "aria-label": "Run filter",
    spellcheck: false,
  });
  const compareChip = h("span.compare-chip");
  const groupSelect = h("select.group", { "aria-label": "Group by" });
  const aggSelect = h(
    "select.agg",
    { "aria-label": "Aggregate" },
    h("option", { value: "", text: "every line" }),
    h("option", { value: "minmax", text: "group mean, min–max band" }),
    h("option", { value: "std", text: "group mean ± std band" }),
  );
  aggSelect.value = state.agg;
  const smoothInput = h("input", {
    type: "range",
    min: "0",
    max: "0.99",
    step: "0.01",
    value: String(state.smooth),
    "aria-label": "Smoothing",
  });
  const smoothLabel = h("span.smooth-value", { text: state.smooth.toFixed(2) });
  const xButtons = ["step", "epoch", "time"].map((kind) =>
    h("button", {
      type: "button",
      text: kind === "time" ? "relative time" : kind,
      class: kind === state.x ? "on" : "",
      dataset: { x: kind },
      onclick: () => {
        state.x = kind;
        for (const b of xButtons) {
          b.classList.toggle("on", b.dataset.x === kind);
        }
        state.zoom = null;
        chart.configure({ xKind: kind });
        saveUrl();
        redraw();
      },
    })
  );
  const logBox = h("input", { type: "checkbox", checked: state.log });
  const errorBox = h("div.query-error", { hidden: true, role: "alert" });
  const status = h("div.explorer-status");
  const chartBox = h("div.chart-main");
  const legend = h("div.legend.panel");

  root.append(
    h(
      "section.metrics-page",
      {},
      h(
        "form.explorer-controls",
        { onsubmit: (e) => (e.preventDefault(), search()) },
        h("label.field", {}, h("span", { text: "Metric" }), metricInput, names),
        h("label.field", {}, h("span", { text: "Context" }), contextSelect),
        h("label.field", {}, h("span", { text: "Runs" }), runInput),
        compareChip,
        h("button.primary", { type: "submit", text: "Show" }),
      ),
      errorBox,
      h(
        "div.explorer-controls",
        {},
        h("label.field", {}, h("span", { text: "Group by" }), groupSelect),
        h("label.field", {}, h("span", { text: "Show" }), aggSelect),
        h(
          "label.field",
          {},
          h("span", { text: "Smoothing" }),
          smoothInput,
          smoothLabel,
        ),
        h(
          "span.field",
          {},
          h("span", { text: "X" }),
          h("span.segmented", {}, xButtons),
        ),
        h("label.check", {}, logBox, " log scale"),
      ),
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

  metricInput.addEventListener("change", () => {
    fillContexts();
    search();
  });
  contextSelect.addEventListener("change", () => search());
  groupSelect.addEventListener("change", () => {
    state.group = groupSelect.value;
    saveUrl();
    redraw();
  });
  aggSelect.addEventListener("change", () => {
    state.agg = aggSelect.value;
    saveUrl();
    redraw();
  });
  smoothInput.addEventListener("input", () => {
    state.smooth = Number(smoothInput.value);
    smoothLabel.textContent = state.smooth.toFixed(2);
    scheduleRedraw();
  });
  smoothInput.addEventListener("change", () => saveUrl());
  logBox.addEventListener("change", () => {
    state.log = logBox.checked;
    chart.configure({ logY: state.log });
    saveUrl();
    redraw();
  });

  function saveUrl() {
    const search = new URLSearchParams();
    const put = (k, v) =>
      v !== "" && v !== null && v !== undefined && search.set(k, String(v));
    put("metric", state.metric);
    put("context", contextSelect.value);
    put("q", state.runQ);
    put("runs", state.hashes.join(","));
    put("group", state.group);
    put("agg", state.agg);
    if (state.smooth > 0) put("smooth", state.smooth);
    if (state.x !== "step") put("x", state.x);
    if (state.log) put("log", "1");
    history.replaceState(null, "", `${location.pathname}?${search}`);
  }

  function renderCompareChip() {
    compareChip.replaceChildren();
    if (state.hashes.length === 0) return;
    compareChip.append(
      h("span.tag", {
        text: `${state.hashes.length} selected run${
          state.hashes.length === 1 ? "" : "s"
        }`,
      }),
      h("button.link", {
        type: "button",
        text: "all runs",
        onclick: () => {
          state.hashes = [];
          renderCompareChip();
          loadCatalog().then(search);
        },
      }),
    );
  }

  // --- Catalog: metric names, contexts, params ----------------------------------
  async function loadCatalog() {
    const page = state.hashes.length
      ? await searchRuns({
        q: `run.hash in ${JSON.stringify(state.hashes)}`,
        limit: CATALOG_RUNS,
      })
      : await newestRuns({ q: "", limit: CATALOG_RUNS });
    const metrics = new Map();
    const paramCounts = new Map();
    for (const run of page.runs) {
      for (const m of run.metrics) {
        if (!metrics.has(m.name)) {
          metrics.set(m.name, { n: 0, contexts: new Map() });
        }
        const entry = metrics.get(m.name);
        entry.n++;
        entry.contexts.set(canonical(m.context), m.context);
      }
      for (const [path, value] of leaves(run.params)) {
        if (value !== null && typeof value === "object") continue;
        const key = path.join(".");
        paramCounts.set(key, (paramCounts.get(key) ?? 0) + 1);
      }
    }
    state.catalog = {
      metrics,
      params: [...paramCounts.keys()].sort().slice(0, 500),
    };
    const names = [...metrics.entries()].sort((a, b) => b[1].n - a[1].n);
    const userNames = names.filter(([, e]) =>
      ![...e.contexts.values()].every((c) => c?.system === true)
    );
    namesList(names.map(([n]) => n));
    if (!state.metric && names.length) {
      state.metric = (userNames.find(([n]) =>
        n === "loss"
      ) ?? userNames[0] ?? names[0])[0];
      metricInput.value = state.metric;
    }
    fillContexts();
    fillGroups();
  }

  function namesList(list) {
    names.replaceChildren(...list.map((n) => h("option", { value: n })));
  }

  function fillContexts() {
    const entry = state.catalog.metrics.get(metricInput.value.trim());
    const contexts = entry
      ? [...entry.contexts.entries()].sort((a, b) => a[0].localeCompare(b[0]))
      : [];
    const current = state.context ?? contextSelect.value;
    contextSelect.replaceChildren(
      h("option", { value: "", text: "any context" }),
      ...contexts.map(([key, ctx]) =>
        h("option", { value: key, text: fmtContext(ctx) })
      ),
    );
    if (contexts.some(([key]) => key === current)) {
      contextSelect.value = current;
    } else if (current && state.context !== null) {
      // From the address: keep it even if the sampled runs lack it.
      contextSelect.append(
        h("option", { value: current, text: _contextLabel(current) }),
      );
      contextSelect.value = current;
    } else if (state.context === null && contexts.length === 1) {
      contextSelect.value = contexts[0][0];
    } else if (state.context === null && contexts.length > 1) {
      // Prefer a training context, as most people look at it first.
      const train = contexts.find(([, c]) => c.subset === "train");
      contextSelect.value = train ? train[0] : "";
    } else contextSelect.value = "";
    state.context = null;
  }

  function fillGroups() {
    const options = [
      ["", "nothing (a colour per run)"],
      ["attr:experiment", "experiment"],
      ["attr:status", "status"],
      ["attr:context", "context"],
      ...state.catalog.params.map((p) => [`param:${p}`, p]),
    ];
    groupSelect.replaceChildren(
      ...options.map(([value, text]) => h("option", { value, text })),
    );
    if (state.group && !options.some(([v]) => v === state.group)) {
      groupSelect.append(
        h("option", {
          value: state.group,
          text: state.group.replace(/^\w+:/, ""),
        }),
      );
    }
    groupSelect.value = state.group;
  }

  // --- Search ------------------------------------------------------------------------
  function query() {
    const parts = [`metric.name == ${JSON.stringify(state.metric)}`];
    const context = contextSelect.value;
    if (context) parts.push(`metric.context == ${context}`);
    if (state.hashes.length) {
      parts.push(`run.hash in ${JSON.stringify(state.hashes)}`);
    }
    if (state.runQ.trim()) parts.push(`(${state.runQ})`);
    return parts.join(" and ");
  }

  async function search() {
    state.metric = metricInput.value.trim();
    state.runQ = runInput.value;
    saveUrl();
    const gen = ++state.gen;
    state.zoom = null;
    state.zoomGen++;
    state.lines = [];
    state.failed = 0;
    state.total = 0;
    errorBox.hidden = true;
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
      if (gen !== state.gen) return;
      if (problem !== null) {
        state.loading = false;
        showProblem(problem, state.runQ);
        redraw();
        return;
      }
      const first = await api("api/series/search", {
        body: { q, points: POINTS, limit: FIRST_PAGE, offset: 0 },
      });
      if (gen !== state.gen) return;
      state.total = first.total;
      take(first);
      redraw();
      const wanted = Math.min(first.total, MAX_LINES);
      const offsets = [];
      for (let offset = FIRST_PAGE; offset < wanted; offset += PAGE) {
        offsets.push(offset);
      }
      await pool(
        offsets.map((offset) => async () => {
          if (gen !== state.gen) return;
          const page = await api("api/series/search", {
            body: {
              q,
              points: POINTS,
              limit: Math.min(PAGE, wanted - offset),
              offset,
            },
          });
          if (gen !== state.gen) return;
          take(page);
          scheduleRedraw();
        }),
        PARALLEL,
      );
      if (gen !== state.gen) return;
      state.fetchMs = performance.now() - started;
      state.loading = false;
      redraw();
      performance.mark("aim:all-lines");
    } catch (error) {
      if (gen !== state.gen) return;
      state.loading = false;
      if (!(error instanceof ApiError)) throw error;
      showProblem(error, query());
      redraw();
    } finally {
      if (gen === state.gen) delete chartBox.dataset.loading;
    }
  }

  function take(page) {
    for (const item of page.series) {
      if (item.error || !item.data) {
        state.failed++;
        continue;
      }
      state.lines.push({
        key: keyOf(item),
        run: item.run,
        series: item.series,
        data: item.data,
        zoomed: null,
      });
    }
  }

  function keyOf(item) {
    return `${item.run.hash}\u0000${item.series.name}\u0000${
      canonical(item.series.context)
    }`;
  }

  function showProblem(problem, source) {
    errorBox.replaceChildren(h("div.msg", { text: problem.message }));
    if (problem.column) {
      errorBox.append(
        h(
          "pre.caret",
          {},
          source,
          "\n",
          " ".repeat(Math.max(0, problem.column - 1)) + "^",
        ),
      );
    }
    errorBox.dataset.column = String(problem.column ?? "");
    errorBox.hidden = false;
    status.textContent = "";
  }

  // --- Drawing -----------------------------------------------------------------------
  let redrawTimer = null;
  function scheduleRedraw() {
    if (redrawTimer === null) {
      redrawTimer = setTimeout(() => {
        redrawTimer = null;
        redraw();
      }, 120);
    }
  }

  /** Series points on the chosen x axis, smoothed; log scale drops values ≤ 0. */
  function project(line) {
    const data = line.zoomed ?? line.data;
    const n = data.values.length;
    const xs = [], ys = [];
    const start = epochSeconds(line.run.created_at) ?? 0;
    for (let i = 0; i < n; i++) {
      let x;
      if (state.x === "epoch") x = data.epochs?.[i];
      else if (state.x === "time") {
        x = data.times ? data.times[i] - start : undefined;
      } else x = data.steps[i];
      if (x === null || x === undefined) continue;
      const v = num(data.values[i]);
      xs.push(x);
      ys.push(
        v === null || !Number.isFinite(v) || (state.log && v <= 0) ? null : v,
      );
    }
    return { xs, ys: state.smooth > 0 ? ema(ys, state.smooth) : ys };
  }

  function groupOf(line) {
    const g = state.group;
    if (!g) return null;
    if (g === "attr:experiment") return line.run.experiment || "(none)";
    if (g === "attr:status") return line.run.status;
    if (g === "attr:context") return fmtContext(line.series.context);
    if (g.startsWith("param:")) {
      const value = at(line.run.params, g.slice(6).split("."));
      return value === undefined ? "(missing)" : fmtValue(value);
    }
    return null;
  }

  function groupTitle() {
    return state.group.replace(/^\w+:/, "");
  }

  function lineLabel(line) {
    const name = line.run.name || line.run.hash.slice(0, 8);
    return contextSelect.value
      ? name
      : `${name} ${fmtContext(line.series.context)}`;
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
      await pool(
        lacking.map((line) => async () => {
          if (gen !== state.gen) return;
          line.data = await api(`api/runs/${line.run.hash}/series${
            qs({
              name: line.series.name,
              context: JSON.stringify(line.series.context),
              points: POINTS,
            })
          }`);
        }),
        4,
      );
    } finally {
      filling = false;
    }
    if (gen === state.gen) redraw();
  }

  function redraw() {
    fillAxes().catch((error) => toast(error.message, "error"));
    const groups = new Map();
    state.lines.forEach((line) => {
      const group = groupOf(line);
      const key = group ?? line.key;
      if (!groups.has(key)) {
        groups.set(key, {
          key,
          label: group ?? lineLabel(line),
          members: [],
          line,
        });
      }
      groups.get(key).members.push(line);
    });
    const ordered = [...groups.values()];
    if (state.group) ordered.sort((a, b) => compareValues(a.label, b.label));
    ordered.forEach((g, i) => (g.color = PALETTE[i % PALETTE.length]));
    let chartLines = [], bands = [];
    if (state.agg && state.group) {
      for (const g of ordered) {
        if (state.hidden.has(g.key)) continue;
        const agg = aggregate(g.members.map(project), state.agg);
        if (agg === null) continue;
        chartLines.push({
          xs: agg.xs,
          ys: agg.mean,
          color: g.color,
          width: 2,
          label: `${g.label} (mean of ${g.members.length})`,
        });
        bands.push({ xs: agg.xs, lo: agg.lo, hi: agg.hi, color: g.color });
      }
    } else {
      for (const g of ordered) {
        for (const line of g.members) {
          if (state.hidden.has(g.key)) continue;
          const { xs, ys } = project(line);
          chartLines.push({
            xs,
            ys,
            color: g.color,
            width: 1,
            label: state.group
              ? `${lineLabel(line)} · ${g.label}`
              : lineLabel(line),
          });
        }
      }
    }
    if (state.agg && !state.group && state.lines.length) {
      // A mean over every run: one group.
      const agg = aggregate(state.lines.map(project), state.agg);
      if (agg) {
        chartLines = [{
          xs: agg.xs,
          ys: agg.mean,
          color: PALETTE[0],
          width: 2,
          label: `mean of ${state.lines.length}`,
        }];
        bands = [{ xs: agg.xs, lo: agg.lo, hi: agg.hi, color: PALETTE[0] }];
      }
    }
    chart.setData(chartLines, bands, { keepZoom: state.zoom !== null });
    chartBox.dataset.colors = String(
      new Set(chartLines.map((l) => l.color)).size,
    );
    renderLegend(ordered);
    renderStatus(chartLines.length);
    if (!state.firstChart && chartLines.length > 0) {
      state.firstChart = true;
      performance.mark("aim:first-chart");
    }
  }

  function renderStatus(drawn) {
    const parts = [];
    if (state.metric) {
      parts.push(
        `${state.lines.length.toLocaleString("en-US")} of ${
          state.total.toLocaleString("en-US")
        } series`,
      );
      if (drawn !== state.lines.length) parts.push(`${drawn} lines drawn`);
    }
    if (state.loading) parts.push("loading…");
    if (state.total > MAX_LINES) {
      parts.push(
        `showing the first ${MAX_LINES}: narrow the run filter to see others`,
      );
    }
    if (state.failed) parts.push(`${state.failed} could not be read`);
    if (state.zoom) {
      parts.push(
        state.zoomLoading
          ? "reading the zoomed range…"
          : "zoomed: double-click to reset",
      );
    }
    status.textContent = parts.join(" · ");
  }

  function renderLegend(groups) {
    const entries = groups.slice(0, 500).map((g) => {
      const entry = h(
        `div.entry${state.hidden.has(g.key) ? ".off" : ""}`,
        { title: "click to hide or show", dataset: { color: g.color } },
        h("span.swatch", { style: { background: g.color } }),
        state.group
          ? h("span.label", { text: g.label })
          : h("span.label", {}, link(`run/${g.line.run.hash}`, g.label)),
        state.group ? h("span.n", { text: String(g.members.length) }) : null,
      );
      entry.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
        if (state.hidden.has(g.key)) state.hidden.delete(g.key);
        else state.hidden.add(g.key);
        redraw();
      });
      return entry;
    });
    fill(
      legend,
      h("h3", { text: state.group ? `Groups by ${groupTitle()}` : "Runs" }),
      entries.length ? entries : h("p.empty", { text: "No lines." }),
      groups.length > 500
        ? h("p.empty", { text: `${groups.length - 500} more` })
        : null,
    );
  }

  // --- Zoom: each line's own points in the range ---------------------------------
  async function zoom(range) {
    const gen = ++state.zoomGen;
    state.zoom = range;
    if (range === null) {
      for (const line of state.lines) line.zoomed = null;
      redraw();
      return;
    }
    // Pixel resolution for a few lines; with hundreds, fewer buckets each
    // (M4 keeps every bucket's extremes, so spikes stay visible).
    const width = Math.max(400, Math.floor(chartBox.clientWidth));
    const lines = state.lines.filter((line) =>
      !state.hidden.has(state.group ? groupOf(line) : line.key)
    );
    state.zoomLoading = true;
    renderStatus(chart.lineCount);
    const points = Math.min(
      width,
      Math.max(200, Math.floor(250_000 / lines.length)),
    );
    let pending = lines;
    if (state.x === "step" && state.loadedQuery) {
      // By pages of the search that drew the chart, with the step range: a
      // request per 50 lines rather than one per line.
      const byKey = new Map(lines.map((line) => [line.key, line]));
      const wanted = Math.min(state.total, MAX_LINES);
      const offsets = [];
      for (let offset = 0; offset < wanted; offset += PAGE) {
        offsets.push(offset);
      }
      await pool(
        offsets.map((offset) => async () => {
          if (gen !== state.zoomGen) return;
          const page = await api("api/series/search", {
            body: {
              q: state.loadedQuery,
              points,
              from: Math.floor(range[0]),
              to: Math.ceil(range[1]),
              limit: Math.min(PAGE, wanted - offset),
              offset,
            },
          });
          if (gen !== state.zoomGen) return;
          for (const item of page.series) {
            const line = byKey.get(keyOf(item));
            if (line === undefined || item.error || !item.data) continue;
            line.zoomed = item.data;
            byKey.delete(line.key);
          }
          scheduleRedraw();
        }),
        PARALLEL,
      ).catch((error) => toast(error.message, "error"));
      if (gen !== state.zoomGen) return;
      // Lines the pages missed (runs added or removed since): one by one.
      pending = [...byKey.values()];
    }
    let done = 0;
    await pool(
      pending.map((line) => async () => {
        if (gen !== state.zoomGen) return;
        const steps = stepRange(line, range);
        if (steps === null) return;
        const data = await api(`api/runs/${line.run.hash}/series${
          qs({
            name: line.series.name,
            context: JSON.stringify(line.series.context),
            from: steps[0],
            to: steps[1],
            points,
          })
        }`);
        if (gen !== state.zoomGen) return;
        line.zoomed = data;
        if (++done % 25 === 0) scheduleRedraw();
      }),
      4,
    ).catch((error) => toast(error.message, "error"));
    if (gen !== state.zoomGen) return;
    state.zoomLoading = false;
    redraw();
  }

  /** The steps of `line` whose x falls in `range` (one point of margin each side). */
  function stepRange(line, [lo, hi]) {
    const data = line.data;
    const { xs } = project({ ...line, zoomed: null });
    if (state.x === "step") return [Math.floor(lo), Math.ceil(hi)];
    let first = -1, last = -1;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] >= lo && first < 0) first = i;
      if (xs[i] <= hi) last = i;
    }
    if (first < 0 || last < 0) return null;
    return [
      data.steps[Math.max(0, first - 1)],
      data.steps[Math.min(data.steps.length - 1, last + 1)],
    ];
  }

  // --- Live -------------------------------------------------------------------------
  const stopLive = every(() => Math.max(5000, 3 * state.fetchMs), async () => {
    if (state.loading || state.zoom !== null) return;
    if (!state.lines.some((l) => l.run.live || l.run.status === "running")) {
      return;
    }
    const q = query();
    const gen = state.gen;
    const page = await api("api/series/search", {
      body: {
        q,
        points: POINTS,
        limit: Math.min(MAX_LINES, Math.max(PAGE, state.lines.length)),
        offset: 0,
      },
    });
    if (gen !== state.gen || state.zoom !== null) return;
    state.lines = [];
    state.failed = 0;
    state.total = page.total;
    take(page);
    redraw();
  });

  renderCompareChip();
  // A metric and context in the address need no catalog: search at once.
  const early = state.metric !== "" && state.context !== null;
  if (early) {
    fill(
      contextSelect,
      h("option", { value: "", text: "any context" }),
      state.context
        ? h("option", {
          value: state.context,
          text: _contextLabel(state.context),
        })
        : null,
    );
    contextSelect.value = state.context;
    search().catch((error) => toast(error.message, "error"));
  }
  loadCatalog()
    .then(() => early ? undefined : search())
    .catch((error) => toast(error.message, "error"));

  return () => {
    state.gen++;
    state.zoomGen++;
    stopLive();
    chart.destroy();
  };
}

/** A canonical context key as short text. */
function _contextLabel(key) {
  try {
    return fmtContext(JSON.parse(key));
  } catch {
    return key;
  }
}

/** Exponential moving average with bias correction (as TensorBoard smooths). */
function ema(ys, weight) {
  const out = new Array(ys.length);
  let last = 0, debias = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === null) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    out[i] = last / debias;
  }
  return out;
}

/**
 * Mean and band of several lines on a common grid: each line is linearly
 * interpolated inside its own x range, so runs of different lengths count
 * only where they have data.
 */
function aggregate(lines, kind) {
  let min = Infinity, max = -Infinity;
  for (const { xs } of lines) {
    if (xs.length === 0) continue;
    min = Math.min(min, xs[0]);
    max = Math.max(max, xs[xs.length - 1]);
  }
  if (min === Infinity) return null;
  const n = min === max ? 1 : GRID;
  const grid = Array.from(
    { length: n },
    (_, i) => (n === 1 ? min : min + (max - min) * i / (n - 1)),
  );
  const sums = new Float64Array(n),
    sq = new Float64Array(n),
    counts = new Uint32Array(n);
  const lo = new Array(n).fill(Infinity), hi = new Array(n).fill(-Infinity);
  for (const { xs, ys } of lines) {
    let j = 0;
    for (let i = 0; i < n; i++) {
      const x = grid[i];
      if (xs.length === 0 || x < xs[0] || x > xs[xs.length - 1]) continue;
      while (j < xs.length - 2 && xs[j + 1] < x) j++;
      const v = interpolate(xs, ys, j, x);
      if (v === null) continue;
      sums[i] += v;
      sq[i] += v * v;
      counts[i]++;
      if (v < lo[i]) lo[i] = v;
      if (v > hi[i]) hi[i] = v;
    }
  }
  const xsOut = [], mean = [], low = [], high = [];
  for (let i = 0; i < n; i++) {
    if (counts[i] === 0) continue;
    const m = sums[i] / counts[i];
    xsOut.push(grid[i]);
    mean.push(m);
    if (kind === "std") {
      const sd = Math.sqrt(Math.max(0, sq[i] / counts[i] - m * m));
      low.push(m - sd);
      high.push(m + sd);
    } else {
      low.push(lo[i]);
      high.push(hi[i]);
    }
  }
  return { xs: xsOut, mean, lo: low, hi: high };
}

function interpolate(xs, ys, j, x) {
  const x0 = xs[j], y0 = ys[j];
  if (xs.length === 1 || x <= x0) return y0;
  const x1 = xs[j + 1], y1 = ys[j + 1];
  if (y0 === null || y1 === null) return y0 ?? y1;
  if (x1 === x0) return y1;
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

function compareValues(a, b) {
  const x = Number(a), y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return String(a).localeCompare(String(b));
}
