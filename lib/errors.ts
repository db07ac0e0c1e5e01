/**
 * The one error class that the CLI and the server catch and show to people.
 *
 * @module
 */

/** Codes that callers branch on. */
export type AimErrorCode =
  | "repo_not_found"
  | "repo_version"
  | "run_not_found"
  | "run_live"
  | "run_corrupt"
  | "bad_input";

/** A domain error a person can act on; `code` is stable, `message` is for people. */
export class AimError extends Error {
  override name = "AimError";
  readonly code: AimErrorCode;

  constructor(code: AimErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
