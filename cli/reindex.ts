/**
 * `aim reindex`: index every stalled run at once.
 *
 * @module
 */

import { parse, printJson } from "./_args.ts";
import { dirname, join } from "node:path";
import { reindex, Repo } from "../lib/mod.ts";
import { RUNS_DIR } from "../lib/storage/mod.ts";

const HELP =
  `Usage: aim reindex [--repo PATH] [--all] [--finalize-stalled] [--dry-run] [--json]

Indexes every run that has unindexed data and whose writer is gone (killed,
crashed, out of memory), one short transaction per run. Live runs are left
to their writers. A run that cannot be read is reported and skipped; no run
data is ever deleted.

  --all               rebuild the index from every run space
  --finalize-stalled  also record stalled runs as crashed in their own space
                      (end time = last heartbeat)
  --dry-run           only count what would be indexed
  --json              print the summary as JSON`;

/** `aim reindex`. */
export function reindexCommand(args: string[]): number {
  const { values } = parse("aim reindex", args, {
    all: { type: "boolean" },
    "finalize-stalled": { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) return (console.log(HELP), 0);
  const repo = Repo.openSync(values.repo);
  try {
    const bar = Deno.stderr.isTerminal() && !values.json
      ? _progressBar()
      : undefined;
    const summary = reindex(repo, {
      all: values.all ?? false,
      finalizeStalled: values["finalize-stalled"] ?? false,
      dryRun: values["dry-run"] ?? false,
      ...(bar ? { onProgress: bar } : {}),
    });
    if (bar) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    for (const failure of summary.failed) {
      console.error(
        `error: run ${failure.hash} skipped: ${failure.reason} (nothing was deleted; remove it with: aim runs rm --force ${failure.hash})`,
      );
    }
    for (const item of summary.sweptItems) {
      console.error(`note: removed ${item.path}: ${item.reason}`);
    }
    for (const item of summary.junk) {
      console.error(
        `warning: skipped ${item.path}: ${item.reason}${
          item.hash !== null && dirname(item.path) === join(repo.path, RUNS_DIR)
            ? ` (remove it with: aim runs rm --force ${item.hash})`
            : ""
        }`,
      );
    }
    if (values.json) printJson(summary);
    else {
      const verb = values["dry-run"] ? "would index" : "indexed";
      console.log(
        `${verb} ${summary.indexed} of ${summary.candidates} runs (${summary.crashed} crashed), ` +
          `${summary.skippedLive} live skipped, ${summary.failed.length} failed` +
          (summary.removed
            ? `, ${summary.removed} stale index entries removed`
            : "") +
          (summary.hidden
            ? `, ${summary.hidden} runs found without index rows or marker`
            : "") +
          (summary.swept
            ? `, ${summary.swept} interrupted creations or deletions cleaned up`
            : "") +
          ` in ${summary.seconds.toFixed(2)} s`,
      );
    }
    return summary.failed.length > 0 ? 1 : 0;
  } finally {
    repo.close();
  }
}

function _progressBar(): (done: number, total: number) => void {
  const encoder = new TextEncoder();
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done !== total && now - last < 100) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    Deno.stderr.writeSync(
      encoder.encode(
        `\r[${"#".repeat(filled)}${
          " ".repeat(width - filled)
        }] ${done}/${total}`,
      ),
    );
  };
}
