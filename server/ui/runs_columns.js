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
  fmtTime,
  fmtValue,
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
 * @property {number} width  Pixels.
 * @property {string} [sort]  The expression a click on its header sorts by.
 * @property {(run: Run) => string | Node | Node[]} cell  A string is also the cell's tooltip.
 * @property {string} [cls]  A class for its cells.
 */

/**
 * The columns for `choice`: selection box, name, experiment, state,
 * creation, duration and tags, then the chosen params and series.
 * @param {ColumnChoice | null} choice
 * @param {(hash: string) => boolean} isSelected
 * @returns {Column[]}
 */
export function tableColumns(choice, isSelected) {
  /** @type {Column[]} */
  const cols = [
    {
      key: "sel",
      title: "",
      width: 40,
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
      width: 220,
      sort: "run.name",
      cell: (run) => link(`run/${run.hash}`, run.name || run.hash.slice(0, 12)),
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
    {
      key: "tags",
      title: "Tags",
      width: 150,
      cell: (run) => run.tags.map((t) => h("span.tag", { text: t })),
    },
  ];
  for (const path of choice?.params ?? []) {
    cols.push({
      key: `p:${path.join(".")}`,
      title: path.join("."),
      width: 120,
      sort: paramExpr(path),
      cell: (r) => fmtValue(at(r.params, path)),
      cls: "num",
    });
  }
  for (const m of choice?.metrics ?? []) {
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
