/**
 * The sending side of remote tracking, for `aim track --remote` and `aim
 * run --remote` (docs/ARCHITECTURE.md, "Remote tracking"): protocol lines
 * are queued, cut into numbered batches at line ends, and sent one at a
 * time to `aim up`, which acknowledges each once it is stored. A batch is
 * dropped from memory only when acknowledged; after a network error, a
 * 5xx or a server restart it is sent again with the same number, which the
 * server recognizes. Memory is bounded: the caller waits for room
 * ({@linkcode RemoteSender.whenRoom}) instead of queueing without end.
 *
 * @module
 */

import { AimError, newHash } from "../lib/mod.ts";
import type { Ending } from "../lib/mod.ts";

/** Options of {@linkcode RemoteSender.open}. */
export interface RemoteSenderOptions {
  /** The server's URL, with its base path: `https://host:43800/aim`. */
  url: string;
  /** The token (main or track-only), sent as a bearer; null for none. */
  token: string | null;
  /** Attributes of the new run. */
  run: {
    experiment?: string;
    name?: string;
    description?: string;
    tags?: string[];
  };
  /** Ignore what follows a close line in a batch, as `aim track` does. */
  stopAtClose?: boolean;
  /** Told of every problem worth a line on stderr (an unreachable server, and back). */
  onWarning?: (text: string) => void;
  /** Told of malformed lines the server skipped (the first few of each batch). */
  onMalformed?: (text: string) => void;
  /** Bytes per batch at most (default 2 MiB). */
  batchBytes?: number;
  /** Bytes queued before {@linkcode RemoteSender.whenRoom} waits (default 64 MiB). */
  maxQueuedBytes?: number;
}

/** Longest pause between two attempts, in milliseconds. */
const MAX_BACKOFF_MS = 5_000;
/** How long one request may take before it is given up and sent again. */
const REQUEST_TIMEOUT_MS = 60_000;
/** A silent client tells the server it is alive this often (it waits 60 s by default). */
export const KEEPALIVE_MS = 10_000;

interface _Batch {
  seq: number;
  body: Uint8Array<ArrayBuffer>;
}

/** A remote run being fed; see the module's documentation. */
export class RemoteSender {
  /** The run's hash, chosen here. */
  readonly hash: string;
  readonly #base: string;
  readonly #token: string | null;
  readonly #run: RemoteSenderOptions["run"];
  readonly #stopAtClose: boolean;
  readonly #warn: (text: string) => void;
  readonly #onMalformed: (text: string) => void;
  #malformed = 0;
  readonly #batchBytes: number;
  readonly #maxQueued: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** Bytes after the last newline pushed: kept until its line is complete. */
  #partial: Uint8Array = new Uint8Array(0);
  #inflight: _Batch | null = null;
  #nextSeq = 1;
  #acked = 0;
  #opened = false;
  #stopped = false;
  #drainWaiters: (() => void)[] = [];
  #fatal: AimError | null = null;
  #lastError: string | null = null;
  #unreachableSince: number | null = null;
  #lastContact = performance.now();
  #closedByLine = false;
  #wake: (() => void) | null = null;
  #roomWaiters: (() => void)[] = [];
  #loop: Promise<void>;

  private constructor(options: RemoteSenderOptions) {
    this.hash = newHash();
    this.#base = options.url.replace(/\/+$/, "");
    this.#token = options.token;
    this.#run = options.run;
    this.#stopAtClose = options.stopAtClose ?? false;
    this.#warn = options.onWarning ?? ((text) => console.error(text));
    this.#onMalformed = options.onMalformed ??
      ((text) => this.#warn(`warning: ${text}`));
    this.#batchBytes = options.batchBytes ?? 2 << 20;
    this.#maxQueued = options.maxQueuedBytes ?? 64 << 20;
    this.#loop = Promise.resolve();
  }

  /**
   * Opens a new run on the server at `options.url`. A refusal (a bad token,
   * a bad URL path) throws `AimError` at once; an unreachable server is
   * told once and tried again in the background, so tracking starts anyway.
   */
  static async open(options: RemoteSenderOptions): Promise<RemoteSender> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new AimError(
        "bad_request",
        `--remote must be the URL of aim up, such as http://host:43800, got ${
          JSON.stringify(options.url)
        }`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new AimError(
        "bad_request",
        `--remote must be an http:// or https:// URL, got ${
          JSON.stringify(options.url)
        }`,
      );
    }
    const sender = new RemoteSender(options);
    try {
      await sender.#open();
    } catch (error) {
      if (error instanceof _HttpError && error.status === 404) {
        throw new AimError(
          "bad_request",
          `${sender.#base} has no tracking route (${error.message}): --remote must be the URL aim up printed, with its --base-path if it has one`,
          { cause: error },
        );
      }
      if (!_retryable(error)) {
        throw error instanceof AimError
          ? error
          : _certificateError(sender.#base, error);
      }
      sender.#unreachable(error);
    }
    sender.#loop = sender.#send();
    return sender;
  }

  /** Whether a batch held a close line (with `stopAtClose`: nothing after it was applied). */
  get closedByLine(): boolean {
    return this.#closedByLine;
  }

  /** Lines the server skipped as malformed so far (each is in the run's log). */
  get malformed(): number {
    return this.#malformed;
  }

  /** Bytes waiting to be acknowledged. */
  get queued(): number {
    return this.#queued + (this.#inflight?.body.length ?? 0) +
      this.#partial.length;
  }

  /**
   * Queues protocol bytes; lines may be cut anywhere between calls. Never
   * waits: call {@linkcode RemoteSender.whenRoom} first to bound memory.
   * Throws the error that stopped sending for good (a refused token, a run
   * that ended).
   */
  push(bytes: Uint8Array): void {
    if (this.#fatal !== null) throw this.#fatal;
    const last = bytes.lastIndexOf(10);
    if (last < 0) {
      this.#partial = _concat([this.#partial, bytes]);
      return;
    }
    this.#enqueue(_concat([this.#partial, bytes.subarray(0, last + 1)]));
    this.#partial = bytes.slice(last + 1);
  }

  /** Queues one protocol message. */
  pushMessage(message: Record<string, unknown>): void {
    this.push(new TextEncoder().encode(_protocolJson(message) + "\n"));
  }

  /** Resolves once fewer bytes than the bound are queued (at once when they are). */
  whenRoom(): Promise<void> {
    if (this.queued < this.#maxQueued || this.#fatal !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /**
   * Resolves once everything queued is acknowledged (stored by the server).
   * Waits at most `timeoutMs`; past it throws `AimError` `unavailable`
   * saying what was not stored. Throws the error that stopped sending for
   * good, if any.
   */
  async flush(timeoutMs: number): Promise<void> {
    if (this.#partial.length > 0) {
      this.#enqueue(this.#partial);
      this.#partial = new Uint8Array(0);
    }
    if (!this.#drained()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        this.#drainWaiters.push(resolve);
      });
      clearTimeout(timer);
    }
    if (this.#fatal !== null) throw this.#fatal;
    if (!this.#drained()) {
      throw new AimError(
        "unavailable",
        `The server at ${this.#base} did not acknowledge ${this.queued} bytes of run ${this.hash} within ${
          timeoutMs / 1000
        } s${
          this.#lastError ? ` (last error: ${this.#lastError})` : ""
        }: what it acknowledged is stored, the rest is lost; the run reads as crashed once the server's --track-timeout passes`,
      );
    }
  }

  /**
   * Sends what is queued, then ends the run with `ending`, waiting at most
   * `timeoutMs` in all for the server (`AimError` `unavailable` past it:
   * what the server acknowledged is kept, and the run reads as crashed
   * once the server's timeout passes). Sending stops for good.
   */
  async close(ending: Ending, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    try {
      await this.flush(timeoutMs);
      const body = {
        seq: this.#acked,
        status: ending.status,
        ...(ending.signal != null ? { signal: ending.signal } : {}),
        ...(ending.exitCode != null ? { exit_code: ending.exitCode } : {}),
      };
      for (let backoff = 100;;) {
        try {
          await this.#call(
            `/api/track/runs/${this.hash}/close`,
            JSON.stringify(body),
          );
          return;
        } catch (error) {
          if (!_retryable(error)) throw error;
          if (performance.now() >= deadline) {
            throw new AimError(
              "unavailable",
              `The server at ${this.#base} did not end run ${this.hash} within ${
                timeoutMs / 1000
              } s (${
                _message(error)
              }): every point is stored; the run reads as crashed once the server's --track-timeout passes`,
            );
          }
          this.#unreachable(error);
          await _sleep(Math.min(backoff, deadline - performance.now()));
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    } finally {
      this.#stopped = true;
      this.#wake?.();
    }
  }

  #drained(): boolean {
    return this.#fatal !== null ||
      (this.#queued === 0 && this.#inflight === null &&
        this.#partial.length === 0);
  }

  #notifyDrained(): void {
    if (!this.#drained()) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #enqueue(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#wake?.();
  }

  /** The sending loop: one batch in flight, sent again until acknowledged. */
  async #send(): Promise<void> {
    let backoff = 100;
    while (this.#fatal === null && !this.#stopped) {
      try {
        if (!this.#opened) await this.#open();
        if (this.#inflight === null) {
          if (this.#queued === 0) {
            this.#notifyDrained();
            const idle = await this.#idle();
            if (this.#stopped) return;
            if (idle) await this.#open(); // A keep-alive, and a resume.
            continue;
          }
          this.#inflight = this.#take();
        }
        await this.#post(this.#inflight);
        this.#inflight = null;
        this.#reachable();
        backoff = 100;
        this.#room();
      } catch (error) {
        if (error instanceof AimError && error.code === "out_of_order") {
          this.#opened = false;
          continue;
        }
        if (!_retryable(error)) {
          this.#fatal = error instanceof AimError ? error : _certificateError(
            this.#base,
            error,
          );
          this.#warn(
            `aim: run ${this.hash}: the server refused tracking for good: ${this.#fatal.message}`,
          );
          this.#room();
          this.#notifyDrained();
          return;
        }
        this.#unreachable(error);
        await _sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Waits for data, or for the keep-alive interval; true when it passed idle. */
  #idle(): Promise<boolean> {
    const wait = Math.max(
      0,
      KEEPALIVE_MS - (performance.now() - this.#lastContact),
    );
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(true);
      }, wait);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(false);
      };
    });
  }

  /** The next batch: queued chunks up to the batch size (one chunk at least). */
  #take(): _Batch {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (size > 0 && size + next.length > this.#batchBytes) break;
      if (next.length > this.#batchBytes) {
        // A large chunk is cut at a line end, so no batch grows without bound.
        const cut = next.lastIndexOf(10, this.#batchBytes - size - 1);
        if (cut >= 0) {
          parts.push(next.subarray(0, cut + 1));
          this.#queue[0] = next.subarray(cut + 1);
          size += cut + 1;
          break;
        }
      }
      parts.push(this.#queue.shift()!);
      size += next.length;
    }
    this.#queued -= size;
    return { seq: this.#nextSeq++, body: _concat(parts) };
  }

  /** Opens the run (or asks where it stands) and forgets batches the server has stored. */
  async #open(): Promise<void> {
    const state = await this.#call(
      "/api/track/runs",
      JSON.stringify({ hash: this.hash, ...this.#run }),
    ) as { seq: number; status: string };
    this.#reachable();
    if (state.status !== "running") {
      throw new AimError(
        "run_closed",
        `Run ${this.hash} has ended on the server (${state.status})`,
      );
    }
    this.#acked = Math.max(this.#acked, state.seq);
    const inflight = this.#inflight;
    if (inflight !== null && state.seq >= inflight.seq) this.#inflight = null;
    else if (inflight !== null && state.seq < inflight.seq - 1) {
      throw new AimError(
        "bad_request",
        `The server has stored batches 1 to ${state.seq} of run ${this.hash}, but ${
          inflight.seq - 1
        } were acknowledged: it lost acknowledged data (was the repository replaced?)`,
      );
    }
    this.#opened = true;
  }

  async #post(batch: _Batch): Promise<void> {
    const ack = await this.#call(
      `/api/track/runs/${this.hash}/batches?seq=${batch.seq}${
        this.#stopAtClose ? "&stop_at_close=1" : ""
      }`,
      batch.body,
    ) as {
      seq: number;
      warnings: string[];
      malformed: number;
      closed: boolean;
    };
    this.#acked = Math.max(this.#acked, ack.seq);
    this.#malformed += ack.malformed;
    for (const warning of ack.warnings) this.#onMalformed(warning);
    if (ack.closed && this.#stopAtClose) {
      this.#closedByLine = true;
      // Input after a close line is not applied: drop what is queued.
      this.#queue = [];
      this.#queued = 0;
      this.#partial = new Uint8Array(0);
    } else if (ack.closed) this.#closedByLine = true;
  }

  /** POSTs `body`; returns the parsed answer, or throws an `AimError` from the server's error, or a network error. */
  async #call(
    path: string,
    body: string | Uint8Array<ArrayBuffer>,
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      "content-type": typeof body === "string"
        ? "application/json"
        : "application/x-ndjson",
    };
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    const response = await fetch(this.#base + path, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    this.#lastContact = performance.now();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: a proxy's page, told below.
    }
    if (response.ok && parsed !== null) return parsed;
    const error = (parsed as { error?: { code?: string; message?: string } })
      ?.error;
    throw new _HttpError(
      response.status,
      error?.code ?? "http",
      error?.message ??
        `HTTP ${response.status} from ${this.#base}${path}: ${
          // A proxy's error page, told in one line.
          text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim()
            .slice(0, 200)}`,
    );
  }

  #unreachable(error: unknown): void {
    this.#lastError = _message(error);
    if (this.#unreachableSince === null) {
      this.#unreachableSince = performance.now();
      this.#warn(
        `aim: run ${this.hash}: cannot reach ${this.#base} (${this.#lastError}); retrying, nothing is lost meanwhile`,
      );
    }
  }

  #reachable(): void {
    if (this.#unreachableSince !== null) {
      this.#warn(
        `aim: run ${this.hash}: ${this.#base} answers again after ${
          ((performance.now() - this.#unreachableSince) / 1000).toFixed(1)
        } s`,
      );
      this.#unreachableSince = null;
    }
    this.#lastError = null;
  }

  #room(): void {
    if (this.queued >= this.#maxQueued && this.#fatal === null) return;
    for (const resolve of this.#roomWaiters.splice(0)) resolve();
  }
}

/** An error answer from the server: an `AimError` with the server's code, and the status. */
class _HttpError extends AimError {
  constructor(readonly status: number, code: string, message: string) {
    // Codes the server sends are AimError codes; anything else is told as bad_request.
    super(_knownCode(code), message);
  }
}

function _knownCode(code: string): AimError["code"] {
  const known: AimError["code"][] = [
    "unauthorized",
    "forbidden",
    "bad_request",
    "bad_hash",
    "too_large",
    "run_closed",
    "out_of_order",
    "run_live",
    "run_not_found",
    "run_corrupt",
    "storage_full",
    "repo_read_only",
    "unavailable",
  ];
  return known.includes(code as AimError["code"])
    ? code as AimError["code"]
    : "bad_request";
}

/**
 * Whether to send again: network errors and timeouts, 5xx answers (a
 * server starting or stopping, a full disk), 409 `run_live` (a server
 * that just restarted and sees its old self's lock for a moment), and 429.
 */
function _retryable(error: unknown): boolean {
  if (error instanceof _HttpError) {
    return error.status >= 500 || error.status === 429 ||
      error.code === "run_live";
  }
  // A certificate that cannot be trusted will not be trusted on retry.
  return !(error instanceof AimError) &&
    !/invalid peer certificate|certificate verify/i.test(_message(error));
}

/** The error for a server whose certificate is not trusted, with what to do. */
function _certificateError(base: string, error: unknown): AimError {
  return new AimError(
    "bad_request",
    `Cannot trust the certificate of ${base}: ${
      _message(error)
    } (for a private certificate, set DENO_CERT to its PEM file or its CA's)`,
    { cause: error },
  );
}

/** An error's message with its causes (fetch says only "fetch failed" itself). */
function _message(error: unknown): string {
  const parts: string[] = [];
  for (let at: unknown = error; at !== undefined && parts.length < 4;) {
    parts.push(at instanceof Error ? at.message : String(at));
    at = at instanceof Error ? at.cause : undefined;
  }
  return parts.join(": ");
}

function _concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** JSON text with non-finite numbers as the strings "NaN", "Infinity", "-Infinity" (numbers to the protocol where it takes a number). */
function _protocolJson(message: Record<string, unknown>): string {
  return JSON.stringify(
    message,
    (_key, item) =>
      typeof item === "number" && !Number.isFinite(item) ? String(item) : item,
  );
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
