/**
 * The main thread's side of the background indexer: starts the Worker,
 * keeps its state for `/api/index`, restarts it with backoff if it dies, and
 * stops it cleanly (the index transaction in flight finishes first).
 *
 * @module
 */

import {
  type FromIndexer,
  INDEXER_WORKER,
  type IndexerState,
  type ToIndexer,
} from "./messages.ts";

/** Options of {@linkcode IndexerSupervisor}. */
export interface IndexerSupervisorOptions {
  /** Seconds between passes when there is work; idle passes back off up to 6×. */
  intervalSeconds: number;
  /** Module the Worker runs: the program's entry (it dispatches on the Worker's name). */
  workerUrl: string | URL;
}

const MAX_FAILURES = 50;

/** The background indexer Worker, supervised. */
export class IndexerSupervisor {
  readonly state: IndexerState = {
    queue: 0,
    indexed: 0,
    crashed: 0,
    failures: [],
    in_progress: null,
    longest_write_ms: 0,
    last_pass_at: null,
    restarts: 0,
    paused: null,
    running: false,
  };
  #repo: string;
  #options: IndexerSupervisorOptions;
  #worker: Worker | null = null;
  #stopping = false;
  #stopped: (() => void) | null = null;
  #restartTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(repo: string, options: IndexerSupervisorOptions) {
    this.#repo = repo;
    this.#options = options;
  }

  /** Starts the Worker. */
  start(): void {
    this.#stopping = false;
    this.#spawn();
  }

  /** Asks the Worker to look for markers now. */
  wake(): void {
    this.#send({ type: "wake" });
  }

  /**
   * Stops the Worker after the run in flight; terminates it if it has not
   * stopped within `timeoutMs`.
   */
  async stop(timeoutMs = 4000): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer !== null) clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (worker === null) return;
    const stopped = new Promise<void>((resolve) => (this.#stopped = resolve));
    this.#send({ type: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      stopped,
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    worker.terminate();
    this.#worker = null;
    this.state.running = false;
  }

  #spawn(): void {
    const worker = new Worker(this.#options.workerUrl, {
      type: "module",
      name: INDEXER_WORKER,
    });
    this.#worker = worker;
    this.state.running = true;
    worker.onmessage = (event: MessageEvent<FromIndexer>) =>
      this.#receive(event.data);
    worker.onerror = (event) => {
      // The server keeps serving: report, then restart with backoff.
      event.preventDefault();
      console.error(
        `warning: the background indexer stopped: ${event.message}; restarting`,
      );
      worker.terminate();
      this.#worker = null;
      this.state.running = false;
      this.state.in_progress = null;
      if (this.#stopping) return this.#stopped?.();
      const delay = Math.min(
        30_000,
        500 * 2 ** Math.min(this.state.restarts, 6),
      );
      this.state.restarts++;
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (!this.#stopping) this.#spawn();
      }, delay);
    };
  }

  #send(message: ToIndexer): void {
    this.#worker?.postMessage(message);
  }

  #receive(message: FromIndexer): void {
    const state = this.state;
    switch (message.type) {
      case "ready": {
        if (this.#stopping) this.#send({ type: "stop" });
        else {
          this.#send({
            type: "start",
            repo: this.#repo,
            intervalSeconds: this.#options.intervalSeconds,
          });
        }
        break;
      }
      case "indexed":
        state.indexed++;
        if (message.crashed) state.crashed++;
        state.longest_write_ms = Math.max(
          state.longest_write_ms,
          message.writeMs,
        );
        state.queue = message.queue;
        break;
      case "failed":
        state.failures.push({
          hash: message.hash,
          reason: message.reason,
          at: Date.now() / 1000,
        });
        if (state.failures.length > MAX_FAILURES) state.failures.shift();
        console.error(
          `warning: cannot index run ${message.hash}: ${message.reason}`,
        );
        break;
      case "progress":
        state.in_progress = message.inProgress;
        state.queue = message.queue;
        break;
      case "pass":
        state.last_pass_at = message.at;
        break;
      case "paused":
        if (message.reason !== null && state.paused === null) {
          console.error(
            `warning: the background indexer is paused: ${message.reason}`,
          );
        }
        state.paused = message.reason;
        break;
      case "stopped":
        this.#stopped?.();
        break;
    }
  }
}
