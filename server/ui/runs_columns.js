/// <reference lib="dom" />
// @ts-check
// The runs table's columns: the fixed ones, the chosen params and series
// summaries, how each shows a run, and the choice kept in localStorage.

import { badges } from "./badges.js";
import { h } from "./dom.js";
import {
  fmtContext,
  fmtDuration,
  fmtNum,
  fmtParam,
  fmtTime,
  num,
} from "./format.js";
import { at, canonical, metricExpr, paramExpr } from "./params.js";
import { link } from "./urls.js";

/** @import { Run } from "./api_types.js" */
/** @import { ColumnChoice } from "./runs_model.js" */

const STORAGE_KEY = "aim.runs.columns";

/**
 * A column of the runs table.
 * @typedef {object} Column
 * @property {string} key  Unique; "created" is the creation time.
 * @property {string} title
 * @property {number} width  Pixels, until fitted to what the column shows.
 * @property {number} [min]  Pixels it is fitted to at least (default 48).
 * @property {number} [max]  Pixels it is fitted to at most (default 360).
 * @property {boolean} [pinned]  Stays in view when the table scrolls
 *   sideways (the first columns only).
 * @property {string} [sort]  The expression a click on its header sorts by.
 * @property {(run: Run) => string | Node | Node[]} cell  A string is also the cell's tooltip.
 * @property {string} [cls]  A class for its cells.
 * @property {(run: Run) => string} [cellClass]  A class for one run's cell.
 * @property {Node} [header]  Shown in its header instead of the title.
 */

/**
 * The columns for `choice`: selection box, name, experiment, state,
 * creation, duration and tags, then the chosen params and series.
 * @param {ColumnChoice | null} choice
 * @param {(hash: string) => boolean} isSelected
 * @param {Node} [selectAll]  The selection column's header.
 * @returns {Column[]}
 */
export function tableColumns(choice, isSelected, selectAll) {
  /** @type {Column[]} */
  const cols = [
    {
      key: "sel",
      title: "",
      ...(selectAll ? { header: selectAll } : {}),
      width: 40,
      min: 40,
      max: 40,
      pinned: true,
      cell: (run) =>
        h("input", {
          type: "checkbox",
          checked: isSelected(run.hash),
          "aria-label": `select ${run.name || run.hash}`,
          dataset: { hash: run.hash },
        }),
      cls: "sel",
    },
    {
      key: "name",
      title: "Name",
      width: 160,
      min: 100,
      max: 320,
      pinned: true,
      sort: "run.name",
      cell: (run) => link(`run/${run.hash}`, run.name || run.hash.slice(0, 12)),
    },
    {
      key: "experiment",
      title: "Experiment",
      width: 110,
      max: 220,
      sort: "run.experiment",
      cell: (r) => r.experiment,
    },
    {
      key: "state",
      title: "State",
      width: 90,
      sort: "run.status",
      cell: (r) => badges(r),
    },
    {
      key: "created",
      title: "Created",
      width: 160,
      sort: "run.created_at",
      cell: (r) => fmtTime(r.created_at),
    },
    {
      key: "duration",
      title: "Duration",
      width: 80,
      sort: "run.duration",
      cell: (r) => fmtDuration(r.duration),
      cls: "num",
    },
    {
      key: "tags",
      title: "Tags",
      width: 80,
      max: 260,
      cell: (run) => run.tags.map((t) => h("span.tag", { text: t })),
    },
  ];
  for (const path of choice?.params ?? []) {
    cols.push({
      key: `p:${path.join(".")}`,
      title: path.join("."),
      width: 100,
      // A command line reads best long; its tooltip has all of it.
      max: 480,
      sort: paramExpr(path),
      cell: (r) => fmtParam(path, at(r.params, path)),
      // Numbers line up on the right; text and commands read from the left.
      cellClass: (r) => num(at(r.params, path)) !== null ? "num" : "",
    });
  }
  for (const m of choice?.metrics ?? []) {
    const key = canonical(m.context);
    cols.push({
      key: `m:${m.name}:${key}:${m.agg}`,
      title: `${m.name}${
        Object.keys(m.context).length ? ` (${fmtContext(m.context)})` : ""
      } ${m.agg}`,
      width: 100,
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

/**
 * The columns chosen last time in this browser, or null for none (or an
 * unreadable choice).
 * @returns {ColumnChoice | null}
 */
export function loadColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (saved && Array.isArray(saved.params) && Array.isArray(saved.metrics)) {
      return saved;
    }
  } catch {
    // Unreadable: start from the defaults.
  }
  return null;
}

/**
 * Keeps `choice` for the next visit.
 * @param {ColumnChoice} choice
 */
export function storeColumns(choice) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(choice));
  } catch {
    // Private mode: columns last for this page only.
  }
}
