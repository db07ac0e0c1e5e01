/**
 * Remote tracking routes of `aim up` (docs/ARCHITECTURE.md, "Remote
 * tracking"), and the track-only token: it opens, feeds and ends runs
 * under `/api/track/`, and every other route refuses it.
 *
 * ```text
 * POST /api/track/runs                          {"hash", "experiment"?, "name"?, "description"?, "tags"?}
 * POST /api/track/runs/:hash/batches?seq=N      protocol lines (at most 16 MiB)
 * POST /api/track/runs/:hash/close              {"seq", "status"?, "signal"?, "exit_code"?}
 * ```
 *
 * @module
 */

import type { Context as HonoContext, Hono, Next } from "hono";
import { getCookie } from "hono/cookie";
import { AimError, validateHash } from "../lib/mod.ts";
import { badRequest } from "../lib/errors.ts";
import type { BatchAck, RemoteState } from "../lib/tracking/mod.ts";
import { parseRemoteEnding, parseRemoteOpen } from "../lib/tracking/mod.ts";
import type { TrackingRequest } from "./messages.ts";
import { readBodyBytes, readJsonObject } from "./body.ts";
import { sameText, TOKEN_COOKIE } from "./guard.ts";

/** Largest batch accepted, in bytes. */
export const MAX_BATCH_BYTES = 16 << 20;

/** Largest open or close request, in bytes. */
const MAX_CALL_BYTES = 64 << 10;

/** What {@linkcode mountTracking} needs. */
export interface TrackingOptions {
  /** Runs a call in the tracking Worker that owns the run. */
  request: (request: TrackingRequest) => Promise<RemoteState | BatchAck>;
  /** The token that reads and writes; null when authentication is off. */
  token: string | null;
  /** The token that only tracks, or null. */
  trackToken: string | null;
}

/**
 * Mounts the tracking routes, and in front of every later route a check
 * that refuses the track-only token (403 `forbidden`). Call it before the
 * app-wide token check: these routes take either token.
 */
export function mountTracking(app: Hono, options: TrackingOptions): void {
  const { token, trackToken } = options;
  const allowed = [token, trackToken].filter((t): t is string => t !== null);
  const requireTracker = async (c: HonoContext, next: Next) => {
    if (token !== null) {
      const given = _bearer(c);
      if (given === undefined || !allowed.some((t) => sameText(given, t))) {
        throw new AimError(
          "unauthorized",
          "Tracking needs a token: set AIM_TOKEN to the token aim up printed (the main one or the track-only one), sent as 'Authorization: Bearer TOKEN'",
        );
      }
    }
    await next();
  };
  app.use("/api/track/*", requireTracker);

  app.post("/api/track/runs", async (c) => {
    const open = parseRemoteOpen(await _json(c));
    return c.json(await options.request({ kind: "open", open }));
  });

  app.post("/api/track/runs/:hash/batches", async (c) => {
    const hash = validateHash(c.req.param("hash") ?? "");
    const seq = _seq(c.req.query("seq"));
    const bytes = await readBodyBytes(c, MAX_BATCH_BYTES);
    const stop = c.req.query("stop_at_close");
    return c.json(
      await options.request({
        kind: "batch",
        hash,
        seq,
        bytes,
        stopAtClose: stop === "1" || stop === "true",
      }),
    );
  });

  app.post("/api/track/runs/:hash/close", async (c) => {
    const hash = validateHash(c.req.param("hash") ?? "");
    const body = await _json(c);
    const seq = body.seq;
    if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
      throw badRequest(
        `"seq" must be the number of the run's last batch (0 for none), got ${
          JSON.stringify(seq)
        }`,
      );
    }
    return c.json(
      await options.request({
        kind: "close",
        hash,
        seq: seq as number,
        ending: parseRemoteEnding(body),
      }),
    );
  });

  if (trackToken === null) return;
  // Every other route: the track-only token reads nothing.
  app.use("*", async (c, next) => {
    // A tracking call that matched no route (a wrong base path in the
    // client's URL) is told as such, not as a read refused to the token.
    if (c.req.path.includes("/api/track/")) {
      return c.json({
        error: {
          code: "not_found",
          message: `No route ${c.req.method} ${c.req.path}`,
        },
      }, 404);
    }
    const given = [
      c.req.query("token") || undefined,
      _bearer(c),
      getCookie(c, TOKEN_COOKIE),
    ];
    if (given.some((t) => t !== undefined && sameText(t, trackToken))) {
      throw new AimError(
        "forbidden",
        "This token only tracks runs (it opens, feeds and ends them under /api/track/): it reads nothing; use the main token to read",
      );
    }
    await next();
  });
}

/**
 * The track-only token that goes with `token` when none is given: derived
 * from it (HMAC-SHA-256), so it stays the same as long as the main token
 * does, and tells nothing of it.
 */
export async function deriveTrackToken(token: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode("aim track-only token"),
  );
  return "track-" + Array.from(
    new Uint8Array(mac).subarray(0, 18),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

function _seq(text: string | undefined): number {
  const value = Number(text);
  if (
    text === undefined || text.trim() === "" || !Number.isSafeInteger(value) ||
    value < 1
  ) {
    throw badRequest(
      `?seq= must be the batch's number (1 for the first), got ${
        JSON.stringify(text ?? null)
      }`,
    );
  }
  return value;
}

function _json(c: HonoContext): Promise<Record<string, unknown>> {
  return readJsonObject(c, MAX_CALL_BYTES);
}

function _bearer(c: HonoContext): string | undefined {
  return /^bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
}
