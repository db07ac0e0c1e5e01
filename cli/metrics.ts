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
  UsageError,
  warnIfNoIndex,
} from "./_args.ts";
import { MAX_LIMIT, Repo, searchMetrics } from "../lib/mod.ts";

const HELP =
  `Usage: aim metrics ls [--repo PATH] [--query Q] [--sort KEY] [--limit N] [--offset N] [--json]
       aim metrics export [--repo PATH] [--query Q] [--format csv|jsonl] [--points N] [--output FILE] ...

Lists (run, series) pairs matching a query, indexed or not, with each
series' summary. Example:
  aim metrics ls --query 'metric.name == "loss" and metric.context.subset == "train" and metric.last < 0.1'
'aim metrics export' writes their points as CSV or JSON lines; see
aim metrics export --help.`;

/** `aim metrics`. */
export async function metrics(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    return (console.log(HELP), sub ? 0 : 2);
  }
  if (sub === "export") {
    return await (await import("./export.ts")).metricsExport(rest);
  }
  if (sub !== "ls") {
    throw new UsageError(
      `unknown subcommand ${JSON.stringify(sub)}: expected ls or export`,
      "aim metrics",
    );
  }
  const { values } = parse("aim metrics ls", rest, SEARCH_OPTIONS);
  if (values.help) return (console.log(HELP), 0);
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const page = searchMetrics(
      repo,
      values.query ?? "",
      searchOptions("aim metrics ls", values, MAX_LIMIT),
    );
    for (const failure of page.unreadable) {
      console.error(`warning: ${failure.reason}`);
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
    console.log(
      ["HASH", "NAME", "CONTEXT", "COUNT", "LAST", "MIN", "MAX", "LAST STEP"]
        .join("\t"),
    );
    for (const { run, series } of page.matches) {
      console.log([
        run.record.hash,
        series.name,
        JSON.stringify(series.context),
        series.count,
        series.last,
        series.min,
        series.max,
        series.last_step,
      ].join("\t"));
    }
    return 0;
  } finally {
    repo.close();
  }
}
