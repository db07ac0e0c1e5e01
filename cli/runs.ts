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
  unknownWord,
  UsageError,
  warnIfNoIndex,
  warnUnknownNames,
} from "./_args.ts";
import { type Align, isNumeric, printTable } from "./_table.ts";
import {
  chooseColumns,
  columnValue,
  DEFAULT_VALUE_COLUMNS,
  formatValue,
  namedColumns,
  parseColumns,
} from "./_columns.ts";
import {
  AimError,
  MAX_LIMIT,
  removeRun,
  Repo,
  runToJson,
  searchRuns,
  validateHash,
} from "../lib/mod.ts";

const HELP = `Usage: aim runs <ls|rm> [options]

  aim runs ls [--repo PATH] [--query Q] [--sort KEY] [--columns EXPR,...]
              [--limit N] [--offset N] [--json]
      Lists runs, indexed or not (unindexed runs are read from their own
      files), newest first. --query filters with the query language
      (run.hparams.lr < 0.01 and "best" in run.tags); --sort takes a run
      expression such as run.hparams.lr or run.metrics["loss"].last, with a
      leading - for descending, written joined: --sort=-run.hparams.lr
      (--sort run.created_at lists oldest first).
      After hash, status, indexed, experiment, name and creation time
      come value columns. --columns takes run expressions, comma-separated
      or repeated, where a param or a series may leave out "run."
      (--columns 'hparams.lr,metric["loss", {"subset": "train"}].last').
      By default: what --sort and --query name, then params that differ
      between the listed runs and the last value of their commonest series,
      up to ${DEFAULT_VALUE_COLUMNS} columns. Numbers are rounded for reading; --json prints
      one JSON array with every digit (and "columns" with --columns).
      A param that no run has (a typo such as run.hparms.lr) is warned
      about on stderr, with the closest names.
  aim runs rm <hash...> [--repo PATH] [--force]
      Deletes runs: their files and their index rows. Refuses a live run
      unless --force.`;

/** The default order: newest first, as in the web UI. */
export const NEWEST_FIRST = "-run.created_at";

/** `aim runs`. */
export function runs(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub === "ls") return _ls(rest);
  if (sub === "rm") return _rm(rest);
  if (sub === undefined || sub === "--help" || sub === "-h") {
    return (console.log(HELP), sub ? 0 : 2);
  }
  throw new UsageError(
    unknownWord("subcommand", sub, ["ls", "rm"]),
    "aim runs",
  );
}

function _ls(args: string[]): number {
  const { values } = parse("aim runs ls", args, {
    ...SEARCH_OPTIONS,
    columns: { type: "string", multiple: true },
  });
  if (values.help) return (console.log(HELP), 0);
  const q = values.query ?? "";
  const paging = searchOptions("aim runs ls", values, MAX_LIMIT);
  const sort = paging.sort ?? NEWEST_FIRST;
  const explicit = values.columns ? parseColumns(values.columns) : null;
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const now = Date.now() / 1000;
    const { runs, unreadable } = searchRuns(repo, q, { ...paging, sort, now });
    for (const failure of unreadable) {
      console.error(`warning: ${failure.reason}`);
    }
    warnUnknownNames(repo, q, sort, explicit?.map((c) => c.expression) ?? []);
    if (values.json) {
      printJson(runs.map((run) => {
        const json = runToJson(run, now);
        if (explicit !== null) {
          json.columns = Object.fromEntries(
            explicit.map((c) => [c.text, columnValue(c, run.record, now)]),
          );
        }
        return json;
      }));
      return 0;
    }
    const columns = chooseColumns(
      explicit,
      namedColumns(q, paging.sort),
      runs.map((run) => run.record),
    );
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
        ...columns.map((c) => formatValue(columnValue(c, r, now))),
      ];
    });
    const base = 6;
    printTable(
      [
        "HASH",
        "STATUS",
        "INDEXED",
        "EXPERIMENT",
        "NAME",
        "CREATED (UTC)",
        ...columns.map((c) => c.header),
      ],
      rows,
      "(no runs)",
      [
        ...Array<Align>(base).fill("left"),
        ...columns.map((_, i): Align =>
          isNumeric(rows.map((row) => row[base + i]!)) ? "right" : "left"
        ),
      ],
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
