/**
 * The remote-tracking section of `deno task bench`: `aim track --remote`
 * against `aim up` over loopback, next to the local `aim track` of the same
 * file measured in the same run; 64 clients at once (aggregate rate, the
 * server's memory, and how long the server takes to answer the UI's
 * requests meanwhile); and the cost of one Python `track()` call, remote
 * against local.
 *
 * @module
 */

import { join } from "node:path";
import { Repo } from "../lib/mod.ts";
import { type AimUp, startAimUp } from "../tests/_aim_up.ts";
import {
  type Figure,
  formatMs,
  MAIN,
  median,
  progress,
  PYTHON_TRACK_BENCH,
  quantile,
  ROOT,
  type Section,
  tempDir,
} from "./_bench_util.ts";

const PYTHON_CLIENT = join(ROOT, "clients", "python");
const AIM_BIN = [Deno.execPath(), "run", "--allow-all", MAIN]
  .map((word) => `'${word.replaceAll("'", `'"'"'`)}'`).join(" ");
const TOKEN = "bench-remote-token";

/** Repetitions of the one-client figure; its figures are medians. */
const REPS = 3;
const ONE_POINTS = 1_000_000;
const ONE_TARGET = 500_000;
const MANY_CLIENTS = 64;
const MANY_POINTS = 100_000;
const PYTHON_CALLS = 300_000;

/** The remote-tracking section of the benchmark. */
export const remote: Section = {
  title: "Remote tracking",
  async run() {
    await using tmp = await tempDir("aim-bench-remote-");
    return [
      ...await oneClient(tmp.path),
      ...await manyClients(tmp.path),
      ...await pythonCost(tmp.path),
    ];
  },
};

// --- 1. One client, a million points ------------------------------------------

async function oneClient(tmp: string): Promise<Figure[]> {
  const input = join(tmp, "one.jsonl");
  const bytes = _writeInput(input, ONE_POINTS, 10);
  progress(
    `one client: ${REPS} × ${ONE_POINTS} points (${
      (bytes / 1e6).toFixed(0)
    } MB) through aim track --remote and aim track`,
  );
  const path = join(tmp, "one", ".aim");
  Repo.openSync(path, { create: true }).close();
  await using up = await startAimUp(path, { token: TOKEN });
  const remoteRates: number[] = [];
  const localRates: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    remoteRates.push(
      await _track(input, ["--remote", up.url], ONE_POINTS, path),
    );
    localRates.push(await _track(input, ["--repo", path], ONE_POINTS, path));
  }
  const rate = median(remoteRates);
  const local = median(localRates);
  return [{
    figure: `aim track --remote < file: ${
      ONE_POINTS / 1e6
    } M points (10 series with contexts) over loopback to aim up, whole client process incl. start and close, every point acknowledged (median of ${REPS})`,
    measured: `${_k(rate)} k points/s (${(rate / local).toFixed(2)}× local)`,
    baseline: `${_k(local)} k points/s (aim track --repo < the same file)`,
    target: `≥ ${_k(ONE_TARGET)} k points/s`,
    pass: rate >= ONE_TARGET,
  }];
}

// --- 2. Many clients at once -----------------------------------------------------

async function manyClients(tmp: string): Promise<Figure[]> {
  const input = join(tmp, "many.jsonl");
  _writeInput(input, MANY_POINTS, 4);
  const path = join(tmp, "many", ".aim");
  Repo.openSync(path, { create: true }).close();
  await using up = await startAimUp(path, { token: TOKEN });
  progress("UI requests on an idle server");
  const idle = await _probe(up, () => false, 200);
  progress(
    `${MANY_CLIENTS} clients × ${MANY_POINTS} points through aim track --remote at once`,
  );
  let running = true;
  const peak = { rssKb: 0 };
  const sampler = (async () => {
    while (running) {
      peak.rssKb = Math.max(peak.rssKb, _rssKb(up.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const start = performance.now();
  const clients = Array.from(
    { length: MANY_CLIENTS },
    () => _track(input, ["--remote", up.url], MANY_POINTS, path),
  );
  const busy = _probe(up, () => running, Infinity);
  const done = await Promise.allSettled(clients);
  const seconds = (performance.now() - start) / 1000;
  running = false;
  const [busyMs] = await Promise.all([busy, sampler]);
  const failed = done.filter((d) => d.status === "rejected");
  for (const failure of failed) {
    progress(`a client failed: ${(failure as PromiseRejectedResult).reason}`);
  }
  const total = MANY_CLIENTS * MANY_POINTS;
  const rate = (total - failed.length * MANY_POINTS) / seconds;
  const health = await up.get("api/health");
  const tracking = (health.body as { tracking: Record<string, number> })
    .tracking;
  return [
    {
      figure: `${MANY_CLIENTS} aim track --remote clients × ${
        MANY_POINTS / 1000
      }k points at once (4 series each), first start to last exit; clients and server share the machine`,
      measured: `${_k(rate)} k points/s aggregate, ${failed.length} failed, ${
        ((total - failed.length * MANY_POINTS) / 1e6).toFixed(1)
      } M points in ${seconds.toFixed(1)} s`,
      baseline:
        `${tracking.batches} batches; ${tracking.refused} refused while the Workers were full (sent again)`,
      target: "0 errors, 0 lost",
      pass: failed.length === 0,
    },
    {
      figure:
        "… aim up's peak RSS meanwhile (/proc VmRSS, sampled every 100 ms, Workers included)",
      measured: `${(peak.rssKb / 1024).toFixed(0)} MB`,
    },
    {
      figure:
        "… GET /api/runs?limit=20 (a read in a query Worker) and GET /api/health (the main thread) while they stream: p50 / p99",
      measured: `${_p(busyMs.runs)}; health ${
        _p(busyMs.health)
      } (n = ${busyMs.runs.length})`,
      baseline: `${_p(idle.runs)}; health ${
        _p(idle.health)
      } on the idle server`,
    },
  ];
}

/** Latencies of the UI's requests, one pair at a time, while `more()` says so (and `count` times at most). */
async function _probe(
  up: AimUp,
  more: () => boolean,
  count: number,
): Promise<{ runs: number[]; health: number[] }> {
  const out = { runs: [] as number[], health: [] as number[] };
  for (let i = 0; i < count && (count !== Infinity || more()); i++) {
    for (
      const [key, path] of [["runs", "api/runs?limit=20"], [
        "health",
        "api/health",
      ]] as const
    ) {
      const start = performance.now();
      const response = await up.fetch(path);
      await response.arrayBuffer();
      out[key].push(performance.now() - start);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return out;
}

function _p(ms: number[]): string {
  return ms.length === 0
    ? "n/a"
    : `${formatMs(quantile(ms, 0.5))} / ${formatMs(quantile(ms, 0.99))}`;
}

// --- 3. Python track() ---------------------------------------------------------

async function pythonCost(tmp: string): Promise<Figure[]> {
  progress(
    `Python client: ${PYTHON_CALLS} track() calls × 3, remote and local, three times each`,
  );
  const path = join(tmp, "python", ".aim");
  Repo.openSync(path, { create: true }).close();
  await using up = await startAimUp(path, { token: TOKEN });
  const local: PythonTimes[] = [];
  const remote: PythonTimes[] = [];
  for (let rep = 0; rep < 3; rep++) {
    local.push(await _python(path));
    remote.push(await _python(up.url));
  }
  const pick = (all: PythonTimes[], key: keyof PythonTimes) =>
    median(all.map((t) => t[key]));
  const ratio = pick(remote, "full") / pick(local, "full");
  const ns = (value: number) => `${value.toFixed(0)} ns/call`;
  return [
    {
      figure:
        "Python track(value, name, step, epoch, context), remote: Run(repo=URL) (best of 3 loops, median of 3 processes)",
      measured: `${ns(pick(remote, "full"))} (${ratio.toFixed(2)}× local)`,
      baseline: `${
        ns(pick(local, "full"))
      } (local: Run(repo=PATH), through aim track)`,
      target: "≤ 1.20× local",
      pass: ratio <= 1.2,
    },
    {
      figure: "Python track(value, name), remote",
      measured: `${ns(pick(remote, "plain"))} (${
        (pick(remote, "plain") / pick(local, "plain")).toFixed(2)
      }× local)`,
      baseline: `${ns(pick(local, "plain"))} (local)`,
    },
    {
      figure:
        "Python close() after 1.8 M points, remote (waits for every acknowledgement)",
      measured: formatMs(pick(remote, "close_ms")),
      baseline: `${
        formatMs(pick(local, "close_ms"))
      } (local: until aim track has finalized)`,
    },
  ];
}

interface PythonTimes {
  empty: number;
  full: number;
  plain: number;
  close_ms: number;
}

async function _python(repo: string): Promise<PythonTimes> {
  const out = await new Deno.Command("python3", {
    args: ["-c", PYTHON_TRACK_BENCH, String(PYTHON_CALLS), repo],
    env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, AIM_TOKEN: TOKEN },
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

// --- Shared ------------------------------------------------------------------------

/** Writes `points` track lines over `series` series, as Python's json.dumps would; returns the size. */
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

/**
 * Points per second of `aim track ARGS < input`, from its start to its
 * exit; checks the run then holds every point.
 */
async function _track(
  input: string,
  args: string[],
  points: number,
  repoPath: string,
): Promise<number> {
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
      ...args,
    ],
    env: { AIM_BENCH_INPUT: input, AIM_TOKEN: TOKEN },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!out.success) {
    throw new Error(
      `aim track ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  const hash = new TextDecoder().decode(out.stdout).trim();
  const repo = Repo.openSync(repoPath);
  try {
    const { record } = repo.loadRun(hash);
    const count = record.metrics.reduce((sum, m) => sum + m.count, 0);
    if (count !== points || record.status !== "finished") {
      throw new Error(
        `run ${hash} holds ${count} points (${record.status}), not ${points}`,
      );
    }
  } finally {
    repo.close();
  }
  return points / seconds;
}

function _rssKb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function _k(rate: number): string {
  return (rate / 1000).toFixed(0);
}
