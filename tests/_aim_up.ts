/**
 * A real `aim up` in a subprocess, for tests and benchmarks alike: started
 * from source on a free port, read until it prints its URL, its output
 * drained so it never blocks on a full pipe, and stopped with SIGTERM.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** The token `startAimUp` passes unless told otherwise. */
export const TEST_TOKEN = "t0ken-for-the-tests";

/** A parsed JSON body, as `Response.json()` gives it: the tests assert on its shape. */
export type Json = Awaited<ReturnType<Response["json"]>>;

/** Options of {@linkcode startAimUp}. */
export interface AimUpOptions {
  /**
   * The token (default {@linkcode TEST_TOKEN}); null runs with `--no-auth`;
   * `"generated"` gives none, so that aim up uses the one it keeps (read
   * from the URL it prints).
   */
  token?: string | null | "generated";
  /** `--index-interval` (default "0.5"). */
  indexInterval?: string;
  /** More flags for `aim up`. */
  args?: string[];
  /** More environment variables. */
  env?: Record<string, string>;
  /** How long to wait for the URL, in milliseconds (default 20,000). */
  timeoutMs?: number;
}

/** A running `aim up`; disposing of it stops it with SIGTERM and checks it exited 0. */
export interface AimUp extends AsyncDisposable {
  /** The URL it printed, without the token: `http://127.0.0.1:PORT/` (plus a base path). */
  url: string;
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  token: string | null;
  /** `performance.now()` just before the spawn, and when the URL was printed. */
  spawnedAt: number;
  listeningAt: number;
  /** What it wrote to stderr so far (its start and its end when long). */
  stderr(): string;
  /** Fetches `path` (relative to {@linkcode AimUp.url}) with the token as a bearer. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** GETs `path` with the token; the status and the parsed JSON body. */
  get(path: string): Promise<{ status: number; body: Json }>;
  /** Sends `signal` (default SIGTERM) and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<Deno.CommandStatus>;
}

/** Starts `aim up --repo repo --port 0` from source and waits for its URL. */
export async function startAimUp(
  repo: string,
  options: AimUpOptions = {},
): Promise<AimUp> {
  const given = options.token === undefined ? TEST_TOKEN : options.token;
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "up",
      "--repo",
      repo,
      "--port",
      "0",
      ...(given === null
        ? ["--no-auth"]
        : given === "generated"
        ? []
        : ["--token", given]),
      "--index-interval",
      options.indexInterval ?? "0.5",
      ...(options.args ?? []),
    ],
    cwd: join(MAIN, ".."),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  let errors = "";
  const stderrDone = (async () => {
    for await (
      const text of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      // Keep the start and the end: enough to explain a failure.
      errors = errors.length < 50_000
        ? errors + text
        : errors.slice(0, 25_000) + "\n…\n" + (errors + text).slice(-25_000);
    }
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  const pattern =
    /open (http:\/\/[^\s/]+:(\d+)\/(?:[\w.~/-]*\/)?)(?:\?token=(\S+)|\s)/;
  let out = "";
  let match: RegExpExecArray | null = null;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>((resolve) =>
    timer = setTimeout(() => resolve(null), options.timeoutMs ?? 20_000)
  );
  while ((match = pattern.exec(out)) === null && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), timedOut]);
    if (chunk === null || chunk.done) break;
    out += chunk.value;
  }
  clearTimeout(timer);
  if (match === null) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await stderrDone;
    throw new Error(
      `aim up printed no URL; stdout: ${
        JSON.stringify(out)
      }; stderr: ${errors}`,
    );
  }
  const listeningAt = performance.now();
  // Keep reading, so a chatty server never blocks on a full pipe.
  const stdoutDone = (async () => {
    try {
      while (!(await reader.read()).done) {
        // Discarded.
      }
    } catch {
      // Cancelled.
    }
  })();
  const url = match[1]!.replace("://localhost:", "://127.0.0.1:");
  const port = Number(match[2]);
  const token = given === "generated" ? match[3] ?? null : given;
  let exited: Deno.CommandStatus | null = null;
  void child.status.then((status) => (exited = status));

  const server: AimUp = {
    url,
    port,
    pid: child.pid,
    child,
    token,
    spawnedAt,
    listeningAt,
    stderr: () => errors,
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (token !== null && !headers.has("authorization")) {
        headers.set("authorization", `Bearer ${token}`);
      }
      return fetch(new URL(path, url), { ...init, headers });
    },
    async get(path) {
      const response = await server.fetch(path);
      const text = await response.text();
      let body: Json = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: the text is the body.
      }
      return { status: response.status, body };
    },
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (exited === null) {
        try {
          child.kill(signal);
        } catch {
          // Already gone.
        }
      }
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<Deno.CommandStatus>((resolve) =>
          killTimer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // Gone meanwhile.
            }
            resolve(child.status);
          }, timeoutMs)
        ),
      ]);
      clearTimeout(killTimer);
      await reader.cancel().catch(() => {});
      await Promise.all([stdoutDone, stderrDone]);
      return status;
    },
    async [Symbol.asyncDispose]() {
      const running = exited === null;
      const status = await server.stop();
      if (running && status.code !== 0) {
        throw new Error(
          `aim up exited with ${status.code} on SIGTERM; stderr: ${errors}`,
        );
      }
    },
  };
  return server;
}
