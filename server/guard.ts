/**
 * The checks in front of every route of `aim up` (docs/ARCHITECTURE.md,
 * "Security model"): the `Host` a request names must be one this server
 * answers to (against DNS rebinding), a request that changes something must
 * come from the server's own pages (against cross-origin forgery), and every
 * route but `/api/health` needs the token (a browser without it gets a
 * sign-in page).
 *
 * @module
 */

import { hostname, networkInterfaces } from "node:os";
import type { Context as HonoContext, Next } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { AimError } from "../lib/mod.ts";
import { SIGN_IN_HEADERS, signInPage, tokenFromPasted } from "./sign_in.ts";

/** The cookie that carries the token after the first visit. */
export const TOKEN_COOKIE = "aim_token";

/** Shortest token accepted: a short one can be guessed by anyone on the machine. */
export const MIN_TOKEN_LENGTH = 16;

/** Throws `bad_request` unless `token` is long enough; `source` names where it came from. */
export function checkToken(token: string, source: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new AimError(
      "bad_request",
      `${source} is ${token.length} characters long: a token needs at least ${MIN_TOKEN_LENGTH} (leave it out and aim up generates one)`,
    );
  }
  return token;
}

/**
 * The host names a server bound to `bind` answers to: the bound address;
 * for a loopback bind every name of loopback; for a wildcard bind (0.0.0.0,
 * ::) this machine's name and the addresses of its interfaces; and `extra`
 * (`--allowed-host`, for a reverse proxy or a DNS name). Lower case, IPv6
 * without brackets.
 */
export function allowedHostsFor(
  bind: string,
  extra: string[] = [],
): Set<string> {
  const hosts = new Set<string>([_normalizeHost(bind)]);
  const loopback = ["localhost", "127.0.0.1", "::1"];
  const wildcard = bind === "0.0.0.0" || bind === "::" || bind === "[::]";
  if (
    wildcard || loopback.includes(_normalizeHost(bind)) || /^127\./.test(bind)
  ) {
    for (const name of loopback) hosts.add(name);
  }
  if (wildcard) {
    hosts.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        hosts.add(_normalizeHost(address.address));
      }
    }
  }
  for (const name of extra) hosts.add(_normalizeHost(name));
  return hosts;
}

/** Options of {@linkcode guardHostAndOrigin} and {@linkcode requireToken}. */
export interface GuardOptions {
  /** Host names requests may name; null answers any (tests in process). */
  allowedHosts: ReadonlySet<string> | null;
  /** The token; null turns authentication off (loopback only). */
  token: string | null;
  /** The prefix the app is served under, for the cookie's path. */
  basePath: string;
}

/**
 * Refuses (403 `forbidden`) a request whose `Host` is not one this server
 * answers to, and a request that changes something (not GET, HEAD or
 * OPTIONS) whose `Origin` is another origin than the server's own, or that
 * the browser marks cross-site.
 */
export function guardHostAndOrigin(options: GuardOptions) {
  return async (c: HonoContext, next: Next) => {
    const url = new URL(c.req.url);
    const host = _normalizeHost(url.hostname);
    if (options.allowedHosts !== null && !options.allowedHosts.has(host)) {
      throw new AimError(
        "forbidden",
        `This server does not answer to the host name ${
          JSON.stringify(url.hostname)
        } (a protection against DNS rebinding): start aim up with --allowed-host ${url.hostname} to allow it`,
      );
    }
    if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method)) {
      const origin = c.req.header("origin");
      if (origin !== undefined && !_sameOrigin(origin, url)) {
        throw new AimError(
          "forbidden",
          `A ${c.req.method} from ${
            JSON.stringify(origin)
          } is refused: only this server's own pages may change runs`,
        );
      }
      if (c.req.header("sec-fetch-site") === "cross-site") {
        throw new AimError(
          "forbidden",
          `A cross-site ${c.req.method} is refused: only this server's own pages may change runs`,
        );
      }
    }
    await next();
  };
}

/**
 * Lets a request through when one of its credentials is the token: a
 * non-empty `?token=` (then kept in an HttpOnly, SameSite=Strict cookie),
 * which may also be the whole URL `aim up` printed, pasted;
 * `Authorization: Bearer TOKEN` (the scheme in any case); or the cookie.
 * Tokens are compared in time that does not depend on where they differ.
 * Refused, a page request from a browser gets the sign-in page (401);
 * anything else (`/api/`, assets, scripts) a JSON 401 `unauthorized`.
 */
export function requireToken(options: GuardOptions) {
  const { token } = options;
  return async (c: HonoContext, next: Next) => {
    if (token === null) return await next();
    const query = c.req.query("token");
    const fromQuery = query ? tokenFromPasted(query) || undefined : undefined;
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(
      c.req.header("authorization") ?? "",
    )?.[1];
    const cookie = getCookie(c, TOKEN_COOKIE);
    const candidates = [fromQuery, bearer, cookie];
    if (!candidates.some((given) => given && sameText(given, token))) {
      if (wantsPage(c, options.basePath)) {
        const reason = fromQuery !== undefined
          ? "wrong"
          : cookie
          ? "stale"
          : "missing";
        return c.body(
          signInPage(new URL(c.req.url), reason),
          401,
          SIGN_IN_HEADERS,
        );
      }
      throw new AimError(
        "unauthorized",
        "A token is required: open the URL that aim up printed",
      );
    }
    if (fromQuery !== undefined && sameText(fromQuery, token)) {
      setCookie(c, TOKEN_COOKIE, token, {
        httpOnly: true,
        sameSite: "Strict",
        path: options.basePath || "/",
      });
    }
    await next();
  };
}

/**
 * Whether the request is a browser asking for a page: a GET or HEAD that
 * accepts HTML, outside the API, the assets and the pages' own checks
 * (under `basePath`).
 */
export function wantsPage(c: HonoContext, basePath: string): boolean {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return false;
  if (!/\btext\/html\b/.test(c.req.header("accept") ?? "")) return false;
  const path = c.req.path.slice(basePath.length);
  return !/^\/(api|static|ui)(\/|$)/.test(path);
}

function _sameOrigin(origin: string, url: URL): boolean {
  if (origin === "null") return false;
  try {
    // The scheme may differ behind a proxy that ends TLS; host and port may not.
    return new URL(origin).host === url.host;
  } catch {
    return false;
  }
}

function _normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
}

/** Compares without an early exit, so timing does not reveal a token. */
export function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}
