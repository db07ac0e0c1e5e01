/**
 * Remote runs: the writers that `aim up` keeps for programs that track over
 * HTTP (docs/ARCHITECTURE.md, "Remote tracking"). Nothing here knows of
 * HTTP: the server turns requests into these calls.
 *
 * A client names its run by a hash it chose (so that opening it again after
 * a lost answer finds the same run), sends batches of protocol lines
 * numbered 1, 2, 3…, and ends the run. Each batch is applied whole, through
 * the same {@linkcode Ingester} as `aim track`, and committed in one
 * transaction together with its number (the run's `remote_seq` attribute);
 * only then is it acknowledged. So a batch sent again, after a lost answer,
 * a server restart or a SIGKILL, is recognized and not applied twice, and
 * no acknowledged batch can be lost.
 *
 * @module
 */

import { AimError, badRequest } from "../errors.ts";
import type { RunStatus } from "../types.ts";
import type { Repo } from "../repo/repo.ts";
import type { Ending, Run } from "../storage/run_writer.ts";
import { validateHash } from "../storage/layout.ts";
import { readMeta } from "../storage/run_file.ts";
import { Ingester } from "./protocol.ts";

/** The attribute of a remote run holding the number of its last stored batch. */
export const REMOTE_SEQ = "remote_seq";

/** Malformed lines of one batch described in its acknowledgement; the run's log has them all. */
export const MAX_BATCH_WARNINGS = 5;

/** What a client gives to open (or open again) its run. */
export interface RemoteOpen {
  /** The run's hash, chosen by the client (8 to 64 lower-case hex characters). */
  hash: string;
  /** The experiment of a new run; default `""`. */
  experiment?: string;
  /** The name of a new run; default `""`. */
  name?: string;
  /** The description of a new run; default `""`. */
  description?: string;
  /** The tags of a new run (non-empty strings). */
  tags?: string[];
}

/** Where a remote run stands. */
export interface RemoteState {
  /** The run's hash. */
  hash: string;
  /** The highest batch number stored: every batch up to it is on disk. */
  seq: number;
  /** `running` while it takes batches; else how it ended. */
  status: RunStatus;
}

/** The acknowledgement of a batch: sent only once the batch is stored. */
export interface BatchAck extends RemoteState {
  /** The batch had been stored before: nothing was applied now. */
  duplicate: boolean;
  /** Lines of the batch (0 for a duplicate). */
  lines: number;
  /** Lines skipped as malformed (each is in the run's log as a warning). */
  malformed: number;
  /** The first {@linkcode MAX_BATCH_WARNINGS} malformed lines, with what is wrong. */
  warnings: string[];
  /** The batch held a `{"close": true}` line (the run still ends only by `close`). */
  closed: boolean;
}

/** Options of {@linkcode RemoteRuns}. */
export interface RemoteRunsOptions {
  /**
   * How long a client may stay silent (no batch, no keep-alive) before its
   * run is recorded `crashed`, in milliseconds.
   */
  timeoutMs: number;
}

interface _Open {
  run: Run;
  /** The highest batch applied to the writer (stored or waiting for the disk). */
  applied: number;
  /** The highest batch committed. */
  committed: number;
  /** When the client was last heard from (the repository clock, ms). */
  lastSeen: number;
}

const _ENDED: readonly RunStatus[] = ["finished", "failed", "terminated"];

/**
 * The open remote runs of one repository, each fed only through here. Calls
 * must not overlap (the tracking Worker runs them one at a time).
 *
 * @example A batch sent twice is stored once
 * ```ts
 * import { RemoteRuns } from "./remote_runs.ts";
 * import { Repo } from "../repo/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
 * const hash = "0123456789abcdef0123";
 * await remote.open({ hash, name: "from-a-laptop" });
 * const batch = new TextEncoder().encode('{"track": 0.5, "name": "loss", "step": 1}\n');
 * console.log((await remote.batch(hash, 1, batch)).duplicate); // false
 * console.log((await remote.batch(hash, 1, batch)).duplicate); // true: a retry
 * console.log((await remote.close(hash, 1, { status: "finished" })).status); // finished
 * console.log(repo.index().get(hash)?.metrics[0]?.count); // 1
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RemoteRuns {
  #repo: Repo;
  #timeoutMs: number;
  #open = new Map<string, _Open>();

  /** Remote runs of `repo`; writers are opened as their clients call. */
  constructor(repo: Repo, options: RemoteRunsOptions) {
    this.#repo = repo;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Runs with an open writer now. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Opens the client's run: creates it when it does not exist, resumes it
   * when its writer is gone (a server that stopped, a client that fell
   * silent and came back), and otherwise says where it stands. Attributes
   * are taken only when the run is created. Throws `run_closed` for a run
   * that was not created by remote tracking.
   */
  async open(request: RemoteOpen): Promise<RemoteState> {
    const hash = validateHash(request.hash);
    const open = this.#open.get(hash);
    if (open !== undefined) {
      open.lastSeen = this.#now();
      return { hash, seq: open.committed, status: "running" };
    }
    if (!this.#exists(hash)) {
      const run = await this.#repo.startRun({
        hash,
        handleSignals: false,
        internal: { [REMOTE_SEQ]: 0 },
        ...(request.experiment !== undefined
          ? { experiment: request.experiment }
          : {}),
        ...(request.name !== undefined ? { name: request.name } : {}),
        ...(request.description !== undefined
          ? { description: request.description }
          : {}),
        tags: request.tags ?? [],
      });
      this.#open.set(hash, {
        run,
        applied: 0,
        committed: 0,
        lastSeen: this.#now(),
      });
      return { hash, seq: 0, status: "running" };
    }
    const found = await this.#writer(hash);
    return "run" in found
      ? { hash, seq: found.committed, status: "running" }
      : found;
  }

  /**
   * Applies batch `seq` of protocol lines to the run and commits it, or
   * recognizes it as stored already. Throws `out_of_order` when `seq` is
   * not the next batch (the client asks with {@linkcode RemoteRuns.open}
   * and resends from there), `run_closed` for a run that has ended,
   * `storage_full` or `repo_read_only` when the disk refuses it (the batch
   * then waits in memory, and the client's retry is acknowledged once it is
   * stored). `stopAtClose` ignores what follows a close line, as `aim
   * track` does.
   */
  async batch(
    hash: string,
    seq: number,
    bytes: Uint8Array,
    options: { stopAtClose?: boolean } = {},
  ): Promise<BatchAck> {
    _checkSeq(seq, "batch");
    const found = await this.#writer(hash);
    const ack = (state: RemoteState, duplicate: boolean): BatchAck => ({
      ...state,
      duplicate,
      lines: 0,
      malformed: 0,
      warnings: [],
      closed: false,
    });
    if (!("run" in found)) {
      if (seq <= found.seq) return ack(found, true);
      throw new AimError(
        "run_closed",
        `Run ${hash} has ended (${found.status}): batch ${seq} is refused (batches 1 to ${found.seq} are stored)`,
      );
    }
    const open = found;
    if (seq <= open.applied) {
      this.#commit(open);
      return ack({ hash, seq: open.committed, status: "running" }, true);
    }
    if (seq !== open.applied + 1) throw _outOfOrder(hash, seq, open.applied);
    // A disk that refused the last flush takes no more until it takes that.
    if (open.run.storageError !== null) this.#commit(open);
    const warnings: string[] = [];
    let summary;
    try {
      summary = open.run.holdFlushes(() => {
        const ingester = new Ingester(open.run, {
          stopAtClose: options.stopAtClose ?? false,
          onMalformed: (text, count) => {
            if (count <= MAX_BATCH_WARNINGS) {
              warnings.push(`batch ${seq}, ${text}`);
            }
          },
        });
        ingester.push(bytes);
        return ingester.end();
      });
      open.run.setInternal(REMOTE_SEQ, seq);
    } catch (error) {
      // Part of the batch may wait in the writer: drop it, so that what is
      // stored stays exactly the acknowledged batches. A retry resumes.
      this.#open.delete(hash);
      open.run.suspend(false);
      throw error;
    }
    open.applied = seq;
    this.#commit(open);
    return {
      hash,
      seq: open.committed,
      status: "running",
      duplicate: false,
      lines: summary.lines,
      malformed: summary.malformed,
      warnings,
      closed: summary.closed,
    };
  }

  /**
   * Ends the run with `ending` once every batch up to `seq` is stored
   * (`out_of_order` otherwise). A run that has ended already answers how
   * it ended: a close sent again changes nothing.
   */
  async close(
    hash: string,
    seq: number,
    ending: Ending,
  ): Promise<RemoteState> {
    _checkSeq(seq, "close", 0);
    const found = await this.#writer(hash);
    if (!("run" in found)) return found;
    this.#commit(found);
    if (seq > found.committed) {
      throw new AimError(
        "out_of_order",
        `Run ${hash} cannot end after batch ${seq}: batches 1 to ${found.committed} are stored (send the others first)`,
      );
    }
    this.#open.delete(hash);
    found.run.finalize(ending);
    return { hash, seq: found.committed, status: ending.status };
  }

  /**
   * Records `crashed` every run whose client has been silent longer than
   * the timeout: finalized and indexed, its end the last time it was heard
   * from, every stored batch kept. Returns their hashes.
   */
  sweep(): string[] {
    const now = this.#now();
    const crashed: string[] = [];
    for (const [hash, open] of this.#open) {
      if (now - open.lastSeen <= this.#timeoutMs) continue;
      this.#open.delete(hash);
      crashed.push(hash);
      try {
        open.run.log(
          `no word from the remote client for ${
            ((now - open.lastSeen) / 1000).toFixed(0)
          } s (the limit is ${
            this.#timeoutMs / 1000
          } s): recorded crashed; a client that comes back resumes the run`,
          "error",
        );
        open.run.finalize({ status: "crashed", endedAt: open.lastSeen / 1000 });
      } catch (error) {
        if (!(error instanceof AimError)) throw error;
        // The writer said what was not stored; the run keeps its marker.
      }
    }
    return crashed;
  }

  /**
   * Flushes and closes every writer without ending its run (the server is
   * stopping): each stays `running`, reads as crashed while the server is
   * down, and is resumed when its client sends again. Returns how many.
   */
  suspendAll(): number {
    const count = this.#open.size;
    for (const [hash, open] of this.#open) {
      this.#open.delete(hash);
      try {
        open.run.suspend();
      } catch (error) {
        if (!(error instanceof AimError)) throw error;
        console.error(`warning: run ${hash} not flushed: ${error.message}`);
      }
    }
    return count;
  }

  /** The open writer of `hash`, resumed when its run has not ended; else where the ended run stands. */
  async #writer(hash: string): Promise<_Open | RemoteState> {
    validateHash(hash);
    const open = this.#open.get(hash);
    if (open !== undefined) {
      open.lastSeen = this.#now();
      return open;
    }
    const meta = this.#repo.readRun(hash, readMeta);
    const seq = meta.get(REMOTE_SEQ);
    if (typeof seq !== "number") {
      throw new AimError(
        "run_closed",
        `Run ${hash} was not created by remote tracking: only runs that a client opened through aim up take remote writes`,
      );
    }
    const status = meta.get("status") as RunStatus;
    if (_ENDED.includes(status)) return { hash, seq, status };
    // Left running by a server that stopped, or recorded crashed after its
    // client fell silent: the client is back, so the run goes on.
    const run = await this.#repo.resumeRun(hash, { handleSignals: false });
    const resumed: _Open = {
      run,
      applied: seq,
      committed: seq,
      lastSeen: this.#now(),
    };
    this.#open.set(hash, resumed);
    return resumed;
  }

  /** Commits what was applied; the disk's refusal propagates, and the batch waits. */
  #commit(open: _Open): void {
    if (open.committed === open.applied) return;
    open.run.flush();
    open.committed = open.applied;
  }

  #exists(hash: string): boolean {
    try {
      Deno.lstatSync(this.#repo.runDir(hash));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  #now(): number {
    return this.#repo.clock.now();
  }
}

/**
 * Checks what a client sends to open its run (a JSON object) and returns it
 * typed; `bad_request` names the field that breaks a rule.
 */
export function parseRemoteOpen(body: Record<string, unknown>): RemoteOpen {
  if (typeof body.hash !== "string") {
    throw badRequest(
      '"hash" must be the run\'s hash: 8 to 64 lower-case hex characters the client chose',
    );
  }
  const out: RemoteOpen = { hash: validateHash(body.hash) };
  for (const key of ["experiment", "name", "description"] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !value.isWellFormed()) {
      throw badRequest(`"${key}" must be a string of valid Unicode`);
    }
    out[key] = value;
  }
  if (body.tags !== undefined && body.tags !== null) {
    if (
      !Array.isArray(body.tags) ||
      !body.tags.every((t) =>
        typeof t === "string" && t !== "" && t.isWellFormed()
      )
    ) {
      throw badRequest(`"tags" must be a list of non-empty strings`);
    }
    out.tags = body.tags as string[];
  }
  return out;
}

/**
 * Checks how a client ends its run (`{"status", "signal"?, "exit_code"?}`):
 * `finished`, `failed` or `terminated`; `bad_request` otherwise.
 */
export function parseRemoteEnding(body: Record<string, unknown>): Ending {
  const status = body.status ?? "finished";
  if (!_ENDED.includes(status as RunStatus)) {
    throw badRequest(
      `"status" must be "finished", "failed" or "terminated", got ${
        JSON.stringify(status)
      }`,
    );
  }
  const ending: Ending = { status: status as Ending["status"] };
  if (body.signal !== undefined && body.signal !== null) {
    if (
      typeof body.signal !== "string" || !/^SIG[A-Z0-9]+$/.test(body.signal)
    ) {
      throw badRequest(
        `"signal" must be a signal name such as "SIGTERM", got ${
          JSON.stringify(body.signal)
        }`,
      );
    }
    ending.signal = body.signal;
  }
  if (body.exit_code !== undefined && body.exit_code !== null) {
    if (!Number.isSafeInteger(body.exit_code)) {
      throw badRequest(
        `"exit_code" must be an integer, got ${JSON.stringify(body.exit_code)}`,
      );
    }
    ending.exitCode = body.exit_code as number;
  }
  return ending;
}

function _checkSeq(seq: number, what: string, min = 1): void {
  if (!Number.isSafeInteger(seq) || seq < min) {
    throw badRequest(
      `the ${what}'s sequence number must be an integer from ${min}, got ${
        JSON.stringify(seq)
      }`,
    );
  }
}

function _outOfOrder(hash: string, seq: number, stored: number): AimError {
  return new AimError(
    "out_of_order",
    `Batch ${seq} of run ${hash} is not the next one: batches 1 to ${stored} are stored, so the next is ${
      stored + 1
    } (ask the run's state and resend from there)`,
  );
}
