/**
 * The query Workers, seen from the main thread (docs/ARCHITECTURE.md, "The
 * server's threads"). Requests wait in one queue and each Worker answers one
 * at a time, so a slow search holds up only its own Worker. Every request
 * has a deadline: the Worker stops a search that passes it (it checks
 * between units of work), and a Worker that still has not answered shortly
 * after is terminated and replaced. A request whose client goes away is
 * dropped from the queue, or cancelled in its Worker.
 *
 * @module
 */

import { AimError } from "../lib/mod.ts";
import {
  type FromQuery,
  QUERY_WORKER,
  type QueryRequest,
  type ToQuery,
} from "./messages.ts";
import { queryTimeout } from "./query_worker.ts";
import { RemoteError } from "./wire.ts";

/** Options of {@linkcode QueryPool}. */
export interface QueryPoolOptions {
  /** Workers (default 2). */
  size?: number;
  /** Each request's deadline in milliseconds (default 10,000). */
  timeoutMs?: number;
  /**
   * How long past its deadline a Worker may stay silent before it is
   * terminated, in milliseconds (default 2,000).
   */
  graceMs?: number;
}

/** How busy the pool is: what `/api/health` reports. */
export interface PoolStatus {
  workers: number;
  /** Workers answering a request now. */
  busy: number;
  /** Requests waiting for a Worker. */
  queued: number;
  /** Age of the oldest request being answered, in milliseconds (0 when idle). */
  oldest_ms: number;
  /** Workers terminated for overrunning their deadline, since start. */
  replaced: number;
  /** A request is past its deadline and its Worker has not yet been replaced. */
  stuck: boolean;
}

interface _Pending {
  id: number;
  request: QueryRequest;
  resolve: (body: string | Uint8Array) => void;
  reject: (error: Error) => void;
  startedAt: number;
  abort: (() => void) | null;
}

interface _Slot {
  worker: Worker;
  /** Where the main thread writes the id of the request to cancel. */
  cancel: Int32Array<SharedArrayBuffer>;
  ready: boolean;
  current: _Pending | null;
  timer: ReturnType<typeof setTimeout> | null;
}

/** Query Workers answering {@linkcode QueryRequest}s with JSON text. */
export class QueryPool {
  readonly #repo: string;
  readonly #workerUrl: string | URL;
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  #slots: _Slot[] = [];
  #queue: _Pending[] = [];
  #nextId = 1;
  #replaced = 0;
  #closed = false;

  /** Starts `options.size` Workers over the repository at `repo`. */
  constructor(
    repo: string,
    workerUrl: string | URL,
    options: QueryPoolOptions = {},
  ) {
    this.#repo = repo;
    this.#workerUrl = workerUrl;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#graceMs = options.graceMs ?? 2_000;
    for (let i = 0; i < (options.size ?? 2); i++) {
      this.#slots.push(this.#spawn());
    }
  }

  /**
   * Answers `request` with the response body: JSON text, or bytes for a
   * binary series answer. Rejects
   * with `AimError` `query_timeout` past the deadline, and `unavailable`
   * when `signal` aborts or the pool closes.
   */
  request(
    request: QueryRequest,
    signal?: AbortSignal,
  ): Promise<string | Uint8Array> {
    if (this.#closed) return Promise.reject(_closed());
    if (signal?.aborted) return Promise.reject(_cancelled());
    return new Promise((resolve, reject) => {
      const pending: _Pending = {
        id: this.#nextId++,
        request,
        resolve,
        reject,
        startedAt: 0,
        abort: null,
      };
      if (signal !== undefined) {
        const onAbort = () => this.#cancel(pending);
        signal.addEventListener("abort", onAbort, { once: true });
        pending.abort = () => signal.removeEventListener("abort", onAbort);
      }
      this.#queue.push(pending);
      this.#pump();
    });
  }

  /** How busy the Workers are. */
  status(): PoolStatus {
    const now = performance.now();
    const running = this.#slots.flatMap((s) => s.current ? [s.current] : []);
    const oldest = running.reduce(
      (age, p) => Math.max(age, now - p.startedAt),
      0,
    );
    return {
      workers: this.#slots.length,
      busy: running.length,
      queued: this.#queue.length,
      oldest_ms: Math.round(oldest),
      replaced: this.#replaced,
      stuck: oldest > this.#timeoutMs,
    };
  }

  /** Terminates every Worker; waiting requests fail with `unavailable`. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.worker.terminate();
      if (slot.current !== null) this.#settle(slot.current, _closed());
      slot.current = null;
    }
    for (const pending of this.#queue.splice(0)) {
      this.#settle(pending, _closed());
    }
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.current !== null) continue;
      const pending = this.#queue.shift()!;
      slot.current = pending;
      pending.startedAt = performance.now();
      slot.timer = setTimeout(
        () => this.#overrun(slot),
        this.#timeoutMs + this.#graceMs,
      );
      const message: ToQuery = {
        type: "request",
        id: pending.id,
        request: pending.request,
        timeoutMs: this.#timeoutMs,
      };
      slot.worker.postMessage(message);
    }
  }

  #cancel(pending: _Pending): void {
    const at = this.#queue.indexOf(pending);
    if (at >= 0) {
      this.#queue.splice(at, 1);
      this.#settle(pending, _cancelled());
      return;
    }
    const slot = this.#slots.find((s) => s.current === pending);
    // The Worker sees this between units of work and answers with an error.
    if (slot !== undefined) Atomics.store(slot.cancel, 0, pending.id);
  }

  /** A Worker silent past its deadline and grace: replace it. */
  #overrun(slot: _Slot): void {
    slot.timer = null;
    const pending = slot.current;
    slot.current = null;
    this.#replaced++;
    console.error(
      `warning: a query Worker overran its ${this.#timeoutMs} ms deadline and was replaced`,
    );
    this.#replace(slot);
    if (pending !== null) {
      this.#settle(pending, queryTimeout(this.#timeoutMs));
    }
    this.#pump();
  }

  #replace(slot: _Slot): void {
    slot.worker.terminate();
    const index = this.#slots.indexOf(slot);
    if (index >= 0 && !this.#closed) this.#slots[index] = this.#spawn();
  }

  #settle(pending: _Pending, outcome: Error | string | Uint8Array): void {
    pending.abort?.();
    if (!(outcome instanceof Error)) pending.resolve(outcome);
    else pending.reject(outcome);
  }

  #spawn(): _Slot {
    const worker = new Worker(this.#workerUrl, {
      type: "module",
      name: QUERY_WORKER,
    });
    const cancel = new SharedArrayBuffer(4);
    const slot: _Slot = {
      worker,
      cancel: new Int32Array(cancel),
      ready: false,
      current: null,
      timer: null,
    };
    worker.onmessage = (event: MessageEvent<FromQuery>) => {
      const message = event.data;
      if (message.type === "ready") {
        worker.postMessage(
          { type: "open", repo: this.#repo, cancel } satisfies ToQuery,
        );
        slot.ready = true;
        this.#pump();
        return;
      }
      const pending = slot.current;
      if (pending === null || pending.id !== message.id) return;
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
      slot.current = null;
      this.#settle(
        pending,
        message.type === "result"
          ? message.body
          : new RemoteError(message.error),
      );
      this.#pump();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (slot.timer !== null) clearTimeout(slot.timer);
      const pending = slot.current;
      slot.current = null;
      this.#replace(slot);
      if (pending !== null) {
        this.#settle(
          pending,
          new Error(`query worker failed: ${event.message}`),
        );
      }
      this.#pump();
    };
    return slot;
  }
}

function _closed(): AimError {
  return new AimError("unavailable", "The server is shutting down");
}

function _cancelled(): AimError {
  return new AimError(
    "unavailable",
    "The search was cancelled: its client went away",
  );
}
