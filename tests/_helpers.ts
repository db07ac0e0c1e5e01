/**
 * Test helpers: disposable repositories, the CLI and writer programs as real
 * subprocesses, and polling with a deadline.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Repo, type RepoOptions } from "../lib/mod.ts";

/** Root of the source tree. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = join(ROOT, "main.ts");
const WRITER = join(ROOT, "tests", "fixtures", "writer.ts");

/** A temporary repository removed at scope end: `await using repo = await tempRepo()`. */
export async function tempRepo(
  options: Omit<RepoOptions, "create"> = {},
): Promise<
  Repo & AsyncDisposable & { dir: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "aim-test-" });
  const repo = Repo.openSync(join(dir, ".aim"), {
    ...options,
    create: true,
  }) as
    & Repo
    & AsyncDisposable
    & { dir: string };
  Object.defineProperty(repo, "dir", { value: dir });
  repo[Symbol.asyncDispose] = async () => {
    repo.close();
    await Deno.remove(dir, { recursive: true });
  };
  return repo;
}

/** Result of a finished subprocess. */
export interface Output {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs `aim ARGS` from source as a subprocess. */
export async function aim(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Output> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** A running subprocess: stdout is collected as lines (and counted), stderr as text. */
export class Spawned implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  stdoutBytes = 0;
  #stderr = "";
  #done: Promise<void>;
  #stdinPiped: boolean;

  constructor(
    program: string,
    args: string[],
    options: {
      env?: Record<string, string>;
      cwd?: string;
      stdin?: "null" | "piped";
      /** Keep only the byte count of stdout, not its lines (for huge output). */
      countOnly?: boolean;
    } = {},
  ) {
    this.#stdinPiped = options.stdin === "piped";
    const child = new Deno.Command(program, {
      args,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }).spawn();
    this.child = child;
    const stdout = (async () => {
      if (options.countOnly) {
        for await (const chunk of child.stdout) {
          this.stdoutBytes += chunk.length;
        }
        return;
      }
      let buffer = "";
      for await (
        const text of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        this.stdoutBytes += text.length;
        buffer += text;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          this.lines.push(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
      }
      if (buffer) this.lines.push(buffer);
    })();
    const stderr = (async () => {
      for await (
        const text of child.stderr.pipeThrough(new TextDecoderStream())
      ) this.#stderr += text;
    })();
    this.#done = Promise.all([stdout, stderr]).then(() => {});
  }

  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Polls until a stdout line matches `pattern`; returns the first such line,
   * or the latest with `latest` (for progress lines such as "flushed N").
   */
  async waitForLine(
    pattern: RegExp,
    timeoutMs = 20_000,
    latest = false,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = latest
        ? this.lines.findLast((line) => pattern.test(line))
        : this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no stdout line matching ${pattern} within ${timeoutMs} ms; stdout: ${
            this.lines.slice(-5).join(" | ")
          }; stderr: ${this.#stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for exit and for all output. */
  async finished(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#done;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.finished();
    if (this.#stdinPiped) await this.child.stdin.close().catch(() => {});
  }
}

/** A running writer program (tests/fixtures/writer.ts) whose stdout lines can be awaited. */
export class WriterProcess extends Spawned {
  constructor(
    repoPath: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    super(Deno.execPath(), ["run", "--allow-all", WRITER, repoPath, ...args], {
      env,
    });
  }

  /** Waits until a stdout line matches `pattern`; returns the latest such line. */
  override waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return super.waitForLine(pattern, timeoutMs, true);
  }

  /** Waits until the writer reports that every step below `min` is flushed; returns that step. */
  async waitForFlushed(min: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const line = await this.waitForLine(
        /^flushed \d+$/,
        Math.max(1, deadline - Date.now()),
      );
      const step = Number(line.split(" ")[1]);
      if (step >= min) return step;
      if (Date.now() > deadline) {
        throw new Error(`writer flushed only ${step} < ${min} steps in time`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * A writer process that tracks forever in batches of `batch` points per
 * series, returned once a batch of its run (whose hash it carries) is
 * flushed. Disposing of it SIGKILLs it.
 */
export async function liveWriter(
  repoPath: string,
  options: {
    batch?: number;
    series?: number;
    /** Wait until this many steps are flushed (default one batch). */
    flushed?: number;
    /** Values that rise and fall, with spikes, NaNs and steps going back (writer.ts --wiggly). */
    wiggly?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<WriterProcess & { hash: string }> {
  const batch = options.batch ?? 10;
  const writer = new WriterProcess(repoPath, [
    "--forever",
    "--batch",
    String(batch),
    ...(options.series !== undefined
      ? ["--series", String(options.series)]
      : []),
  ], options.env ?? {}) as WriterProcess & { hash: string };
  writer.hash = (await writer.waitForLine(/^started /)).split(" ")[1]!;
  await writer.waitForFlushed(options.flushed ?? batch);
  return writer;
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
