/**
 * How answers and errors cross from the query Workers to the main thread,
 * and how an error becomes an HTTP answer (docs/ARCHITECTURE.md,
 * "Errors"): an `AimError` keeps its code and maps to a 4xx or 5xx status;
 * anything else is a bug, logged with its stack and answered 500.
 *
 * @module
 */

import { AimError, type AimErrorCode } from "../lib/mod.ts";
import { QuerySyntaxError } from "../lib/query/mod.ts";
import type { WireError } from "./messages.ts";

/** JSON text with NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity". */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      typeof item === "number" && !Number.isFinite(item) ? String(item) : item,
  );
}

/** Serializes an error for the main thread: an `AimError` keeps its code, a bug its stack. */
export function toWireError(error: unknown): WireError {
  if (error instanceof AimError) {
    const wire: WireError = {
      name: error.name,
      message: error.message,
      code: error.code,
    };
    if (error instanceof QuerySyntaxError) wire.column = error.column;
    return wire;
  }
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      ...(error.stack !== undefined ? { stack: error.stack } : {}),
    };
  }
  return { name: "Error", message: String(error) };
}

/** An error raised in a query Worker, carried back to the main thread. */
export class RemoteError extends Error {
  override name = "RemoteError";
  /** The error as the Worker serialized it. */
  readonly wire: WireError;

  /** Wraps what a Worker sent. */
  constructor(wire: WireError) {
    super(wire.message);
    this.wire = wire;
  }
}

/** HTTP status of each error code. */
export const HTTP_STATUS: Readonly<Record<AimErrorCode, number>> = {
  repo_not_found: 500,
  repo_version: 500,
  repo_read_only: 409,
  run_not_found: 404,
  run_live: 409,
  run_corrupt: 422,
  view_not_found: 404,
  bad_request: 400,
  bad_hash: 400,
  query_syntax: 400,
  query_timeout: 503,
  too_large: 413,
  storage_full: 507,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  run_closed: 409,
  out_of_order: 409,
};

/** The body of an error answer: `{"error": {"code", "message", "column"?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; column?: number };
}

/**
 * Maps any error to an HTTP status and body. An `AimError` (also from a
 * Worker) keeps its code; anything else is a bug: its stack goes to stderr
 * and the answer is 500 `internal`.
 */
export function errorResponse(
  error: unknown,
): { status: number; body: ErrorBody } {
  const wire = error instanceof RemoteError ? error.wire : toWireError(error);
  const code = wire.code as AimErrorCode | undefined;
  if (code !== undefined && code in HTTP_STATUS) {
    const body: ErrorBody["error"] = { code, message: wire.message };
    if (wire.column !== undefined) body.column = wire.column;
    return { status: HTTP_STATUS[code], body: { error: body } };
  }
  console.error(
    `error: a bug answered 500: ${
      wire.stack ?? `${wire.name}: ${wire.message}`
    }`,
  );
  return {
    status: 500,
    body: {
      error: {
        code: "internal",
        message:
          `Internal error (a bug, logged by the server): ${wire.name}: ${wire.message}`,
      },
    },
  };
}
