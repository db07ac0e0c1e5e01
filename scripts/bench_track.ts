/**
 * The tracking-protocol section of `deno task bench`: `aim track` ingesting
 * a pre-generated file of protocol lines (as Python's `json.dumps` writes
 * them) against `JSON.parse` of the same lines in process, and the cost of
 * the Python client's `track()` against an empty Python loop.
 *
 * @module
 */

import { join } from "node:path";
import { Repo } from "../lib/mod.ts";
import {
  type Figure,
  MAIN,
  median,
  progress,
  PYTHON_TRACK_BENCH,
  ROOT,
  type Section,
  tempDir,
  timed,
} from "./_bench_util.ts";

const PYTHON_CLIENT = join(ROOT, "clients", "python");

/** Repetitions; figures are their medians. */
const REPS = 3;
const INGEST_POINTS = 1_000_000;
const INGEST_SERIES = 10;
const INGEST_TARGET = 500_000;
const PYTHON_CALLS = 300_000;
/** "A few microseconds a call" (issue 4), taken as 3 µs. */
const PYTHON_TARGET_NS = 3_000;

/** The tracking-protocol section of the benchmark. */
export const track: Section = {
  title: "Tracking protocol and Python client",
  async run() {
    await using tmp = await tempDir("aim-bench-track-");
    return [...await ingestion(tmp.path), ...await pythonClient(tmp.path)];
  },
};

// --- 1. aim track from a file -----------------------------------------------

async function ingestion(tmp: string): Promise<Figure[]> {
  const input = join(tmp, "points.jsonl");
  progress(
    `aim track: ${REPS} × ${INGEST_POINTS} protocol lines from a file, and JSON.parse of the same lines`,
  );
  const bytes = _writeInput(input, INGEST_POINTS, INGEST_SERIES);
  const repo = Repo.openSync(join(tmp, "ingest", ".aim"), { create: true });
  const rates: number[] = [];
  const parseRates: number[] = [];
  try {
    for (let rep = 0; rep < REPS; rep++) {
      rates.push(await _ingest(repo, input));
      parseRates.push(_parseOnly(input));
    }
  } finally {
    repo.close();
  }
  const rate = median(rates);
  return [
    {
      figure: `aim track < file: ${(INGEST_POINTS / 1e6).toFixed(0)} M lines (${
        (bytes / 1e6).toFixed(0)
      } MB), ${INGEST_SERIES} series with contexts, whole process incl. start and finalize (median of ${REPS})`,
      measured: `${_thousands(rate)} k points/s`,
      baseline: `${
        _thousands(median(parseRates))
      } k lines/s (JSON.parse alone, in process)`,
      target: `≥ ${_thousands(INGEST_TARGET)} k points/s`,
      pass: rate >= INGEST_TARGET,
    },
  ];
}

/** Writes `points` track lines as Python's json.dumps would; returns the file's size. */
function _writeInput(path: string, points: number, series: number): number {
  const lines: string[] = [];
  for (let i = 0; i < points; i++) {
    const s = i % series;
    const step = Math.floor(i / series);
    lines.push(
      `{"track": ${Math.random()}, "name": "metric_${
        s >> 1
      }", "step": ${step}, "epoch": ${
        Math.floor(step / 1000)
      }, "context": {"subset": "${s % 2 ? "val" : "train"}"}}`,
    );
  }
  const text = lines.join("\n") + '\n{"close": true}\n';
  Deno.writeTextFileSync(path, text);
  return text.length;
}

/** Points per second of `aim track` reading `input` on its stdin, start to exit. */
async function _ingest(repo: Repo, input: string): Promise<number> {
  const start = performance.now();
  // The shell only redirects the file to stdin; exec leaves aim alone in the process.
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$0" "$@" < "$AIM_BENCH_INPUT"',
      Deno.execPath(),
      "run",
      "--allow-all",
      MAIN,
      "track",
      "--repo",
      repo.path,
    ],
    env: { AIM_BENCH_INPUT: input },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!out.success) {
    throw new Error(
      `aim track failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const hash = new TextDecoder().decode(out.stdout).trim();
  const record = repo.index().get(hash);
  const count = record?.metrics.reduce((sum, m) => sum + m.count, 0);
  if (count !== INGEST_POINTS) {
    throw new Error(`aim track stored ${count} points, not ${INGEST_POINTS}`);
  }
  return INGEST_POINTS / seconds;
}

/** Lines per second of splitting and JSON.parse alone: the floor for a JSON protocol. */
function _parseOnly(input: string): number {
  const text = Deno.readTextFileSync(input);
  const { ms } = timed(() => {
    let sum = 0;
    let start = 0;
    let newline;
    while ((newline = text.indexOf("\n", start)) >= 0) {
      const message = JSON.parse(text.slice(start, newline));
      sum += typeof message.track === "number" ? 1 : 0;
      start = newline + 1;
    }
    return sum;
  });
  return INGEST_POINTS / (ms / 1000);
}

// --- 2. The Python client ----------------------------------------------------

async function pythonClient(tmp: string): Promise<Figure[]> {
  progress(
    `Python client: ${PYTHON_CALLS} track() calls × 3, to cat > /dev/null and under aim run`,
  );
  const repo = Repo.openSync(join(tmp, "python", ".aim"), { create: true });
  repo.close();
  // The client alone: AIM_TRACK_FD is a pipe to cat > /dev/null, as if to an infinitely fast aim run.
  const alone = await _python(
    "sh",
    [
      "-c",
      'exec 4>&1; python3 -c "$0" "$1" 3>&1 1>&4 | cat > /dev/null',
      PYTHON_TRACK_BENCH,
      String(PYTHON_CALLS),
    ],
    { AIM_TRACK_FD: "3" },
  );
  // End to end: the pipe to a real aim run, which ingests at the same time.
  const piped = await _python(Deno.execPath(), [
    "run",
    "--allow-all",
    MAIN,
    "run",
    "--repo",
    repo.path,
    "--system-interval",
    "0",
    "--",
    "python3",
    "-c",
    PYTHON_TRACK_BENCH,
    String(PYTHON_CALLS),
  ], {});
  const ns = (value: number) => `${value.toFixed(0)} ns/call`;
  return [
    {
      figure:
        "Python track(value, name, step, epoch, context) alone (pipe to cat > /dev/null; best of 3)",
      measured: ns(alone.full),
      baseline: `${alone.empty.toFixed(0)} ns/iteration (empty Python loop)`,
      target: `≤ ${PYTHON_TARGET_NS} ns/call`,
      pass: alone.full <= PYTHON_TARGET_NS,
    },
    {
      figure: "Python track(value, name) alone",
      measured: ns(alone.plain),
      baseline: `${alone.empty.toFixed(0)} ns/iteration (empty Python loop)`,
      target: `≤ ${PYTHON_TARGET_NS} ns/call`,
      pass: alone.plain <= PYTHON_TARGET_NS,
    },
    {
      figure:
        "Python track(value, name, step, epoch, context) under aim run (pipe to a live aim; waits when aim falls behind)",
      measured: ns(piped.full),
      baseline: `${piped.empty.toFixed(0)} ns/iteration (empty Python loop)`,
    },
  ];
}

async function _python(
  program: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ empty: number; full: number; plain: number }> {
  const out = await new Deno.Command(program, {
    args,
    env: { PYTHONPATH: PYTHON_CLIENT, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
  if (!out.success || !text) {
    throw new Error(
      `the Python benchmark failed (${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return JSON.parse(text);
}

function _thousands(rate: number): string {
  return (rate / 1000).toFixed(0);
}
