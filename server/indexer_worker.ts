/**
 * The background indexer, running inside a Worker: it lists the unindexed
 * markers, skips live runs, and indexes the others one at a time, each in
 * its own short transaction, yielding between runs. Stalled runs are
 * recorded `crashed` in their own space. A run that fails to index is
 * reported once and retried only when its files change.
 *
 * @module
 */

import { join } from "node:path";
import { AimError, indexRun, markHidden, Repo } from "../lib/mod.ts";
import { PROGRESS_DIR, RUN_DB } from "../lib/storage/mod.ts";
import type { FromIndexer, ToIndexer } from "./messages.ts";
import { workerScope } from "./_worker_scope.ts";

/** Longest idle sleep, as a multiple of the index interval. */
const MAX_BACKOFF = 6;

/**
 * How long the indexer sleeps after a pass, in milliseconds: the interval
 * after a pass that indexed something; after an idle pass, twice the last
 * sleep, up to {@linkcode MAX_BACKOFF} intervals. A new marker wakes it
 * earlier whatever this says.
 */
export function idleAfterPass(
  lastIdleMs: number,
  indexed: number,
  intervalMs: number,
): number {
  return indexed > 0
    ? intervalMs
    : Math.min(lastIdleMs * 2, intervalMs * MAX_BACKOFF);
}

/** Runs the indexer loop in this Worker until told to stop. */
export function runIndexerWorker(): void {
  const post = (message: FromIndexer) => workerScope().postMessage(message);
  let stopping = false;
  let wake: (() => void) | null = null;
  workerScope().onmessage = (event: MessageEvent<ToIndexer>) => {
    const message = event.data;
    if (message.type === "start") {
      _loop(
        message.repo,
        message.intervalSeconds,
        post,
        () => stopping,
        (fn) => (wake = fn),
      )
        .then(() => {
          post({ type: "stopped" });
          workerScope().close();
        });
    } else if (message.type === "wake") wake?.();
    else if (message.type === "stop") {
      stopping = true;
      wake?.();
    }
  };
  // Messages sent before the handler existed would be lost: say when it does.
  post({ type: "ready" });
}

async function _loop(
  repoPath: string,
  intervalSeconds: number,
  post: (message: FromIndexer) => void,
  stopping: () => boolean,
  onWake: (wake: () => void) => void,
): Promise<void> {
  const repo = Repo.openSync(repoPath);
  repo.index().deferCheckpoints();
  const failed = new Map<string, string>();
  // A wake while a pass runs (a marker created meanwhile, a message) is
  // kept for the next sleep, which it cuts short: it is never lost.
  let woken = false;
  let wakeNow = () => {
    woken = true;
  };
  const watcher = _watchMarkers(repo, () => wakeNow());
  onWake(() => wakeNow());
  let idleMs = intervalSeconds * 1000;
  let tidiedAt = -Infinity;
  const reported = new Set<string>();
  try {
    while (!stopping()) {
      // An index that cannot be written (a full disk, a read-only
      // repository) is looked at again after a while: space may come back.
      let paused = repo.index().readOnlyBecause;
      if (paused !== null) {
        repo.close();
        paused = repo.index().readOnlyBecause;
      }
      post({ type: "paused", reason: paused });
      if (paused === null && performance.now() - tidiedAt >= TIDY_MS) {
        tidiedAt = performance.now();
        _tidy(repo, reported);
      }
      // A run that failed is tried again only once its files have changed.
      const todo = paused !== null
        ? []
        : repo.listMarkers().filter((hash) =>
          failed.get(hash) !== _signature(repo, hash)
        );
      post({ type: "progress", inProgress: null, queue: todo.length });
      let worked = 0;
      for (let i = 0; i < todo.length && !stopping(); i++) {
        const hash = todo[i]!;
        post({ type: "progress", inProgress: hash, queue: todo.length - i });
        try {
          const outcome = indexRun(repo, hash, { finalizeStalled: true });
          if (outcome.kind === "indexed") {
            worked++;
            failed.delete(hash);
            post({
              type: "indexed",
              hash,
              crashed: outcome.record.status === "crashed",
              writeMs: outcome.writeMs,
              queue: todo.length - i - 1,
            });
          }
        } catch (error) {
          if (!(error instanceof AimError)) throw error;
          failed.set(hash, _signature(repo, hash));
          post({ type: "failed", hash, reason: error.message });
        }
        // Yield between runs: the index write lock is never held across runs.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      // Also folds back what finishing runs' own connections wrote meanwhile.
      if (paused === null) repo.index().checkpoint();
      post({ type: "progress", inProgress: null, queue: 0 });
      post({ type: "pass", at: Date.now() / 1000 });
      idleMs = paused !== null
        ? intervalSeconds * 1000 * MAX_BACKOFF
        : idleAfterPass(idleMs, worked, intervalSeconds * 1000);
      await new Promise<void>((resolve) => {
        if (woken) return resolve();
        const timer = setTimeout(resolve, idleMs);
        wakeNow = () => {
          woken = true;
          clearTimeout(timer);
          resolve();
        };
      });
      if (woken) idleMs = intervalSeconds * 1000;
      woken = false;
      wakeNow = () => {
        woken = true;
      };
    }
  } finally {
    watcher?.close();
    repo.close();
  }
}

/** How often the indexer sweeps leftovers and looks for runs with no marker, in ms. */
const TIDY_MS = 60_000;

/**
 * Removes leftovers of interrupted run creations and deletions, reports
 * (once each) what else in the repository is not a run, and marks runs that
 * have neither index rows nor a marker, so that they get indexed.
 */
function _tidy(repo: Repo, reported: Set<string>): void {
  for (const item of repo.sweep().kept) {
    if (reported.has(item.path)) continue;
    reported.add(item.path);
    console.error(
      `warning: ${item.path} is skipped: ${item.reason} (aim reindex says more)`,
    );
  }
  const hidden = markHidden(repo);
  if (hidden.length > 0) {
    console.error(
      `warning: ${hidden.length} runs had neither index rows nor a marker: marked for indexing`,
    );
  }
}

/** Wakes the loop early when markers appear (local filesystems; others rely on polling). */
function _watchMarkers(repo: Repo, wake: () => void): Deno.FsWatcher | null {
  if (repo.mode !== "local") return null;
  try {
    const watcher = Deno.watchFs(join(repo.path, PROGRESS_DIR), {
      recursive: false,
    });
    (async () => {
      try {
        for await (const event of watcher) {
          if (event.kind === "create") wake();
        }
      } catch {
        // Closed.
      }
    })();
    return watcher;
  } catch {
    return null;
  }
}

/** Size and modification time of the run's files: changes when its data does. */
function _signature(repo: Repo, hash: string): string {
  const parts: string[] = [];
  for (const suffix of ["", "-wal"]) {
    try {
      const stat = Deno.statSync(join(repo.runDir(hash), RUN_DB + suffix));
      parts.push(`${stat.size}@${stat.mtime?.getTime()}`);
    } catch {
      parts.push("-");
    }
  }
  return parts.join("/");
}
