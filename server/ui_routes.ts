/**
 * The web UI's routes: the HTML shell at `/` and at every client-side route
 * (`/runs`, `/run/:hash`, `/metrics`, `/status`), its assets under
 * `/static/`, and `/ui/check`, which checks a query as it is typed. Every asset is imported as text, so the bundle and the compiled
 * binary carry the UI and serve it offline: nothing is read from disk at run
 * time and nothing comes from the internet.
 *
 * @module
 */

import type { Context as HonoContext, Hono } from "hono";
import {
  parseQuery,
  type QueryNameWarning,
  QuerySyntaxError,
} from "../lib/query/mod.ts";
import { wantsPage } from "./guard.ts";
import indexHtml from "./ui/index.html" with { type: "text" };
import textsJs from "./ui/texts.js" with { type: "text" };
import objectsPageJs from "./ui/objects_page.js" with { type: "text" };
import objectsModelJs from "./ui/objects_model.js" with { type: "text" };
import objectsApiJs from "./ui/objects_api.js" with { type: "text" };
import imagesJs from "./ui/images.js" with { type: "text" };
import distributionsJs from "./ui/distributions.js" with { type: "text" };
import apiJs from "./ui/api.js" with { type: "text" };
import apiTypesJs from "./ui/api_types.js" with { type: "text" };
import appJs from "./ui/app.js" with { type: "text" };
import badgesJs from "./ui/badges.js" with { type: "text" };
import chartJs from "./ui/chart.js" with { type: "text" };
import colorsJs from "./ui/colors.js" with { type: "text" };
import compareJs from "./ui/compare.js" with { type: "text" };
import domJs from "./ui/dom.js" with { type: "text" };
import everyJs from "./ui/every.js" with { type: "text" };
import exploreAxesJs from "./ui/explore_axes.js" with { type: "text" };
import exploreCommonJs from "./ui/explore_common.js" with { type: "text" };
import exploreParamsJs from "./ui/explore_params.js" with { type: "text" };
import exploreScattersJs from "./ui/explore_scatters.js" with { type: "text" };
import formatJs from "./ui/format.js" with { type: "text" };
import logWindowJs from "./ui/log_window.js" with { type: "text" };
import metricsJs from "./ui/metrics.js" with { type: "text" };
import metricsCatalogJs from "./ui/metrics_catalog.js" with { type: "text" };
import metricsControlsJs from "./ui/metrics_controls.js" with { type: "text" };
import metricsLegendJs from "./ui/metrics_legend.js" with { type: "text" };
import metricsLinesJs from "./ui/metrics_lines.js" with { type: "text" };
import metricsPlotJs from "./ui/metrics_plot.js" with { type: "text" };
import metricsRefineJs from "./ui/metrics_refine.js" with { type: "text" };
import metricsSearchJs from "./ui/metrics_search.js" with { type: "text" };
import metricsStateJs from "./ui/metrics_state.js" with { type: "text" };
import paramsJs from "./ui/params.js" with { type: "text" };
import queryProblemJs from "./ui/query_problem.js" with { type: "text" };
import runJs from "./ui/run.js" with { type: "text" };
import runChartsJs from "./ui/run_charts.js" with { type: "text" };
import runHeadJs from "./ui/run_head.js" with { type: "text" };
import runLogsJs from "./ui/run_logs.js" with { type: "text" };
import runOverviewJs from "./ui/run_overview.js" with { type: "text" };
import runsJs from "./ui/runs.js" with { type: "text" };
import runsChooserJs from "./ui/runs_chooser.js" with { type: "text" };
import runsColumnsJs from "./ui/runs_columns.js" with { type: "text" };
import runsFetchJs from "./ui/runs_fetch.js" with { type: "text" };
import runsModelJs from "./ui/runs_model.js" with { type: "text" };
import runsPagesJs from "./ui/runs_pages.js" with { type: "text" };
import runsSelectionJs from "./ui/runs_selection.js" with { type: "text" };
import runsTableJs from "./ui/runs_table.js" with { type: "text" };
import seriesBinaryJs from "./ui/series_binary.js" with { type: "text" };
import seriesDrawJs from "./ui/series_draw.js" with { type: "text" };
import seriesMathJs from "./ui/series_math.js" with { type: "text" };
import statusJs from "./ui/status.js" with { type: "text" };
import tasksJs from "./ui/tasks.js" with { type: "text" };
import unitsJs from "./ui/units.js" with { type: "text" };
import viewsJs from "./ui/views.js" with { type: "text" };
import urlsJs from "./ui/urls.js" with { type: "text" };
import styleCss from "./ui/style.css" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };

/** What {@linkcode mountUi} needs. */
export interface UiOptions {
  /** The prefix the app is served under (`--base-path`), e.g. `/aim`; `""` for none. */
  basePath: string;
  /**
   * Warnings for the params a well-formed query and sort name that no run
   * has (a query Worker's `names` answer); none when absent.
   */
  names?: (
    q: string,
    sort: string,
    signal: AbortSignal,
  ) => Promise<QueryNameWarning[]>;
}

interface _Asset {
  body: string;
  type: string;
  etag: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Assets by file name, as served under `/static/`. */
const ASSETS: ReadonlyMap<string, _Asset> = new Map(
  ([
    ["api.js", apiJs, JS],
    ["api_types.js", apiTypesJs, JS],
    ["app.js", appJs, JS],
    ["badges.js", badgesJs, JS],
    ["chart.js", chartJs, JS],
    ["colors.js", colorsJs, JS],
    ["compare.js", compareJs, JS],
    ["dom.js", domJs, JS],
    ["every.js", everyJs, JS],
    ["explore_axes.js", exploreAxesJs, JS],
    ["explore_common.js", exploreCommonJs, JS],
    ["explore_params.js", exploreParamsJs, JS],
    ["explore_scatters.js", exploreScattersJs, JS],
    ["format.js", formatJs, JS],
    ["log_window.js", logWindowJs, JS],
    ["metrics.js", metricsJs, JS],
    ["metrics_catalog.js", metricsCatalogJs, JS],
    ["metrics_controls.js", metricsControlsJs, JS],
    ["metrics_legend.js", metricsLegendJs, JS],
    ["metrics_lines.js", metricsLinesJs, JS],
    ["metrics_plot.js", metricsPlotJs, JS],
    ["metrics_refine.js", metricsRefineJs, JS],
    ["metrics_search.js", metricsSearchJs, JS],
    ["metrics_state.js", metricsStateJs, JS],
    ["params.js", paramsJs, JS],
    ["query_problem.js", queryProblemJs, JS],
    ["run.js", runJs, JS],
    ["run_charts.js", runChartsJs, JS],
    ["run_head.js", runHeadJs, JS],
    ["run_logs.js", runLogsJs, JS],
    ["run_overview.js", runOverviewJs, JS],
    ["runs.js", runsJs, JS],
    ["runs_chooser.js", runsChooserJs, JS],
    ["runs_columns.js", runsColumnsJs, JS],
    ["runs_fetch.js", runsFetchJs, JS],
    ["runs_model.js", runsModelJs, JS],
    ["runs_pages.js", runsPagesJs, JS],
    ["runs_selection.js", runsSelectionJs, JS],
    ["runs_table.js", runsTableJs, JS],
    ["series_binary.js", seriesBinaryJs, JS],
    ["series_draw.js", seriesDrawJs, JS],
    ["series_math.js", seriesMathJs, JS],
    ["status.js", statusJs, JS],
    ["tasks.js", tasksJs, JS],
    ["units.js", unitsJs, JS],
    ["views.js", viewsJs, JS],
    ["urls.js", urlsJs, JS],
    ["distributions.js", distributionsJs, JS],
    ["images.js", imagesJs, JS],
    ["objects_api.js", objectsApiJs, JS],
    ["objects_model.js", objectsModelJs, JS],
    ["objects_page.js", objectsPageJs, JS],
    ["texts.js", textsJs, JS],
    ["style.css", styleCss, CSS],
    ["uPlot.iife.min.js", uplotJs, JS],
    ["uPlot.min.css", uplotCss, CSS],
  ] as const).map((
    [name, body, type],
  ) => [name, { body, type, etag: `"${_fnv1a(body)}"` }]),
);

/** Client-side routes, relative to the base path; each gets the HTML shell. */
const PAGE =
  /^\/?$|^\/(runs|metrics|params|scatters|compare|images|distributions|texts|status)\/?$|^\/run\/[0-9a-f]{8,64}\/?$/;

// The pages run only their own scripts, talk only to this server, and are
// never framed; the token in the first URL is never sent on as a referrer.
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/**
 * Serves the web UI on `app` (already under the base path). Call it after
 * the API routes and before `app.notFound`, so the token check in front of
 * every route covers the pages too.
 */
export function mountUi(app: Hono, options: UiOptions): void {
  const base = options.basePath.replace(/\/+$/, "");
  app.get("/static/:name", (c) => {
    const asset = ASSETS.get(c.req.param("name"));
    if (asset === undefined) return c.notFound();
    const headers = {
      "content-type": asset.type,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      etag: asset.etag,
    };
    if (c.req.header("if-none-match") === asset.etag) {
      return c.body(null, 304, headers);
    }
    return c.body(asset.body, 200, headers);
  });
  // The pages check a query before they search with it: a syntax error is
  // then an answer, not a failed request (which browsers log as an error).
  // A well-formed one gets warnings about params no run has (typos).
  app.get("/ui/check", async (c) => {
    const asked = c.req.query("kind") ?? "runs";
    const kind = (CHECK_KINDS as readonly string[]).includes(asked)
      ? asked as CheckKind
      : "runs";
    const q = c.req.query("q") ?? "";
    const sort = c.req.query("sort") ?? "";
    const problem = checkQuery(q, kind) ?? checkSort(sort);
    if (problem !== null) return c.json(problem);
    const warnings = options.names === undefined
      ? []
      : await options.names(q, sort, c.req.raw.signal);
    return c.json({ ok: true, warnings });
  });
  app.get("*", (c, next) => {
    const suffix = _suffix(c, base);
    if (suffix === null || !PAGE.test(suffix)) return next();
    return c.body(_shell(_relativeRoot(suffix, base), base), 200, PAGE_HEADERS);
  });
}

/**
 * The app's own "no page here" for a browser's request of a page that does
 * not exist: the HTML shell, answered 404, whose router shows it with the
 * app's navigation. Null when the request is not for a page (the API's
 * JSON 404 answers it).
 */
export function notFoundPage(
  c: HonoContext,
  basePath: string,
): Response | null {
  const base = basePath.replace(/\/+$/, "");
  const suffix = _suffix(c, base);
  if (suffix === null || !wantsPage(c, base)) return null;
  return c.body(_shell(_relativeRoot(suffix, base), base), 404, PAGE_HEADERS);
}

/** A problem with a query, as `/ui/check` reports it. */
export interface QueryProblem {
  ok: false;
  field: "q" | "sort";
  code: "query_syntax" | "bad_request";
  message: string;
  /** 1-based column of a syntax error. */
  column?: number;
}

/** The searches `/ui/check` checks a query for. */
export const CHECK_KINDS = [
  "runs",
  "metrics",
  "images",
  "distributions",
  "texts",
] as const;

/** One of {@linkcode CHECK_KINDS}. */
export type CheckKind = typeof CHECK_KINDS[number];

/**
 * Checks `text` as the run search (`kind: "runs"`), the series search
 * (`"metrics"`) or a sequence search of that kind would, without
 * searching; null when it is fine. The message and column are the
 * parser's own, as the API would return them.
 */
export function checkQuery(
  text: string,
  kind: CheckKind,
): QueryProblem | null {
  try {
    const query = parseQuery(text);
    if (kind === "runs" && query.usesMetric) {
      return {
        ok: false,
        field: "q",
        code: "bad_request",
        message:
          "This query mentions metric: it selects series, not runs. Use the metrics explorer, or run.metrics[...] here",
      };
    }
    if (kind !== "runs" && kind !== "metrics") {
      const other = query.usesMetric ? "metric" : query.sequenceKind;
      if (other !== null && other !== kind) {
        return {
          ok: false,
          field: "q",
          code: "bad_request",
          message:
            `This query mentions ${other}: the ${kind} explorer searches ${kind} (${kind}.name, ${kind}.context…) and run`,
        };
      }
    }
    return null;
  } catch (error) {
    if (!(error instanceof QuerySyntaxError)) throw error;
    return {
      ok: false,
      field: "q",
      code: "query_syntax",
      message: error.message,
      column: error.column,
    };
  }
}

/** Checks a sort expression (`run.hparams.lr`, `-run.name`); null when it is fine. */
export function checkSort(sort: string): QueryProblem | null {
  const text = sort.trim().replace(/^-/, "").trim();
  if (text === "") return null;
  const problem = checkQuery(text, "metrics");
  if (problem !== null) return { ...problem, field: "sort" };
  const query = parseQuery(text);
  if (query.usesMetric || query.expr === null) {
    return {
      ok: false,
      field: "sort",
      code: "bad_request",
      message: `Cannot sort by ${
        JSON.stringify(sort)
      }: give a run expression such as run.hparams.lr`,
    };
  }
  return null;
}

/** The request path after the base path, or null when it is not under it. */
function _suffix(c: HonoContext, base: string): string | null {
  const path = c.req.path;
  if (base === "") return path;
  if (path !== base && !path.startsWith(`${base}/`)) return null;
  return path.slice(base.length);
}

/**
 * The relative URL of the app's root from the page at `suffix`, so that the
 * page's `<base href>` and every URL built from it work behind a proxy that
 * serves the app under another prefix.
 */
function _relativeRoot(suffix: string, base: string): string {
  if (suffix === "") return `./${base.slice(base.lastIndexOf("/") + 1)}/`;
  const depth = suffix.split("/").length - 2;
  return depth === 0 ? "./" : "../".repeat(depth);
}

function _shell(root: string, base: string): string {
  return indexHtml
    .replaceAll("{{ROOT}}", _escapeHtml(root))
    .replaceAll("{{BASE_PATH}}", _escapeHtml(base));
}

function _escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => `&#${ch.charCodeAt(0)};`,
  );
}

/** A short content hash for ETags (FNV-1a, 32 bits). */
function _fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
