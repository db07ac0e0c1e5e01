/**
 * `aim status`: how complete the index is.
 *
 * @module
 */

import { parse, printJson } from "./_args.ts";
import { Repo, repoStatus } from "../lib/mod.ts";

const HELP = `Usage: aim status [--repo PATH] [--json]

Prints the number of runs, how many are indexed, how many unindexed runs are
live (still being written) or stalled (writer gone: run 'aim reindex'), and
the size of the index.`;

/** `aim status`. */
export function status(args: string[]): number {
  const { values } = parse("aim status", args, { json: { type: "boolean" } });
  if (values.help) return (console.log(HELP), 0);
  const repo = Repo.openSync(values.repo);
  try {
    const s = repoStatus(repo);
    if (values.json) printJson(s);
    else {
      console.log(
        `repository        ${s.repo}${
          s.fs_mode === "network" ? " (network filesystem)" : ""
        }`,
      );
      console.log(`runs              ${s.runs}`);
      console.log(`indexed           ${s.indexed}`);
      console.log(`unindexed, live   ${s.unindexed_live}`);
      console.log(
        `unindexed, stalled ${s.unindexed_stalled}${
          s.unindexed_stalled ? "  (run 'aim reindex')" : ""
        }`,
      );
      if (s.hidden > 0) {
        console.log(
          `not indexed, no marker ${s.hidden}  (run 'aim reindex' to find them)`,
        );
      }
      console.log(`index size        ${(s.index_bytes / 1024).toFixed(1)} KiB`);
      if (s.index !== "writable") {
        console.log(`index             ${s.index}: ${s.index_problem}`);
      }
      if (s.junk > 0) {
        console.log(
          `not runs          ${s.junk}  (entries of runs/ or progress/ that are skipped; 'aim reindex' names them)`,
        );
      }
    }
    return 0;
  } finally {
    repo.close();
  }
}
