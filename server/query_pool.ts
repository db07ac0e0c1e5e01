/**
 * A small pool of query Workers on the main thread's side: requests go to
 * the least busy Worker; a Worker that dies fails its pending requests and
 * is replaced.
 *
 * @module
 */

import {
  type FromQuery,
  QUERY_WORKER,
  type QueryRequest,
  type ToQuery,
} from "./messages.ts";
import { RemoteError } from "./wire.ts";

interface _Slot {
  worker: Worker;
  pending: Map<
    number,
    { resolve: (body: string) => void; reject: (error: Error) => void }
  >;
  /** Requests held until the Worker says it is ready. */
  backlog: ToQuery[] | null;
}

/** Query Workers answering {@linkcode QueryRequest}s with JSON text. */
export class QueryPool {
  #slots: _Slot[] = [];
  #nextId = 1;
  #closed = false;

  constructor(
    readonly repo: string,
    readonly workerUrl: string | URL,
    size = 2,
  ) {
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  /** Answers `request` on the least busy Worker; the JSON text of the response body. */
  request(request: QueryRequest): Promise<string> {
    if (this.#closed) {
      return Promise.reject(new Error("The query pool is closed"));
    }
    const slot = this.#slots.reduce((
      a,
      b,
    ) => (b.pending.size < a.pending.size ? b : a));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const message: ToQuery = { type: "request", id, request };
      if (slot.backlog !== null) slot.backlog.push(message);
      else slot.worker.postMessage(message);
    });
  }

  /** Terminates every Worker; pending requests fail. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const { reject } of slot.pending.values()) {
        reject(new Error("The server is shutting down"));
      }
    }
  }

  #spawn(): _Slot {
    const worker = new Worker(this.workerUrl, {
      type: "module",
      name: QUERY_WORKER,
    });
    const slot: _Slot = {
      worker,
      pending: new Map(),
      backlog: [{ type: "open", repo: this.repo }],
    };
    worker.onmessage = (event: MessageEvent<FromQuery>) => {
      const message = event.data;
      if (message.type === "ready") {
        for (const queued of slot.backlog ?? []) worker.postMessage(queued);
        slot.backlog = null;
        return;
      }
      const waiter = slot.pending.get(message.id);
      if (waiter === undefined) return;
      slot.pending.delete(message.id);
      if (message.type === "result") waiter.resolve(message.body as string);
      else waiter.reject(new RemoteError(message.error));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      for (const { reject } of slot.pending.values()) {
        reject(new Error(`query worker failed: ${event.message}`));
      }
      slot.pending.clear();
      if (this.#closed) return;
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots[index] = this.#spawn();
    };
    return slot;
  }
}
