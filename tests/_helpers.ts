/**
 * Test helpers: disposable repositories, the CLI and writer programs as real
 * subprocesses, and polling with a deadline.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Repo } from "../lib/repo.ts";

/** Root of the source tree. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = join(ROOT, "main.ts");
const WRITER = join(ROOT, "tests", "fixtures", "writer.ts");

/** A temporary repository removed at scope end: `await using repo = await tempRepo()`. */
export async function tempRepo(): Promise<
  Repo & AsyncDisposable & { dir: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "aim-test-" });
  const repo = Repo.openSync(join(dir, ".aim"), { create: true }) as
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

/** A running writer program (tests/fixtures/writer.ts) whose stdout lines can be awaited. */
export class WriterProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #stderr = "";
  #done: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(
    repoPath: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", WRITER, repoPath, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    const collect = async (
      stream: ReadableStream<Uint8Array>,
      onLine: (line: string) => void,
    ) => {
      let buffer = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
      }
      if (buffer) onLine(buffer);
    };
    this.#done = Promise.all([
      collect(this.child.stdout, (line) => {
        this.lines.push(line);
        for (const wake of this.#waiters.splice(0)) wake();
      }),
      collect(this.child.stderr, (line) => (this.#stderr += line + "\n")),
    ]).then(() => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Waits until a stdout line matches `pattern`; returns it. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.lines.findLast((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no line matching ${pattern} within ${timeoutMs} ms; stdout: ${
            this.lines.slice(-5).join(" | ")
          }; stderr: ${this.#stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
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

  /** Waits for exit; returns the status with all output. */
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
  }
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
