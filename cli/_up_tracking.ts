/**
 * `aim up`'s settings for remote tracking: the track-only token, the
 * silence after which a remote run is recorded crashed, and TLS. Kept
 * apart from the main token's handling, which it only reads.
 *
 * @module
 */

import { secondsOption, UsageError } from "./_args.ts";
import { AimError } from "../lib/mod.ts";
import { checkToken } from "../server/guard.ts";
import { deriveTrackToken } from "../server/track_routes.ts";

/** `aim up`'s flags for remote tracking. */
export const TRACKING_FLAGS = {
  "track-token": { type: "string" },
  "track-timeout": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
} as const;

/** What `aim up` needs for remote tracking. */
export interface TrackingSettings {
  /** The track-only token; null when authentication is off. */
  trackToken: string | null;
  /** A remote client's silence before its run is recorded crashed. */
  timeoutSeconds: number;
  /** The certificate and key for HTTPS, or undefined for HTTP. */
  tls?: { cert: string; key: string };
}

/**
 * The settings from `aim up`'s flags and environment, given the main
 * token (null with `--no-auth`). The track-only token is `--track-token`,
 * else `AIM_TRACK_TOKEN`, else derived from the main token (so it lasts
 * as long as that one does).
 */
export async function trackingSettings(
  values: {
    "track-token"?: string;
    "track-timeout"?: string;
    cert?: string;
    key?: string;
  },
  token: string | null,
): Promise<TrackingSettings> {
  const timeoutSeconds = secondsOption(
    "aim up",
    "--track-timeout",
    values["track-timeout"],
    { min: 1, max: 7 * 86_400, fallback: 60 },
  );
  let trackToken: string | null = null;
  const given = values["track-token"] ?? Deno.env.get("AIM_TRACK_TOKEN");
  if (token === null) {
    if (values["track-token"] !== undefined) {
      throw new UsageError(
        "--track-token and --no-auth contradict each other",
        "aim up",
      );
    }
  } else if (given !== undefined) {
    const source = values["track-token"] !== undefined
      ? "--track-token"
      : "AIM_TRACK_TOKEN";
    try {
      trackToken = checkToken(given, source);
    } catch (error) {
      if (error instanceof AimError) {
        throw new UsageError(error.message, "aim up");
      }
      throw error;
    }
    if (trackToken === token) {
      throw new UsageError(
        `${source} is the main token: a track-only token must differ from it`,
        "aim up",
      );
    }
  } else trackToken = await deriveTrackToken(token);
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError(
      "--cert and --key go together: give both PEM files, or neither",
      "aim up",
    );
  }
  const settings: TrackingSettings = { trackToken, timeoutSeconds };
  if (values.cert !== undefined && values.key !== undefined) {
    settings.tls = {
      cert: _readPem(values.cert, "--cert"),
      key: _readPem(values.key, "--key"),
    };
  }
  return settings;
}

function _readPem(path: string, flag: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new AimError(
      "bad_request",
      `Cannot read ${flag} ${path}: ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
  if (!text.includes("-----BEGIN ")) {
    throw new AimError(
      "bad_request",
      `${flag} ${path} is not a PEM file (no "-----BEGIN" line)`,
    );
  }
  return text;
}
