/**
 * A tracking Worker: it holds the writers of the remote runs routed to it
 * (docs/ARCHITECTURE.md, "Remote tracking"), applies their batches one
 * call at a time, records `crashed` the runs whose clients fell silent, and
 * suspends every writer when the server stops. Parsing and committing
 * batches here keeps the main thread free for the UI's requests.
 *
 * @module
 */

import { AimError, handleSignals, Repo } from "../lib/mod.ts";
import { RemoteRuns } from "../lib/tracking/mod.ts";
import type { FromTracking, ToTracking, TrackingRequest } from "./messages.ts";
import { toWireError } from "./wire.ts";
import { workerScope } from "./_worker_scope.ts";

/** How often silent clients are looked for, in milliseconds. */
const SWEEP_MS = 1000;

/** Runs the tracking loop in this Worker. */
export function runTrackingWorker(): void {
  const post = (message: FromTracking) => workerScope().postMessage(message);
  // The main thread decides what a signal does to remote runs (suspend
  // them); the writers' own handlers would end them as terminated.
  handleSignals(false);
  let remote: RemoteRuns | null = null;
  let repo: Repo | null = null;
  let suspended = false;
  // Calls never overlap: each waits for the one before.
  let chain: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void> | void) => {
    chain = chain.then(fn).catch((error) => {
      console.error(
        `error: a bug in the tracking Worker: ${
          error instanceof Error ? error.stack : error
        }`,
      );
    });
  };
  workerScope().onmessage = (event: MessageEvent<ToTracking>) => {
    const message = event.data;
    switch (message.type) {
      case "start": {
        repo = Repo.openSync(message.repo);
        remote = new RemoteRuns(repo, { timeoutMs: message.timeoutMs });
        setInterval(() =>
          serially(() => {
            if (suspended) return;
            const hashes = remote!.sweep();
            if (hashes.length > 0) post({ type: "crashed", hashes });
          }), SWEEP_MS);
        return;
      }
      case "request":
        return serially(async () => {
          try {
            if (suspended) {
              throw new AimError("unavailable", "The server is shutting down");
            }
            post({
              type: "result",
              id: message.id,
              body: await _call(remote!, message.request),
            });
          } catch (error) {
            if (!(error instanceof AimError)) {
              console.error(
                `error: a bug answered 500 in the tracking Worker: ${
                  error instanceof Error ? error.stack : error
                }`,
              );
            }
            post({ type: "error", id: message.id, error: toWireError(error) });
          }
        });
      case "suspend":
        return serially(() => {
          suspended = true;
          const count = remote?.suspendAll() ?? 0;
          repo?.close();
          post({ type: "suspended", count });
        });
    }
  };
  // Messages sent before the handler existed would be lost: say when it does.
  post({ type: "ready" });
}

function _call(remote: RemoteRuns, request: TrackingRequest) {
  switch (request.kind) {
    case "open":
      return remote.open(request.open);
    case "batch":
      return remote.batch(request.hash, request.seq, request.bytes, {
        stopAtClose: request.stopAtClose,
      });
    case "close":
      return remote.close(request.hash, request.seq, request.ending);
  }
}
