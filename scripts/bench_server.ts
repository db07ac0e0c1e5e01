/**
 * The server section of `deno task bench`: a real `aim up` process.
 *
 * 1. 10,000 indexed runs (written through the writer, which indexes them on
 *    close) plus 1,000 stalled ones (their writer process SIGKILLed). The run
 *    search is timed while the background indexer drains the 1,000, and
 *    twice without an indexer on a copy: replaying the same numbers of
 *    unindexed runs request by request (the runs indexed between requests,
 *    never during one), and idle with every run indexed.
 * 2. Start-up to the first answered request, and the resident memory of the
 *    process (Workers are threads of it), with 100,000 runs in the index.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { indexRun } from "../lib/mod.ts";
import { Repo } from "../lib/mod.ts";
import { benchRecord } from "./bench_query.ts";
import { type AimUp, startAimUp } from "../tests/_aim_up.ts";
import {
  bulkWriteRecords,
  type Figure,
  formatCount,
  formatMs,
  MAIN,
  makeStalledRuns,
  median,
  p50p99,
  progress,
  quantile,
  ROOT,
  type Section,
  tempDir,
  timed,
} from "./_bench_util.ts";

const QUERY_BENCH = fileURLToPath(new URL("./bench_query.ts", import.meta.url));

const INDEXED_RUNS = 10_000;
/** Processes writing the indexed runs side by side. */
const WRITERS = 2;
/** Stalled runs, shaped like the indexed ones: 100 params, 10 series × 5 points. */
const STALLED = { runs: 1_000, params: 100, series: 10, points: 5 };
const MANY_RUNS = 100_000;
const IDLE_REQUESTS = 300;
const STARTS = 3;
const TOKEN = "bench-token-0123456789";
const SEARCH = "run.hparams.lr < 0.01";
const SEARCH_PATH = `/api/runs?q=${encodeURIComponent(SEARCH)}&limit=100`;
/** Longest the drain may take before the benchmark gives up. */
const DRAIN_DEADLINE_MS = 180_000;

/** The server section of the benchmark. */
export const server: Section = {
  title: "Server (aim up)",
  async run() {
    await using tmp = await tempDir("aim-bench-server-");
    const loadBefore = _loadAverage();
    const figures = [...await drain(tmp.path), ...await startup(tmp.path)];
    figures.push({
      figure:
        "1-minute load average of the machine at the start / the end of the section (other processes share its CPUs)",
      measured: `${loadBefore} / ${_loadAverage()}`,
    });
    return figures;
  },
};

// --- 1. Searching while the indexer drains 1,000 stalled runs ----------------

/** One timed search, with the unindexed runs (markers) just before it. */
interface Sample {
  ms: number;
  unindexed: number;
}

async function drain(tmp: string): Promise<Figure[]> {
  progress(
    `generating ${
      formatCount(INDEXED_RUNS)
    } runs through the writer in ${WRITERS} processes, then ${
      formatCount(STALLED.runs)
    } stalled ones (writer SIGKILLed)`,
  );
  const path = join(tmp, "drain", ".aim");
  const copy = join(tmp, "idle", ".aim");
  Repo.openSync(path, { create: true }).close();
  const generation = await _timedAsync(async () => {
    await _writeIndexedRuns(path);
    await makeStalledRuns({ repo: path, ...STALLED });
  });
  _expectCounts(path, INDEXED_RUNS, STALLED.runs);
  await _command("cp", ["-a", join(tmp, "drain"), join(tmp, "idle")]);
  // Dirty pages of the copy would otherwise be written back during the drain.
  await _command("sync", []);

  progress(
    `aim up (indexer on, --index-interval 1): \`${SEARCH}\` back to back while it drains the ${
      formatCount(STALLED.runs)
    } stalled runs`,
  );
  const during: Sample[] = [];
  const indexOnlyDuring: number[] = [];
  let total = -1;
  let drainMs: number;
  let state: _IndexState;
  let cpu: Map<string, number>;
  const repo = Repo.openSync(path);
  try {
    await using up = await startAimUp(path, {
      token: TOKEN,
      indexInterval: "1",
    });
    const cpuBefore = _threadCpu(up.pid);
    const indexedHash = _someIndexedHash(repo);
    total = await _warmUp(up);
    const deadline = up.listeningAt + DRAIN_DEADLINE_MS;
    while (true) {
      const unindexed = repo.listMarkers().length;
      if (unindexed === 0) break;
      if (performance.now() > deadline) {
        throw new Error(
          `the indexer left ${unindexed} runs unindexed after ${
            DRAIN_DEADLINE_MS / 1000
          } s`,
        );
      }
      const search = await _search(up, total);
      during.push({ ms: search, unindexed });
      indexOnlyDuring.push(await _getRun(up, indexedHash));
    }
    drainMs = performance.now() - up.listeningAt;
    cpu = _threadCpu(up.pid);
    for (const [name, seconds] of cpuBefore) {
      cpu.set(name, (cpu.get(name) ?? 0) - seconds);
    }
    state = await _drained(up);
  } finally {
    repo.close();
  }

  progress(
    `aim up --no-index on a copy: the same ${during.length} searches at the same numbers of unindexed runs, indexed in between`,
  );
  const replay: Sample[] = [];
  const replayWrites: number[] = [];
  const idle: number[] = [];
  const indexOnlyIdle: number[] = [];
  {
    await using up = await startAimUp(copy, {
      token: TOKEN,
      args: ["--no-index"],
    });
    await _warmUp(up, total);
    const copyRepo = Repo.openSync(copy);
    // As the indexer Worker does: no checkpoint inside a write.
    copyRepo.index().deferCheckpoints();
    try {
      const queue = copyRepo.listMarkers();
      let left = queue.length;
      for (const { unindexed } of during) {
        while (left > unindexed) {
          const outcome = indexRun(copyRepo, queue[queue.length - left]!, {
            finalizeStalled: true,
          });
          if (outcome.kind !== "indexed") {
            throw new Error(`replay: run not indexed (${outcome.kind})`);
          }
          replayWrites.push(outcome.writeMs);
          left--;
        }
        replay.push({ ms: await _search(up, total), unindexed });
      }
    } finally {
      copyRepo.close();
    }
    progress(
      `aim reindex --finalize-stalled on the copy, then ${IDLE_REQUESTS} searches idle (all ${
        formatCount(INDEXED_RUNS + STALLED.runs)
      } indexed)`,
    );
    await _command(Deno.execPath(), [
      "run",
      "--allow-all",
      MAIN,
      "reindex",
      "--finalize-stalled",
      "--repo",
      copy,
    ]);
    _expectCounts(copy, INDEXED_RUNS + STALLED.runs, 0);
    const copyRepo2 = Repo.openSync(copy);
    const indexedHash = _someIndexedHash(copyRepo2);
    copyRepo2.close();
    for (let i = 0; i < 5; i++) await _search(up, total);
    for (let i = 0; i < IDLE_REQUESTS; i++) {
      idle.push(await _search(up, total));
      indexOnlyIdle.push(await _getRun(up, indexedHash));
    }
  }

  const ms = (s: Sample[]) => s.map((x) => x.ms);
  const drainP99 = quantile(ms(during), 0.99);
  const replayP99 = quantile(ms(replay), 0.99);
  const idleP99 = quantile(idle, 0.99);
  const indexOnlyP99 = quantile(indexOnlyDuring, 0.99);
  const indexOnlyIdleP99 = quantile(indexOnlyIdle, 0.99);
  const fairRatio = drainP99 / replayP99;
  const pairRatio = median(during.map((d, i) => d.ms / replay[i]!.ms));
  const cpuOf = (name: string) => `${(cpu.get(name) ?? 0).toFixed(1)} s`;
  const cpuOther = [...cpu].filter(([name]) => !/^(main|worker-\d)$/.test(name))
    .reduce((sum, [, seconds]) => sum + seconds, 0);
  const n = during.length;
  return [
    {
      figure: `generate ${
        formatCount(INDEXED_RUNS)
      } runs through the writer (bench_query's benchRun, ${WRITERS} processes; indexed on close) + ${
        formatCount(STALLED.runs)
      } stalled (${STALLED.params} params, ${STALLED.series} series × ${STALLED.points} points; writer SIGKILLed)`,
      measured: `${(generation.ms / 1000).toFixed(1)} s`,
    },
    {
      figure: `GET ${SEARCH_PATH} idle: all ${
        formatCount(INDEXED_RUNS + STALLED.runs)
      } runs indexed, \`aim up --no-index\`: p50 / p99 (n = ${IDLE_REQUESTS}; ${
        formatCount(total)
      } matches, page of 100)`,
      measured: p50p99(idle),
    },
    {
      figure:
        `… while the indexer drains the ${STALLED.runs} stalled runs: p50 / p99 (n = ${n}, sequential; each search also reads the ${
          _range(during)
        } still-unindexed runs from their own files, slower by design; same ${
          formatCount(total)
        } matches every time)`,
      measured: `${p50p99(ms(during))} (p99 ${
        (drainP99 / idleP99).toFixed(1)
      }× idle)`,
      baseline: `idle: ${p50p99(idle)}`,
      target:
        "not judged: it compares reading up to 1,000 run files with reading none",
    },
    {
      figure:
        `… the fair comparison: the same ${n} searches at the same numbers of unindexed runs on a copy, \`aim up --no-index\`, the runs indexed between requests (never during one): drain p99 ÷ replay p99`,
      measured: `${fairRatio.toFixed(2)}× (p50 ${
        (quantile(ms(during), 0.5) / quantile(ms(replay), 0.5)).toFixed(2)
      }×; median per-request ratio ${pairRatio.toFixed(2)}×)`,
      baseline: `replay: ${p50p99(ms(replay))}`,
      target: "≤ 1.5×",
      pass: fairRatio <= 1.5,
    },
    {
      figure:
        `… an index-only read, GET /api/runs/:hash of an indexed run, after each search: p50 / p99 during the drain vs idle (n = ${n} / ${IDLE_REQUESTS})`,
      measured: `${p50p99(indexOnlyDuring)} (p99 ${
        (indexOnlyP99 / indexOnlyIdleP99).toFixed(1)
      }× idle)`,
      baseline: `idle: ${p50p99(indexOnlyIdle)}`,
    },
    {
      figure:
        `drain time: server listening → no marker left (${state.indexed} indexed by the Worker, ${state.crashed} recorded crashed, ${state.failures} failures)`,
      measured: `${(drainMs / 1000).toFixed(1)} s (${
        formatCount(Math.round(STALLED.runs / (drainMs / 1000)))
      } runs/s)`,
    },
    {
      figure:
        `CPU time of the \`aim up\` process during the drain, by thread (worker-1, -2: query pool; worker-3: indexer, in cli/up.ts's creation order)`,
      measured: `indexer ${cpuOf("worker-3")}, query ${cpuOf("worker-1")} + ${
        cpuOf("worker-2")
      }, main ${cpuOf("main")}, other threads ${cpuOther.toFixed(1)} s`,
      baseline: `${
        (drainMs / 1000).toFixed(1)
      } s wall, ${navigator.hardwareConcurrency} CPUs`,
    },
    {
      figure:
        "longest index write transaction during the drain (/api/index indexer.longest_write_ms)",
      measured: `${state.longestWriteMs.toFixed(2)} ms`,
      baseline: `replay, indexRun() in the bench process, ${
        formatCount(replayWrites.length)
      } runs, no search during a write: p50 ${
        formatMs(quantile(replayWrites, 0.5))
      }, p99 ${formatMs(quantile(replayWrites, 0.99))}, max ${
        formatMs(Math.max(...replayWrites))
      }`,
      target: "≤ 10 ms",
      pass: state.longestWriteMs <= 10,
    },
  ];
}

/** Writes {@linkcode INDEXED_RUNS} runs with bench_query.ts's writer helper. */
async function _writeIndexedRuns(path: string): Promise<void> {
  const per = Math.ceil(INDEXED_RUNS / WRITERS);
  await Promise.all(
    Array.from({ length: WRITERS }, (_, w) => {
      const from = w * per, to = Math.min(INDEXED_RUNS, from + per);
      return _command(Deno.execPath(), [
        "run",
        "--allow-all",
        QUERY_BENCH,
        "write",
        path,
        `${from}`,
        `${to}`,
      ]);
    }),
  );
}

/** Throws unless the index holds `indexed` runs and `markers` markers exist. */
function _expectCounts(path: string, indexed: number, markers: number): void {
  const repo = Repo.openSync(path);
  try {
    const rows = Number(
      (repo.index().db.prepare("SELECT count(*) AS n FROM runs").get() as {
        n: number;
      }).n,
    );
    const found = repo.listMarkers().length;
    if (rows !== indexed || found !== markers) {
      throw new Error(
        `expected ${indexed} indexed runs and ${markers} markers in ${path}, found ${rows} and ${found}`,
      );
    }
  } finally {
    repo.close();
  }
}

function _someIndexedHash(repo: Repo): string {
  const markers = new Set(repo.listMarkers());
  const hash = repo.listRuns().find((h) => !markers.has(h));
  if (hash === undefined) throw new Error("no indexed run to read");
  return hash;
}

/**
 * The first requests after start-up, untimed (they include the query
 * Worker's own start); returns the search's total, checked against
 * `expected` when given.
 */
async function _warmUp(up: AimUp, expected?: number): Promise<number> {
  const body = await _getJson(up, SEARCH_PATH) as { total: number };
  if (expected !== undefined && body.total !== expected) {
    throw new Error(
      `the search found ${body.total} runs on the copy, ${expected} on the original`,
    );
  }
  return body.total;
}

/** Milliseconds of one search, response body read; throws on a wrong answer. */
async function _search(up: AimUp, total: number): Promise<number> {
  const start = performance.now();
  const response = await up.fetch(SEARCH_PATH);
  const text = await response.text();
  const ms = performance.now() - start;
  if (response.status !== 200) {
    throw new Error(`search answered ${response.status}: ${text}`);
  }
  const body = JSON.parse(text) as { total: number; unreadable: unknown[] };
  if (body.total !== total || body.unreadable.length > 0) {
    throw new Error(
      `search answered ${body.total} matches and ${body.unreadable.length} unreadable runs, expected ${total} and none`,
    );
  }
  return ms;
}

/** Milliseconds of GET /api/runs/:hash. */
async function _getRun(up: AimUp, hash: string): Promise<number> {
  const start = performance.now();
  const response = await up.fetch(`/api/runs/${hash}`);
  await response.arrayBuffer();
  const ms = performance.now() - start;
  if (response.status !== 200) {
    throw new Error(`GET /api/runs/${hash} answered ${response.status}`);
  }
  return ms;
}

interface _IndexState {
  indexed: number;
  crashed: number;
  failures: number;
  longestWriteMs: number;
}

/** Polls /api/index until no stalled run is left unindexed; the indexer's state then. */
async function _drained(up: AimUp): Promise<_IndexState> {
  const deadline = performance.now() + 30_000;
  while (true) {
    const body = await _getJson(up, "/api/index") as {
      indexer: {
        indexed: number;
        crashed: number;
        failures: unknown[];
        longest_write_ms: number;
        in_progress: string | null;
      };
      status: { unindexed_stalled: number };
    };
    const { indexer, status } = body;
    if (status.unindexed_stalled === 0 && indexer.in_progress === null) {
      return {
        indexed: indexer.indexed,
        crashed: indexer.crashed,
        failures: indexer.failures.length,
        longestWriteMs: indexer.longest_write_ms,
      };
    }
    if (performance.now() > deadline) {
      throw new Error(
        `/api/index still shows ${status.unindexed_stalled} stalled runs`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// --- 2. Start-up and memory with 100,000 runs in the index -------------------

/** One start of `aim up`: times from spawn, and memory after a first search. */
interface Start {
  listeningMs: number;
  firstAnswerMs: number;
  rssKb: number;
  peakKb: number;
}

async function startup(tmp: string): Promise<Figure[]> {
  progress(
    `writing ${formatCount(MANY_RUNS)} synthetic run records into an index`,
  );
  const many = join(tmp, "index-100k", ".aim");
  const empty = join(tmp, "empty", ".aim");
  const generation = timed(() => {
    const start = Date.now() / 1000 - MANY_RUNS;
    bulkWriteRecords(many, MANY_RUNS, (i) => benchRecord(i, start + i), (n) => {
      if (n % 25_000 === 0) progress(`${formatCount(n)} records`);
    });
  });
  Repo.openSync(empty, { create: true }).close();

  progress(
    `aim up: ${STARTS} starts each with ${
      formatCount(MANY_RUNS)
    } runs in the index and with none, after one untimed start`,
  );
  await _start(many, MANY_RUNS);
  const full: Start[] = [];
  const none: Start[] = [];
  // Interleaved, so both see the same machine noise.
  for (let rep = 0; rep < STARTS; rep++) {
    full.push(await _start(many, MANY_RUNS));
    none.push(await _start(empty, 0));
  }
  const med = (starts: Start[], key: keyof Start) =>
    median(starts.map((s) => s[key]));
  const firstAnswer = med(full, "firstAnswerMs");
  const rssMb = med(full, "rssKb") / 1024;
  return [
    {
      figure: `write ${
        formatCount(MANY_RUNS)
      } synthetic RunRecords (benchRun's shape) with IndexDb.write(), value indexes rebuilt after the load`,
      measured: `${(generation.ms / 1000).toFixed(1)} s`,
    },
    {
      figure: `\`aim up\` start-up, ${
        formatCount(MANY_RUNS)
      } runs in the index: spawn → first 200 from /api/runs?limit=1 (median of ${STARTS}; listening after ${
        formatMs(med(full, "listeningMs"))
      })`,
      measured: `${formatMs(firstAnswer)} (${
        formatMs(Math.min(...full.map((s) => s.firstAnswerMs)))
      } – ${formatMs(Math.max(...full.map((s) => s.firstAnswerMs)))})`,
      baseline: `empty repository: ${formatMs(med(none, "firstAnswerMs"))}`,
      target: "≤ 1 s",
      pass: firstAnswer <= 1000,
    },
    {
      figure:
        `… its RSS after that and one search (\`${SEARCH}\`, limit 100): /proc VmRSS of the process, Workers included (median of ${STARTS}; peak VmHWM ${
          (med(full, "peakKb") / 1024).toFixed(0)
        } MB)`,
      measured: `${rssMb.toFixed(0)} MB (${
        (Math.min(...full.map((s) => s.rssKb)) / 1024).toFixed(0)
      } – ${(Math.max(...full.map((s) => s.rssKb)) / 1024).toFixed(0)} MB)`,
      baseline: `empty repository: ${
        (med(none, "rssKb") / 1024).toFixed(0)
      } MB`,
      target: "≤ 200 MB",
      pass: rssMb <= 200,
    },
  ];
}

/** Starts `aim up` on `path`, times its first answer, then reads its memory. */
async function _start(path: string, runs: number): Promise<Start> {
  await using up = await startAimUp(path, { token: TOKEN, indexInterval: "5" });
  let response: Response;
  while (true) {
    try {
      response = await up.fetch("/api/runs?limit=1");
      break;
    } catch {
      // Not accepting yet; the URL is printed from onListen, so rarely.
    }
  }
  const body = await response.text();
  const firstAnswerMs = performance.now() - up.spawnedAt;
  const total = (JSON.parse(body) as { total?: number }).total;
  if (response.status !== 200 || total !== runs) {
    throw new Error(
      `/api/runs?limit=1 answered ${response.status} with total ${total}, expected 200 and ${runs}`,
    );
  }
  await _getJson(up, SEARCH_PATH);
  const status = Deno.readTextFileSync(`/proc/${up.pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return {
    listeningMs: up.listeningAt - up.spawnedAt,
    firstAnswerMs,
    rssKb: kb("VmRSS"),
    peakKb: kb("VmHWM"),
  };
}

async function _getJson(up: AimUp, route: string): Promise<unknown> {
  const response = await up.fetch(route);
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`GET ${route} answered ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

/** Runs a command to completion; throws with its stderr unless it succeeds. */
async function _command(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${out.code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

// --- Helpers -------------------------------------------------------------------

/**
 * CPU seconds (user + system) of each thread of `pid` by name; the main
 * thread is `main`, Deno names Worker threads `worker-N`.
 */
function _threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
    } catch {
      continue; // The thread ended.
    }
    // Fields after the parenthesized name, which may hold spaces: utime and stime are 14 and 15.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    const name = task.name === `${pid}` ? "main" : stat.slice(open + 1, close);
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(name, (out.get(name) ?? 0) + ticks / 100);
  }
  return out;
}

function _loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ")[0]!;
}

async function _timedAsync(fn: () => Promise<void>): Promise<{ ms: number }> {
  const start = performance.now();
  await fn();
  return { ms: performance.now() - start };
}

/** "1,000 → 3": the unindexed runs at the first and the last sample. */
function _range(samples: Sample[]): string {
  return `${formatCount(samples[0]?.unindexed ?? 0)} → ${
    formatCount(samples.at(-1)?.unindexed ?? 0)
  }`;
}
