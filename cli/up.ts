/**
 * `aim up`: the server, its query Workers and the background indexer.
 *
 * @module
 */

import { parse, secondsOption, UsageError } from "./_args.ts";
import { AimError, Repo } from "../lib/mod.ts";
import { createApp } from "../server/app.ts";
import { IndexerSupervisor } from "../server/indexer_supervisor.ts";
import { QueryPool } from "../server/query_pool.ts";
import { allowedHostsFor, checkToken } from "../server/guard.ts";
import { type KeptToken, keptToken, saveToken, tokenFile } from "./_token.ts";

const HELP = `Usage: aim up [--repo PATH] [--host 127.0.0.1] [--port 43800]
              [--token TOKEN | --rotate-token | --no-auth]
              [--index-interval SECONDS] [--no-index] [--base-path /prefix]
              [--query-timeout SECONDS] [--allowed-host NAME]...

Serves the web UI and the JSON API, and keeps the index complete in the
background (stalled runs are indexed and recorded crashed; no cron needed).
Requests need the token, given in the printed URL (then kept in a cookie), as
'Authorization: Bearer TOKEN', or pasted into the sign-in page a browser
gets without it. It comes from --token or AIM_TOKEN; else aim up generates
one and keeps it for the next start in ${
  tokenFile() ?? "$XDG_CONFIG_HOME/aim/token or ~/.config/aim/token"
}
(readable by you only, mode 0600), so bookmarks survive restarts;
--rotate-token replaces it (the old one is refused from then on). A token
shorter than 16 characters is refused. --no-auth is refused on a
non-loopback --host.

Requests must name a host this server answers to: the bound address (every name of loopback for 127.0.0.1, this
machine's names and addresses for 0.0.0.0), or one given with
--allowed-host (a reverse proxy's public name). A search that runs
longer than --query-timeout (default 10 s) is stopped and answered 503.
SIGTERM or SIGINT stops it cleanly.`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** `aim up`. */
export async function up(args: string[], version: string): Promise<number> {
  const { values } = parse("aim up", args, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "43800" },
    token: { type: "string" },
    "no-auth": { type: "boolean" },
    "rotate-token": { type: "boolean" },
    "index-interval": { type: "string" },
    "no-index": { type: "boolean" },
    "base-path": { type: "string", default: "" },
    "query-timeout": { type: "string" },
    "allowed-host": { type: "string", multiple: true },
  });
  if (values.help) return (console.log(HELP), 0);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `--port must be a port number, got ${JSON.stringify(values.port)}`,
      "aim up",
    );
  }
  // Below a tenth of a second, idle polling costs more than it gains.
  const interval = secondsOption(
    "aim up",
    "--index-interval",
    values["index-interval"],
    { min: 0.1, max: 86_400, fallback: 5 },
  );
  const queryTimeout = secondsOption(
    "aim up",
    "--query-timeout",
    values["query-timeout"],
    { min: 0.1, max: 3_600, fallback: 10 },
  );
  const host = values.host;
  if (values["no-auth"] && values.token !== undefined) {
    throw new UsageError(
      "--token and --no-auth contradict each other",
      "aim up",
    );
  }
  const given = values.token ?? Deno.env.get("AIM_TOKEN");
  if (values["rotate-token"] && (values["no-auth"] || given !== undefined)) {
    throw new UsageError(
      `--rotate-token replaces the token aim up generates and keeps; it does not go with ${
        values["no-auth"]
          ? "--no-auth"
          : values.token !== undefined
          ? "--token"
          : "AIM_TOKEN"
      }`,
      "aim up",
    );
  }
  if (values["no-auth"] && !LOOPBACK.test(host)) {
    throw new UsageError(
      `refusing --no-auth on ${host}: anyone who can reach it could read and delete runs; drop --no-auth or bind to 127.0.0.1`,
      "aim up",
    );
  }
  let token: string | null = null;
  let kept: KeptToken | null = null;
  if (!values["no-auth"]) {
    try {
      if (values.token !== undefined) {
        token = checkToken(values.token, "--token");
      } else if (given !== undefined) {
        token = checkToken(given, "AIM_TOKEN");
      }
    } catch (error) {
      if (error instanceof AimError) {
        throw new UsageError(error.message, "aim up");
      }
      throw error;
    }
  }
  const repo = Repo.openSync(values.repo);
  if (!values["no-auth"] && token === null) {
    kept = keptToken(tokenFile(), { rotate: values["rotate-token"] ?? false });
    token = kept.token;
    if (kept.warning !== null) console.error(`warning: ${kept.warning}`);
  }
  repo.index(); // Create or upgrade the index before the Workers open it.
  const workerUrl = Deno.mainModule;
  const pool = new QueryPool(repo.path, workerUrl, {
    timeoutMs: queryTimeout * 1000,
  });
  const indexer = values["no-index"] ? null : new IndexerSupervisor(repo.path, {
    intervalSeconds: interval,
    workerUrl,
  });
  const app = createApp({
    repo,
    token,
    allowedHosts: allowedHostsFor(host, values["allowed-host"] ?? []),
    basePath: values["base-path"],
    query: (request, signal) => pool.request(request, signal),
    queryStatus: () => pool.status(),
    indexer,
    version,
  });
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: host,
      port,
      // The address is printed below, once the token is kept and signals
      // are handled: a client may act on the printed URL at once.
      onListen: () => {},
    }, app.fetch);
  } catch (error) {
    pool.close();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new AimError(
        "bad_request",
        `Port ${port} on ${host} is in use: choose another with --port`,
        { cause: error },
      );
    }
    // A host that does not resolve, or is not an address of this machine.
    if (
      error instanceof Deno.errors.AddrNotAvailable ||
      (error instanceof Error &&
        /failed to lookup address|Name or service not known/i.test(
          error.message,
        ))
    ) {
      throw new AimError(
        "bad_request",
        `Cannot listen on --host ${host}: ${error.message} (give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0)`,
        { cause: error },
      );
    }
    throw error;
  }
  let keptIn: string | null = null;
  if (kept !== null) {
    // Kept only once the server listens: a start that fails changes nothing.
    const failed = saveToken(kept);
    if (failed !== null) console.error(`warning: ${failed}`);
    else keptIn = kept.file;
  }
  indexer?.start();
  const stop = async () => {
    // Exit within 5 s whatever happens.
    setTimeout(() => Deno.exit(0), 5000);
    // Searches in flight are answered "shutting down" at once, so the
    // listener's shutdown does not wait for a stuck Worker.
    pool.close();
    await server.shutdown();
    await indexer?.stop(3000);
    repo.close();
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void stop());
  }
  const { hostname, port: bound } = server.addr as Deno.NetAddr;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  const base = values["base-path"].replace(/\/+$/, "");
  console.log(`aim ${version} serving ${repo.path}`);
  console.log(
    `open http://${shown}:${bound}${base}/${
      token === null ? "" : `?token=${token}`
    }`,
  );
  if (keptIn !== null) {
    console.log(
      `the token is kept in ${keptIn} for the next start (aim up --rotate-token replaces it)`,
    );
  }
  await server.finished;
  return 0;
}
