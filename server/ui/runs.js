// The runs page: a query box, and a virtualised table over every matching
// run, fetched page by page as it scrolls (only the visible rows exist in
// the DOM). Select runs to compare, archive, tag or delete them.

import { api, ApiError, checkQuery, searchRuns } from "./api.js";
import {
  at,
  badges,
  canonical,
  debounce,
  every,
  fmtContext,
  fmtDuration,
  fmtNum,
  fmtTime,
  fmtValue,
  h,
  leaves,
  link,
  metricExpr,
  paramExpr,
  pool,
  toast,
} from "./util.js";

const ROW = 32;
/** Rows per request: the server's default order is cheap, any other sort costs a full sort. */
const PAGE_FAST = 200;
const PAGE_SORTED = 1000;
const PROBE = 50;
const OVERSCAN = 10;
const MAX_INFLIGHT = 2;
/** Pages kept in memory; those farthest from the screen go first. */
const KEEP_PAGES = 12;
const COLUMNS_KEY = "aim.runs.columns";

/** Mounts the page in `root`; returns its unmount function. */
export function mount(root, { navigate }) {
  const params = new URLSearchParams(location.search);
  const state = {
    q: params.get("q") ?? "",
    sort: params.get("sort") ?? "",
    hideArchived: params.get("archived") === "hide",
    total: null,
    pages: new Map(),
    inflight: new Map(),
    gen: 0,
    selected: new Map(),
    lastClicked: null,
    fetchMs: 0,
    lastRefresh: 0,
    columns: loadColumns(),
    known: { params: new Map(), metrics: new Map() },
    rendered: new Map(),
    firstRows: false,
  };

  // --- Layout ---------------------------------------------------------------
  const input = h("input.query", {
    type: "text",
    value: state.q,
    spellcheck: false,
    autocomplete: "off",
    placeholder: 'run.hparams.lr < 0.01 and run.experiment == "base"',
    "aria-label": "Run query",
  });
  const errorBox = h("div.query-error", { hidden: true, role: "alert" });
  const count = h("span.count");
  const warn = h("span.warn", { hidden: true });
  const archived = h("input", {
    type: "checkbox",
    checked: state.hideArchived,
  });
  const selInfo = h("span.sel-info");
  const tagInput = h("input.tag-input", {
    type: "text",
    placeholder: "tag",
    "aria-label": "Tag",
  });
  const actions = h(
    "div.actions",
    {},
    selInfo,
    h("button", {
      text: "Compare",
      onclick: () => compare(),
      title: "Open the selected runs in the metrics explorer",
    }),
    h("button", {
      text: "Archive",
      onclick: () => patchSelected({ archived: true }),
    }),
    h("button", {
      text: "Unarchive",
      onclick: () => patchSelected({ archived: false }),
    }),
    tagInput,
    h("button", { text: "Add tag", onclick: () => tagSelected(true) }),
    h("button", { text: "Remove tag", onclick: () => tagSelected(false) }),
    h("button.danger", { text: "Delete…", onclick: () => deleteSelected() }),
    h("button.link", {
      text: "Clear",
      onclick: () => (state.selected.clear(), renderRows(true)),
    }),
  );
  const chooser = h("div.chooser", { hidden: true });
  const header = h("div.vt-head");
  const spacer = h("div.vt-spacer");
  const empty = h("p.empty.vt-empty", { hidden: true });
  const body = h("div.vt-body", {}, spacer, empty);
  const table = h("div.vt", { tabindex: "0" }, header, body);
  const dialog = h("dialog.confirm");

  root.append(
    h(
      "section.runs-page",
      {},
      h(
        "form.querybar",
        { onsubmit: (e) => (e.preventDefault(), apply()) },
        input,
        h("button.primary", { type: "submit", text: "Search" }),
      ),
      errorBox,
      h(
        "div.toolbar",
        {},
        count,
        warn,
        h("label.check", {}, archived, " hide archived"),
        h("span.spacer"),
        actions,
        h("button", {
          text: "Columns",
          onclick: () => toggleChooser(),
          "aria-expanded": "false",
        }),
      ),
      chooser,
      table,
      dialog,
    ),
  );
  archived.addEventListener("change", () => {
    state.hideArchived = archived.checked;
    apply();
  });

  // --- Columns --------------------------------------------------------------
  function columns() {
    const cols = [
      { key: "sel", title: "", width: 40, cell: selCell, cls: "sel" },
      {
        key: "name",
        title: "Name",
        width: 220,
        sort: "run.name",
        cell: nameCell,
      },
      {
        key: "experiment",
        title: "Experiment",
        width: 130,
        sort: "run.experiment",
        cell: (r) => r.experiment,
      },
      {
        key: "state",
        title: "State",
        width: 230,
        sort: "run.status",
        cell: (r) => badges(r),
      },
      {
        key: "created",
        title: "Created",
        width: 170,
        sort: "run.created_at",
        cell: (r) => fmtTime(r.created_at),
      },
      {
        key: "duration",
        title: "Duration",
        width: 100,
        sort: "run.duration",
        cell: (r) => fmtDuration(r.duration),
        cls: "num",
      },
      { key: "tags", title: "Tags", width: 150, cell: tagsCell },
    ];
    for (const path of state.columns?.params ?? []) {
      cols.push({
        key: `p:${path.join(".")}`,
        title: path.join("."),
        width: 120,
        sort: paramExpr(path),
        cell: (r) => fmtValue(at(r.params, path)),
        cls: "num",
      });
    }
    for (const m of state.columns?.metrics ?? []) {
      const key = canonical(m.context);
      cols.push({
        key: `m:${m.name}:${key}:${m.agg}`,
        title: `${m.name}${
          Object.keys(m.context).length ? ` (${fmtContext(m.context)})` : ""
        } ${m.agg}`,
        width: 130,
        sort: `${metricExpr(m.name, m.context)}.${m.agg}`,
        cell: (r) => {
          const s = r.metrics.find((x) =>
            x.name === m.name && canonical(x.context) === key
          );
          return s ? fmtNum(s[m.agg]) : "";
        },
        cls: "num",
      });
    }
    return cols;
  }

  function selCell(run) {
    return h("input", {
      type: "checkbox",
      checked: state.selected.has(run.hash),
      "aria-label": `select ${run.name || run.hash}`,
      dataset: { hash: run.hash },
    });
  }
  function nameCell(run) {
    return link(`run/${run.hash}`, run.name || run.hash.slice(0, 12));
  }
  function tagsCell(run) {
    return run.tags.map((t) => h("span.tag", { text: t }));
  }

  let cols = [];
  function layout() {
    cols = columns();
    const widths = cols.map((c) => `${c.width}px`).join(" ");
    table.style.setProperty("--cols", widths);
    const total = cols.reduce((a, c) => a + c.width, 0);
    table.style.setProperty("--row-width", `${total}px`);
    header.replaceChildren(...cols.map((c) => {
      const cell = h(
        `div.vt-th${c.sort ? ".sortable" : ""}${c.cls ? `.${c.cls}` : ""}`,
        {
          title: c.sort ? `sort by ${c.sort}` : "",
          dataset: { key: c.key },
        },
      );
      const arrow = sortArrow(c);
      cell.append(h("span", { text: c.title }));
      if (arrow) cell.append(h("span.arrow", { text: arrow }));
      if (c.sort) cell.addEventListener("click", () => cycleSort(c));
      return cell;
    }));
    renderRows(true);
  }

  function sortArrow(c) {
    if (c.key === "created" && state.sort === "") return "▼";
    if (!c.sort) return "";
    if (state.sort === c.sort) return "▲";
    if (state.sort === `-${c.sort}`) return "▼";
    return "";
  }

  function cycleSort(c) {
    if (c.key === "created") {
      state.sort = state.sort === "" ? c.sort : "";
    } else if (state.sort === c.sort) state.sort = `-${c.sort}`;
    else if (state.sort === `-${c.sort}`) state.sort = "";
    else state.sort = c.sort;
    apply({ keepQuery: true });
  }

  // --- Data -----------------------------------------------------------------
  const pageSize = () => (state.sort === "" ? PAGE_FAST : PAGE_SORTED);
  const effectiveQuery = () => {
    const q = state.q.trim();
    if (!state.hideArchived) return q;
    return q ? `(${q}) and not run.archived` : "not run.archived";
  };

  /** Fetches page `p` of the current search; resolves to its rows. */
  async function fetchPage(p, gen, total) {
    const size = pageSize();
    const start = performance.now();
    const q = effectiveQuery();
    let answer;
    if (state.sort === "") {
      // Newest first: the server's cheap order is oldest first, so read from the end.
      if (total === null) {
        // A small first read gives the total (and every run, in a small repository).
        answer = await searchRuns({ q, limit: PROBE, offset: 0 });
        if (answer.total > PROBE) {
          total = answer.total;
          answer = await newestPage(q, p, size, total);
        } else {
          answer.runs.reverse();
        }
      } else {
        answer = await newestPage(q, p, size, total);
      }
    } else {
      answer = await searchRuns({
        q,
        sort: state.sort,
        limit: size,
        offset: p * size,
      });
    }
    state.fetchMs = performance.now() - start;
    if (gen !== state.gen) return null;
    return answer;
  }

  async function newestPage(q, p, size, total) {
    const end = Math.max(0, total - p * size);
    const begin = Math.max(0, end - size);
    const answer = await searchRuns({ q, limit: end - begin, offset: begin });
    answer.runs.reverse();
    return answer;
  }

  function storePage(p, answer) {
    if (state.total !== answer.total) {
      // Rows moved: everything but this page is stale.
      const wasKnown = state.total !== null;
      state.total = answer.total;
      if (wasKnown) state.pages.clear();
      spacer.style.height = `${state.total * ROW}px`;
    }
    state.pages.set(p, answer.runs);
    learn(answer.runs);
    showCount(answer);
  }

  function showCount(answer) {
    count.textContent = `${state.total.toLocaleString("en-US")} run${
      state.total === 1 ? "" : "s"
    }`;
    const bad = answer.unreadable ?? [];
    warn.hidden = bad.length === 0;
    warn.textContent = bad.length ? `${bad.length} could not be read` : "";
    warn.title = bad.map((u) => `${u.hash}: ${u.reason}`).join("\n");
  }

  /** Remembers the params and metrics seen, for the column chooser and defaults. */
  function learn(runs) {
    for (const run of runs) {
      for (const [path] of leaves(run.params)) {
        const key = path.join("\u0000");
        state.known.params.set(key, {
          path,
          n: (state.known.params.get(key)?.n ?? 0) + 1,
        });
      }
      for (const m of run.metrics) {
        if (m.context?.system === true) continue;
        const key = `${m.name}\u0000${canonical(m.context)}`;
        const known = state.known.metrics.get(key);
        state.known.metrics.set(key, {
          name: m.name,
          context: m.context,
          n: (known?.n ?? 0) + 1,
        });
      }
    }
    if (state.columns === null && runs.length > 0) {
      state.columns = defaultColumns();
      layout();
    }
  }

  function defaultColumns() {
    const byCount = (a, b) => b.n - a.n;
    const params = [...state.known.params.values()].sort((a, b) =>
      (b.path[0] === "hparams") - (a.path[0] === "hparams") || byCount(a, b)
    ).slice(0, 4).map((p) => p.path);
    const metrics = [...state.known.metrics.values()].sort(byCount).slice(0, 2)
      .map((m) => ({ name: m.name, context: m.context, agg: "last" }));
    return { params, metrics };
  }

  /** Starts a new search from the query box. */
  function apply({ keepQuery = false } = {}) {
    if (!keepQuery) state.q = input.value;
    const search = new URLSearchParams();
    if (state.q) search.set("q", state.q);
    if (state.sort) search.set("sort", state.sort);
    if (state.hideArchived) search.set("archived", "hide");
    const qs = search.toString();
    history.replaceState(null, "", `${location.pathname}${qs ? `?${qs}` : ""}`);
    state.gen++;
    state.total = null;
    state.pages.clear();
    state.inflight.clear();
    table.scrollTop = 0;
    layout();
    load(state.gen);
  }

  async function load(gen) {
    errorBox.hidden = true;
    table.classList.add("loading");
    try {
      const problem = await checkQuery(state.q, { sort: state.sort });
      if (gen !== state.gen) return;
      if (problem !== null) return showProblem(problem);
      const answer = await fetchPage(0, gen, null);
      if (answer === null) return;
      storePage(0, answer);
      state.lastRefresh = Date.now();
      renderRows(true);
    } catch (error) {
      if (gen !== state.gen) return;
      if (!(error instanceof ApiError)) throw error;
      showProblem({
        field: "q",
        code: error.code,
        message: error.message,
        column: error.column,
      });
    } finally {
      if (gen === state.gen) table.classList.remove("loading");
    }
  }

  /** Shows what is wrong with the query (at its column) or the sort, and an empty table. */
  function showProblem(problem) {
    state.total = 0;
    spacer.style.height = "0px";
    count.textContent = "";
    const text = problem.field === "sort" ? state.sort : state.q;
    errorBox.replaceChildren(
      h("div.msg", {
        text: problem.field === "sort"
          ? `sort: ${problem.message}`
          : problem.message,
      }),
    );
    if (problem.column) {
      errorBox.append(
        h(
          "pre.caret",
          {},
          text,
          "\n",
          " ".repeat(Math.max(0, problem.column - 1)) + "^",
        ),
      );
      if (problem.field === "q") {
        input.focus();
        input.setSelectionRange(
          problem.column - 1,
          Math.min(text.length, problem.column),
        );
      }
    }
    errorBox.dataset.column = String(problem.column ?? "");
    errorBox.hidden = false;
    renderRows(true);
  }

  // --- Rendering --------------------------------------------------------------
  let frame = 0;
  let lastTop = 0;
  function schedule() {
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        renderRows(false);
      });
    }
  }

  /** Renders the visible rows; `all` rebuilds every one (columns or selection changed). */
  function renderRows(all) {
    if (all) {
      for (const { el } of state.rendered.values()) el.remove();
      state.rendered.clear();
    }
    const total = state.total ?? 0;
    const top = table.scrollTop;
    const height = table.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN);
    for (const [i, item] of state.rendered) {
      if (i < first || i >= last) {
        item.el.remove();
        state.rendered.delete(i);
      }
    }
    const size = pageSize();
    const missing = new Set();
    let loadedVisible = 0;
    for (let i = first; i < last; i++) {
      const page = state.pages.get(Math.floor(i / size));
      const run = page?.[i % size] ?? null;
      if (run === null) missing.add(Math.floor(i / size));
      else loadedVisible++;
      const item = state.rendered.get(i);
      if (item && item.run === run) continue;
      const el = rowElement(i, run);
      if (item) item.el.replaceWith(el);
      else spacer.append(el);
      state.rendered.set(i, { el, run });
    }
    // Then the pages just beyond the screen, in the direction of the scroll.
    const ahead = top >= lastTop
      ? Math.floor((last + size / 2) / size)
      : Math.floor(Math.max(0, first - size / 2) / size);
    lastTop = top;
    const next = [...missing];
    if (ahead * size < total && !missing.has(ahead)) next.push(ahead);
    requestPages(next);
    evict(Math.floor(first / size));
    if (!state.firstRows && loadedVisible > 0) {
      state.firstRows = true;
      performance.mark("aim:first-rows");
    }
    table.dataset.rows = String(total);
    empty.hidden = !(state.total === 0 && errorBox.hidden);
    empty.textContent = state.q.trim() || state.hideArchived
      ? "No run matches this query."
      : "No runs yet: record one with aim track, aim run, or Repo.startRun() in TypeScript.";
  }

  /** Drops the pages farthest from page `current` beyond {@link KEEP_PAGES}: memory stays flat at any size. */
  function evict(current) {
    if (state.pages.size <= KEEP_PAGES) return;
    const far = [...state.pages.keys()].sort((a, b) =>
      Math.abs(b - current) - Math.abs(a - current)
    );
    for (const p of far.slice(0, state.pages.size - KEEP_PAGES)) {
      state.pages.delete(p);
    }
  }

  function rowElement(i, run) {
    const el = h("div.vt-row", {
      style: { transform: `translateY(${i * ROW}px)` },
    });
    if (run === null) {
      el.classList.add("placeholder");
      el.append(h("div.vt-td", { text: "…" }));
      return el;
    }
    el.dataset.hash = run.hash;
    el.dataset.loaded = "true";
    if (run.archived) el.classList.add("archived");
    if (state.selected.has(run.hash)) el.classList.add("selected");
    for (const c of cols) {
      const value = c.cell(run);
      const td = h(`div.vt-td${c.cls ? `.${c.cls}` : ""}`);
      if (typeof value === "string") {
        td.textContent = value;
        td.title = value;
      } else td.append(...[value].flat());
      el.append(td);
    }
    return el;
  }

  const wanted = new Set();
  function requestPages(pages) {
    wanted.clear();
    for (const p of pages) wanted.add(p);
    if (wanted.size > 0) pump();
  }
  function pump() {
    const gen = state.gen;
    for (const p of wanted) {
      if (state.inflight.size >= MAX_INFLIGHT) return;
      if (state.pages.has(p) || state.inflight.has(p) || state.total === null) {
        continue;
      }
      wanted.delete(p);
      const promise = fetchPage(p, gen, state.total).then((answer) => {
        if (answer === null) return;
        storePage(p, answer);
        schedule();
      }).catch((error) => {
        if (gen === state.gen) toast(error.message, "error");
      }).finally(() => {
        if (state.inflight.get(p) === promise) state.inflight.delete(p);
        if (gen === state.gen) pump();
      });
      state.inflight.set(p, promise);
    }
  }

  table.addEventListener("scroll", schedule, { passive: true });
  const onResize = debounce(() => renderRows(false), 50);
  addEventListener("resize", onResize);

  // --- Selection and actions ------------------------------------------------
  spacer.addEventListener("click", (event) => {
    const box = event.target.closest?.('input[type="checkbox"][data-hash]');
    if (!box) return;
    const hash = box.dataset.hash;
    const runs = visibleRuns();
    if (event.shiftKey && state.lastClicked) {
      const a = runs.findIndex((r) => r.hash === state.lastClicked);
      const b = runs.findIndex((r) => r.hash === hash);
      if (a >= 0 && b >= 0) {
        for (const run of runs.slice(Math.min(a, b), Math.max(a, b) + 1)) {
          state.selected.set(run.hash, run);
        }
      }
    } else if (box.checked) {
      state.selected.set(hash, runs.find((r) => r.hash === hash));
    } else state.selected.delete(hash);
    state.lastClicked = hash;
    updateSelection();
  });

  function visibleRuns() {
    return [...state.pages.entries()].sort((a, b) => a[0] - b[0]).flatMap((
      [, rows],
    ) => rows);
  }

  function updateSelection() {
    const n = state.selected.size;
    actions.classList.toggle("active", n > 0);
    selInfo.textContent = n ? `${n} selected` : "";
    for (const { el } of state.rendered.values()) {
      el.classList.toggle("selected", state.selected.has(el.dataset.hash));
    }
  }

  function compare() {
    const hashes = [...state.selected.keys()];
    if (hashes.length === 0) return toast("Select runs to compare first");
    navigate(`metrics?runs=${hashes.join(",")}`);
  }

  async function patchSelected(patch) {
    const runs = [...state.selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await edit(
      runs,
      (run) =>
        api(`api/runs/${run.hash}`, {
          method: "PATCH",
          body: typeof patch === "function" ? patch(run) : patch,
        }),
    );
  }

  async function tagSelected(add) {
    const tag = tagInput.value.trim();
    if (!tag) return toast("Type a tag first");
    const runs = [...state.selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await edit(runs, async (run) => {
      const fresh = await api(`api/runs/${run.hash}`);
      const tags = add
        ? [...new Set([...fresh.tags, tag])]
        : fresh.tags.filter((t) => t !== tag);
      return api(`api/runs/${run.hash}`, { method: "PATCH", body: { tags } });
    });
  }

  function deleteSelected() {
    const runs = [...state.selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    dialog.replaceChildren(
      h("p", {
        text: `Delete ${runs.length} run${
          runs.length === 1 ? "" : "s"
        }? Their files and index rows are removed; this cannot be undone.`,
      }),
      h(
        "div.buttons",
        {},
        h("button", { text: "Cancel", onclick: () => dialog.close() }),
        h("button.danger", {
          text: "Delete",
          onclick: async () => {
            dialog.close();
            await edit(
              runs,
              (run) => api(`api/runs/${run.hash}`, { method: "DELETE" }),
              true,
            );
          },
        }),
      ),
    );
    dialog.showModal();
  }

  async function edit(selected, action, removing = false) {
    // A live run belongs to its writer: the server would refuse it (409).
    const runs = selected.filter((run) => !run.live);
    const failures = selected.filter((run) => run.live)
      .map((run) => `${run.name || run.hash}: live, its writer owns it`);
    await pool(
      runs.map((run) => async () => {
        try {
          await action(run);
          if (removing) state.selected.delete(run.hash);
        } catch (error) {
          failures.push(`${run.name || run.hash}: ${error.message}`);
        }
      }),
      4,
    );
    const done = selected.length - failures.length;
    if (done > 0) {
      toast(
        `${removing ? "Deleted" : "Updated"} ${done} run${
          done === 1 ? "" : "s"
        }`,
      );
    }
    if (failures.length > 0) {
      toast(
        `${failures.length} not changed: ${failures.slice(0, 3).join("; ")}`,
        "error",
      );
    }
    await refresh(true);
    updateSelection();
  }

  // --- Column chooser ---------------------------------------------------------
  function toggleChooser() {
    chooser.hidden = !chooser.hidden;
    if (!chooser.hidden) renderChooser();
  }

  function renderChooser() {
    const chosen = state.columns ?? { params: [], metrics: [] };
    const filter = h("input", {
      type: "search",
      placeholder: "filter",
      "aria-label": "Filter columns",
    });
    const list = h("div.chooser-list");
    const draw = () => {
      const f = filter.value.toLowerCase();
      const params = [...state.known.params.values()].filter((p) =>
        p.path.join(".").toLowerCase().includes(f)
      )
        .sort((a, b) => a.path.join(".").localeCompare(b.path.join("."))).slice(
          0,
          300,
        );
      const metrics = [...state.known.metrics.values()].filter((m) =>
        m.name.toLowerCase().includes(f)
      );
      list.replaceChildren(
        h("h4", { text: "Params" }),
        ...params.map((p) => {
          const on = chosen.params.some((x) =>
            x.join("\u0000") === p.path.join("\u0000")
          );
          const box = h("input", { type: "checkbox", checked: on });
          box.addEventListener("change", () => {
            chosen.params = box.checked
              ? [...chosen.params, p.path]
              : chosen.params.filter((x) =>
                x.join("\u0000") !== p.path.join("\u0000")
              );
            saveColumns(chosen);
          });
          return h("label.check", {}, box, " ", p.path.join("."));
        }),
        h("h4", { text: "Metrics" }),
        ...metrics.flatMap((m) =>
          h(
            "div.metric-choice",
            {},
            h("span", { text: `${m.name} ${fmtContext(m.context)}` }),
            ...["last", "min", "max"].map((agg) => {
              const same = (x) =>
                x.name === m.name &&
                canonical(x.context) === canonical(m.context) && x.agg === agg;
              const box = h("input", {
                type: "checkbox",
                checked: chosen.metrics.some(same),
              });
              box.addEventListener("change", () => {
                chosen.metrics = box.checked
                  ? [...chosen.metrics, {
                    name: m.name,
                    context: m.context,
                    agg,
                  }]
                  : chosen.metrics.filter((x) => !same(x));
                saveColumns(chosen);
              });
              return h("label.check", {}, box, ` ${agg}`);
            }),
          )
        ),
      );
    };
    filter.addEventListener("input", draw);
    chooser.replaceChildren(
      h(
        "div.chooser-head",
        {},
        filter,
        h("button.link", {
          text: "Close",
          onclick: () => (chooser.hidden = true),
        }),
      ),
      list,
    );
    draw();
  }

  function saveColumns(chosen) {
    state.columns = chosen;
    try {
      localStorage.setItem(COLUMNS_KEY, JSON.stringify(chosen));
    } catch {
      // Private mode: columns last for this page only.
    }
    layout();
  }

  // --- Live refresh -------------------------------------------------------------
  /** Re-fetches the pages on screen; others are dropped and fetched again when needed. */
  async function refresh(force = false) {
    if (state.total === null) return;
    const rows = [...state.pages.values()].flat();
    const active = rows.some((r) =>
      r.live || !r.indexed || r.status === "running"
    );
    if (!force && !active && Date.now() - state.lastRefresh < 15_000) return;
    const gen = state.gen;
    const size = pageSize();
    const top = table.scrollTop, height = table.clientHeight || 600;
    const firstPage = Math.floor(Math.floor(top / ROW) / size);
    const lastPage = Math.floor(
      Math.min(Math.max(0, state.total - 1), Math.ceil((top + height) / ROW)) /
        size,
    );
    const fresh = new Map();
    let total = null;
    // Newest first needs the new total before it can place pages.
    if (state.sort === "") {
      total = (await searchRuns({ q: effectiveQuery(), limit: 0 })).total;
    }
    if (gen !== state.gen) return;
    let last = null;
    for (let p = firstPage; p <= lastPage; p++) {
      const answer = await fetchPage(p, gen, total ?? state.total);
      if (answer === null) return;
      fresh.set(p, answer.runs);
      last = answer;
    }
    if (last === null) return;
    state.total = last.total;
    spacer.style.height = `${state.total * ROW}px`;
    state.pages = fresh;
    for (const [hash] of state.selected) {
      const run = last.runs.find((r) => r.hash === hash);
      if (run) state.selected.set(hash, run);
    }
    learn(last.runs);
    showCount(last);
    state.lastRefresh = Date.now();
    renderRows(false);
  }

  const stop = every(
    () => Math.max(2000, 4 * state.fetchMs),
    () => refresh(false),
  );

  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      input.value = state.q;
      errorBox.hidden = true;
    }
  });

  apply({ keepQuery: true });

  return () => {
    stop();
    state.gen++;
    removeEventListener("resize", onResize);
  };
}

function loadColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY) ?? "null");
    if (saved && Array.isArray(saved.params) && Array.isArray(saved.metrics)) {
      return saved;
    }
  } catch {
    // Unreadable: start from the defaults.
  }
  return null;
}
