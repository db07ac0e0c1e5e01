/**
 * A repository's params, as names a query may use, and the warnings for a
 * query (and a sort) that names one no run has (see `names.ts`).
 *
 * @module
 */

import { AimError } from "../errors.ts";
import { flattenParams } from "../index/params.ts";
import type { Repo } from "../repo/repo.ts";
import { type NameWarning, paramNameWarnings, paramsNamed } from "./names.ts";
import { parseQuery, type Query } from "./parser.ts";

// Each step seeks the next distinct path in a partial index on (path, …):
// a loose index scan, one seek per distinct path however many runs there are.
const _DISTINCT_PATHS = (column: "num" | "str") => `
WITH RECURSIVE p(path) AS (
  SELECT (SELECT min(path) FROM params WHERE ${column} IS NOT NULL)
  UNION ALL
  SELECT (SELECT min(path) FROM params WHERE ${column} IS NOT NULL AND path > p.path)
  FROM p WHERE p.path IS NOT NULL
) SELECT path FROM p WHERE path IS NOT NULL`;

/**
 * Every param path of the repository's runs (leaves, as the index stores
 * them): from the index, and from the own space of each run it does not
 * cover. A path whose value is None or NaN in every indexed run is not
 * among them (the index's value indexes skip those). `check` is called
 * between runs read.
 */
export function knownParamPaths(
  repo: Repo,
  check?: () => void,
): string[][] {
  const index = repo.index();
  const paths = new Set<string>();
  if (!index.empty) {
    for (const column of ["num", "str"] as const) {
      for (const row of index.statement(_DISTINCT_PATHS(column)).all()) {
        paths.add(String(row.path));
      }
    }
  }
  for (const hash of index.empty ? repo.listRuns() : repo.listMarkers()) {
    check?.();
    try {
      const { record } = repo.loadRunRecent(hash);
      for (const row of flattenParams(record.params)) paths.add(row.path);
    } catch (error) {
      // An unreadable run is reported by the search itself.
      if (!(error instanceof AimError)) throw error;
    }
  }
  return [...paths].map((path) => JSON.parse(path) as string[]);
}

/** A {@linkcode NameWarning} and where the name is. */
export interface QueryNameWarning extends NameWarning {
  /** `q` for the query, `sort` for the sort, `columns` for a column expression. */
  field: "q" | "sort" | "columns";
}

/** What {@linkcode checkNames} looks at; every text is optional. */
export interface NamedTexts {
  /** A run or metric query. */
  q?: string;
  /** A sort expression, with or without its leading `-`. */
  sort?: string;
  /** Run expressions, e.g. the columns of a listing. */
  columns?: readonly string[];
}

/**
 * Warnings for the params that `texts` name but no run of `repo` has; none
 * when they name no param or the repository has no run. Reads the
 * repository only when they name a param. Throws `QuerySyntaxError` as
 * searching would.
 *
 * @example A typo warned about, the answer unchanged
 * ```ts
 * import { checkNames } from "./name_check.ts";
 * import { searchRuns } from "./search.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ handleSignals: false });
 * run.set("hparams", { lr: 0.01 });
 * await run.close();
 * const q = "run.hparms.lr < 0.1";
 * console.log(searchRuns(repo, q).total); // 0
 * console.log(checkNames(repo, { q }).map((w) => w.suggestions)); // [["run.hparams.lr"]]
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function checkNames(
  repo: Repo,
  texts: NamedTexts,
  check?: () => void,
): QueryNameWarning[] {
  const queries: [Query, QueryNameWarning["field"]][] = [];
  if (texts.q !== undefined) queries.push([parseQuery(texts.q), "q"]);
  const sort = (texts.sort ?? "").trim().replace(/^-/, "");
  if (sort.trim() !== "") queries.push([parseQuery(sort), "sort"]);
  for (const text of texts.columns ?? []) {
    queries.push([parseQuery(text), "columns"]);
  }
  if (queries.every(([query]) => paramsNamed(query).length === 0)) return [];
  const index = repo.index();
  const anyRun = repo.listMarkers().length > 0 ||
    (index.empty
      ? repo.listRuns().length > 0
      : index.statement("SELECT 1 FROM runs LIMIT 1").get() !== undefined);
  if (!anyRun) return [];
  const known = knownParamPaths(repo, check);
  return queries.flatMap(([query, field]) =>
    paramNameWarnings(query, known).map((w) => ({ ...w, field }))
  );
}
