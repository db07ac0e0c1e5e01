/// <reference lib="dom" />
// @ts-check
// Side-by-side compare of runs (/compare?runs=a,b,…): one column per run,
// one row per param path; rows whose values differ are highlighted, equal
// ones folded away (?equal=1 shows them); then last/min/max of the chosen
// series (?series=<expr>, repeated; all of them when none is chosen).

import { getRun } from "./api.js";
import { errorText, h } from "./dom.js";
import { fmtValue } from "./format.js";
import { canonical, leaves, metricExpr } from "./params.js";
import { link } from "./urls.js";
import { viewsBar } from "./views.js";

/** @import { Run } from "./api_types.js" */

/** Runs compared at most (a wider table cannot be read). */
const MOST = 50;

/**
 * One row of the params table: a path, each run's value (undefined where
 * the run has none) and whether they differ.
 * @typedef {object} CompareRow
 * @property {string} path  Dotted, e.g. `hparams.lr`.
 * @property {unknown[]} values  One per run, in the runs' order.
 * @property {boolean} differs
 */

/**
 * The params of `runs` as rows, by path; a path some run lacks differs.
 * @param {readonly Run[]} runs
 * @returns {CompareRow[]}
 */
export function paramRows(runs) {
  /** @type {Map<string, unknown[]>} */
  const byPath = new Map();
  runs.forEach((run, i) => {
    for (const [path, value] of leaves(run.params)) {
      const key = path.join(".");
      let values = byPath.get(key);
      // Dense, so that a run without the path still gets its cell.
      if (!values) byPath.set(key, values = runs.map(() => undefined));
      values[i] = value;
    }
  });
  return [...byPath.keys()].sort().map((path) => {
    const values = /** @type {unknown[]} */ (byPath.get(path));
    const texts = Array.from(
      { length: runs.length },
      (_, i) => values[i] === undefined ? "\u0000" : canonical(values[i]),
    );
    return { path, values, differs: new Set(texts).size > 1 };
  });
}

/**
 * @param {HTMLElement} root
 * @param {import("./app.js").PageContext} app
 */
export function mount(root, app) {
  const params = new URLSearchParams(location.search);
  const hashes = (params.get("runs") ?? "").split(",").filter(Boolean);
  const showEqual = params.get("equal") === "1";
  const chosen = params.getAll("series");
  const body = h("div.compare-body", {}, h("p", { text: "Loading…" }));
  root.append(
    h("section.compare-page", {}, viewsBar("compare", app), body),
  );
  if (hashes.length === 0) {
    body.replaceChildren(
      h("p.empty", {
        text: "Select runs on the runs page, then press Compare.",
      }),
    );
    return;
  }
  if (hashes.length > MOST) {
    body.replaceChildren(
      h("p.empty", {
        text:
          `Compare at most ${MOST} runs at once; ${hashes.length} are selected.`,
      }),
    );
    return;
  }
  Promise.all(hashes.map((hash) => getRun(hash))).then((runs) =>
    show(/** @type {Run[]} */ (runs))
  ).catch((error) =>
    body.replaceChildren(h("p.error", { text: errorText(error) }))
  );

  /** Writes one setting into the URL and shows the page again. */
  function go(/** @type {(p: URLSearchParams) => void} */ change) {
    const next = new URLSearchParams(location.search);
    change(next);
    app.navigate(`compare?${next}`, { replace: true });
  }

  /** @param {Run[]} runs */
  function show(runs) {
    const rows = paramRows(runs);
    const differing = rows.filter((r) => r.differs);
    const equal = rows.length - differing.length;
    const header = h(
      "tr",
      {},
      h("th", { text: "" }),
      ...runs.map((run) =>
        h(
          "th",
          { dataset: { hash: run.hash } },
          link(`run/${run.hash}`, run.name || run.hash.slice(0, 8)),
          h("div.sub", { text: `${run.experiment} · ${run.status}` }),
        )
      ),
    );
    const paramTable = h(
      "table.compare-table.compare-params",
      {},
      header,
      ...(showEqual ? rows : differing).map((row) =>
        h(
          `tr${row.differs ? ".differs" : ".equal"}`,
          { dataset: { path: row.path } },
          h("th", { text: row.path }),
          ...row.values.map((v) =>
            h("td", {
              text: v === undefined ? "—" : fmtValue(v),
              title: v === undefined ? "no such param" : canonical(v),
            })
          ),
        )
      ),
    );
    const fold = h("button.link.compare-fold", {
      type: "button",
      text: showEqual
        ? `Hide the ${equal} equal params`
        : `Show the ${equal} equal params`,
      disabled: equal === 0,
      onclick: () =>
        go((p) => showEqual ? p.delete("equal") : p.set("equal", "1")),
    });

    // Every series of any run, by expression.
    /** @type {Map<string, import("./api_types.js").SeriesSummary[]>} */
    const seriesByExpr = new Map();
    runs.forEach((run, i) => {
      for (const s of run.metrics) {
        const expr = metricExpr(s.name, s.context);
        let per = seriesByExpr.get(expr);
        if (!per) seriesByExpr.set(expr, per = new Array(runs.length));
        per[i] = s;
      }
    });
    const all = [...seriesByExpr.keys()].sort();
    const shown = chosen.length > 0
      ? all.filter((e) => chosen.includes(e))
      : all;
    const picker = h(
      "div.compare-series-picker",
      {},
      "Series: ",
      ...all.map((expr) =>
        h(
          "label",
          {},
          h("input", {
            type: "checkbox",
            checked: shown.includes(expr),
            dataset: { series: expr },
            onchange: (/** @type {Event} */ event) => {
              const on = /** @type {HTMLInputElement} */ (event.target)
                .checked;
              const next = on
                ? [...shown, expr]
                : shown.filter((e) => e !== expr);
              go((p) => {
                p.delete("series");
                for (const e of next) p.append("series", e);
                // None chosen would mean all: keep an impossible one.
                if (next.length === 0) p.append("series", "none");
              });
            },
          }),
          expr.replace(/^run\.metrics/, ""),
        )
      ),
    );
    const seriesTable = h(
      "table.compare-table.compare-series",
      {},
      header.cloneNode(true),
      ...shown.flatMap((expr) =>
        ["last", "min", "max"].map((field) => {
          const per = /** @type {unknown[]} */ (seriesByExpr.get(expr));
          return h(
            "tr",
            { dataset: { series: expr, field } },
            h("th", { text: `${expr.replace(/^run\.metrics/, "")}.${field}` }),
            ...runs.map((_, i) => {
              const s = /** @type {Record<string, unknown> | undefined} */ (
                per[i]
              );
              return h("td", {
                text: s === undefined ? "—" : fmtValue(s[field]),
              });
            }),
          );
        })
      ),
    );
    body.replaceChildren(
      h("h2", { text: `Comparing ${runs.length} runs` }),
      h(
        "p.compare-summary",
        {
          text: `${differing.length} params differ, ${equal} are equal${
            showEqual ? "" : " (folded)"
          }.`,
        },
        " ",
        fold,
      ),
      paramTable,
      h("h3", { text: "Series" }),
      picker,
      seriesTable,
    );
  }
}
