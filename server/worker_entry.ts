/**
 * Worker dispatch: the program's entry module also runs as each Worker, so
 * a bundled or compiled program needs no extra file. The Worker's name says
 * which loop to run.
 *
 * @module
 */

import { INDEXER_WORKER, QUERY_WORKER, TRACKING_WORKER } from "./messages.ts";

/** The Worker role of this thread, or null on the main thread. */
export function workerRole(): string | null {
  const scope = globalThis as unknown as {
    WorkerGlobalScope?: unknown;
    name?: string;
  };
  if (scope.WorkerGlobalScope === undefined) return null;
  return scope.name ?? null;
}

/** Runs this Worker's loop; throws for an unknown name. */
export async function runWorker(role: string): Promise<void> {
  if (role === INDEXER_WORKER) {
    (await import("./indexer_worker.ts")).runIndexerWorker();
  } else if (role === QUERY_WORKER) {
    (await import("./query_worker.ts")).runQueryWorker();
  } else if (role === TRACKING_WORKER) {
    (await import("./tracking_worker.ts")).runTrackingWorker();
  } else throw new Error(`Unknown worker ${JSON.stringify(role)}`);
}
