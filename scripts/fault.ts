/**
 * The fault suite, long version: `deno task fault [SECTION...] [--writers N]
 * [--seed S]` re-runs the attack that found the faults held fixed by
 * `tests/fault_test.ts`, with real processes, real signals and real files,
 * and prints one markdown table of figures per section (progress on
 * stderr, tables on stdout). It exits 1 when a target is missed.
 *
 * Sections:
 * - `writers`: writer processes killed at random moments (SIGKILL, SIGTERM,
 *   SIGINT, normal close, SIGKILL inside close()), then every point
 *   reported flushed is looked for;
 * - `drain`: `aim reindex` and `aim up` SIGKILLed while they drain stalled
 *   runs, each time followed by a normal reindex;
 * - `corrupt`: damaged run files, a garbage index, a FIFO, junk folders;
 * - `protocol`: bad lines fed to `aim track`;
 * - `flags`: bad flags to every command;
 * - `fuzz`: random and hostile queries against a running `aim up`;
 * - `load`: 16 connections against `aim up`, idle and during a drain, with
 *   its memory.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { type Context, readLogs, readSeries, Repo } from "../lib/mod.ts";
import { parseMessage } from "../lib/tracking/mod.ts";
import { type AimUp, startAimUp } from "../tests/_aim_up.ts";
import {
  diskBytes,
  type Figure,
  formatMs,
  MAIN,
  makeStalledRuns,
  markdownTable,
  p50p99,
  progress,
  quantile,
  tempDir,
} from "./_bench_util.ts";

const HELP = `Usage: deno task fault [SECTION...] [--writers N] [--seed S]

Re-runs the attack against aim with real processes, signals and files, and
prints one markdown table of figures per section. Exits 1 if a target is
missed.

  --writers N   writer processes in the writers section (default 200)
  --seed S      seed of every random choice (default: the time); printed
                in the header, so a run can be replayed

Sections (default all): `;

const WRITER = fileURLToPath(
  new URL("../tests/fixtures/writer.ts", import.meta.url),
);
const TOKEN = "fault-suite-token-0123456789";
/** What counts as a stack trace in a process's stderr: a bug surfacing. */
const STACK = /Uncaught|^ {4}at /m;
const TIMED_OUT = Symbol("timed out");

// --- The harness ---------------------------------------------------------------

/** Counts summed over every section, judged at the end. */
interface Tally {
  pointsLost: number;
  /** Stack traces in the stderr of aim's processes. */
  uncaught: number;
  /** Commands and requests that did not end within their deadline. */
  hangs: number;
  /** HTTP 500 answers. */
  crashes: number;
  /** p99 latency during a drain ÷ idle (the load section), or null. */
  drainRatio: number | null;
}

/** What every section gets. */
interface Suite {
  random: Random;
  writers: number;
  tally: Tally;
}

/** One section of the suite: runs its attack and returns its figures. */
interface FaultSection {
  title: string;
  run(suite: Suite): Promise<Figure[]>;
}

/**
 * A seeded xorshift32 generator, so `--seed` replays a run's choices (those
 * that do not depend on timing: concurrent requests draw in the order they
 * happen to run).
 */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** A number in [0, 1). */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `weighted`'s items, each as likely as its weight. */
  weighted<T>(weighted: readonly (readonly [T, number])[]): T {
    let left = this.next() * weighted.reduce((sum, [, w]) => sum + w, 0);
    for (const [item, weight] of weighted) {
      if ((left -= weight) < 0) return item;
    }
    return weighted[weighted.length - 1]![0];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or {@linkcode TIMED_OUT} after `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) =>
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How an aim command ended. */
interface Ran {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** A running aim command: its process, and how it ended once it has. */
interface RunningAim {
  child: Deno.ChildProcess;
  result: Promise<Ran>;
}

/**
 * Starts `aim ARGS` from source; `stdin` is written and closed. After
 * `timeoutMs` (default 60 s) it is SIGKILLed and reported timed out.
 */
function startAim(
  args: string[],
  options: {
    stdin?: string | Uint8Array;
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): RunningAim {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killQuietly(child, "SIGKILL");
  }, options.timeoutMs ?? 60_000);
  const output = child.output();
  const result = (async () => {
    if (options.stdin !== undefined) {
      const bytes = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      const writer = child.stdin.getWriter();
      // A command that exits early closes the pipe: that is its answer.
      await writer.write(bytes).catch(() => {});
      await writer.close().catch(() => {});
    }
    const out = await output;
    clearTimeout(timer);
    const decoder = new TextDecoder();
    return {
      code: out.code,
      signal: out.signal,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      ms: performance.now() - started,
      timedOut,
    };
  })();
  return { child, result };
}

/** Runs `aim ARGS` to its end (see {@linkcode startAim}). */
function runAim(
  args: string[],
  options: Parameters<typeof startAim>[1] = {},
): Promise<Ran> {
  return startAim(args, options).result;
}

/** Sends `signal` unless the process is gone. */
function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Adds the stack traces and the hang of `ran` to the tally; true when neither. */
function clean(ran: Ran, tally: Tally): boolean {
  const stack = STACK.test(ran.stderr);
  if (stack) tally.uncaught++;
  if (ran.timedOut) tally.hangs++;
  return !stack && !ran.timedOut;
}

/**
 * A subprocess whose stdout lines are handed to `onLine` as they arrive,
 * with the wall time (ms since the epoch) at which each was read.
 */
class LineProcess {
  readonly child: Deno.ChildProcess;
  /** Resolves once the process exited and its output is read. */
  readonly done: Promise<Deno.CommandStatus>;
  #stderr = "";
  #exited = false;

  constructor(args: string[], onLine: (line: string, at: number) => void) {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    const stdout = (async () => {
      let buffer = "";
      for await (
        const text of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        const at = Date.now();
        buffer += text;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, newline), at);
          buffer = buffer.slice(newline + 1);
        }
      }
    })();
    const stderr = (async () => {
      for await (
        const text of child.stderr.pipeThrough(new TextDecoderStream())
      ) this.#stderr += text;
    })();
    void child.status.then(() => (this.#exited = true));
    this.done = Promise.all([child.status, stdout, stderr]).then((
      [status],
    ) => status);
  }

  get stderr(): string {
    return this.#stderr;
  }

  get exited(): boolean {
    return this.#exited;
  }

  kill(signal: Deno.Signal): void {
    killQuietly(this.child, signal);
  }
}

/** `PRAGMA integrity_check` of one SQLite file: "ok", or what is wrong. */
function integrity(path: string): string {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return db.prepare("PRAGMA integrity_check").all()
        .map((row) => String(Object.values(row)[0])).join("; ");
    } finally {
      db.close();
    }
  } catch (error) {
    return `cannot check: ${(error as Error).message}`;
  }
}

/** Integrity of index.db and of every run.db of the repository at `path`. */
function repoIntegrity(path: string): { files: number; bad: string[] } {
  const files = [join(path, "index.db")];
  for (const entry of Deno.readDirSync(join(path, "runs"))) {
    if (/^[0-9a-f]{8,64}$/.test(entry.name)) {
      files.push(join(path, "runs", entry.name, "run.db"));
    }
  }
  const bad = files.map((file) => [file, integrity(file)] as const)
    .filter(([, result]) => result !== "ok")
    .map(([file, result]) => `${file}: ${result}`);
  return { files: files.length, bad };
}

/** Entries of a folder (0 when it is gone). */
function countEntries(path: string): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(path)) n++;
  } catch {
    // Gone: nothing in it.
  }
  return n;
}

/** A run as `aim runs ls --json` prints it. */
interface RunJson {
  hash: string;
  name: string;
  status: string;
  signal: string | null;
  indexed: boolean;
  metrics: { name: string; context: Context; count: number }[];
}

/** A series as `aim metrics ls --json` prints it. */
interface MetricJson {
  hash: string;
  name: string;
  context: Context;
  count: number;
  first_step: number | null;
  last_step: number | null;
  last_time: number | null;
}

/** The JSON an aim command printed, or null when it printed none. */
function parseJson<T>(ran: Ran): T | null {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch {
    return null;
  }
}

/** Counts joined for a table: `{a: 1, b: 2}` → "1 a, 2 b". */
function counts(map: Map<string, number>): string {
  return [...map].map(([key, n]) => `${n} ${key}`).join(", ");
}

/** How many times each item occurs. */
function countBy<K>(items: Iterable<K>): Map<K, number> {
  const out = new Map<K, number>();
  for (const item of items) out.set(item, (out.get(item) ?? 0) + 1);
  return out;
}

/** `text` on one line for a table, `root` (a temporary folder) shown as `…`, cut at `max`. */
function short(text: string, root: string, max = 160): string {
  const one = (root === "" ? text : text.replaceAll(root, "…"))
    .replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** "12.3 s". */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// --- 1. writers ------------------------------------------------------------------

type Ending = "SIGKILL" | "SIGTERM" | "SIGINT" | "close" | "kill-in-close";

const BULK_BATCH = 100_000;
const ENDINGS: readonly (readonly [Ending, number])[] = [
  ["SIGKILL", 70],
  ["SIGTERM", 8],
  ["SIGINT", 7],
  ["close", 8],
  ["kill-in-close", 7],
];
/**
 * Steps between explicit flushes, by weight. A bulk batch of 100,000 steps
 * (200,000–400,000 points) leaves the committing to the writer itself: a
 * flush every 65,536 points or every second.
 */
const BATCHES: readonly (readonly [number, number])[] = [
  [1, 20],
  [10, 20],
  [50, 20],
  [200, 25],
  [BULK_BATCH, 15],
];
/** Writer processes of the writers section unless `--writers` says otherwise. */
const DEFAULT_WRITERS = 200;
/** Writer processes alive at once: enough to load both cores, few enough not to starve them. */
const WRITER_CONCURRENCY = 8;
/** Longest a writer may take to start and flush once, under load. */
const WRITER_START_MS = 60_000;
/** Longest a writer may take to exit after its signal, or to finish. */
const WRITER_EXIT_MS = 30_000;

/** What one writer process does and how it ends. */
interface WriterPlan {
  id: number;
  ending: Ending;
  /** Steps tracked between explicit flushes. */
  batch: number;
  series: number;
  runs: number;
  /** How long it writes after its first flush before its signal. */
  lifeMs: number;
  /** Steps it tracks when it ends by itself (close, kill-in-close). */
  points: number;
  /** How long after "closing" a kill-in-close writer is SIGKILLed. */
  closeKillMs: number;
}

/** What one writer process reported and how it ended. */
interface WriterLog {
  plan: WriterPlan;
  hashes: string[];
  /** Its last "flushed STEP": every point below STEP is committed. */
  flushed: number;
  /** When that line was read, ms since the epoch. */
  flushedAt: number | null;
  /** When its kill signal was sent, ms since the epoch. */
  killedAt: number | null;
  status: Deno.CommandStatus | null;
  stderr: string;
  hung: boolean;
}

/** A random writer: its ending, batch, series, runs and timing. */
function planWriter(random: Random, id: number): WriterPlan {
  const ending = random.weighted(ENDINGS);
  const endsItself = ending === "close" || ending === "kill-in-close";
  const batch = endsItself
    ? random.pick([1, 10, 50, 200])
    : random.weighted(BATCHES);
  return {
    id,
    ending,
    batch,
    series: random.between(2, 4),
    runs: ending === "kill-in-close" ? 4 : random.chance(0.2) ? 2 : 1,
    lifeMs: random.between(200, 2500),
    points: batch * random.between(20, 200),
    closeKillMs: random.int(60),
  };
}

/** tests/fixtures/writer.ts's flags for `plan`. */
function writerArgs(plan: WriterPlan): string[] {
  const common = [
    "--series",
    String(plan.series),
    "--batch",
    String(plan.batch),
    "--runs",
    String(plan.runs),
  ];
  if (plan.ending === "close" || plan.ending === "kill-in-close") {
    return [
      ...common,
      "--points",
      String(plan.points),
      "--end",
      plan.ending === "close" ? "close" : "close-slow",
    ];
  }
  return [...common, "--forever"];
}

/** Runs one writer process to its planned end. */
async function runWriter(plan: WriterPlan, repo: string): Promise<WriterLog> {
  const log: WriterLog = {
    plan,
    hashes: [],
    flushed: 0,
    flushedAt: null,
    killedAt: null,
    status: null,
    stderr: "",
    hung: false,
  };
  let firstFlush = () => {};
  const flushedOnce = new Promise<void>((resolve) => (firstFlush = resolve));
  const writer: LineProcess = new LineProcess(
    ["run", "--allow-all", WRITER, repo, ...writerArgs(plan)],
    (line, at) => {
      if (line.startsWith("started ")) log.hashes.push(line.slice(8));
      else if (line.startsWith("flushed ")) {
        log.flushed = Number(line.slice(8));
        log.flushedAt = at;
        firstFlush();
      } else if (line === "closing" && plan.ending === "kill-in-close") {
        setTimeout(() => {
          log.killedAt = Date.now();
          writer.kill("SIGKILL");
        }, plan.closeKillMs);
      }
    },
  );
  if (plan.ending !== "close" && plan.ending !== "kill-in-close") {
    await within(Promise.race([flushedOnce, writer.done]), WRITER_START_MS);
    if (!writer.exited && log.flushedAt !== null) {
      await sleep(plan.lifeMs);
      log.killedAt = Date.now();
      writer.kill(plan.ending);
    }
  }
  const status = await within(
    writer.done,
    plan.ending === "close" || plan.ending === "kill-in-close"
      ? WRITER_START_MS
      : WRITER_EXIT_MS,
  );
  if (status === TIMED_OUT) {
    log.hung = true;
    writer.kill("SIGKILL");
    log.status = await writer.done;
  } else log.status = status;
  log.stderr = writer.stderr;
  return log;
}

/** Starts the planned writers over time, at most `WRITER_CONCURRENCY` at once. */
async function runWriters(
  plans: WriterPlan[],
  repo: string,
  random: Random,
): Promise<WriterLog[]> {
  const logs: WriterLog[] = [];
  const running = new Set<Promise<void>>();
  for (const plan of plans) {
    while (running.size >= WRITER_CONCURRENCY) await Promise.race(running);
    const task: Promise<void> = runWriter(plan, repo).then((log) => {
      logs.push(log);
      if (logs.length % 25 === 0) {
        progress(`${logs.length} of ${plans.length} writers ended`);
      }
    }).finally(() => running.delete(task));
    running.add(task);
    await sleep(random.int(120));
  }
  await Promise.all(running);
  return logs.sort((a, b) => a.plan.id - b.plan.id);
}

/** The state and exit a writer's ending must leave. */
function expectedEnd(
  ending: Ending,
): { statuses: string[]; signal: string | null; exit: string[] } {
  switch (ending) {
    case "SIGKILL":
      return { statuses: ["crashed"], signal: null, exit: ["SIGKILL"] };
    case "SIGTERM":
      return { statuses: ["terminated"], signal: "SIGTERM", exit: ["143"] };
    case "SIGINT":
      return { statuses: ["terminated"], signal: "SIGINT", exit: ["130"] };
    case "close":
      return { statuses: ["finished"], signal: null, exit: ["0"] };
    case "kill-in-close":
      return {
        statuses: ["finished", "crashed"],
        signal: null,
        exit: ["SIGKILL", "0"],
      };
  }
}

/** How a process ended, as `expectedEnd` names it: a signal name or the code. */
function exitOf(status: Deno.CommandStatus | null): string {
  if (status === null) return "none";
  return status.signal ?? String(status.code);
}

/** Per-series comparison of what writers reported flushed with what is stored. */
interface PointCheck {
  series: number;
  flushedPoints: number;
  keptPoints: number;
  /** Series with fewer stored points than reported flushed, and how many are missing. */
  short: string[];
  lost: number;
  /** Series whose stored steps are not exactly 0…n−1 once each with value = step. */
  malformed: string[];
}

/** Reads every point of every writer's series back and compares it with its reports. */
function checkPoints(repo: Repo, logs: WriterLog[]): PointCheck {
  const check: PointCheck = {
    series: 0,
    flushedPoints: 0,
    keptPoints: 0,
    short: [],
    lost: 0,
    malformed: [],
  };
  for (const log of logs) {
    for (const hash of log.hashes) {
      for (let s = 0; s < log.plan.series; s++) {
        check.series++;
        check.flushedPoints += log.flushed;
        let steps: number[] = [];
        let values: number[] = [];
        try {
          ({ steps, values } = readSeries(repo, hash, `s${s}`, { i: s }, {
            points: 0,
          }));
        } catch (error) {
          // No series at all: nothing was flushed, or everything is lost.
          if (log.flushed > 0) {
            check.malformed.push(`${hash}/s${s}: ${(error as Error).message}`);
          }
        }
        check.keptPoints += steps.length;
        if (steps.length < log.flushed) {
          check.short.push(
            `${hash}/s${s}: ${steps.length} < ${log.flushed} (${log.plan.ending})`,
          );
          check.lost += log.flushed - steps.length;
        }
        if (steps.some((step, i) => step !== i || values[i] !== i)) {
          check.malformed.push(`${hash}/s${s}`);
        }
      }
    }
  }
  return check;
}

/** Hashes in the index.db `runs` table. */
function indexedHashes(path: string): string[] {
  const db = new DatabaseSync(join(path, "index.db"), { readOnly: true });
  try {
    return db.prepare("SELECT hash FROM runs").all().map((row) =>
      String(row.hash)
    );
  } finally {
    db.close();
  }
}

/**
 * Kill time − the newest stored point's time, per SIGKILLed writer, in ms,
 * for the writers whose batch is (or is not) bulk.
 */
function lossWindows(
  logs: WriterLog[],
  metrics: MetricJson[],
  bulk: boolean,
): number[] {
  const newest = new Map<string, number>();
  for (const m of metrics) {
    if (m.last_time === null) continue;
    newest.set(m.hash, Math.max(newest.get(m.hash) ?? 0, m.last_time));
  }
  return logs.filter((log) =>
    log.plan.ending === "SIGKILL" && log.killedAt !== null &&
    (log.plan.batch === BULK_BATCH) === bulk
  ).map((log) =>
    Math.max(
      ...log.hashes.map((hash) =>
        log.killedAt! - (newest.get(hash) ?? 0) * 1000
      ),
    )
  );
}

/** What reading the repository back after the writers found. */
interface ReadBack {
  reindexed: Ran;
  listed: RunJson[];
  metrics: MetricJson[];
  /** aim commands with a stack trace or a timeout. */
  unclean: number;
  points: PointCheck;
  spaces: string[];
  indexRows: string[];
  integrity: { files: number; bad: string[] };
  /** Bytes of the repository on disk. */
  bytes: number;
}

/** `aim reindex`, then every run read back through the CLI and the API. */
async function readBack(
  path: string,
  logs: WriterLog[],
  total: Tally,
): Promise<ReadBack> {
  const reindexed = await runAim(["reindex", "--repo", path], {
    timeoutMs: 300_000,
  });
  const ls = await runAim(["runs", "ls", "--json", "--repo", path]);
  const ms = await runAim(["metrics", "ls", "--json", "--repo", path]);
  const unclean = [reindexed, ls, ms].filter((ran) => !clean(ran, total));
  const repo = Repo.openSync(path);
  try {
    return {
      reindexed,
      listed: parseJson<RunJson[]>(ls) ?? [],
      metrics: parseJson<MetricJson[]>(ms) ?? [],
      unclean: unclean.length + (ls.code !== 0 || ms.code !== 0 ? 1 : 0),
      points: checkPoints(repo, logs),
      spaces: repo.listRuns(),
      indexRows: indexedHashes(path),
      integrity: repoIntegrity(path),
      bytes: diskBytes(path),
    };
  } finally {
    repo.close();
  }
}

/** Runs whose state or writers whose exit is not what their ending says. */
function endingProblems(logs: WriterLog[], listed: RunJson[]) {
  const byHash = new Map(listed.map((run) => [run.hash, run]));
  const wrongState: string[] = [];
  const wrongExit: string[] = [];
  for (const log of logs) {
    const expected = expectedEnd(log.plan.ending);
    const exit = exitOf(log.status);
    if (!expected.exit.includes(exit)) {
      wrongExit.push(
        `writer ${log.plan.id} (${log.plan.ending}): exit ${exit}`,
      );
    }
    for (const hash of log.hashes) {
      const run = byHash.get(hash);
      if (
        run === undefined || !expected.statuses.includes(run.status) ||
        (expected.signal !== null && run.signal !== expected.signal)
      ) {
        wrongState.push(
          `${hash} (${log.plan.ending}): ${run?.status ?? "not listed"}`,
        );
      }
    }
  }
  const inClose = logs.filter((log) => log.plan.ending === "kill-in-close");
  return {
    wrongState,
    wrongExit,
    stacks: logs.filter((log) => STACK.test(log.stderr)).length,
    hung: logs.filter((log) => log.hung).length,
    inClose: inClose.length,
    inCloseStates: countBy(
      inClose.flatMap((log) =>
        log.hashes.map((hash) => byHash.get(hash)?.status ?? "not listed")
      ),
    ),
  };
}

/** The started runs against what is listed, stored and indexed. */
function runCensus(logs: WriterLog[], back: ReadBack) {
  const reported = new Set(logs.flatMap((log) => log.hashes));
  const listed = back.listed.map((run) => run.hash);
  const all = new Set([...listed, ...back.spaces, ...back.indexRows]);
  return {
    reported: reported.size,
    listed: listed.length,
    missing: [...reported].filter((h) => !listed.includes(h)).length,
    phantom: [...all].filter((h) => !reported.has(h)).length,
    duplicate: listed.length - new Set(listed).size +
      back.indexRows.length - new Set(back.indexRows).size,
  };
}

/** The loss-window figure of one class of SIGKILLed writers. */
function lossFigure(windows: number[], which: string): Figure {
  const worst = windows.length > 0 ? Math.max(...windows) : 0;
  return {
    figure:
      `loss window, SIGKILLed writers ${which}: kill time − newest stored point's time (n = ${windows.length}): max / p99 / p50`,
    measured: windows.length === 0
      ? "none killed"
      : `${formatMs(worst)} / ${formatMs(quantile(windows, 0.99))} / ${
        formatMs(quantile(windows, 0.5))
      }`,
    target: "≤ 1 s (points are committed at least every second)",
    pass: worst <= 1000,
  };
}

/** Lists up to three examples after a count, for a table cell. */
function examples(items: string[]): string {
  return items.length > 0 ? ` (${items.slice(0, 3).join("; ")})` : "";
}

function writerFigures(
  logs: WriterLog[],
  back: ReadBack,
  writingMs: number,
  root: string,
): Figure[] {
  const { points, integrity: files } = back;
  const census = runCensus(logs, back);
  const ends = endingProblems(logs, back.listed);
  const stale = logs.filter((log) =>
    log.killedAt !== null && log.flushedAt !== null &&
    log.plan.ending !== "kill-in-close"
  ).map((log) => log.killedAt! - log.flushedAt!);
  return [
    {
      figure:
        `${logs.length} writer processes (tests/fixtures/writer.ts: 2–4 series, 1–2 runs, an explicit flush every 1–200 steps, or every ${
          BULK_BATCH.toLocaleString("en-US")
        } for the bulk ones), ${WRITER_CONCURRENCY} at a time, started over ${
          seconds(writingMs)
        }`,
      measured: `endings: ${counts(countBy(logs.map((l) => l.plan.ending)))}; ${
        logs.filter((l) => l.plan.batch === BULK_BATCH).length
      } bulk; ${census.reported} runs, ${
        (back.bytes / 2 ** 30).toFixed(2)
      } GiB on disk`,
    },
    {
      figure:
        `points reported flushed ("flushed STEP") vs kept (read back with readSeries, every point), ${points.series} series`,
      measured: `${points.flushedPoints.toLocaleString("en-US")} flushed, ${
        points.keptPoints.toLocaleString("en-US")
      } kept; ${points.short.length} series short, ${points.lost} points lost${
        examples(points.short)
      }`,
      target: "0 lost",
      pass: points.lost === 0 && points.short.length === 0,
    },
    {
      figure: "stored points are steps 0…n−1 once each, value = step",
      measured: `${points.malformed.length} series otherwise${
        examples(points.malformed)
      }`,
      target: "0",
      pass: points.malformed.length === 0,
    },
    {
      figure:
        "runs reported started vs listed (aim runs ls), run spaces and index rows",
      measured:
        `${census.reported} started; ${census.listed} listed, ${back.spaces.length} spaces, ${back.indexRows.length} index rows; ${census.missing} missing, ${census.phantom} phantom, ${census.duplicate} duplicate`,
      target: "0 missing, 0 phantom, 0 duplicate",
      pass: census.missing === 0 && census.phantom === 0 &&
        census.duplicate === 0,
    },
    {
      figure:
        "state each run was left in, as its ending says (SIGKILL crashed, SIGTERM/SIGINT terminated with the signal, close finished)",
      measured: `${ends.wrongState.length} wrong${examples(ends.wrongState)}`,
      target: "0",
      pass: ends.wrongState.length === 0,
    },
    {
      figure:
        "writer exits as the signal says (143, 130, 0, SIGKILL); writers with a stack trace on stderr; writers that did not exit within 30 s",
      measured: `${ends.wrongExit.length} wrong exits${
        examples(ends.wrongExit)
      }; ${ends.stacks} with a stack; ${ends.hung} hung`,
      target: "0, 0, 0",
      pass: ends.wrongExit.length === 0 && ends.stacks === 0 &&
        ends.hung === 0,
    },
    {
      figure:
        'SIGKILL inside close() (`--end close-slow`: 4 runs, 60,000 unflushed points each, killed 0–60 ms after "closing")',
      measured: `${ends.inClose} writers: runs ${counts(ends.inCloseStates)}`,
    },
    {
      figure:
        "aim reindex after the kills; aim runs ls and metrics ls: failed, stack traces or timeouts",
      measured: `${
        short(back.reindexed.stdout, root)
      } (exit ${back.reindexed.code}); ${back.unclean} failed`,
      target: "exit 0, 0",
      pass: back.reindexed.code === 0 && back.unclean === 0,
    },
    {
      figure: "PRAGMA integrity_check of index.db and every run.db",
      measured: `${files.files - files.bad.length} of ${files.files} ok${
        examples(files.bad.map((bad) => short(bad, root, 100)))
      }`,
      target: "all ok",
      pass: files.bad.length === 0,
    },
    lossFigure(
      lossWindows(logs, back.metrics, false),
      "with explicit flushes",
    ),
    lossFigure(
      lossWindows(logs, back.metrics, true),
      "in bulk (committed by the writer's own flushes)",
    ),
    {
      figure:
        '… for scale: kill time − when the last "flushed" line was read (a writer starved of CPU reports late): max / p50',
      measured: stale.length === 0
        ? "none"
        : `${formatMs(Math.max(...stale))} / ${formatMs(quantile(stale, 0.5))}`,
    },
  ];
}

const writers: FaultSection = {
  title: "Writers killed at random moments",
  async run({ random, writers: count, tally: total }) {
    await using tmp = await tempDir("aim-fault-writers-");
    const path = join(tmp.path, ".aim");
    Repo.openSync(path, { create: true }).close();
    const plans = Array.from(
      { length: count },
      (_, i) => planWriter(random, i),
    );
    progress(
      `${count} writer processes, ${WRITER_CONCURRENCY} at a time, killed at random moments`,
    );
    const started = performance.now();
    const logs = await runWriters(plans, path, random);
    const writingMs = performance.now() - started;
    progress("aim reindex, then reading every run back");
    const back = await readBack(path, logs, total);
    const ends = endingProblems(logs, back.listed);
    total.pointsLost += back.points.lost;
    total.uncaught += ends.stacks;
    total.hangs += ends.hung;
    return writerFigures(logs, back, writingMs, tmp.path);
  },
};

// --- 2. drain --------------------------------------------------------------------

/** Stalled runs per batch, and their shape. */
const DRAIN_RUNS = 500;
const DRAIN_SHAPE = { params: 20, series: 4, points: 25 };

/** What was SIGKILLed mid-drain, and when. */
interface DrainRound {
  what: string;
  /** Runs left to index when the kill came, or why it did not come. */
  killedAt: string;
}

/**
 * Polls the markers until at most `left` remain, then SIGKILLs `child`;
 * returns how many were left, or null when the child ended first.
 */
async function killWhenLeft(
  child: Deno.ChildProcess,
  progressDir: string,
  left: number,
): Promise<number | null> {
  let exited = false;
  void child.status.then(() => (exited = true));
  const deadline = Date.now() + 120_000;
  while (!exited && Date.now() < deadline) {
    const now = countEntries(progressDir);
    if (now <= left) {
      killQuietly(child, "SIGKILL");
      return now;
    }
    await sleep(3);
  }
  return null;
}

/**
 * After an interrupted drain: a normal `aim reindex` must complete, and
 * every expected run must be listed and indexed once with its points,
 * with no other, and every file intact.
 */
async function verifyDrain(
  path: string,
  expected: Set<string>,
  round: DrainRound,
  total: Tally,
): Promise<Figure> {
  const markers = countEntries(join(path, "progress"));
  const reindexed = await runAim(["reindex", "--repo", path], {
    timeoutMs: 120_000,
  });
  const ls = await runAim(["runs", "ls", "--json", "--repo", path]);
  const status = await runAim(["status", "--json", "--repo", path]);
  const ok = [reindexed, ls, status].every((ran) => clean(ran, total));
  const listed = (parseJson<RunJson[]>(ls) ?? []).map((run) => run.hash);
  const state = parseJson<Record<string, number>>(status) ?? {};
  const rows = indexedHashes(path);
  const lost = [...expected].filter((hash) =>
    !listed.includes(hash) || !rows.includes(hash)
  );
  const phantoms = [...new Set([...listed, ...rows])].filter((hash) =>
    !expected.has(hash)
  );
  const db = new DatabaseSync(join(path, "index.db"), { readOnly: true });
  let wrongSeries: number;
  let notCrashed: number;
  try {
    const one = (sql: string) =>
      Number(Object.values(db.prepare(sql).get()!)[0]);
    wrongSeries = Math.abs(
      one("SELECT count(*) FROM series") - expected.size * DRAIN_SHAPE.series,
    ) + one(`SELECT count(*) FROM series WHERE count != ${DRAIN_SHAPE.points}`);
    notCrashed = one("SELECT count(*) FROM runs WHERE status != 'crashed'");
  } finally {
    db.close();
  }
  const summary = /indexed (\d+) of (\d+) runs/.exec(reindexed.stdout);
  const countsRight = summary !== null && Number(summary[1]) === markers &&
    Number(summary[2]) === markers && state.runs === expected.size &&
    state.indexed === expected.size && state.unindexed_stalled === 0 &&
    state.hidden === 0 && state.junk === 0 && wrongSeries === 0 &&
    notCrashed === 0 && listed.length === expected.size;
  const files = repoIntegrity(path);
  return {
    figure:
      `${round.what} SIGKILLed at ${round.killedAt}; then \`aim reindex\` (${expected.size} runs in all)`,
    measured: `${
      summary?.[0] ?? "no summary"
    } (exit ${reindexed.code}); ${lost.length} lost, ${phantoms.length} phantom; integrity ${
      files.bad.length === 0 ? "ok" : `${files.bad.length} bad`
    } (${files.files} files); counts ${countsRight ? "right" : "WRONG"}${
      countsRight ? "" : ` (status ${JSON.stringify(state)})`
    }`,
    target: "exit 0, 0 lost, 0 phantom, integrity ok, counts right",
    pass: reindexed.code === 0 && ok && lost.length === 0 &&
      phantoms.length === 0 && files.bad.length === 0 && countsRight,
  };
}

/** Makes `DRAIN_RUNS` new stalled runs; returns the hashes now in the repository. */
async function addStalledRuns(path: string): Promise<Set<string>> {
  await makeStalledRuns({ repo: path, runs: DRAIN_RUNS, ...DRAIN_SHAPE });
  const repo = Repo.openSync(path);
  try {
    return new Set(repo.listRuns());
  } finally {
    repo.close();
  }
}

/** Gives every run a marker again: from the indexer's view, all stalled. */
function markAll(path: string): void {
  const repo = Repo.openSync(path);
  try {
    for (const hash of repo.listRuns()) repo.touchMarker(hash);
  } finally {
    repo.close();
  }
}

/** One `aim reindex` SIGKILLed when about `fraction` of the markers are left. */
async function killReindex(
  path: string,
  flags: string[],
  fraction: number,
  total: Tally,
): Promise<DrainRound> {
  const left = Math.round(countEntries(join(path, "progress")) * fraction);
  const running = startAim(["reindex", ...flags, "--repo", path]);
  const at = await killWhenLeft(running.child, join(path, "progress"), left);
  clean(await running.result, total);
  return {
    what: `\`${["aim reindex", ...flags].join(" ")}\``,
    killedAt: at === null
      ? "(it finished first: not killed)"
      : `${at} of ${DRAIN_RUNS} runs left`,
  };
}

/** `aim reindex --all` SIGKILLed `fraction` of the way through a full pass. */
async function killReindexAll(
  path: string,
  fraction: number,
  total: Tally,
): Promise<DrainRound> {
  const full = await runAim(["reindex", "--all", "--repo", path]);
  clean(full, total);
  const since = Date.now() / 1000;
  const running = startAim(["reindex", "--all", "--repo", path]);
  const result = await within(running.result, full.ms * fraction);
  if (result !== TIMED_OUT) {
    return { what: "`aim reindex --all`", killedAt: "(it finished first)" };
  }
  killQuietly(running.child, "SIGKILL");
  clean(await running.result, total);
  const db = new DatabaseSync(join(path, "index.db"), { readOnly: true });
  let rewritten = 0;
  try {
    rewritten = Number(
      Object.values(
        db.prepare("SELECT count(*) FROM runs WHERE indexed_at >= ?").get(
          since,
        )!,
      )[0],
    );
  } finally {
    db.close();
  }
  return {
    what: "`aim reindex --all`",
    killedAt: `${seconds(full.ms * fraction)} of a ${
      seconds(full.ms)
    } pass (${rewritten} runs rewritten before the kill)`,
  };
}

/** `aim up` SIGKILLed while its indexer drains, when about `fraction` of the markers are left. */
async function killAimUp(
  path: string,
  fraction: number,
): Promise<DrainRound> {
  const progressDir = join(path, "progress");
  const left = Math.round(countEntries(progressDir) * fraction);
  const up = await startAimUp(path, { token: TOKEN, indexInterval: "0.2" });
  try {
    const at = await killWhenLeft(up.child, progressDir, left);
    return {
      what: "`aim up` (its indexer Worker draining)",
      killedAt: at === null
        ? "(it drained first: not killed)"
        : `${at} of ${DRAIN_RUNS} runs left`,
    };
  } finally {
    await up.stop("SIGKILL");
  }
}

const drain: FaultSection = {
  title: "Drains interrupted by SIGKILL",
  async run({ random, tally: total }) {
    await using tmp = await tempDir("aim-fault-drain-");
    const path = join(tmp.path, ".aim");
    Repo.openSync(path, { create: true }).close();
    progress(`${DRAIN_RUNS} stalled runs (writer SIGKILLed)`);
    let expected = await addStalledRuns(path);
    const fraction = () => 0.25 + random.next() * 0.5;
    const figures: Figure[] = [];
    const rounds: (() => Promise<DrainRound>)[] = [
      () => killReindex(path, ["--finalize-stalled"], fraction(), total),
      () => (markAll(path), killReindex(path, [], fraction(), total)),
      () => (markAll(path), killReindex(path, [], fraction(), total)),
      () => killReindexAll(path, fraction(), total),
    ];
    for (const [i, round] of rounds.entries()) {
      progress(`aim reindex killed mid-drain, round ${i + 1}`);
      figures.push(await verifyDrain(path, expected, await round(), total));
    }
    for (let i = 0; i < 3; i++) {
      progress(
        `aim up killed mid-drain, round ${
          i + 1
        }: ${DRAIN_RUNS} more stalled runs`,
      );
      expected = await addStalledRuns(path);
      const round = await killAimUp(path, fraction());
      figures.push(await verifyDrain(path, expected, round, total));
    }
    return figures;
  },
};

// --- 3. corrupt ------------------------------------------------------------------

/** One kind of damage to a repository. */
interface CorruptCase {
  name: string;
  /**
   * Damages the repository (whose damaged run, when one is needed, is
   * `victim`); returns what the messages must name (a path, or a hash).
   */
  apply(repo: Repo, victim: string): Promise<string>;
  /** What `aim reindex` must exit with, as the README documents. */
  reindexCode: number;
  /** Whether the victim is a run that cannot be read: the API answers it 422. */
  unreadable: boolean;
  /** The commands that must name the damaged file (or the victim's hash). */
  namedBy: ("ls" | "metrics" | "reindex")[];
  /** What else must hold after the commands; returns what does not. */
  check?: (path: string, named: string) => string[];
}

const GOOD_RUNS = 4;
/** A hash no run has: for junk named like a hash. */
const JUNK_HASH = "abcdef0123456789abcd";

/** Removes the victim's write-ahead log, so that the damage is all there is. */
function dropWal(repo: Repo, victim: string): void {
  for (const suffix of ["-wal", "-shm"]) {
    try {
      Deno.removeSync(repo.runFile(victim) + suffix);
    } catch {
      // Not there.
    }
  }
}

/** `bytes` random bytes (getRandomValues fills at most 64 KiB a call). */
function randomBytes(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(bytes, i + 65536)));
  }
  return out;
}

const CORRUPT_CASES: CorruptCase[] = [
  {
    name: "run.db truncated to half its size",
    async apply(repo, victim) {
      dropWal(repo, victim);
      const file = repo.runFile(victim);
      await Deno.truncate(file, Math.floor(Deno.statSync(file).size / 2));
      repo.touchMarker(victim);
      return file;
    },
    reindexCode: 1,
    unreadable: true,
    namedBy: ["ls", "metrics", "reindex"],
  },
  {
    name: "run.db overwritten with random bytes",
    async apply(repo, victim) {
      dropWal(repo, victim);
      const file = repo.runFile(victim);
      await Deno.writeFile(file, randomBytes(Deno.statSync(file).size));
      repo.touchMarker(victim);
      return file;
    },
    reindexCode: 1,
    unreadable: true,
    namedBy: ["ls", "metrics", "reindex"],
  },
  {
    name: "run.db an SQLite file with no meta table",
    apply(repo, victim) {
      dropWal(repo, victim);
      const file = repo.runFile(victim);
      Deno.removeSync(file);
      const db = new DatabaseSync(file);
      db.exec("CREATE TABLE notes(text TEXT)");
      db.close();
      repo.touchMarker(victim);
      return Promise.resolve(file);
    },
    reindexCode: 1,
    unreadable: true,
    namedBy: ["ls", "metrics", "reindex"],
  },
  {
    name: "run.db a FIFO",
    async apply(repo, victim) {
      dropWal(repo, victim);
      const file = repo.runFile(victim);
      Deno.removeSync(file);
      await new Deno.Command("mkfifo", { args: [file] }).output();
      repo.touchMarker(victim);
      return file;
    },
    reindexCode: 1,
    unreadable: true,
    namedBy: ["ls", "metrics", "reindex"],
  },
  {
    name: "index.db replaced by random bytes",
    async apply(repo) {
      const file = join(repo.path, "index.db");
      for (const suffix of ["-wal", "-shm"]) {
        try {
          Deno.removeSync(file + suffix);
        } catch {
          // Not there.
        }
      }
      await Deno.writeFile(file, randomBytes(64 * 1024));
      return file;
    },
    reindexCode: 0,
    unreadable: false,
    // The first command to open the index moves it aside.
    namedBy: ["ls"],
    check(path) {
      const aside = [...Deno.readDirSync(path)].some((e) =>
        e.name.startsWith("index.db.corrupt-")
      );
      return [
        ...(aside ? [] : ["not moved aside"]),
        ...(integrity(join(path, "index.db")) === "ok"
          ? []
          : ["index not rebuilt"]),
      ];
    },
  },
  {
    name: "a folder named like a hash in progress/",
    apply(repo) {
      const dir = join(repo.path, "progress", JUNK_HASH);
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeTextFileSync(join(dir, "x"), "x");
      return Promise.resolve(dir);
    },
    reindexCode: 0,
    unreadable: false,
    namedBy: ["reindex"],
  },
  {
    name: "a runs/.new-<hash> leftover of an interrupted start",
    apply(repo, victim) {
      const dir = join(repo.path, "runs", `.new-${JUNK_HASH}`);
      Deno.mkdirSync(dir, { recursive: true });
      Deno.copyFileSync(repo.runFile(victim), join(dir, "run.db"));
      return Promise.resolve(dir);
    },
    reindexCode: 0,
    unreadable: false,
    namedBy: ["reindex"],
    check(_path, named) {
      try {
        Deno.statSync(named);
        return ["leftover still there"];
      } catch {
        return []; // Cleaned up, as promised.
      }
    },
  },
];

/** A repository with `GOOD_RUNS` good runs (the last one unindexed) and a victim run. */
async function corruptBase(path: string): Promise<string> {
  const repo = Repo.openSync(path, { create: true });
  try {
    for (let i = 0; i < GOOD_RUNS; i++) {
      const run = await repo.startRun({
        name: `good-${i}`,
        handleSignals: false,
      });
      run.set("hparams", { i });
      for (let step = 0; step < 10; step++) {
        run.track(step, { name: "loss", step });
      }
      await run.close();
      if (i === GOOD_RUNS - 1) repo.touchMarker(run.hash);
    }
    const victim = await repo.startRun({
      name: "victim",
      handleSignals: false,
    });
    for (let step = 0; step < 50_000; step++) {
      victim.track(step, { name: "loss", step });
    }
    await victim.close();
    return victim.hash;
  } finally {
    repo.close();
  }
}

/** The good runs a listing shows, and what it says about `named`. */
function goodListed(ran: Ran): number {
  const runs = parseJson<RunJson[]>(ran) ?? [];
  return runs.filter((run) =>
    /^good-\d$/.test(run.name) && run.metrics[0]?.count === 10
  ).length;
}

/** Runs one damage case on a copy of the base repository; one figure. */
async function corruptCase(
  tmp: string,
  base: string,
  victim: string,
  kase: CorruptCase,
  index: number,
  total: Tally,
): Promise<Figure> {
  const dir = join(tmp, `case-${index}`);
  await new Deno.Command("cp", { args: ["-a", base, dir] }).output();
  const path = join(dir, ".aim");
  const repo = Repo.openSync(path);
  let named: string;
  try {
    named = await kase.apply(repo, victim);
  } finally {
    repo.close();
  }
  const mentions = (ran: Ran) =>
    ran.stderr.includes(named) ||
    (kase.unreadable && ran.stderr.includes(victim));
  const opts = { timeoutMs: 30_000 };
  const ls = await runAim(["runs", "ls", "--json", "--repo", path], opts);
  const ms = await runAim(["metrics", "ls", "--json", "--repo", path], opts);
  const status = await runAim(["status", "--json", "--repo", path], opts);
  const reindexed = await runAim(["reindex", "--repo", path], opts);
  const after = await runAim(["runs", "ls", "--json", "--repo", path], opts);
  const all = [ls, ms, status, reindexed, after];
  const cleanRuns = all.filter((ran) => clean(ran, total)).length;
  const problems: string[] = [];
  if (cleanRuns !== all.length) problems.push("a stack trace or a hang");
  if ([ls, ms, status, after].some((ran) => ran.code !== 0)) {
    problems.push(
      `exits ${[ls, ms, status, after].map((r) => r.code).join("/")}`,
    );
  }
  if (reindexed.code !== kase.reindexCode) {
    problems.push(`reindex exit ${reindexed.code}`);
  }
  if (goodListed(ls) !== GOOD_RUNS || goodListed(after) !== GOOD_RUNS) {
    problems.push(`good runs listed ${goodListed(ls)}/${goodListed(after)}`);
  }
  const byCommand = { ls, metrics: ms, reindex: reindexed };
  const silent = kase.namedBy.filter((name) => !mentions(byCommand[name]));
  if (silent.length > 0) problems.push(`not named by ${silent.join(", ")}`);
  problems.push(...kase.check?.(path, named) ?? []);
  const served = await corruptCaseServed(path, victim, kase, total);
  problems.push(...served.problems);
  const message = [ls, reindexed].flatMap((ran) => ran.stderr.split("\n"))
    .find((line) => line.includes(named) || line.includes(victim)) ??
    reindexed.stdout.split("\n")[0] ?? "";
  return {
    figure: kase.name,
    measured: `${
      problems.length === 0 ? "ok" : problems.join("; ")
    }: reindex exit ${reindexed.code}, ${
      goodListed(after)
    }/${GOOD_RUNS} good runs listed, API ${served.summary}; «${
      short(message, tmp, 150)
    }»`,
    target: `reindex exit ${kase.reindexCode}, named by ${
      kase.namedBy.join(", ")
    }, good runs listed`,
    pass: problems.length === 0,
  };
}

/** The same damage seen through `aim up`: good runs listed, the bad one 422, no 500. */
async function corruptCaseServed(
  path: string,
  victim: string,
  kase: CorruptCase,
  total: Tally,
): Promise<{ problems: string[]; summary: string }> {
  const repo = Repo.openSync(path);
  try {
    await kase.apply(repo, victim);
  } finally {
    repo.close();
  }
  const problems: string[] = [];
  const up = await startAimUp(path, { token: TOKEN, args: ["--no-index"] });
  let summary: string;
  try {
    const runs = await up.get("api/runs");
    const good = (runs.body.runs ?? []).filter((run: RunJson) =>
      /^good-\d$/.test(run.name)
    ).length;
    const one = await up.get(`api/runs/${victim}`);
    const statuses = [runs.status, one.status];
    if (statuses.includes(500)) {
      total.crashes++;
    }
    if (runs.status !== 200 || good !== GOOD_RUNS) {
      problems.push(`/api/runs ${runs.status} with ${good} good runs`);
    }
    const expected = kase.unreadable ? 422 : 200;
    if (one.status !== expected) {
      problems.push(`/api/runs/:victim ${one.status}, expected ${expected}`);
    }
    summary = `/api/runs ${runs.status} (${good} good, ${
      runs.body.unreadable?.length ?? 0
    } unreadable), /api/runs/:victim ${one.status}${
      one.body.error ? ` ${one.body.error.code}` : ""
    }`;
  } finally {
    await up.stop();
  }
  if (STACK.test(up.stderr())) {
    total.uncaught++;
    problems.push("server stack trace");
  }
  return { problems, summary };
}

const corrupt: FaultSection = {
  title: "Damaged files",
  async run({ tally: total }) {
    await using tmp = await tempDir("aim-fault-corrupt-");
    const base = join(tmp.path, "base");
    const victim = await corruptBase(join(base, ".aim"));
    const figures: Figure[] = [];
    for (const [i, kase] of CORRUPT_CASES.entries()) {
      progress(kase.name);
      figures.push(await corruptCase(tmp.path, base, victim, kase, i, total));
    }
    return figures;
  },
};

// --- 4. protocol -----------------------------------------------------------------

/** What must become of a protocol line. */
type Fate = "keep" | "refuse" | "either";

/** A protocol line under test, with its category and fate. */
interface ProtocolLine {
  category: string;
  line: string;
  fate: Fate;
}

const MIB = 1 << 20;

/** A malformed line of exactly `length` characters: an unclosed string of quotes. */
function unclosed(length: number): string {
  const head = '{"track": 1, "name": "';
  return (head + '"x'.repeat(length)).slice(0, length);
}

/** The bad (and some good) protocol lines, by category. */
function protocolCases(random: Random): ProtocolLine[] {
  const lines: ProtocolLine[] = [];
  const add = (category: string, fate: Fate, ...texts: string[]) =>
    lines.push(...texts.map((line) => ({ category, line, fate })));
  add(
    "invalid JSON",
    "refuse",
    '{"track": 1, "name": "x"',
    "not json",
    '{"track": 1,, "name": "x"}',
    "{'track': 1, 'name': 'x'}",
    "[1, 2]",
    '"a string"',
    "42",
    "null",
    "{}",
    '{"bogus": 1}',
    "}{",
    '{"track": 1 "name": "x"}',
  );
  add(
    "unclosed strings",
    "refuse",
    '{"track": 1, "name": "abc',
    '{"track": 1, "name": "\\',
    '"',
    unclosed(10_000),
  );
  add("a 1 MiB malformed line", "refuse", unclosed(MIB));
  add(
    "a 1 MiB valid line (a log line)",
    "keep",
    ('{"log": "' + "a".repeat(MIB)).slice(0, MIB - 2) + '"}',
  );
  add(
    "> 1 MiB lines",
    "refuse",
    ('{"log": "' + "a".repeat(MIB)).slice(0, MIB - 1) + '"}',
    unclosed(5 * MIB),
  );
  add(
    "NaN/Infinity forms Python writes",
    "keep",
    '{"track": NaN, "name": "nonfinite"}',
    '{"track": Infinity, "name": "nonfinite"}',
    '{"track": -Infinity, "name": "nonfinite"}',
    '{"track": "NaN", "name": "nonfinite"}',
    '{"track": "Infinity", "name": "nonfinite"}',
    '{"track": "-Infinity", "name": "nonfinite"}',
    '{"set": "nonfinite", "value": [NaN, Infinity, -Infinity]}',
  );
  add(
    "other NaN/Infinity forms",
    "refuse",
    '{"track": nan, "name": "x"}',
    '{"track": inf, "name": "x"}',
    '{"track": +Infinity, "name": "x"}',
    '{"track": -NaN, "name": "x"}',
    '{"track": Infinityx, "name": "x"}',
    '{"track": "nan", "name": "x"}',
    '{"track": "inf", "name": "x"}',
    '{"track": NaN, "name": "x", "step": NaN}',
  );
  const wrong: [string, string[]][] = [
    ["track", ['"abc"', "true", "null", "[]", "{}"]],
    ["name", ["1", '""', "null", "[]", "{}", "true"]],
    ["step", ["1.5", '"1"', "1e300", "true", "[]", "9007199254740993"]],
    ["epoch", ['"x"', "1.5", "{}", "1e21"]],
    ["context", ['"x"', "[]", "1", "true"]],
    ["time", ['"now"', "-5", "1e20", "true", "[]", "-1e-9"]],
  ];
  for (const [field, values] of wrong) {
    for (const value of values) {
      const fields: Record<string, string> = {
        track: "1",
        name: '"typed"',
        [field]: value,
      };
      add(
        "wrong types, every field",
        "refuse",
        `{${
          Object.entries(fields).map(([k, v]) => `"${k}": ${v}`).join(", ")
        }}`,
      );
    }
  }
  add(
    "wrong types, every field",
    "refuse",
    '{"set": 1, "value": 1}',
    '{"set": "", "value": 1}',
    '{"set": "k"}',
    '{"tag": 1}',
    '{"tag": ""}',
    '{"tag": null}',
    '{"meta": "x"}',
    '{"meta": []}',
    '{"meta": {"name": 1}}',
    '{"meta": {"experiment": false}}',
  );
  add(
    "lone surrogates in names",
    "refuse",
    '{"track": 1, "name": "\\ud800"}',
    '{"track": 1, "name": "a\\udc00b"}',
    '{"set": "\\ud800", "value": 1}',
    '{"tag": "\\udfff"}',
    '{"meta": {"name": "\\ud800"}}',
  );
  add(
    "lone surrogates elsewhere (escaped in storage)",
    "either",
    '{"log": "\\ud800", "level": "\\udc00"}',
    '{"track": 1, "name": "surrogate-context", "context": {"\\ud800": 1}}',
    '{"set": "surrogate-value", "value": "\\udc00"}',
  );
  add(
    "far-future or negative times",
    "refuse",
    '{"track": 1, "name": "t", "time": 1e20}',
    '{"track": 1, "name": "t", "time": -1}',
    '{"track": 1, "name": "t", "time": 253402300800.5}',
    '{"log": "x", "time": 1e300}',
    '{"log": "x", "time": -86400}',
  );
  add(
    "times at the edges",
    "keep",
    '{"track": 1, "name": "t-edge", "step": 0, "time": 0}',
    '{"track": 1, "name": "t-edge", "step": 1, "time": 253402300799}',
  );
  add(
    "deep nesting",
    "refuse",
    `{"set": "deep", "value": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    `{"track": 1, "name": "deep", "context": ${'{"a": '.repeat(5_000)}1${
      "}".repeat(5_000)
    }}`,
    `${"[".repeat(200_000)}`,
  );
  add(
    "nesting within the limit",
    "keep",
    `{"set": "nested", "value": ${"[".repeat(50)}1${"]".repeat(50)}}`,
  );
  add(
    "huge numbers",
    "keep",
    '{"track": 1e308, "name": "huge"}',
    '{"track": 1e309, "name": "huge"}',
    '{"track": -1e309, "name": "huge"}',
    `{"track": ${"9".repeat(100_000)}, "name": "huge"}`,
    '{"track": 5e-324, "name": "huge"}',
    '{"track": 1, "name": "huge", "step": 9007199254740991}',
  );
  add(
    "huge numbers",
    "refuse",
    '{"track": 1, "name": "huge", "step": 9007199254740992}',
    '{"track": 1, "name": "huge", "epoch": 1e100}',
    `{"track": 1, "name": "huge", "step": ${"9".repeat(400)}}`,
  );
  const garbage = () =>
    "\xff\xfe" +
    Array.from(
      { length: random.between(10, 400) },
      () =>
        String.fromCharCode(
          random.pick([0, 1, 7, 13, 27, 127, 255]) || random.int(0x2ff),
        ),
    ).join("").replaceAll("\n", " ");
  add("binary garbage", "refuse", garbage(), garbage(), garbage());
  return lines;
}

/** Time to parse 1 MiB malformed lines of several shapes, in ms: the worst, and the 128 KiB one. */
function parseTimes(): { worst: number; shape: string; small: number } {
  const shapes: Record<string, (n: number) => string> = {
    "unclosed string of quotes": unclosed,
    "backslashes": (n) =>
      ('{"track": 1, "name": "' + "\\".repeat(n)).slice(0, n),
    "bare NaN outside strings": (n) => ("[" + "NaN,".repeat(n / 4)).slice(0, n),
    "open brackets": (n) => "[".repeat(n),
    "open objects": (n) => '{"a":'.repeat(n / 5).slice(0, n),
  };
  const time = (text: string) => {
    const start = performance.now();
    try {
      parseMessage(text);
    } catch {
      // Refused, as it must be: only the time matters here.
    }
    return performance.now() - start;
  };
  let worst = 0;
  let shape = "";
  let small = 0;
  for (const [name, make] of Object.entries(shapes)) {
    time(make(1000));
    const ms = time(make(MIB));
    if (ms > worst) {
      worst = ms;
      shape = name;
      small = time(make(128 * 1024));
    }
  }
  return { worst, shape, small };
}

const protocol: FaultSection = {
  title: "Bad protocol lines fed to aim track",
  async run({ random, tally: total }) {
    await using tmp = await tempDir("aim-fault-protocol-");
    const path = join(tmp.path, ".aim");
    Repo.openSync(path, { create: true }).close();
    const cases = protocolCases(random);
    // A good point after every case: none may be lost to its neighbour.
    const lines: string[] = [];
    const lineOf = new Map<number, ProtocolLine>();
    cases.forEach((kase, i) => {
      lineOf.set(lines.length + 1, kase);
      lines.push(kase.line);
      lines.push(`{"track": ${i}, "name": "good", "step": ${i}}`);
    });
    lines.push('{"close": true}');
    progress(`${cases.length} bad or odd lines, each followed by a good one`);
    const ran = await runAim(
      ["track", "--name", "protocol", "--repo", path],
      { stdin: lines.join("\n") + "\n", timeoutMs: 120_000 },
    );
    const ok = clean(ran, total);
    const hash = ran.stdout.trim().split("\n")[0] ?? "";
    const repo = Repo.openSync(path);
    let reported: Set<number>;
    let record;
    try {
      const logs = readLogs(repo, hash, { limit: 100_000 }).lines;
      reported = new Set(
        logs.filter((l) => l.level === "warning").map((l) =>
          Number(/line (\d+):/.exec(l.text)?.[1])
        ),
      );
      record = repo.index().get(hash);
    } finally {
      repo.close();
    }
    const byFate = (fate: Fate) =>
      [...lineOf].filter(([, kase]) => kase.fate === fate);
    const keptButRefused = byFate("keep").filter(([n]) => reported.has(n));
    const refusedButKept = byFate("refuse").filter(([n]) => !reported.has(n));
    const good = record?.metrics.find((m) => m.name === "good")?.count ?? 0;
    const stored = (record?.metrics ?? []).reduce((sum, m) => sum + m.count, 0);
    const trackKept =
      [...lineOf].filter(([n, kase]) =>
        kase.fate !== "refuse" && !reported.has(n) &&
        /^\{"track"/.test(kase.line)
      ).length;
    const perCategory = new Map<string, string>();
    for (const [n, kase] of lineOf) {
      const [kept, refused] = (perCategory.get(kase.category) ?? "0/0")
        .split("/").map(Number) as [number, number];
      perCategory.set(
        kase.category,
        reported.has(n) ? `${kept}/${refused + 1}` : `${kept + 1}/${refused}`,
      );
    }
    const parse = parseTimes();
    const failures = [
      ...keptButRefused.map(([n, k]) =>
        `kept line refused: ${k.category} ${n}`
      ),
      ...refusedButKept.map(([n, k]) =>
        `bad line not reported: ${k.category} ${n}: ${k.line.slice(0, 60)}`
      ),
    ];
    return [
      {
        figure:
          `aim track fed ${cases.length} bad or odd lines (${lines.length} with a good point after each and a close)`,
        measured: `exit ${ran.code} in ${seconds(ran.ms)}; run ${
          record?.status ?? "not indexed"
        }; stderr ${ok ? "without" : "WITH"} a stack trace`,
        target: "exit 0, finished, no stack",
        pass: ran.code === 0 && ok && record?.status === "finished",
      },
      {
        figure:
          `good points kept (one after each case, ${cases.length} in all)`,
        measured: `${good}`,
        target: `${cases.length}`,
        pass: good === cases.length,
      },
      {
        figure:
          "lines that must be refused, each reported (a warning in the run's log naming its line); lines that must be kept, none reported",
        measured: `${byFate("refuse").length - refusedButKept.length}/${
          byFate("refuse").length
        } reported; ${keptButRefused.length}/${
          byFate("keep").length
        } kept ones reported${
          failures.length > 0 ? ` (${failures.slice(0, 3).join("; ")})` : ""
        }`,
        target: "all / 0",
        pass: failures.length === 0,
      },
      {
        figure:
          "points stored = good points + track lines kept (nothing kept silently dropped, nothing refused stored)",
        measured:
          `${stored} (${cases.length} good + ${trackKept} kept track lines)`,
        target: "equal",
        pass: stored === cases.length + trackKept,
      },
      {
        figure: "kept/refused by category",
        measured: [...perCategory].map(([c, n]) => `${c} ${n}`).join("; "),
      },
      {
        figure:
          `parseMessage() of a 1 MiB malformed line, worst of 5 shapes (${parse.shape})`,
        measured: `${formatMs(parse.worst)} (128 KiB: ${
          formatMs(parse.small)
        }, ${
          (parse.worst / Math.max(parse.small, 0.01)).toFixed(1)
        }× for 8× the length)`,
        target: "≤ 1 s, linear",
        pass: parse.worst <= 1000 &&
          parse.worst <= 40 * Math.max(parse.small, 1),
      },
    ];
  },
};

// --- 5. flags --------------------------------------------------------------------

/** A bad command line: the command words, then its flags. */
interface FlagCase {
  command: string[];
  args: string[];
  /** Skip the `--repo` the case would get (the case is about it, or there is none). */
  noRepo?: boolean;
}

function flagCases(file: string, newer: string, port: number): FlagCase[] {
  const c = (command: string[], ...sets: string[][]) =>
    sets.map((args) => ({ command, args }));
  return [
    { command: [], args: [], noRepo: true },
    { command: ["bogus"], args: [], noRepo: true },
    { command: ["--bogus"], args: [], noRepo: true },
    ...c(["init"], ["--bogus"], ["extra"], ["--repo"]),
    { command: ["init"], args: ["--repo", "/proc/aim-fault"], noRepo: true },
    ...c(["runs"], [], ["bogus"]),
    ...c(
      ["runs", "ls"],
      ["--bogus"],
      ["--limit", "abc"],
      ["--limit", "-1"],
      ["--limit", "1e300"],
      ["--limit", "100001"],
      ["--offset", "1.5"],
      ["--offset", ""],
      ["--query"],
      ["--query", "run.hparams.lr >"],
      ["--query", "(".repeat(100) + "1" + ")".repeat(100)],
      ["--query", "x".repeat(10_001)],
      ["--query", 'metric.name == "loss"'],
      ["--query", 'run.name.match(r"(a)\\1")'],
      ["--limit", " "],
      ["--query", 'run.created_at > "yesterday"'],
      ["--sort", "run.hparams.lr >"],
      ["--sort", "metric.last"],
      ["--json=yes"],
      ["extra"],
    ),
    ...[
      ["runs", "ls", "--repo", "/nonexistent/aim-fault"],
      ["runs", "ls", "--repo", file],
      ["runs", "ls", "--repo", newer],
      ["status", "--repo", "/nonexistent/aim-fault"],
      ["reindex", "--repo", newer],
    ].map((args) => ({ command: [], args, noRepo: true })),
    ...c(["metrics"], [], ["bogus"]),
    ...c(
      ["metrics", "ls"],
      ["--bogus"],
      ["--limit", "x"],
      ["--query", "metric.last <"],
      ["--query", "metric.context.subset == "],
      ["--sort", "("],
    ),
    ...c(
      ["runs", "rm"],
      [],
      ["../../etc"],
      ["ABCDEF12"],
      ["0123456789abcdef0123"],
      ["--force"],
      ["--bogus", "0123456789abcdef0123"],
    ),
    ...c(
      ["track"],
      ["--bogus"],
      ["--param", "noequals"],
      ["--param", "=x"],
      ["--tag", ""],
      ["--name"],
      ["extra"],
    ),
    ...c(
      ["run"],
      [],
      ["--"],
      ["--bogus", "--", "true"],
      ["--system-interval", "-1", "--", "true"],
      ["--system-interval", "abc", "--", "true"],
      ["--grace", "abc", "--", "true"],
      ["--grace", "-5", "--", "true"],
      ["--param", "x", "--", "true"],
      ["--tag", "", "--", "true"],
    ),
    ...c(["reindex"], ["--bogus"], ["--all=yes"], ["extra"], ["--repo"]),
    ...c(["status"], ["--bogus"], ["extra"]),
    ...c(
      ["up"],
      ["--port", "99999"],
      ["--port", "abc"],
      ["--port", "-1"],
      ["--port", String(port)],
      ["--port", "0", "--index-interval", "0"],
      ["--port", "0", "--index-interval", "x"],
      ["--port", "0", "--query-timeout", "0"],
      ["--port", "0", "--query-timeout", "1e9"],
      ["--port", "0", "--token", "short"],
      ["--port", "0", "--token", ""],
      ["--port", "0", "--no-auth", "--host", "0.0.0.0"],
      ["--port", "0", "--no-auth", "--token", "0123456789abcdef0123"],
      ["--port", "0", "--base-path", "no-slash"],
      ["--port", "0", "--base-path", "/a b"],
      ["--port", "0", "--host", "999.1.1.1"],
      ["--port", "0", "--host", "bogus.invalid"],
      ["--port", "0", "--host", "192.0.2.1"],
      ["--port", "0", "--bogus"],
      ["--port", "0", "--allowed-host"],
    ),
    ...c(["version"], ["--bogus"], ["extra"]),
  ];
}

/** `word` as a shell would need it written: quoted when empty or odd. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word);
}

/** How one bad command line was answered. */
interface FlagAnswer {
  line: string;
  kind: "usage" | "error" | "accepted" | "stack" | "hang";
  detail: string;
}

async function answerFlags(
  kase: FlagCase,
  repo: string,
  total: Tally,
): Promise<FlagAnswer> {
  const args = kase.noRepo
    ? [...kase.command, ...kase.args]
    : [...kase.command, "--repo", repo, ...kase.args];
  const ran = await runAim(args, { timeoutMs: 20_000 });
  const line = `aim ${args.map(shellWord).join(" ").replaceAll(repo, "REPO")}`;
  const first = ran.stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  const detail = `exit ${ran.code}: ${first.slice(0, 100)}`;
  if (!clean(ran, total)) {
    return { line, kind: ran.timedOut ? "hang" : "stack", detail };
  }
  if (ran.code === 2) return { line, kind: "usage", detail };
  if (ran.code === 1 && /^error: /m.test(ran.stderr)) {
    return { line, kind: "error", detail };
  }
  return { line, kind: "accepted", detail };
}

const flags: FaultSection = {
  title: "Bad flags to every command",
  async run({ tally: total }) {
    await using tmp = await tempDir("aim-fault-flags-");
    const repo = join(tmp.path, ".aim");
    Repo.openSync(repo, { create: true }).close();
    const file = join(tmp.path, "a-file");
    Deno.writeTextFileSync(file, "not a repository");
    const newer = join(tmp.path, "newer", ".aim");
    Repo.openSync(newer, { create: true }).close();
    Deno.writeTextFileSync(join(newer, "VERSION"), "99\n");
    // A port in use, for `aim up --port`.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const cases = flagCases(file, newer, port);
    progress(`${cases.length} bad command lines, 4 at a time`);
    const answers: FlagAnswer[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      answers.push(
        ...await Promise.all(
          cases.slice(i, i + 4).map((kase) => answerFlags(kase, repo, total)),
        ),
      );
    }
    const kinds = countBy(answers.map((a) => a.kind));
    const bad = answers.filter((a) => a.kind !== "usage" && a.kind !== "error");
    const commands = new Set(cases.map((c) => c.command.slice(0, 2).join(" ")));
    return [
      {
        figure:
          `${answers.length} bad command lines over ${commands.size} commands (unknown flags, missing and malformed values, bad positionals, bad repositories)`,
        measured: counts(kinds),
        target: "all usage (exit 2) or error: (exit 1)",
        pass: bad.length === 0,
      },
      ...bad.map((a) => ({
        figure: `\`${short(a.line, tmp.path, 90)}\``,
        measured: `${a.kind}: ${short(a.detail, tmp.path, 120)}`,
        target: "exit 2, or exit 1 with error:",
        pass: false,
      })),
    ];
  },
};

// --- 6. fuzz ---------------------------------------------------------------------

const FUZZ_QUERIES = 3000;
const FUZZ_CONCURRENCY = 4;
/** The server's --query-timeout, in seconds. */
const FUZZ_TIMEOUT_S = 2;
/** Past this, a request is a hang: its deadline, the Worker's 2 s grace, and slack. */
const FUZZ_HANG_MS = (FUZZ_TIMEOUT_S + 2) * 1000 + 4000;

const FUZZ_NAMES = ["loss", "accuracy", "lr", "émoji-😀", "name with space"];
const FUZZ_CONTEXTS: Context[] = [
  {},
  { subset: "train" },
  { subset: "val" },
  { "10": 1, "9": 2 },
  { ünï: "cødé" },
];
const FUZZ_STRINGS = [
  "adam",
  "sgd",
  "",
  "résumé",
  'a"quote',
  "x.y",
  "😀",
  "\u202e",
];
const FUZZ_NUMBERS = [
  "0",
  "1",
  "-1",
  "0.5",
  "1e-3",
  "nan",
  "inf",
  "-inf",
  "2.5e10",
  "True",
  "None",
];

/** A repository for the fuzz: runs of every kind, a third of them unindexed. */
async function fuzzRepo(path: string, random: Random): Promise<void> {
  const repo = Repo.openSync(path, { create: true });
  try {
    for (let i = 0; i < 120; i++) {
      const run = await repo.startRun({
        experiment: random.pick(["base", "wide", "Base", "", "ünï"]),
        name:
          random.pick(["resnet", "vit", "mlp", "a".repeat(40) + "!", "😀"]) +
          `-${i}`,
        tags: ["best", "baseline", "ünïcode", "x"].filter(() =>
          random.chance(0.3)
        ),
        handleSignals: false,
      });
      run.set("hparams", {
        lr: random.pick([0.1, 0.01, 1e-3, NaN, Infinity]),
        opt: random.pick(FUZZ_STRINGS),
        layers: Array.from({ length: random.int(4) }, () => random.int(512)),
        nested: { a: { b: { c: random.int(10) } } },
        flag: random.chance(0.5),
        note: random.chance(0.3) ? null : "n".repeat(random.int(5000)) + "!",
      });
      for (const name of FUZZ_NAMES) {
        if (!random.chance(0.5)) continue;
        const context = random.pick(FUZZ_CONTEXTS);
        for (let step = 0; step < 50; step++) {
          run.track(random.chance(0.05) ? NaN : random.next(), {
            name,
            step,
            context,
          });
        }
      }
      run.finalize(random.pick(
        [
          { status: "finished" },
          { status: "failed", exitCode: 1 },
          { status: "terminated", signal: "SIGTERM" },
        ] as const,
      ));
      if (random.chance(0.33)) repo.touchMarker(run.hash);
    }
  } finally {
    repo.close();
  }
}

/** A random operand of the query grammar (tests/query_equivalence_test.ts's ideas). */
function fuzzOperand(r: Random): string {
  return r.pick([
    () =>
      `run.hparams.${
        r.pick(["lr", "opt", "flag", "layers", "note", "nested", "missing"])
      }`,
    () =>
      `run["hparams", ${
        JSON.stringify(r.pick(["lr", "opt", "ß", "__proto__", "10"]))
      }]`,
    () => `run.hparams.nested.a.b.${r.pick(["c", "d"])}`,
    () => `run.hparams.layers[${r.pick(["0", "-1", "99", "1e9"])}]`,
    () =>
      `run.${
        r.pick([
          "name",
          "experiment",
          "status",
          "signal",
          "exit_code",
          "hash",
          "archived",
          "created_at",
          "ended_at",
          "duration",
          "active",
          "tags",
          "metrics",
        ])
      }`,
    () =>
      `run.metrics[${JSON.stringify(r.pick(FUZZ_NAMES))}, ${
        JSON.stringify(r.pick(FUZZ_CONTEXTS))
      }].${r.pick(["last", "min", "max", "count", "last_step"])}`,
    () => r.pick(FUZZ_NUMBERS),
    () => JSON.stringify(r.pick(FUZZ_STRINGS)),
    () => `[${r.pick(FUZZ_NUMBERS)}, ${JSON.stringify(r.pick(FUZZ_STRINGS))}]`,
    () => `{"k": ${r.pick(FUZZ_NUMBERS)}}`,
  ])();
}

function fuzzAtom(r: Random, metric: boolean): string {
  const op = () => r.pick(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]);
  const choices = [
    () => `${fuzzOperand(r)} ${op()} ${fuzzOperand(r)}`,
    () =>
      `${fuzzOperand(r)} ${r.pick(["+", "-", "*", "/"])} ${
        fuzzOperand(r)
      } ${op()} ${fuzzOperand(r)}`,
    () => `0 < ${fuzzOperand(r)} <= 1`,
    () =>
      `run.name.${r.pick(["startswith", "endswith", "contains", "match"])}(${
        JSON.stringify(r.pick(["res", "-1", "😀", "", "a"]))
      })`,
    () =>
      `${r.pick(["run.name", "run.hparams.note", "run.experiment"])}.match(${
        JSON.stringify(r.pick(FUZZ_REGEXES))
      })`,
    () =>
      `run.created_at ${op()} ${
        JSON.stringify(
          r.pick([
            "2000-01-01",
            "2026-11-01T10:00:00+02:00",
            "yesterday",
            "9999-12-31",
          ]),
        )
      }`,
    () =>
      r.pick([
        "run.active",
        "run.archived",
        "run.hparams.flag",
        "True",
        "None",
      ]),
  ];
  if (metric) {
    choices.push(
      () => `metric.name == ${JSON.stringify(r.pick(FUZZ_NAMES))}`,
      () =>
        `metric.context.subset ${op()} ${
          JSON.stringify(r.pick(["train", "val"]))
        }`,
      () =>
        `metric.${
          r.pick([
            "last",
            "min",
            "max",
            "count",
            "first_step",
            "last_step",
            "last_time",
          ])
        } ${op()} ${r.pick(FUZZ_NUMBERS)}`,
      () => `metric.context == ${JSON.stringify(r.pick(FUZZ_CONTEXTS))}`,
      () => `metric.name.match(${JSON.stringify(r.pick(FUZZ_REGEXES))})`,
    );
  }
  return r.pick(choices)();
}

function fuzzQuery(r: Random, metric: boolean, depth = 0): string {
  if (depth > 3 || r.chance(0.35)) return fuzzAtom(r, metric);
  switch (r.int(3)) {
    case 0:
      return `not ${fuzzQuery(r, metric, depth + 1)}`;
    case 1:
      return `(${fuzzQuery(r, metric, depth + 1)}) and (${
        fuzzQuery(r, metric, depth + 1)
      })`;
    default:
      return `(${fuzzQuery(r, metric, depth + 1)}) or ${
        fuzzQuery(r, metric, depth + 1)
      }`;
  }
}

/** Regular expressions that stall backtracking engines, or that must be refused. */
const FUZZ_REGEXES = [
  "(a+)+$",
  "(n+)+$",
  "(n|nn)+$",
  "(n*)*n*!{2}",
  "(a|aa)*b",
  "(.*a){20}",
  "(a*)*b",
  "^(([a-z])+.)+[A-Z]([a-z])+$",
  "a{1000}{1000}",
  "(?:a{0,1000}){0,1000}",
  ".{0,65535}",
  "[",
  "(",
  ")",
  "a**",
  "(?<=a)b",
  "(?=a)",
  "(a)\\1",
  "(?P<n>a)(?P=n)",
  "\\p{L}",
  "(?i)ǅ",
  "\\b\\B",
  "^$",
  "(?s).*",
  "(?m)^x$",
  "(?x) a",
  "[\\ud800]",
  "[z-a]",
  "x{2,1}",
  "(".repeat(500) + "a" + ")".repeat(500),
  "a|".repeat(2000) + "b",
  "[^\\W\\d_]+",
  "😀+",
];

/** Queries built to break parsers: deep nesting, huge literals, unicode, limits. */
function hostileQueries(): string[] {
  const deep = (n: number) => "(".repeat(n) + "1" + ")".repeat(n);
  return [
    deep(63),
    deep(64),
    deep(65),
    deep(1000),
    deep(4999),
    "not ".repeat(2499) + "True",
    "-".repeat(9000) + "1",
    "[".repeat(3000) + "]".repeat(3000),
    "run" + ".a".repeat(4000),
    '{"a": '.repeat(1500) + "1" + "}".repeat(1500),
    Array.from({ length: 2000 }, (_, i) => String(i)).join(" < "),
    Array.from({ length: 3000 }, () => "1").join("+"),
    "run.hparams.lr == " + "9".repeat(9000),
    "run.hparams.lr == 1e309",
    "run.hparams.lr == -1e309",
    "run.hparams.lr < 1e-400",
    `run.name == "${"x".repeat(9970)}"`,
    `run.name == "${"x".repeat(10_001)}"`,
    "x".repeat(10_001),
    'run.name == "\\U0010FFFF"',
    'run.name == "\\U00110000"',
    'run.name == "\\ud800"',
    'run.name == "\\x"',
    'run.name == "\\N{DASH}"',
    "run.name == '\u0000'",
    'run.name == "\u202e\u200b\ufeff"',
    '"😀" in run.name',
    "run.😀 == 1",
    "rün.name == 1",
    "run.name ==",
    "== run.name",
    "run.name = 'a'",
    "run.name is None",
    "lambda: 1",
    "__import__('os').system('true')",
    "run.__class__",
    "run.hparams.__proto__.polluted == 1",
    'run["__proto__"]["x"] == 1',
    "run.metrics[]",
    'run.metrics["loss", {"subset": run.name}].last',
    "run.name.match()",
    "run.name.match(1)",
    "run.name.match('a', 'b')",
    "run.name.upper()",
    "1 / 0",
    "0 / 0 == nan",
    "run.hparams.layers * 1e308 > 1",
    '"a" * 100000000',
    "[1] * 100000000",
    '"a" + "a" + "a"',
    "metric.name == 'loss' and metric.last < 1",
    "metric.context.x.y.z == 1",
    "",
    "   ",
    "\t\n",
    ")(",
    "'",
    '"',
    "r'\\'",
    'r"\\"',
    "#comment",
    "1 if 1 else 2",
    "[x for x in run.tags]",
    "run.tags[0:1]",
    "f'{run.name}'",
    "b'abc'",
    "0x10 == 16",
    "1_000 == 1000",
    "1e == 1",
    ". == 1",
  ];
}

/** A query with a few random characters inserted, deleted or replaced. */
function mutate(r: Random, text: string): string {
  const chars = [...text];
  const pool = [
    '"',
    "'",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "\\",
    " ",
    "not ",
    "and",
    "<",
    "=",
    "😀",
    "\u0000",
    "\ud800",
    "9",
    "e",
  ];
  for (let n = r.between(1, 4); n > 0; n--) {
    const at = r.int(chars.length + 1);
    switch (r.int(3)) {
      case 0:
        chars.splice(at, 0, r.pick(pool));
        break;
      case 1:
        chars.splice(at, 1);
        break;
      default:
        chars.splice(at, 1, r.pick(pool));
    }
  }
  return chars.join("");
}

/** Percent-encodes `text` as UTF-8, lone surrogates as the bytes WTF-8 would give (invalid UTF-8). */
function encodeQuery(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += `%${(0xe0 | (code >> 12)).toString(16)}%${
        (0x80 | ((code >> 6) & 0x3f)).toString(16)
      }%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    } else out += encodeURIComponent(char);
  }
  return out;
}

/** Raw query strings no browser would send: bad percent escapes and the like. */
const RAW_QUERY_STRINGS = [
  "%",
  "%F",
  "%FF",
  "%E0%A4",
  "%C0%AF",
  "%00",
  "%ED%A0%80",
  "a%",
  "%%",
  "%G1",
];

type FuzzEndpoint = "runs" | "series" | "check";

/** One request of the fuzz, planned. */
interface FuzzItem {
  endpoint: FuzzEndpoint;
  query: string;
  /** Where the query came from: random, mutated, hostile, mutated hostile, raw. */
  source: string;
}

/** One request of the fuzz and how it was answered. */
interface FuzzAnswer extends FuzzItem {
  status: number | "hang" | "network";
  /** The error code of the answer ("" for an answer). */
  code: string;
  ms: number;
}

/** `FUZZ_QUERIES` queries spread over the endpoints, then the raw query strings. */
function fuzzPlan(r: Random): FuzzItem[] {
  const hostile = hostileQueries();
  const endpoints = ["runs", "series", "check"] as const;
  const plan: FuzzItem[] = [];
  for (let i = 0; i < FUZZ_QUERIES; i++) {
    const endpoint = endpoints[i % 3]!;
    const metric = endpoint === "series" ||
      (endpoint === "check" && r.chance(0.5));
    const kind = r.int(10);
    const [source, query] = kind < 4
      ? ["random", fuzzQuery(r, metric)]
      : kind < 7
      ? ["mutated", mutate(r, fuzzQuery(r, metric))]
      : kind < 9
      ? ["hostile", r.pick(hostile)]
      : ["mutated hostile", mutate(r, r.pick(hostile))];
    plan.push({ endpoint, query, source });
  }
  for (const query of RAW_QUERY_STRINGS) {
    plan.push({ endpoint: "runs", query, source: "raw" });
    plan.push({ endpoint: "check", query, source: "raw" });
  }
  return plan;
}

async function fuzzRequest(
  up: AimUp,
  item: FuzzItem,
  r: Random,
): Promise<FuzzAnswer> {
  const q = item.source === "raw" ? item.query : encodeQuery(item.query);
  const sorts = ["run.hparams.lr", "-run.name", "metric.last", "(", "-"];
  const sort = r.chance(0.2) ? `&sort=${encodeQuery(r.pick(sorts))}` : "";
  const start = performance.now();
  const signal = AbortSignal.timeout(FUZZ_HANG_MS);
  let status: FuzzAnswer["status"];
  let code = "";
  try {
    const response = item.endpoint === "series"
      ? await up.fetch("api/series/search", {
        method: "POST",
        body: JSON.stringify({ q: item.query, points: r.pick([0, 10, 200]) }),
        signal,
      })
      : await up.fetch(
        item.endpoint === "runs"
          ? `api/runs?q=${q}${sort}&limit=${r.pick([1, 50, 1000])}`
          : `ui/check?q=${q}&kind=${r.pick(["runs", "metrics"])}${sort}`,
        { signal },
      );
    status = response.status;
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      // /ui/check refuses with 200 and {"ok": false, "code"}.
      code = body?.error?.code ?? (body?.ok === false ? body.code : "");
    } catch {
      code = "not json";
    }
  } catch (error) {
    status = (error as Error).name === "TimeoutError" ? "hang" : "network";
    code = (error as Error).message.slice(0, 60);
  }
  return { ...item, status, code, ms: performance.now() - start };
}

/** What became of a fuzz request. */
function fuzzOutcome(
  a: FuzzAnswer,
): "answered" | "refused" | "deadline" | "crash" | "hang" | "other" {
  if (a.status === "hang" || a.status === "network") return "hang";
  if (a.status === 500) return "crash";
  if (a.status === 503 && a.code === "query_timeout") return "deadline";
  if (a.status === 200 && a.code === "") return "answered";
  if (a.status === 400 || a.status === 200) return "refused";
  return "other";
}

/** Sends the plan on `FUZZ_CONCURRENCY` connections. */
async function sendFuzz(
  up: AimUp,
  plan: FuzzItem[],
  r: Random,
): Promise<FuzzAnswer[]> {
  const answers: FuzzAnswer[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: FUZZ_CONCURRENCY }, async () => {
    while (next < plan.length) {
      answers.push(await fuzzRequest(up, plan[next++]!, r));
      if (answers.length % 1000 === 0) progress(`${answers.length} sent`);
    }
  }));
  return answers;
}

function showFuzz(a: FuzzAnswer): string {
  return `${a.endpoint} \`${
    short(JSON.stringify(a.query), "", 70)
  }\` → ${a.status} ${a.code}`;
}

const fuzz: FaultSection = {
  title: "Query fuzz against aim up",
  async run({ random: r, tally: total }) {
    await using tmp = await tempDir("aim-fault-fuzz-");
    const path = join(tmp.path, ".aim");
    progress("a repository of 120 runs, a third unindexed");
    await fuzzRepo(path, r);
    const plan = fuzzPlan(r);
    progress(
      `${plan.length} queries, ${FUZZ_CONCURRENCY} at a time, --query-timeout ${FUZZ_TIMEOUT_S}`,
    );
    const up = await startAimUp(path, {
      token: TOKEN,
      args: ["--no-index", "--query-timeout", String(FUZZ_TIMEOUT_S)],
    });
    let answers: FuzzAnswer[];
    let health;
    try {
      answers = await sendFuzz(up, plan, r);
      health = await up.get("api/health");
    } finally {
      await up.stop();
    }
    const stacks = (up.stderr().match(/^ {4}at /gm) ?? []).length;
    const outcomes = countBy(answers.map(fuzzOutcome));
    const of = (outcome: string) =>
      answers.filter((a) => fuzzOutcome(a) === outcome);
    const [crashes, hangs, other] = [of("crash"), of("hang"), of("other")];
    total.crashes += crashes.length;
    total.hangs += hangs.length;
    if (stacks > 0) total.uncaught++;
    const slowest = answers.reduce((a, b) => (b.ms > a.ms ? b : a));
    const answered = of("answered");
    const slowestAnswered = answered.reduce(
      (a, b) => (b.ms > a.ms ? b : a),
      answered[0] ?? slowest,
    );
    const late = [...answered, ...of("refused")].filter((a) =>
      a.ms > (FUZZ_TIMEOUT_S + 2) * 1000
    );
    const bySource = [...countBy(answers.map((a) => a.source)).keys()].map((
      source,
    ) =>
      `${source}: ${
        counts(
          countBy(answers.filter((a) => a.source === source).map(fuzzOutcome)),
        )
      }`
    );
    return [
      {
        figure:
          `${answers.length} random, mutated and hostile queries to /api/runs?q=, /api/series/search and /ui/check (aim up --query-timeout ${FUZZ_TIMEOUT_S}, 120 runs, a third unindexed)`,
        measured: counts(outcomes),
        target:
          "answered, refused (400, or ok: false) or stopped at the deadline (503 query_timeout)",
        pass: crashes.length + hangs.length + other.length === 0,
      },
      {
        figure: "… by where the query came from",
        measured: bySource.join("; "),
      },
      {
        figure:
          "crashes (500 internal) / hangs (no answer within the deadline + 2 s grace + 4 s) / stack trace lines in the server's stderr",
        measured: `${crashes.length} / ${hangs.length} / ${stacks}${
          crashes.length + hangs.length > 0
            ? ` (${
              [...crashes, ...hangs].slice(0, 3).map(showFuzz).join("; ")
            })`
            : ""
        }`,
        target: "0 / 0 / 0",
        pass: crashes.length === 0 && hangs.length === 0 && stacks === 0,
      },
      ...other.slice(0, 5).map((a) => ({
        figure: `unexpected answer: ${showFuzz(a)}`,
        measured: `${a.status} ${a.code}`,
        pass: false,
      })),
      {
        figure:
          "slowest request; slowest answered (200); answered or refused after the deadline + 2 s",
        measured: `${formatMs(slowest.ms)} (${showFuzz(slowest)}); ${
          formatMs(slowestAnswered.ms)
        } (${showFuzz(slowestAnswered)}); ${late.length}`,
        target: `≤ ${FUZZ_TIMEOUT_S + 2} s`,
        pass: late.length === 0,
      },
      {
        figure: "latency of all requests, p50 / p99",
        measured: p50p99(answers.map((a) => a.ms)),
      },
      {
        figure: "the query pool afterwards (/api/health)",
        measured: `${health?.status} ${
          JSON.stringify(health?.body.queries ?? null)
        }`,
        target: "ok",
        pass: health?.status === 200 && health.body.ok === true,
      },
    ];
  },
};

// --- 7. load ---------------------------------------------------------------------

const LOAD_CONNECTIONS = 16;
const LOAD_BASE_RUNS = 1000;
const LOAD_STALLED_RUNS = 1000;
const LOAD_SHAPE = { params: 50, series: 5, points: 20 };
const LOAD_PHASE_MS = 30_000;
const LOAD_SEARCHES = [
  "run.hparams.seed < 500",
  'run.experiment == "bench"',
  '"bench" in run.tags',
  'run.metrics["metric_0", {"subset": "train"}].last < 0.5',
  'run.hparams.group_0.key_1 == "value-3"',
];
const ROUTES = ["search", "run", "series", "metrics", "index"] as const;
type Route = typeof ROUTES[number];
const ROUTE_WEIGHTS: [Route, number][] = [
  ["search", 30],
  ["run", 25],
  ["series", 20],
  ["metrics", 15],
  ["index", 10],
];
const ROUTE_PATHS: Record<Route, string> = {
  search: "GET /api/runs?q=",
  run: "GET /api/runs/:hash",
  series: "GET /api/runs/:hash/series",
  metrics: "POST /api/series/search",
  index: "GET /api/index",
};

/** One request of the load, stamped with when it started and ended. */
interface Sample {
  route: Route;
  start: number;
  end: number;
  ok: boolean;
  /** Why it failed: the status and error code, or the fetch error. */
  error?: string;
}

/** What the observer saw of the server at one moment. */
interface Observation {
  at: number;
  rssMb: number;
  hwmMb: number;
  /** Requests waiting for a query Worker (/api/health), or null if it did not answer. */
  queued: number | null;
}

/** VmRSS and VmHWM of `pid`, in MB. */
function memoryOf(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (field: string) =>
      Number(
        new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0,
      );
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/**
 * Every second, the server's memory and the query pool's queue length,
 * until stopped.
 */
function observe(up: AimUp): { seen: Observation[]; stop(): Promise<void> } {
  const seen: Observation[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      const memory = memoryOf(up.pid);
      let queued: number | null = null;
      try {
        const response = await fetch(new URL("api/health", up.url), {
          signal: AbortSignal.timeout(900),
        });
        queued = (await response.json()).queries?.queued ?? null;
      } catch {
        // No answer within the second: counted as unknown.
      }
      if (memory !== null) seen.push({ at, ...memory, queued });
      await sleep(Math.max(0, 1000 - (performance.now() - at)));
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** CPU seconds (user + system) by thread of `pid`: "main", or the name Deno gives a Worker's thread. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
    } catch {
      continue; // The thread ended.
    }
    const close = stat.lastIndexOf(")");
    const name = task.name === String(pid)
      ? "main"
      : stat.slice(stat.indexOf("(") + 1, close);
    // utime and stime are fields 14 and 15; the name (field 2) may hold spaces.
    const fields = stat.slice(close + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(name, (out.get(name) ?? 0) + ticks / 100);
  }
  return out;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(
    /\s+/,
  ).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/** A moment of the load, with the CPU counters then. */
interface Mark {
  at: number;
  server: Map<string, number>;
  client: Map<string, number>;
  /** CPU seconds of the writer processes. */
  writers: number;
  machine: { busy: number; total: number };
}

/** The CPU counters now, of the server `pid` and of the `writers`' processes. */
function mark(pid: number, writers: number[] = []): Mark {
  const cpuOf = (p: number) => {
    try {
      return [...threadCpu(p).values()].reduce((a, b) => a + b, 0);
    } catch {
      return 0; // Gone.
    }
  };
  return {
    at: performance.now(),
    server: threadCpu(pid),
    client: threadCpu(Deno.pid),
    writers: writers.reduce((sum, p) => sum + cpuOf(p), 0),
    machine: machineCpu(),
  };
}

/** CPU use between two marks: the server's threads, the load generator, the machine. */
function cpuBetween(from: Mark, to: Mark): string {
  const wall = (to.at - from.at) / 1000;
  const of =
    (map: Map<string, number>, before: Map<string, number>) => (name: string) =>
      (map.get(name) ?? 0) - (before.get(name) ?? 0);
  const server = of(to.server, from.server);
  const sum = (map: Map<string, number>, before: Map<string, number>) =>
    [...map.keys()].reduce((n, name) => n + of(map, before)(name), 0);
  const machine = (to.machine.busy - from.machine.busy) /
    (to.machine.total - from.machine.total);
  // Workers are numbered as cli/up.ts creates them: 2 query Workers, then the indexer.
  return `server ${sum(to.server, from.server).toFixed(1)} s (main ${
    server("main").toFixed(1)
  }, query ${server("worker-1").toFixed(1)} + ${
    server("worker-2").toFixed(1)
  }, indexer ${server("worker-3").toFixed(1)}), writers ${
    (to.writers - from.writers).toFixed(1)
  } s, load generator ${sum(to.client, from.client).toFixed(1)} s, over ${
    wall.toFixed(1)
  } s wall; machine ${
    (machine * 100).toFixed(0)
  }% busy of ${navigator.hardwareConcurrency} CPUs`;
}

/**
 * RSS of `pid` by kind of mapping, in MB (/proc/PID/smaps): glibc's
 * per-thread malloc arenas (64 MiB-aligned; native allocations of the
 * Worker threads, SQLite's among them), the main malloc heap, other
 * anonymous memory (V8's and cppgc's heaps, large mmapped allocations),
 * and files.
 */
function memoryKinds(pid: number): Map<string, number> {
  const kinds = new Map<string, number>();
  const maps: { start: number; end: number; perm: string; name: string }[] = [];
  const rss: number[] = [];
  const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const m = header.exec(line);
    if (m) {
      maps.push({
        start: parseInt(m[1]!, 16),
        end: parseInt(m[2]!, 16),
        perm: m[3]!,
        name: m[4]!.trim(),
      });
      rss.push(0);
    } else if (line.startsWith("Rss:")) {
      rss[rss.length - 1] = Number(line.split(/\s+/)[1]) / 1024;
    }
  }
  const ARENA = 64 * 1024 * 1024;
  // glibc reserves each thread's arena as 64 MiB, aligned: the part in use
  // (writable), then the rest (no access).
  const isArena = (i: number) => {
    const map = maps[i]!;
    const next = maps[i + 1];
    const end = next?.start === map.end && next.perm.startsWith("---")
      ? next.end
      : map.end;
    return map.start % ARENA === 0 && map.perm[1] === "w" &&
      end - map.start === ARENA;
  };
  maps.forEach((map, i) => {
    const kind = map.name === ""
      ? isArena(i) ? "malloc arenas" : "other anonymous"
      : map.name === "[heap]"
      ? "main malloc heap"
      : map.name.startsWith("[")
      ? "other"
      : "files";
    kinds.set(kind, (kinds.get(kind) ?? 0) + rss[i]!);
  });
  return kinds;
}

function showKinds(kinds: Map<string, number>): string {
  return [...kinds].filter(([, mb]) => mb >= 1).sort((a, b) => b[1] - a[1])
    .map(([kind, mb]) => `${kind} ${mb.toFixed(0)} MB`).join(", ");
}

/** Sends the weighted mix of requests on `connections` connections until `until()` says stop. */
async function loadUntil(
  up: AimUp,
  hashes: string[],
  random: Random,
  until: () => boolean,
  routes: readonly (readonly [Route, number])[] = ROUTE_WEIGHTS,
  connections = LOAD_CONNECTIONS,
  limit = 50,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  await Promise.all(Array.from({ length: connections }, async () => {
    // A client each: a connection each.
    using client = Deno.createHttpClient({});
    while (!until()) {
      const route = random.weighted(routes);
      const start = performance.now();
      let error: string | undefined;
      try {
        const response = await loadRequest(up, route, {
          hash: random.pick(hashes),
          random,
          client,
          limit,
        });
        const text = await response.text();
        if (response.status !== 200) {
          error = `${response.status} ${
            /"code":"(\w+)"/.exec(text)?.[1] ?? ""
          }`;
        }
      } catch (cause) {
        error = (cause as Error).message.slice(0, 60);
      }
      const end = performance.now();
      samples.push({
        route,
        start,
        end,
        ok: error === undefined,
        ...(error !== undefined ? { error } : {}),
      });
    }
  }));
  return samples;
}

function loadRequest(
  up: AimUp,
  route: Route,
  { hash, random, client, limit }: {
    hash: string;
    random: Random;
    client: Deno.HttpClient;
    limit: number;
  },
): Promise<Response> {
  const init = { client } as RequestInit;
  const series = `metric_${random.int(LOAD_SHAPE.series)}`;
  switch (route) {
    case "search":
      return up.fetch(
        `api/runs?q=${
          encodeURIComponent(random.pick(LOAD_SEARCHES))
        }&limit=${limit}`,
        init,
      );
    case "run":
      return up.fetch(`api/runs/${hash}`, init);
    case "series":
      return up.fetch(
        `api/runs/${hash}/series?name=${series}&context=${
          encodeURIComponent('{"subset":"train"}')
        }&points=100`,
        init,
      );
    case "metrics":
      return up.fetch("api/series/search", {
        ...init,
        method: "POST",
        body: JSON.stringify({
          q: `metric.name == "${series}" and metric.last < 0.2`,
          points: 50,
          limit,
        }),
      });
    case "index":
      return up.fetch("api/index", init);
  }
}

/** Throughput, latency and errors of the samples within [from, to]. */
function loadStats(samples: Sample[], from: number, to: number) {
  const within = samples.filter((s) => s.start >= from && s.end <= to);
  const ms = within.map((s) => s.end - s.start);
  const of = (route: Route) =>
    within.filter((s) => s.route === route).map((s) => s.end - s.start);
  return {
    n: within.length,
    rate: within.length / ((to - from) / 1000),
    p50: ms.length > 0 ? quantile(ms, 0.5) : NaN,
    p99: ms.length > 0 ? quantile(ms, 0.99) : NaN,
    errors: within.filter((s) => !s.ok).length,
    why: countBy(
      within.filter((s) => !s.ok).map((s) => `${s.route}: ${s.error}`),
    ),
    byRoute: new Map(ROUTES.map((route) => {
      const r = of(route);
      return [
        route,
        r.length > 0
          ? { p50: quantile(r, 0.5), p99: quantile(r, 0.99), n: r.length }
          : null,
      ] as const;
    })),
  };
}

type LoadStats = ReturnType<typeof loadStats>;

function showStats(f: LoadStats): string {
  return `${f.rate.toFixed(0)} req/s, p50 ${formatMs(f.p50)}, p99 ${
    formatMs(f.p99)
  }, ${f.errors} errors${
    f.errors > 0 ? ` (${counts(f.why)})` : ""
  } (n = ${f.n})`;
}

/** "start → max → end MB (VmHWM …)" of the observations within [from, to]. */
function showMemory(seen: Observation[], from: number, to: number): string {
  const within = seen.filter((s) => s.at >= from && s.at <= to);
  if (within.length === 0) return "no sample";
  const max = Math.max(...within.map((s) => s.rssMb));
  return `${within[0]!.rssMb.toFixed(0)} → max ${max.toFixed(0)} → ${
    within.at(-1)!.rssMb.toFixed(0)
  } MB (VmHWM ${within.at(-1)!.hwmMb.toFixed(0)} MB)`;
}

/** Mean and max of the query queue's length within [from, to]. */
function showQueue(seen: Observation[], from: number, to: number): string {
  const queued = seen.filter((s) => s.at >= from && s.at <= to)
    .map((s) => s.queued).filter((q): q is number => q !== null);
  if (queued.length === 0) return "no sample";
  const mean = queued.reduce((a, b) => a + b, 0) / queued.length;
  return `mean ${mean.toFixed(1)}, max ${Math.max(...queued)}`;
}

/** A repository of `LOAD_BASE_RUNS` indexed runs; returns their hashes. */
async function loadRepo(path: string): Promise<string[]> {
  Repo.openSync(path, { create: true }).close();
  await makeStalledRuns({ repo: path, runs: LOAD_BASE_RUNS, ...LOAD_SHAPE });
  const reindexed = await runAim(["reindex", "--repo", path], {
    timeoutMs: 120_000,
  });
  if (reindexed.code !== 0) {
    throw new Error(`reindex failed: ${reindexed.stderr}`);
  }
  const repo = Repo.openSync(path);
  try {
    return repo.listRuns();
  } finally {
    repo.close();
  }
}

/** The machine's 1-minute load average. */
function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ")[0]!;
}

/** Live writers for the drain phase: they write all through it. */
function liveWriters(path: string, n: number): LineProcess[] {
  return Array.from({ length: n }, () =>
    new LineProcess(
      [
        "run",
        "--allow-all",
        WRITER,
        path,
        "--forever",
        "--batch",
        "50",
        "--series",
        "3",
      ],
      () => {},
    ));
}

/** What the two phases of the load measured. */
interface Phases {
  samples: Sample[];
  seen: Observation[];
  idle: [Mark, Mark];
  /** From the writers' start to the drain's end, run creation included. */
  phase: [Mark, Mark];
  /** From the last stalled run's kill to no stalled marker left. */
  drain: [Mark, Mark];
  drained: number;
  /** RSS by kind at the end of the idle phase and of the drain phase. */
  kinds: [Map<string, number>, Map<string, number>];
  /** The server's stderr. */
  stderr: string;
}

/** The drain phase: writers write, stalled runs are made and drained, the load goes on. */
async function drainPhase(
  up: AimUp,
  path: string,
  load: (until: () => boolean) => Promise<Sample[]>,
): Promise<
  {
    samples: Sample[];
    phase: [Mark, Mark];
    drain: [Mark, Mark];
    drained: number;
  }
> {
  const writersNow = liveWriters(path, 2);
  const pids = writersNow.map((w) => w.child.pid);
  try {
    const start = mark(up.pid, pids);
    let drained = false;
    const running = load(() =>
      drained && performance.now() > start.at + LOAD_PHASE_MS
    );
    await makeStalledRuns({
      repo: path,
      runs: LOAD_STALLED_RUNS,
      ...LOAD_SHAPE,
    });
    const drainFrom = mark(up.pid, pids);
    const progressDir = join(path, "progress");
    const deadline = drainFrom.at + 180_000;
    // Only the live writers' markers stay.
    while (
      countEntries(progressDir) > writersNow.length &&
      performance.now() < deadline
    ) {
      await sleep(20);
    }
    const drainTo = mark(up.pid, pids);
    const left = Math.max(0, countEntries(progressDir) - writersNow.length);
    drained = true;
    const samples = await running;
    return {
      samples,
      phase: [start, mark(up.pid, pids)],
      drain: [drainFrom, drainTo],
      drained: LOAD_STALLED_RUNS - left,
    };
  } finally {
    for (const writer of writersNow) writer.kill("SIGKILL");
    await Promise.all(writersNow.map((w) => w.done));
  }
}

/** Idle, then during a drain, on one server observed all along. */
async function loadPhases(
  path: string,
  hashes: string[],
  random: Random,
): Promise<Phases> {
  const up = await startAimUp(path, { token: TOKEN, indexInterval: "1" });
  const observer = observe(up);
  const load = (until: () => boolean) => loadUntil(up, hashes, random, until);
  let phases: Omit<Phases, "stderr">;
  try {
    progress(
      `warm-up, then ${
        LOAD_PHASE_MS / 1000
      } s idle on ${LOAD_CONNECTIONS} connections`,
    );
    const warm = performance.now() + 2000;
    await load(() => performance.now() > warm);
    const idleFrom = mark(up.pid);
    const samples = await load(() =>
      performance.now() > idleFrom.at + LOAD_PHASE_MS
    );
    const idle: [Mark, Mark] = [idleFrom, mark(up.pid)];
    const idleKinds = memoryKinds(up.pid);
    progress(
      `again while 2 writers write and ${LOAD_STALLED_RUNS} stalled runs are made and drained`,
    );
    const during = await drainPhase(up, path, load);
    const drainKinds = memoryKinds(up.pid);
    // Memory after the load, before the server stops.
    await sleep(5000);
    phases = {
      samples: [...samples, ...during.samples],
      seen: observer.seen,
      idle,
      phase: during.phase,
      drain: during.drain,
      drained: during.drained,
      kinds: [idleKinds, drainKinds],
    };
  } finally {
    await observer.stop();
    await up.stop();
  }
  return { ...phases, stderr: up.stderr() };
}

function phaseFigures(p: Phases, total: Tally): Figure[] {
  if (STACK.test(p.stderr)) total.uncaught++;
  const idle = loadStats(p.samples, p.idle[0].at, p.idle[1].at);
  const during = loadStats(p.samples, p.drain[0].at, p.drain[1].at);
  const phase = loadStats(p.samples, p.phase[0].at, p.phase[1].at);
  const ratio = during.p99 / idle.p99;
  total.drainRatio = ratio;
  const errors = idle.errors + phase.errors;
  const end = p.phase[1].at;
  return [
    {
      figure: `idle: ${LOAD_CONNECTIONS} connections, ${
        LOAD_PHASE_MS / 1000
      } s, mix ${
        ROUTE_WEIGHTS.map(([r, w]) => `${w}% ${ROUTE_PATHS[r]}`).join(", ")
      }; ${LOAD_BASE_RUNS} indexed runs (${LOAD_SHAPE.params} params, ${LOAD_SHAPE.series} series)`,
      measured: showStats(idle),
    },
    {
      figure:
        `while 2 writers write and the indexer drains ${LOAD_STALLED_RUNS} stalled runs (${p.drained} drained in ${
          seconds(p.drain[1].at - p.drain[0].at)
        } after the last was made; the whole phase, their creation included, ${
          seconds(p.phase[1].at - p.phase[0].at)
        })`,
      measured: `drain: ${showStats(during)}; whole phase: ${showStats(phase)}`,
      baseline: `idle p99 ${formatMs(idle.p99)}`,
    },
    {
      figure: "p99 latency during the drain ÷ idle",
      measured: `${ratio.toFixed(2)}×`,
      target: "≤ 2×",
      pass: ratio <= 2,
    },
    ...ROUTES.map((route) => {
      const a = idle.byRoute.get(route), b = during.byRoute.get(route);
      return {
        figure: `… ${ROUTE_PATHS[route]}: p50 / p99 idle → during the drain`,
        measured: a && b
          ? `${formatMs(a.p50)} / ${formatMs(a.p99)} → ${formatMs(b.p50)} / ${
            formatMs(b.p99)
          } (p99 ${(b.p99 / a.p99).toFixed(1)}×)`
          : "no sample",
      };
    }),
    {
      figure:
        "requests waiting for a query Worker (/api/health queued, every second): idle → during the drain",
      measured: `${showQueue(p.seen, p.idle[0].at, p.idle[1].at)} → ${
        showQueue(p.seen, p.drain[0].at, p.drain[1].at)
      }`,
    },
    {
      figure: "CPU time, idle phase",
      measured: cpuBetween(p.idle[0], p.idle[1]),
    },
    {
      figure: "CPU time, during the drain",
      measured: cpuBetween(p.drain[0], p.drain[1]),
    },
    {
      figure: "errors (non-200 or failed requests), idle + whole drain phase",
      measured: `${errors}`,
      target: "0",
      pass: errors === 0,
    },
    {
      figure:
        "server RSS (/proc VmRSS, every second): idle phase start → max → end",
      measured: showMemory(p.seen, p.idle[0].at - 3000, p.idle[1].at),
      baseline: "the issue: ~100 MB rising to a 500–550 MB plateau",
    },
    {
      figure: "… drain phase; then 5 s after the load stopped",
      measured: `${showMemory(p.seen, p.phase[0].at, end)}; after: ${
        showMemory(p.seen, end, Infinity)
      }`,
    },
    {
      figure:
        "… by kind of mapping (/proc/PID/smaps) at the end of the idle phase → of the drain phase",
      measured: `${showKinds(p.kinds[0])} → ${showKinds(p.kinds[1])}`,
    },
  ];
}

/** A load for the memory figures: the mix, one route, or searches for a page of one run. */
interface MemoryLoad {
  name: string;
  routes: readonly (readonly [Route, number])[];
  limit: number;
}

const MIXED: MemoryLoad = { name: "the mix", routes: ROUTE_WEIGHTS, limit: 50 };
const SMALL_SEARCHES: MemoryLoad = {
  name: "searches for a page of one run (limit=1)",
  routes: [["search", 1]],
  limit: 1,
};

/** RSS of a fresh `aim up --no-index` (with `env`) under `ms` of `load`. */
async function memoryUnder(
  path: string,
  hashes: string[],
  random: Random,
  load: MemoryLoad,
  ms: number,
  env: Record<string, string> = {},
): Promise<string> {
  const up = await startAimUp(path, {
    token: TOKEN,
    args: ["--no-index"],
    env,
  });
  const observer = observe(up);
  try {
    const until = performance.now() + ms;
    const samples = await loadUntil(
      up,
      hashes,
      random,
      () => performance.now() > until,
      load.routes,
      LOAD_CONNECTIONS,
      load.limit,
    );
    const seen = observer.seen;
    const grown = (seen.at(-1)?.rssMb ?? 0) - (seen[0]?.rssMb ?? 0);
    return `${showMemory(seen, 0, Infinity)}, ${
      (samples.length / (ms / 1000)).toFixed(0)
    } req/s, ${(grown / (samples.length / 1000)).toFixed(1)} MB per 1k`;
  } finally {
    await observer.stop();
    await up.stop();
  }
}

/** RSS growth under each route alone, each on a fresh server. */
async function memoryByRoute(
  path: string,
  hashes: string[],
  random: Random,
): Promise<Figure> {
  const parts: string[] = [];
  for (const route of ROUTES) {
    const load = { name: route, routes: [[route, 1]] as const, limit: 50 };
    parts.push(
      `${ROUTE_PATHS[route]}: ${await memoryUnder(
        path,
        hashes,
        random,
        load,
        5000,
      )}`,
    );
  }
  return {
    figure:
      "RSS under one route at a time, 5 s on 16 connections, each on a fresh aim up --no-index: start → max → end, and growth per 1,000 requests",
    measured: parts.join("; "),
  };
}

/** The mix and the small searches on a default server and with other V8 flags. */
async function memoryWithFlags(
  path: string,
  hashes: string[],
  random: Random,
): Promise<Figure[]> {
  const variants = [
    ["no flags", {}],
    ["--gc-global", { DENO_V8_FLAGS: "--gc-global" }],
    ["--max-old-space-size=64", { DENO_V8_FLAGS: "--max-old-space-size=64" }],
  ] as const;
  const figures: Figure[] = [];
  for (const load of [MIXED, SMALL_SEARCHES]) {
    const parts: string[] = [];
    for (const [name, env] of variants) {
      parts.push(
        `${name}: ${await memoryUnder(
          path,
          hashes,
          random,
          load,
          10_000,
          env,
        )}`,
      );
    }
    figures.push({
      figure:
        `RSS under 10 s of ${load.name}, fresh aim up --no-index, DENO_V8_FLAGS = none; --gc-global (every GC a full mark-compact: also frees the native memory that dead objects hold); --max-old-space-size=64`,
      measured: parts.join("; "),
    });
  }
  return figures;
}

/**
 * The same load with the drained runs unindexed again (markers), but no
 * indexer and no writer: what reading unindexed runs from their own files
 * costs by itself.
 */
async function unindexedControl(
  path: string,
  base: string[],
  random: Random,
  idleP99: number,
): Promise<Figure> {
  const repo = Repo.openSync(path);
  const known = new Set(base);
  let marked = 0;
  try {
    for (const hash of repo.listRuns()) {
      if (!known.has(hash) && !repo.hasMarker(hash)) {
        repo.touchMarker(hash);
        marked++;
      }
    }
  } finally {
    repo.close();
  }
  const up = await startAimUp(path, { token: TOKEN, args: ["--no-index"] });
  let stats: LoadStats;
  try {
    const warm = performance.now() + 2000;
    await loadUntil(up, base, random, () => performance.now() > warm);
    const from = performance.now();
    const samples = await loadUntil(
      up,
      base,
      random,
      () => performance.now() > from + 10_000,
    );
    stats = loadStats(samples, from, performance.now());
  } finally {
    await up.stop();
  }
  return {
    figure:
      `control: the same load for 10 s with ${marked} runs unindexed (markers back), aim up --no-index, no writer: searches read those runs from their own files, nothing else competes`,
    measured: `${showStats(stats)} (p99 ${
      (stats.p99 / idleP99).toFixed(1)
    }× idle)`,
  };
}

const load: FaultSection = {
  title: "16 connections against aim up, idle and during a drain",
  async run({ random, tally: total }) {
    await using tmp = await tempDir("aim-fault-load-");
    const path = join(tmp.path, ".aim");
    progress(
      `${LOAD_BASE_RUNS} indexed runs (${LOAD_SHAPE.params} params, ${LOAD_SHAPE.series} series each)`,
    );
    const loadBefore = loadAverage();
    const hashes = await loadRepo(path);
    const phases = await loadPhases(path, hashes, random);
    const figures = phaseFigures(phases, total);
    // The live writers were SIGKILLed: index their runs, so that nothing
    // below reads a run from its own files but the control.
    await runAim(["reindex", "--repo", path], { timeoutMs: 120_000 });
    progress("memory: one route at a time, then with other V8 flags");
    figures.push(await memoryByRoute(path, hashes, random));
    figures.push(...await memoryWithFlags(path, hashes, random));
    const idle = loadStats(
      phases.samples,
      phases.idle[0].at,
      phases.idle[1].at,
    );
    progress(
      "control: the drained runs unindexed again, no indexer, no writer",
    );
    figures.push(await unindexedControl(path, hashes, random, idle.p99));
    figures.push({
      figure:
        "1-minute load average of the machine at the start / the end of the section (other processes share its CPUs)",
      measured: `${loadBefore} / ${loadAverage()}`,
    });
    return figures;
  },
};

// --- main ----------------------------------------------------------------------------

/** Sections by name, in the order they run. */
const SECTIONS: Record<string, FaultSection> = {
  writers,
  drain,
  corrupt,
  protocol,
  flags,
  fuzz,
  load,
};

/** The overall targets, from the tally of every section run. */
function overall(tally: Tally, failedSections: string[]): Figure[] {
  return [
    {
      figure: "points lost (writers)",
      measured: String(tally.pointsLost),
      target: "0",
      pass: tally.pointsLost === 0,
    },
    {
      figure: "uncaught errors (stack traces in aim's stderr)",
      measured: String(tally.uncaught),
      target: "0",
      pass: tally.uncaught === 0,
    },
    {
      figure: "hangs (commands and requests past their deadline)",
      measured: String(tally.hangs),
      target: "0",
      pass: tally.hangs === 0,
    },
    {
      figure: "server crashes (HTTP 500)",
      measured: String(tally.crashes),
      target: "0",
      pass: tally.crashes === 0,
    },
    {
      figure: "p99 latency during a drain ÷ idle (load)",
      measured: tally.drainRatio === null
        ? "not measured"
        : `${tally.drainRatio.toFixed(2)}×`,
      target: "≤ 2×",
      ...(tally.drainRatio === null ? {} : { pass: tally.drainRatio <= 2 }),
    },
    ...(failedSections.length > 0
      ? [{
        figure: "sections that did not complete",
        measured: failedSections.join(", "),
        target: "none",
        pass: false,
      }]
      : []),
  ];
}

/** What the command line asked for. */
interface Options {
  names: string[];
  writers: number;
  seed: number;
}

/** The options in `args`, or the exit code when there is nothing to run. */
function parseOptions(args: string[]): Options | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        writers: { type: "string", default: String(DEFAULT_WRITERS) },
        seed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP + Object.keys(SECTIONS).join(", "));
    return 0;
  }
  const unknown = positionals.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) {
    console.error(
      `error: unknown section ${unknown.join(", ")}: the sections are ${
        Object.keys(SECTIONS).join(", ")
      }`,
    );
    return 2;
  }
  const writers = Number(values.writers);
  const seed = Number(values.seed ?? Date.now() % 1_000_000);
  if (!Number.isSafeInteger(writers) || writers < 1) {
    console.error(
      `error: --writers must be a positive integer, got ${values.writers}`,
    );
    return 2;
  }
  if (!Number.isSafeInteger(seed)) {
    console.error(`error: --seed must be an integer, got ${values.seed}`);
    return 2;
  }
  return {
    names: positionals.length > 0 ? positionals : Object.keys(SECTIONS),
    writers,
    seed,
  };
}

/** Runs one section and prints its table; returns its figures. */
async function runSection(
  name: string,
  options: Options,
  total: Tally,
): Promise<{ figures: Figure[]; completed: boolean }> {
  const section = SECTIONS[name]!;
  console.error(`${section.title} (${name})`);
  const start = performance.now();
  // Each section draws from its own generator, so that running one section
  // alone with a seed makes the same choices as in a full run.
  const random = new Random(
    options.seed + [...name].reduce((h, c) => h * 31 + c.charCodeAt(0), 0),
  );
  let figures: Figure[];
  let completed = true;
  try {
    figures = await section.run({
      random,
      writers: options.writers,
      tally: total,
    });
  } catch (error) {
    completed = false;
    figures = [{
      figure: "the section did not complete",
      measured: String((error as Error)?.stack ?? error).split("\n")
        .slice(0, 3).join(" "),
      pass: false,
    }];
  }
  const writers = name === "writers" && options.writers !== DEFAULT_WRITERS
    ? ` --writers ${options.writers}`
    : "";
  console.log(`\n### ${section.title}\n\n${markdownTable(figures)}\n`);
  console.log(
    `Reproduce with \`deno task fault ${name} --seed ${options.seed}${writers}\` (this section took ${
      ((performance.now() - start) / 1000).toFixed(0)
    } s).`,
  );
  return { figures, completed };
}

/** Runs the sections named in `args` (all when none); returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (typeof options === "number") return options;
  const total: Tally = {
    pointsLost: 0,
    uncaught: 0,
    hangs: 0,
    crashes: 0,
    drainRatio: null,
  };
  console.log(
    `Fault suite, ${
      new Date().toISOString().slice(0, 10)
    }: deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs; seed ${options.seed}.`,
  );
  const start = performance.now();
  const failed: string[] = [];
  let missed = 0;
  for (const name of options.names) {
    const { figures, completed } = await runSection(name, options, total);
    if (!completed) failed.push(name);
    missed += figures.filter((f) => f.pass === false).length;
  }
  const targets = overall(total, failed);
  missed += targets.filter((f) => f.pass === false).length;
  console.log(`\n### Overall\n\n${markdownTable(targets)}\n`);
  console.log(
    `${missed === 0 ? "Every target met" : `${missed} targets missed`} in ${
      ((performance.now() - start) / 1000).toFixed(0)
    } s.`,
  );
  return missed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
