/**
 * The one error class that the CLI and the server catch and show to people
 * (docs/ARCHITECTURE.md, "Errors").
 *
 * Input from a person or another program (CLI flags, queries, protocol
 * lines, HTTP requests, files on disk) that cannot be used is reported as an
 * {@linkcode AimError} with a stable {@linkcode AimErrorCode}. Misuse of the
 * TypeScript API by a programmer throws `TypeError` or `RangeError`; any
 * built-in error that reaches a boundary is a bug, reported with its stack.
 *
 * @module
 */

/**
 * Codes that callers branch on; the HTTP API returns them as `error.code`.
 *
 * - `repo_not_found`, `repo_version`: no usable repository at the path.
 * - `repo_read_only`: a command that must write met a repository it cannot write.
 * - `run_not_found`, `run_live`, `run_corrupt`: about one run.
 * - `view_not_found`: no saved view has the id asked for.
 * - `bad_request`: input that breaks a documented rule (a flag, a parameter,
 *   a protocol line, a request body).
 * - `bad_hash`: a run hash that is not 8 to 64 lower-case hex characters.
 * - `query_syntax`: a query that cannot be parsed (the error has a column).
 * - `query_timeout`: a search that ran past its deadline.
 * - `too_large`: a request body or a value over its size limit.
 * - `storage_full`: the disk is full; what was not stored is kept and retried.
 * - `unauthorized`, `forbidden`: the server's token and origin checks.
 * - `unavailable`: the server cannot answer now (shutting down, Workers stuck).
 * - `run_closed`: a remote write to a run that has ended, or that was not
 *   created by remote tracking.
 * - `out_of_order`: a remote batch whose sequence number is not the next
 *   one; the client asks the run's state again and resends from there.
 */
export type AimErrorCode =
  | "repo_not_found"
  | "repo_version"
  | "repo_read_only"
  | "run_not_found"
  | "run_live"
  | "run_corrupt"
  | "view_not_found"
  | "bad_request"
  | "bad_hash"
  | "query_syntax"
  | "query_timeout"
  | "too_large"
  | "storage_full"
  | "unauthorized"
  | "forbidden"
  | "unavailable"
  | "run_closed"
  | "out_of_order";

/**
 * A problem a person can act on: `code` is stable, `message` is for people
 * and says what, the rule, and the current state.
 *
 * @example Telling bad input from a bug
 * ```ts
 * import { AimError } from "./errors.ts";
 *
 * try {
 *   throw new AimError("bad_request", "--limit must be a non-negative integer, got \"-1\"");
 * } catch (error) {
 *   if (!(error instanceof AimError)) throw error; // a bug: let it surface
 *   console.error(`error: ${error.message}`);
 * }
 * ```
 */
export class AimError extends Error {
  /** `"AimError"`, for logs and stack traces; branch on {@linkcode code}. */
  override name = "AimError";
  /** What kind of problem this is; stable across versions. */
  readonly code: AimErrorCode;

  /** An error with `code` and a `message` for people; `options.cause` keeps the underlying error. */
  constructor(code: AimErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A bad-input error: shorthand for `new AimError("bad_request", message)`. */
export function badRequest(message: string, options?: ErrorOptions): AimError {
  return new AimError("bad_request", message, options);
}

/** The message of any thrown value, for a report that names its cause. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `AimError` for a write the repository refused, or null when `error`
 * is something else: a full disk or quota (`storage_full`), a read-only
 * filesystem or missing permission (`repo_read_only`), from the operating
 * system or from SQLite. `what` says what was being written.
 */
export function writeFailure(error: unknown, what: string): AimError | null {
  if (!(error instanceof Error)) return null;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  const text = error.message;
  const full = code === "ENOSPC" || code === "EDQUOT" || errcode === 13 ||
    /disk is full|No space left/i.test(text);
  const readOnly = code === "EROFS" || code === "EACCES" || code === "EPERM" ||
    errcode === 8 || /read-only|readonly|Permission denied/i.test(text);
  // SQLite reports a disk that fills mid-write as a bare I/O error.
  const io = errcode === 10 || /disk I\/O error/i.test(text);
  if (!full && !readOnly && !io) return null;
  return new AimError(
    readOnly && !full ? "repo_read_only" : "storage_full",
    `Cannot write ${what}: ${text}${
      readOnly && !full
        ? " (the repository is read-only here: reading works, writing does not)"
        : " (is the disk full?)"
    }`,
    { cause: error },
  );
}
