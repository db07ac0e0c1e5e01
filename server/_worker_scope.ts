/**
 * A Worker's global scope, typed: the main-thread typings lack it.
 *
 * @module
 */

/** The parts of a Worker's global scope the loops use (the main-thread typings lack them). */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

/** This Worker's global scope. */
export function workerScope(): WorkerScope {
  return globalThis as unknown as WorkerScope;
}
