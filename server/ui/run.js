// The run page: attributes, params as a tree, tags, one chart per series
// grouped by context, system metrics, and the terminal log (followed while
// the run is live). Refreshes itself while the run is live.

import { api, ApiError, qs } from "./api.js";
import { LineChart } from "./chart.js";
import {
  badges,
  canonical,
  every,
  fill,
  fmtContext,
  fmtDuration,
  fmtNum,
  fmtTime,
  h,
  link,
  num,
  toast,
} from "./util.js";

const LOG_PAGE = 2000;
const CHART_POINTS = 500;

/** Mounts the page for run `params[0]`; returns its unmount function. */
export function mount(root, { params, navigate }) {
  const hash = params[0];
  const search = new URLSearchParams(location.search);
  const state = {
    run: null,
    tab: search.get("tab") ?? "overview",
    charts: new Map(),
    observer: null,
    log: null,
    stopped: false,
  };
  const head = h("div.run-top");
  const tabs = h("nav.tabs");
  const content = h("div.run-content");
  root.append(h("section.run-page", {}, head, tabs, content));

  async function load() {
    try {
      state.run = await api(`api/runs/${hash}`);
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
    renderHead();
    renderTabs();
    return true;
  }

  // --- Header -----------------------------------------------------------------
  function renderHead() {
    const run = state.run;
    const editable = !run.live;
    const tagInput = h("input.tag-input", {
      type: "text",
      placeholder: "add tag",
      "aria-label": "Add tag",
    });
    const addTag = async () => {
      const tag = tagInput.value.trim();
      if (tag) await patch({ tags: [...new Set([...run.tags, tag])] });
    };
    tagInput.addEventListener("keydown", (e) => e.key === "Enter" && addTag());
    fill(
      head,
      h(
        "div.run-head",
        {},
        h("h1", { text: run.name || run.hash }),
        h("span.hash", { text: run.hash }),
        h("span.badges", {}, badges(run)),
        h(
          "span.actions-inline",
          {},
          h("button", {
            text: "Compare",
            title: "Open in the metrics explorer",
            onclick: () => navigate(`metrics?runs=${run.hash}`),
          }),
          h("button", {
            text: run.archived ? "Unarchive" : "Archive",
            disabled: !editable,
            title: editable ? "" : "A live run is edited by its writer only",
            onclick: () => patch({ archived: !run.archived }),
          }),
          h("button.danger", {
            text: "Delete…",
            disabled: !editable,
            onclick: () => remove(),
          }),
        ),
      ),
      h(
        "div.run-sub",
        {},
        [
          run.experiment && `experiment ${run.experiment}`,
          `created ${fmtTime(run.created_at)}`,
          run.ended_at && `ended ${fmtTime(run.ended_at)}`,
          `duration ${fmtDuration(run.duration)}`,
        ].filter(Boolean).join(" · "),
      ),
      run.description ? h("p.description", { text: run.description }) : null,
      h(
        "div.tags-edit",
        {},
        run.tags.map((t) =>
          h(
            "span.tag",
            {},
            t,
            editable
              ? h("button", {
                text: "×",
                title: `remove ${t}`,
                onclick: () => patch({ tags: run.tags.filter((x) => x !== t) }),
              })
              : null,
          )
        ),
        editable
          ? [tagInput, h("button", { text: "Add", onclick: addTag })]
          : null,
      ),
    );
  }

  async function patch(body) {
    try {
      state.run = await api(`api/runs/${hash}`, { method: "PATCH", body });
      renderHead();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function remove() {
    const dialog = h("dialog.confirm");
    dialog.append(
      h("p", {
        text: `Delete run ${
          state.run.name || hash
        }? Its files and index rows are removed; this cannot be undone.`,
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
              await api(`api/runs/${hash}`, { method: "DELETE" });
              toast(`Deleted ${state.run.name || hash}`);
              navigate("runs");
            } catch (error) {
              toast(error.message, "error");
            }
          },
        }),
      ),
    );
    dialog.addEventListener("close", () => dialog.remove());
    root.append(dialog);
    dialog.showModal();
  }

  // --- Tabs -------------------------------------------------------------------
  const series = () =>
    state.run.metrics.filter((m) => m.context?.system !== true);
  const system = () =>
    state.run.metrics.filter((m) => m.context?.system === true);

  function renderTabs() {
    const items = [
      ["overview", "Overview"],
      ["metrics", `Metrics (${series().length})`],
      ["system", `System (${system().length})`],
      ["logs", "Logs"],
    ];
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

  function showTab(key) {
    state.tab = key;
    history.replaceState(null, "", `${location.pathname}?tab=${key}`);
    renderTabs();
    renderContent();
  }

  function renderContent() {
    for (const chart of state.charts.values()) chart.chart?.destroy();
    state.charts.clear();
    state.observer?.disconnect();
    state.log = null;
    content.replaceChildren();
    if (state.tab === "metrics") {
      renderCharts(series(), "This run has no metrics yet.");
    } else if (state.tab === "system") {
      renderCharts(
        system(),
        'No system metrics: `aim run` records them (CPU, memory, GPU) with the context {"system": true}.',
      );
    } else if (state.tab === "logs") renderLogs();
    else renderOverview();
  }

  // --- Overview ---------------------------------------------------------------
  function renderOverview() {
    const run = state.run;
    const rows = [
      ["hash", run.hash],
      ["name", run.name],
      ["experiment", run.experiment],
      ["status", run.status],
      ["live", run.live ? "yes: its writer is running" : "no"],
      ["indexed", run.indexed ? "yes" : "no: read from its own files"],
      ["signal", run.signal],
      ["exit code", run.exit_code],
      ["created", fmtTime(run.created_at)],
      ["ended", fmtTime(run.ended_at)],
      ["duration", fmtDuration(run.duration)],
      ["archived", run.archived ? "yes" : "no"],
      ["data version", run.data_version],
      ["description", run.description],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "");
    fill(
      content,
      h(
        "div.grid2",
        {},
        h(
          "div.panel.attributes",
          {},
          h("h3", { text: "Attributes" }),
          h(
            "table.kv",
            {},
            h(
              "tbody",
              {},
              rows.map(([k, v]) =>
                h("tr", {}, h("th", { text: k }), h("td", { text: String(v) }))
              ),
            ),
          ),
        ),
        h(
          "div.panel.params",
          {},
          h("h3", { text: "Params" }),
          Object.keys(run.params).length === 0
            ? h("p.empty", { text: "No params." })
            : h("div.tree", {}, tree(run.params, 0)),
        ),
      ),
      run.metrics.length
        ? h(
          "div.panel",
          { style: { marginTop: "16px" } },
          h("h3", { text: "Series" }),
          h(
            "table.list",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["name", "context", "points", "last step", "last", "min", "max"]
                  .map((t, i) => h(i > 1 ? "th.num" : "th", { text: t })),
              ),
            ),
            h(
              "tbody",
              {},
              run.metrics.map((m) =>
                h(
                  "tr",
                  {},
                  h("td", { text: m.name }),
                  h("td", { text: fmtContext(m.context) }),
                  h("td.num", { text: fmtNum(m.count) }),
                  h("td.num", { text: fmtNum(m.last_step) }),
                  h("td.num", { text: fmtNum(m.last) }),
                  h("td.num", { text: fmtNum(m.min) }),
                  h("td.num", { text: fmtNum(m.max) }),
                )
              ),
            ),
          ),
        )
        : null,
    );
  }

  function tree(value, depth) {
    return Object.entries(value).map(([key, v]) => {
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        return h(
          "details",
          { open: depth < 2 },
          h(
            "summary",
            {},
            h("span.key", { text: key }),
            h("span.muted", { text: ` {${Object.keys(v).length}}` }),
          ),
          tree(v, depth + 1),
        );
      }
      return h(
        "div.leaf",
        {},
        h("span.key", { text: key }),
        ": ",
        leafValue(v),
      );
    });
  }

  function leafValue(v) {
    if (v === null) return h("span.val-null", { text: "None" });
    if (typeof v === "boolean") {
      return h("span.val-bool", { text: v ? "True" : "False" });
    }
    if (typeof v === "number" || ["NaN", "Infinity", "-Infinity"].includes(v)) {
      return h("span.val-number", {
        text: typeof v === "number" ? String(v) : v,
      });
    }
    if (typeof v === "string") {
      return h("span.val-string", { text: JSON.stringify(v) });
    }
    return h("span.val-list", { text: JSON.stringify(v) });
  }

  // --- Charts -----------------------------------------------------------------
  function renderCharts(list, emptyText) {
    if (list.length === 0) {
      content.append(h("p.empty", { text: emptyText }));
      return;
    }
    const groups = new Map();
    for (const m of list) {
      const key = canonical(m.context);
      if (!groups.has(key)) groups.set(key, { context: m.context, items: [] });
      groups.get(key).items.push(m);
    }
    state.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        state.observer.unobserve(entry.target);
        loadChart(state.charts.get(entry.target));
      }
    }, { rootMargin: "200px" });
    for (
      const { context, items } of [...groups.values()].sort((a, b) =>
        canonical(a.context).localeCompare(canonical(b.context))
      )
    ) {
      const grid = h("div.chart-grid");
      for (const m of items.sort((a, b) => a.name.localeCompare(b.name))) {
        const last = h("span.last", { text: `last ${fmtNum(m.last)}` });
        const box = h("div.chart-box");
        const card = h(
          "div.chart-card",
          { dataset: { series: m.name } },
          h("div.title", {}, h("span", { text: m.name }), last),
          box,
        );
        grid.append(card);
        state.charts.set(card, { m, box, last, chart: null });
        state.observer.observe(card);
      }
      content.append(
        h(
          "div.context-group",
          {},
          h("h3", {}, "context ", h("code", { text: fmtContext(context) })),
          grid,
        ),
      );
    }
  }

  function seriesPath(m, extra = {}) {
    return `api/runs/${hash}/series${
      qs({ name: m.name, context: JSON.stringify(m.context), ...extra })
    }`;
  }

  async function loadChart(item) {
    if (!item || state.stopped) return;
    try {
      const data = await api(seriesPath(item.m, { points: CHART_POINTS }));
      if (state.stopped) return;
      if (!item.chart) {
        item.chart = new LineChart(item.box, {
          height: 220,
          onZoom: (range) => zoom(item, range),
        });
      }
      if (item.chart.zoomed === null) item.chart.setData([toLine(data)]);
      item.loaded = true;
    } catch (error) {
      item.box.replaceChildren(h("p.empty", { text: error.message }));
    }
  }

  async function zoom(item, range) {
    try {
      if (range === null) return await loadChart(item);
      const data = await api(
        seriesPath(item.m, {
          points: 1000,
          from: Math.floor(range[0]),
          to: Math.ceil(range[1]),
        }),
      );
      if (!state.stopped && item.chart.zoomed) {
        item.chart.setData([toLine(data)], [], { keepZoom: true });
      }
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function toLine(data) {
    return {
      xs: data.steps,
      ys: data.values.map((v) => {
        const n = num(v);
        return n === null || !Number.isFinite(n) ? null : n;
      }),
      color: "#2f6fde",
      label: data.name,
      width: 1.5,
    };
  }

  // --- Logs -------------------------------------------------------------------
  function renderLogs() {
    const box = h("div.log", { role: "log" });
    const follow = h("input", { type: "checkbox", checked: state.run.live });
    const info = h("span");
    const earlier = h("button", { text: "Load earlier", hidden: true });
    content.append(
      h(
        "div.log-bar",
        {},
        h("label.check", {}, follow, " follow"),
        info,
        earlier,
      ),
      box,
    );
    const log = { box, follow, info, earlier, start: 0, end: 0, total: 0 };
    state.log = log;
    earlier.addEventListener("click", async () => {
      const from = Math.max(0, log.start - LOG_PAGE);
      const page = await api(
        `api/runs/${hash}/logs${qs({ offset: from, limit: log.start - from })}`,
      );
      const height = box.scrollHeight;
      box.prepend(...page.lines.map(lineElement));
      box.scrollTop += box.scrollHeight - height;
      log.start = from;
      updateInfo(log);
    });
    (async () => {
      const { total } = await api(`api/runs/${hash}/logs?limit=0`);
      log.start = log.end = Math.max(0, total - LOG_PAGE);
      await tail(log, true);
    })().catch((error) => toast(error.message, "error"));
  }

  async function tail(log, first = false) {
    if (state.log !== log) return;
    const page = await api(
      `api/runs/${hash}/logs${qs({ offset: log.end, limit: 5000 })}`,
    );
    if (state.log !== log) return;
    const atBottom =
      log.box.scrollHeight - log.box.scrollTop - log.box.clientHeight < 40;
    log.box.append(...page.lines.map(lineElement));
    log.end += page.lines.length;
    log.total = page.total;
    updateInfo(log);
    if (page.lines.length === 0 && first) {
      log.box.append(h("div.muted", { text: "(no log lines)" }));
    }
    if ((first || atBottom) && page.lines.length > 0) {
      log.box.scrollTop = log.box.scrollHeight;
    }
  }

  function updateInfo(log) {
    log.info.textContent = `lines ${log.start.toLocaleString("en-US")}–${
      log.end.toLocaleString("en-US")
    } of ${log.total.toLocaleString("en-US")}`;
    log.earlier.hidden = log.start === 0;
  }

  function lineElement(line) {
    const time = new Date(line.time * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return h(
      `div.line.${line.level.replace(/[^a-z]/gi, "") || "info"}`,
      {},
      h("span.t", {
        text: `${p(time.getHours())}:${p(time.getMinutes())}:${
          p(time.getSeconds())
        }`,
      }),
      line.text,
    );
  }

  // --- Live -------------------------------------------------------------------
  let chartTick = 0;
  const stopLive = every(2000, async () => {
    if (state.run === null) return;
    const wasActive = state.run.live || !state.run.indexed ||
      state.run.status === "running";
    if (state.log?.follow.checked) await tail(state.log);
    if (!wasActive) return;
    const before = JSON.stringify([
      state.run.status,
      state.run.live,
      state.run.indexed,
      state.run.metrics.length,
    ]);
    state.run = await api(`api/runs/${hash}`);
    if (state.stopped) return;
    renderHead();
    const after = JSON.stringify([
      state.run.status,
      state.run.live,
      state.run.indexed,
      state.run.metrics.length,
    ]);
    if (before !== after) renderTabs();
    if (
      (state.tab === "metrics" || state.tab === "system") &&
      ++chartTick % 2 === 0
    ) {
      for (const item of state.charts.values()) {
        const m = state.run.metrics.find((x) =>
          x.name === item.m.name &&
          canonical(x.context) === canonical(item.m.context)
        );
        if (m) {
          item.m = m;
          item.last.textContent = `last ${fmtNum(m.last)}`;
        }
        if (item.loaded && item.chart?.zoomed === null) await loadChart(item);
      }
    }
  });

  load().then((ok) => ok && renderContent()).catch((error) =>
    toast(error.message, "error")
  );

  return () => {
    state.stopped = true;
    stopLive();
    state.observer?.disconnect();
    for (const item of state.charts.values()) item.chart?.destroy();
  };
}
