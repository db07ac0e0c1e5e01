/**
 * `aim metrics ls`: search series across runs.
 *
 * @module
 */

import {
  parse,
  printJson,
  SEARCH_OPTIONS,
  searchOptions,
  unknownWord,
  UsageError,
  warnIfNoIndex,
  warnUnknownNames,
} from "./_args.ts";
import { MAX_LIMIT, Repo, searchMetrics } from "../lib/mod.ts";
import { forEachExpr, parseQuery, type Query } from "../lib/query/mod.ts";
import { type Align, printTable } from "./_table.ts";
import { formatContext, formatNumber } from "./_columns.ts";
import { NEWEST_FIRST } from "./runs.ts";

const HELP =
  `Usage: aim metrics ls [--repo PATH] [--query Q] [--sort KEY] [--system] [--limit N] [--offset N] [--json]

Lists (run, series) pairs matching a query, indexed or not, with each
series' summary (values rounded for reading; --json keeps them whole),
newest run first. System metrics (the series aim run samples, with the
context {"system": true}) are left out unless --system is given or the
query names metric.context.system. Example:
  aim metrics ls --query 'metric.name == "loss" and metric.context.subset == "train" and metric.last < 0.1'`;

/** `aim metrics`. */
export function metrics(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    return (console.log(HELP), sub ? 0 : 2);
  }
  if (sub !== "ls") {
    throw new UsageError(
      unknownWord("subcommand", sub, ["ls"]),
      "aim metrics",
    );
  }
  const { values } = parse("aim metrics ls", rest, {
    ...SEARCH_OPTIONS,
    system: { type: "boolean" },
  });
  if (values.help) return (console.log(HELP), 0);
  const q = values.query ?? "";
  const paging = searchOptions("aim metrics ls", values, MAX_LIMIT);
  const sort = paging.sort ?? NEWEST_FIRST;
  // Parsed alone first, so that a syntax error points into the query as written.
  const query = parseQuery(q);
  const hideSystem = !values.system && !_namesSystem(query);
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const search = (text: string) =>
      searchMetrics(repo, text, { ...paging, sort });
    const page = search(hideSystem ? _withoutSystem(q) : q);
    for (const failure of page.unreadable) {
      console.error(`warning: ${failure.reason}`);
    }
    warnUnknownNames(repo, q, sort);
    if (hideSystem && page.total === 0) {
      const system = search(q).total;
      if (system > 0) {
        console.error(
          `note: ${system} system metric series match: add --system to list them`,
        );
      }
    }
    if (values.json) {
      printJson(page.matches.map(({ run, series }) => ({
        hash: run.record.hash,
        run_name: run.record.name,
        experiment: run.record.experiment,
        indexed: run.indexed,
        ...series,
      })));
      return 0;
    }
    const header = [
      "HASH",
      "RUN",
      "METRIC",
      "CONTEXT",
      "COUNT",
      "LAST",
      "MIN",
      "MAX",
      "LAST STEP",
    ];
    const align: Align[] = header.map((_, i) => i >= 4 ? "right" : "left");
    printTable(
      header,
      page.matches.map(({ run, series }) => [
        run.record.hash,
        run.record.name,
        series.name,
        formatContext(series.context),
        String(series.count),
        formatNumber(series.last),
        formatNumber(series.min),
        formatNumber(series.max),
        String(series.last_step),
      ]),
      "(no series)",
      align,
    );
    return 0;
  } finally {
    repo.close();
  }
}

/** Whether `query` asks about the system context itself (then system series are not hidden). */
function _namesSystem(query: Query): boolean {
  let names = false;
  forEachExpr(query.expr, (expr) => {
    if (
      expr.type === "metric" && expr.field === "context" &&
      (expr.path.length === 0 || expr.path[0] === "system")
    ) names = true;
  });
  return names;
}

/** `q` without the series whose context marks them system metrics. */
function _withoutSystem(q: string): string {
  const notSystem = "not metric.context.system";
  return q.trim() === "" ? notSystem : `(${q}) and ${notSystem}`;
}
