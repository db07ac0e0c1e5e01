/**
 * `aim runs ls` and `aim runs rm`.
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
import { printTable } from "./_table.ts";
import {
  AimError,
  MAX_LIMIT,
  removeRun,
  Repo,
  runToJson,
  searchRuns,
  validateHash,
} from "../lib/mod.ts";

const HELP = `Usage: aim runs <ls|rm|export> [options]

  aim runs ls [--repo PATH] [--query Q] [--sort KEY] [--limit N] [--offset N] [--json]
      Lists runs, indexed or not (unindexed runs are read from their own
      files), oldest first. --query filters with the query language
      (run.hparams.lr < 0.01 and "best" in run.tags); --sort takes an
      expression such as run.hparams.lr or run.metrics["loss"].last, with a
      leading - for descending. --json prints one JSON array.
  aim runs rm <hash...> [--repo PATH] [--force]
      Deletes runs: their files and their index rows. Refuses a live run
      unless --force.
  aim runs export [--repo PATH] [--query Q] [--sort KEY] [--limit N] [--offset N]
                  [--format csv|jsonl] [--output FILE]
      Writes the matching runs as CSV (params as dotted-path columns) or
      JSON lines; see aim runs export --help.`;

/** `aim runs`. */
export async function runs(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "ls") return _ls(rest);
  if (sub === "rm") return _rm(rest);
  if (sub === "export") {
    return await (await import("./export.ts")).runsExport(rest);
  }
  if (sub === undefined || sub === "--help" || sub === "-h") {
    return (console.log(HELP), sub ? 0 : 2);
  }
  throw new UsageError(
    `unknown subcommand ${JSON.stringify(sub)}: expected ls, rm or export`,
    "aim runs",
  );
}

function _ls(args: string[]): number {
  const { values } = parse("aim runs ls", args, SEARCH_OPTIONS);
  if (values.help) return (console.log(HELP), 0);
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const { runs, unreadable } = searchRuns(
      repo,
      values.query ?? "",
      searchOptions("aim runs ls", values, MAX_LIMIT),
    );
    for (const failure of unreadable) {
      console.error(`warning: ${failure.reason}`);
    }
    if (values.json) {
      printJson(runs.map((run) => runToJson(run)));
      return 0;
    }
    const rows = runs.map((run) => {
      const r = run.record;
      const state = run.live
        ? "running"
        : r.status + (r.signal ? `(${r.signal})` : "");
      return [
        r.hash,
        state,
        run.indexed ? "yes" : "no",
        r.experiment,
        r.name,
        new Date(r.created_at * 1000).toISOString().slice(0, 19).replace(
          "T",
          " ",
        ),
        String(r.metrics.length),
      ];
    });
    printTable(
      [
        "HASH",
        "STATUS",
        "INDEXED",
        "EXPERIMENT",
        "NAME",
        "CREATED (UTC)",
        "SERIES",
      ],
      rows,
      "(no runs)",
    );
    return 0;
  } finally {
    repo.close();
  }
}

function _rm(args: string[]): number {
  const { values, positionals } = parse("aim runs rm", args, {
    force: { type: "boolean" },
  }, true);
  if (values.help) return (console.log(HELP), 0);
  if (positionals.length === 0) {
    throw new UsageError("no run hash given", "aim runs rm");
  }
  for (const hash of positionals) validateHash(hash);
  const repo = Repo.openSync(values.repo);
  let failed = 0;
  try {
    for (const hash of positionals) {
      try {
        removeRun(repo, hash, { force: values.force ?? false });
        console.log(`removed ${hash}`);
      } catch (error) {
        if (!(error instanceof AimError)) throw error;
        console.error(`error: ${error.message}`);
        failed++;
      }
    }
  } finally {
    repo.close();
  }
  return failed > 0 ? 1 : 0;
}
