/**
 * The tracking Workers, seen from the main thread (docs/ARCHITECTURE.md,
 * "Remote tracking"). Each remote run belongs to one Worker, chosen from
 * its hash, so its batches are applied in order by one thread; the main
 * thread only moves request bodies to them. Batches waiting for a Worker
 * are bounded in bytes: beyond, a batch is refused `unavailable` and its
 * client retries later (back-pressure instead of unbounded memory).
 *
 * @module
 */

import { AimError } from "../lib/mod.ts";
import type { BatchAck, RemoteState } from "../lib/tracking/mod.ts";
import {
  type FromTracking,
  type ToTracking,
  TRACKING_WORKER,
  type TrackingRequest,
} from "./messages.ts";
import { RemoteError } from "./wire.ts";

/** Options of {@linkcode TrackingPool}. */
export interface TrackingPoolOptions {
  /** Workers (default 2). */
  size?: number;
  /** Client silence before its run is recorded crashed, in milliseconds. */
  timeoutMs: number;
  /** Bytes of batches waiting per Worker before more are refused (default 64 MiB). */
  maxQueuedBytes?: number;
}

/** What `/api/health` tells of remote tracking. */
export interface TrackingStatus {
  workers: number;
  /** Calls sent to the Workers and not answered yet. */
  pending: number;
  /** Bytes of batches waiting in the Workers. */
  queued_bytes: number;
  /** Batches acknowledged since start. */
  batches: number;
  /** Batches refused because the Workers were full. */
  refused: number;
  /** Runs recorded crashed after their client fell silent. */
  crashed: number;
  /** Tracking Workers restarted after a failure. */
  restarts: number;
}

interface _Pending {
  resolve: (body: RemoteState | BatchAck) => void;
  reject: (error: Error) => void;
  bytes: number;
}

interface _Slot {
  worker: Worker;
  pending: Map<number, _Pending>;
  queuedBytes: number;
  suspended: (() => void) | null;
  /** Runs the Worker suspended when told to. */
  suspendedCount: number;
}

/** The tracking Workers of `aim up`. */
export class TrackingPool {
  readonly #repo: string;
  readonly #workerUrl: string | URL;
  readonly #timeoutMs: number;
  readonly #maxQueuedBytes: number;
  #slots: _Slot[] = [];
  #nextId = 1;
  #closed = false;
  #stats = { batches: 0, refused: 0, crashed: 0, restarts: 0 };

  /** Starts the Workers over the repository at `repo`. */
  constructor(
    repo: string,
    workerUrl: string | URL,
    options: TrackingPoolOptions,
  ) {
    this.#repo = repo;
    this.#workerUrl = workerUrl;
    this.#timeoutMs = options.timeoutMs;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 64 << 20;
    for (let i = 0; i < (options.size ?? 2); i++) {
      this.#slots.push(this.#spawn());
    }
  }

  /**
   * Runs `request` in the Worker that owns its run. Rejects with the
   * Worker's error (an `AimError` code survives), or `unavailable` when
   * the Workers are full or the pool is stopping.
   */
  request(request: TrackingRequest): Promise<RemoteState | BatchAck> {
    if (this.#closed) return Promise.reject(_stopping());
    const hash = request.kind === "open" ? request.open.hash : request.hash;
    const slot = this.#slots[_owner(hash, this.#slots.length)]!;
    const bytes = request.kind === "batch" ? request.bytes.length : 0;
    if (bytes > 0 && slot.queuedBytes + bytes > this.#maxQueuedBytes) {
      this.#stats.refused++;
      return Promise.reject(
        new AimError(
          "unavailable",
          `The server has ${
            (slot.queuedBytes / (1 << 20)).toFixed(0)
          } MiB of batches waiting to be stored: send this one again in a moment`,
        ),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, {
        resolve: (body) => {
          if (request.kind === "batch") this.#stats.batches++;
          resolve(body);
        },
        reject,
        bytes,
      });
      slot.queuedBytes += bytes;
      const message: ToTracking = { type: "request", id, request };
      slot.worker.postMessage(
        message,
        request.kind === "batch" ? [request.bytes.buffer as ArrayBuffer] : [],
      );
    });
  }

  /** How busy remote tracking is. */
  status(): TrackingStatus {
    return {
      workers: this.#slots.length,
      pending: this.#slots.reduce((n, s) => n + s.pending.size, 0),
      queued_bytes: this.#slots.reduce((n, s) => n + s.queuedBytes, 0),
      ...this.#stats,
    };
  }

  /**
   * Flushes and closes every remote run's writer without ending the run
   * (they are resumed when their clients send again), after the calls in
   * flight; later calls are refused. Waits at most `timeoutMs`; returns
   * how many runs were suspended.
   */
  async suspend(timeoutMs = 4000): Promise<number> {
    await Promise.all(this.#slots.map((slot) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        slot.suspended = () => {
          clearTimeout(timer);
          resolve();
        };
        const message: ToTracking = { type: "suspend" };
        slot.worker.postMessage(message);
      })
    ));
    return this.#slots.reduce((n, s) => n + s.suspendedCount, 0);
  }

  /** Terminates the Workers; calls in flight fail with `unavailable`. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      this.#failAll(slot, _stopping());
    }
  }

  #failAll(slot: _Slot, error: Error): void {
    for (const pending of slot.pending.values()) pending.reject(error);
    slot.pending.clear();
    slot.queuedBytes = 0;
  }

  #spawn(): _Slot {
    const worker = new Worker(this.#workerUrl, {
      type: "module",
      name: TRACKING_WORKER,
    });
    const slot: _Slot = {
      worker,
      pending: new Map(),
      queuedBytes: 0,
      suspended: null,
      suspendedCount: 0,
    };
    worker.onmessage = (event: MessageEvent<FromTracking>) => {
      const message = event.data;
      switch (message.type) {
        case "ready": {
          const start: ToTracking = {
            type: "start",
            repo: this.#repo,
            timeoutMs: this.#timeoutMs,
          };
          worker.postMessage(start);
          return;
        }
        case "crashed":
          this.#stats.crashed += message.hashes.length;
          for (const hash of message.hashes) {
            console.error(
              `warning: remote run ${hash}: no word from its client for ${
                this.#timeoutMs / 1000
              } s: recorded crashed`,
            );
          }
          return;
        case "suspended":
          slot.suspendedCount = message.count;
          slot.suspended?.();
          return;
        case "result":
        case "error": {
          const pending = slot.pending.get(message.id);
          if (pending === undefined) return;
          slot.pending.delete(message.id);
          slot.queuedBytes -= pending.bytes;
          if (message.type === "result") pending.resolve(message.body);
          else pending.reject(new RemoteError(message.error));
          return;
        }
      }
    };
    worker.onerror = (event) => {
      // A bug: the server keeps serving; the runs of this Worker are
      // resumed by the next batch of their clients.
      event.preventDefault();
      console.error(
        `error: a tracking Worker failed (${event.message}); restarting it`,
      );
      worker.terminate();
      this.#failAll(
        slot,
        new AimError("unavailable", "A tracking Worker failed: send again"),
      );
      if (this.#closed) return;
      this.#stats.restarts++;
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots[index] = this.#spawn();
    };
    return slot;
  }
}

/** The Worker that owns a run: from its hash, the same for every call. */
function _owner(hash: string, workers: number): number {
  const head = Number.parseInt(hash.slice(0, 8), 16);
  return Number.isFinite(head) ? head % workers : 0;
}

function _stopping(): AimError {
  return new AimError("unavailable", "The server is shutting down");
}
