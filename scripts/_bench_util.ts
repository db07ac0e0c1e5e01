/**
 * Helpers shared by the benchmark sections of `scripts/bench.ts`: figures
 * and their markdown table, statistics, timing and temporary folders.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StalledSpec } from "./_bench_stalled_writer.ts";
import { Repo } from "../lib/mod.ts";
import type { RunRecord } from "../lib/mod.ts";

/** Root of the source tree. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The CLI's entry, for `deno run --allow-all MAIN …`. */
export const MAIN = join(ROOT, "main.ts");

const WRITER = fileURLToPath(
  new URL("./_bench_stalled_writer.ts", import.meta.url),
);
/** Runs per writer process: each open run holds four file descriptors. */
const RUNS_PER_WRITER = 1_250;

/** One benchmark section: runs its measurements and returns its figures. */
export interface Section {
  /** Heading of the section's table. */
  title: string;
  /** Measures; progress goes to stderr, never stdout. */
  run(): Promise<Figure[]>;
}

/** One measured figure next to what it is judged against. */
export interface Figure {
  figure: string;
  measured: string;
  /** A figure measured side by side in the same run, if any. */
  baseline?: string;
  target?: string;
  /** `undefined` for a figure that is reported, not judged. */
  pass?: boolean;
}

/** The figures as a markdown table: figure, measured, baseline, target, result. */
export function markdownTable(figures: Figure[]): string {
  const rows = [
    ["figure", "measured", "baseline", "target", "result"],
    ...figures.map((f) => [
      f.figure,
      f.measured,
      f.baseline ?? "",
      f.target ?? "",
      f.pass === undefined ? "" : f.pass ? "PASS" : "**MISS**",
    ]),
  ];
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** The `q` quantile of `values`, linearly interpolated (q in [0, 1]). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) {
    throw new RangeError("Cannot take a quantile of no values");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** Milliseconds that `fn` took, and its result. */
export function timed<T>(fn: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = fn();
  return { ms: performance.now() - start, result };
}

/** A temporary folder removed at scope end: `await using tmp = await tempDir("aim-bench-")`. */
export async function tempDir(
  prefix: string,
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Total bytes of the regular files under `path`. */
export function diskBytes(path: string): number {
  const info = Deno.statSync(path);
  if (!info.isDirectory) return info.size;
  let total = 0;
  for (const entry of Deno.readDirSync(path)) {
    total += diskBytes(join(path, entry.name));
  }
  return total;
}

/** Writes a progress line to stderr, so stdout keeps only the tables. */
export function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  … ${text}\n`));
}

/**
 * Leaves `spec.runs` stalled runs in `spec.repo`: writer processes create
 * and flush them, then are SIGKILLed.
 */
export async function makeStalledRuns(spec: StalledSpec): Promise<void> {
  const writers: Promise<void>[] = [];
  for (let start = 0; start < spec.runs; start += RUNS_PER_WRITER) {
    writers.push(
      _stalledWriter({
        ...spec,
        runs: Math.min(RUNS_PER_WRITER, spec.runs - start),
      }),
    );
  }
  await Promise.all(writers);
}

async function _stalledWriter(spec: StalledSpec): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", WRITER, JSON.stringify(spec)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("done\n")) {
      const { value, done } = await reader.read();
      if (done) {
        const { code, signal } = await child.status;
        throw new Error(
          `The stalled-run writer ended (code ${code}, signal ${signal}) before printing "done"; its stdout: ${
            JSON.stringify(text)
          }`,
        );
      }
      text += value;
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone, reported above.
    }
    await reader.cancel();
    await child.status;
    await child.stdin.close().catch(() => {});
  }
}

/** "12.3 ms", with two decimals below 10 ms. */
export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** "p50 / p99" of `ms`. */
export function p50p99(ms: number[]): string {
  return `${formatMs(quantile(ms, 0.5))} / ${formatMs(quantile(ms, 0.99))}`;
}

/** 10000 → "10k", 2000000 → "2M", 1234 → "1,234". */
export function formatCount(n: number): string {
  return n >= 1e6 && n % 1e6 === 0
    ? `${n / 1e6}M`
    : n >= 1e3 && n % 1e3 === 0
    ? `${n / 1e3}k`
    : n.toLocaleString("en-US");
}

/**
 * Writes `count` records straight into a new repository's index with
 * `IndexDb.write()`, for figures over tens of thousands of runs. One write
 * per run keeping the value indexes current costs ~3 ms here (pages of
 * those indexes written back on every commit), so they are dropped for the
 * load and re-created from the DDL the index itself holds: the same schema
 * and rows. Indexes that lead with the run hash stay, as every write first
 * deletes the run's old rows by hash.
 */
export function bulkWriteRecords(
  path: string,
  count: number,
  recordOf: (i: number) => RunRecord,
  onProgress?: (written: number) => void,
): void {
  const repo = Repo.openSync(path, { create: true });
  try {
    const index = repo.index();
    // Only this connection, only for the load; readers open their own.
    index.db.exec("PRAGMA synchronous = OFF");
    index.deferCheckpoints();
    const indexes = (index.db.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    ).all() as { name: string; sql: string }[]).filter(({ name }) => {
      const [first] = index.db.prepare(`PRAGMA index_info("${name}")`)
        .all() as { name: string }[];
      return first?.name !== "hash";
    });
    for (const { name } of indexes) index.db.exec(`DROP INDEX "${name}"`);
    for (let i = 0; i < count; i++) {
      index.write(recordOf(i));
      onProgress?.(i + 1);
    }
    for (const { sql } of indexes) index.db.exec(sql);
    index.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    repo.close();
  }
}

/**
 * Times an empty loop and `track()` loops of the Python client (best of 3)
 * and `close()`; prints one JSON line of ns per call. Its arguments: the
 * number of calls, then the repository (a path or a URL) when the run is
 * not under `aim run`.
 */
export const PYTHON_TRACK_BENCH = `
import json, sys, time
from aim_client import Run
N = int(sys.argv[1])
run = Run(repo=sys.argv[2] if len(sys.argv) > 2 else None, experiment="bench")
best = {"empty": [], "full": [], "plain": []}
for rep in range(3):
    start = time.perf_counter()
    for i in range(N):
        pass
    best["empty"].append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(N):
        run.track(0.123456789 * i, name="loss", step=i, epoch=i // 1000, context={"subset": "train"})
    run.flush()
    best["full"].append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(N):
        run.track(0.5 * i, name="acc")
    run.flush()
    best["plain"].append(time.perf_counter() - start)
start = time.perf_counter()
run.close()
close = time.perf_counter() - start
result = {key: min(values) / N * 1e9 for key, values in best.items()}
result["close_ms"] = close * 1e3
print(json.dumps(result))
`;
