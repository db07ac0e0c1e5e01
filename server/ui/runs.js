/// <reference lib="dom" />
// @ts-check
// The runs page: a query box, and a virtualised table over every matching
// run, fetched page by page as it scrolls (only the visible rows exist in
// the DOM). Select runs to compare, archive, tag or delete them. This
// module lays the page out and wires its parts together.

import { ApiError, checkQueryAnswer } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { every } from "./every.js";
import {
  checkAsYouType,
  showQueryProblem,
  showQueryWarnings,
} from "./query_problem.js";
import { renderChooser } from "./runs_chooser.js";
import { loadColumns, storeColumns, tableColumns } from "./runs_columns.js";
import {
  defaultColumns,
  emptyKnown,
  learn,
  readSettings,
  settingsSearch,
} from "./runs_model.js";
import { RunPages } from "./runs_pages.js";
import { RunSelection } from "./runs_selection.js";
import { RunTable } from "./runs_table.js";
import { debounce } from "./tasks.js";

/** @import { QueryProblem, Run, RunPage } from "./api_types.js" */
/** @import { ColumnChoice, Known, RunsSettings } from "./runs_model.js" */

/**
 * @typedef {object} RunsStateExtra
 * @property {ColumnChoice | null} columns  Null until chosen, or defaulted from the first rows.
 * @property {Known} known  Params and series seen, for the column chooser.
 * @property {boolean} firstRows  Whether a loaded row has been shown yet.
 */
/** @typedef {RunsSettings & RunsStateExtra} RunsState */

/**
 * Mounts the page in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @param {{ navigate: (path: string) => void }} app
 * @returns {() => void}
 */
export function mount(root, { navigate }) {
  /** @type {RunsState} */
  const state = {
    ...readSettings(location.search),
    columns: loadColumns(),
    known: emptyKnown(),
    firstRows: false,
  };
  const pages = new RunPages(state, {
    stored: (answer) => {
      table.setHeight(pages.total ?? 0);
      remember(answer.runs);
      showCount(answer);
    },
    arrived: () => table.schedule(),
    failed: (error) => toast(errorText(error), "error"),
  });

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
  const selection = new RunSelection({
    changed: () => table.markSelected((hash) => selection.has(hash)),
    cleared: () => table.render(true),
    navigate,
    refresh: () => refresh(true),
  });
  const chooser = h("div.chooser", { hidden: true });
  const table = new RunTable({
    total: () => pages.total ?? 0,
    pageSize: () => pages.size,
    page: (p) => pages.page(p),
    isSelected: (hash) => selection.has(hash),
    want: (wanted, current) => pages.want(wanted, current),
    rendered: (loaded) => {
      if (!state.firstRows && loaded > 0) {
        state.firstRows = true;
        performance.mark("aim:first-rows");
      }
      table.setEmpty(
        pages.total === 0 && errorBox.hidden
          ? (state.q.trim() || state.hideArchived
            ? "No run matches this query."
            : "No runs yet: record one with aim track, aim run, or Repo.startRun() in TypeScript.")
          : null,
      );
    },
    check: (box, event) =>
      selection.click(
        box.dataset.hash ?? "",
        box.checked,
        event.shiftKey,
        pages.loaded(),
      ),
  });

  root.append(
    h(
      "section.runs-page",
      {},
      h(
        "form.querybar",
        { onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), apply()) },
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
        selection.toolbar,
        h("button", {
          text: "Columns",
          onclick: () => toggleChooser(),
          "aria-expanded": "false",
        }),
      ),
      chooser,
      table.element,
      selection.dialog,
    ),
  );
  archived.addEventListener("change", () => {
    state.hideArchived = archived.checked;
    apply();
  });

  // --- Columns --------------------------------------------------------------
  function layout() {
    table.setColumns(
      tableColumns(state.columns, (hash) => selection.has(hash)),
      state.sort,
      (sort) => {
        state.sort = sort;
        apply({ keepQuery: true });
      },
    );
  }

  function toggleChooser() {
    chooser.hidden = !chooser.hidden;
    if (chooser.hidden) return;
    renderChooser(
      chooser,
      state.known,
      state.columns ?? { params: [], metrics: [] },
      (chosen) => {
        state.columns = chosen;
        storeColumns(chosen);
        layout();
      },
      () => (chooser.hidden = true),
    );
  }

  // --- Search ---------------------------------------------------------------
  /** @param {RunPage} answer */
  function showCount(answer) {
    const total = pages.total ?? 0;
    count.textContent = `${total.toLocaleString("en-US")} run${
      total === 1 ? "" : "s"
    }`;
    const bad = answer.unreadable ?? [];
    warn.hidden = bad.length === 0;
    warn.textContent = bad.length ? `${bad.length} could not be read` : "";
    warn.title = bad.map((u) => `${u.hash}: ${u.reason}`).join("\n");
  }

  /**
   * Remembers the params and metrics seen, for the column chooser; the
   * first rows give the default columns.
   * @param {Run[]} runs
   */
  function remember(runs) {
    learn(state.known, runs);
    if (state.columns === null && runs.length > 0) {
      state.columns = defaultColumns(state.known);
      layout();
    }
  }

  /**
   * Starts a new search from the query box (or, with `keepQuery`, from the
   * query last searched).
   * @param {{ keepQuery?: boolean }} [options]
   */
  function apply({ keepQuery = false } = {}) {
    if (!keepQuery) state.q = input.value;
    history.replaceState(
      null,
      "",
      `${location.pathname}${settingsSearch(state)}`,
    );
    const gen = pages.reset();
    table.element.scrollTop = 0;
    layout();
    load(gen);
  }

  /** @param {number} gen */
  async function load(gen) {
    errorBox.hidden = true;
    table.element.classList.add("loading");
    try {
      const answer = await checkQueryAnswer(state.q, { sort: state.sort });
      if (!pages.isCurrent(gen)) return;
      showQueryWarnings(errorBox, answer.ok ? answer.warnings ?? [] : []);
      if (!answer.ok) return showProblem(answer);
      if (await pages.loadFirst(gen)) table.render(true);
    } catch (error) {
      if (!pages.isCurrent(gen)) return;
      if (!(error instanceof ApiError)) throw error;
      showProblem({
        field: "q",
        code: error.code,
        message: error.message,
        column: error.column,
      });
    } finally {
      if (pages.isCurrent(gen)) table.element.classList.remove("loading");
    }
  }

  /**
   * Shows what is wrong with the query (at its column) or the sort, and an
   * empty table.
   * @param {QueryProblem} problem
   */
  function showProblem(problem) {
    pages.total = 0;
    table.setHeight(0);
    count.textContent = "";
    const sort = problem.field === "sort";
    const text = sort ? state.sort : state.q;
    showQueryProblem(errorBox, problem, text, sort ? "sort: " : "");
    if (problem.column && !sort) {
      input.focus();
      input.setSelectionRange(
        problem.column - 1,
        Math.min(text.length, problem.column),
      );
    }
    table.render(true);
  }

  const onResize = debounce(() => table.render(false), 50);
  addEventListener("resize", onResize);

  // --- Live refresh ---------------------------------------------------------
  /**
   * Fetches the rows on screen again (see {@link RunPages.refresh}).
   * @param {boolean} force
   */
  async function refresh(force) {
    const element = table.element;
    const last = await pages.refresh(
      force,
      element.scrollTop,
      element.clientHeight || 600,
    );
    if (last === null) return;
    selection.refreshRuns(last.runs);
    table.render(false);
  }

  const stop = every(
    () => Math.max(2000, 4 * pages.fetchMs),
    () => refresh(false),
  );

  checkAsYouType(input, errorBox, "runs");
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      input.value = state.q;
      errorBox.hidden = true;
    }
  });

  apply({ keepQuery: true });

  return () => {
    stop();
    pages.stop();
    removeEventListener("resize", onResize);
  };
}
