/**
 * The storage section of `deno task bench`: tracking throughput against a raw
 * `node:sqlite` baseline, finalization time, indexing one stalled run, and
 * `aim reindex` of thousands of stalled runs. Stalled runs come from a real
 * writer process that is SIGKILLed (`_bench_stalled_writer.ts`).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { Repo } from "../lib/mod.ts";
import { indexRun, reindex, type ReindexSummary } from "../lib/mod.ts";
import {
  diskBytes,
  type Figure,
  formatCount,
  MAIN,
  makeStalledRuns,
  median,
  progress,
  quantile,
  ROOT,
  type Section,
  tempDir,
  timed,
} from "./_bench_util.ts";

/** Repetitions of the cheap measurements; figures are their medians. */
const REPS = 3;
const TRACK_POINTS = 2_000_000;
const TRACK_SERIES = 10;
const FINALIZE_POINTS = [100_000, 1_000_000] as const;
const FINALIZE_SERIES = 100;
const INDEX_RUNS = 400;
const REINDEX_RUNS = 5_000;
/** Rows per transaction of the `node:sqlite` baseline. */
const BASELINE_BATCH = 10_000;

/** The storage section of the benchmark. */
export const storage: Section = {
  title: "Storage",
  async run() {
    await using tmp = await tempDir("aim-bench-storage-");
    return [
      ...await trackThroughput(tmp.path),
      ...await finalization(tmp.path),
      ...await indexing(tmp.path),
      ...await reindexing(tmp.path),
    ];
  },
};

// --- 1. run.track() throughput against one SQLite row per point -------------

async function trackThroughput(tmp: string): Promise<Figure[]> {
  progress(
    `track(): ${REPS} × ${
      formatCount(TRACK_POINTS)
    } points into ${TRACK_SERIES} series, 3 ways, and the node:sqlite baseline`,
  );
  const repo = Repo.openSync(join(tmp, "track", ".aim"), { create: true });
  const aim: Record<ContextUse, { rate: number; bytes: number }[]> = {
    reused: [],
    alternating: [],
    literal: [],
  };
  const base: { rate: number; bytes: number }[] = [];
  try {
    // Interleaved, so every variant sees the same machine noise.
    for (let rep = 0; rep < REPS; rep++) {
      aim.reused.push(await _trackAim(repo, TRACK_POINTS, "reused"));
      base.push(
        _trackBaseline(
          join(tmp, "track", `baseline-${rep}.db`),
          TRACK_POINTS,
          TRACK_SERIES,
        ),
      );
      aim.alternating.push(await _trackAim(repo, TRACK_POINTS, "alternating"));
      aim.literal.push(await _trackAim(repo, TRACK_POINTS, "literal"));
    }
  } finally {
    repo.close();
  }
  const baseRate = median(base.map((m) => m.rate));
  const baseline = `${_mega(baseRate)} M points/s (node:sqlite, 1 row/point, ${
    formatCount(BASELINE_BATCH)
  } rows/tx)`;
  const rate = (use: ContextUse) => median(aim[use].map((m) => m.rate));
  const aimRate = rate("reused");
  const ratio = aimRate / baseRate;
  return [
    {
      figure: `run.track(): ${
        formatCount(TRACK_POINTS)
      } points into ${TRACK_SERIES} series, incl. flushes (median of ${REPS})`,
      measured: `${_mega(aimRate)} M points/s`,
      baseline,
      target: "≥ 2 M points/s",
      pass: aimRate >= 2e6,
    },
    {
      figure: "run.track(): speed-up over the node:sqlite baseline",
      measured: `${ratio.toFixed(1)}×`,
      target: "≥ 3×",
      pass: ratio >= 3,
    },
    ...(["alternating", "literal"] as const).map((use): Figure => ({
      figure: use === "alternating"
        ? "… same, 5 names × contexts train/val alternating (reused objects)"
        : "… same, a fresh context literal on every call",
      measured: `${_mega(rate(use))} M points/s (${
        (rate(use) / baseRate).toFixed(1)
      }×)`,
      baseline,
      target: "≥ 2 M points/s, ≥ 3×",
      pass: rate(use) >= 2e6 && rate(use) / baseRate >= 3,
    })),
    {
      figure: "on-disk bytes per point (run space after close)",
      measured: `${median(aim.reused.map((m) => m.bytes)).toFixed(1)} B`,
      baseline: `${median(base.map((m) => m.bytes)).toFixed(1)} B`,
    },
  ];
}

/**
 * How a tracking loop passes contexts: one object per series reused, two
 * contexts alternating under each name (`loss` train, `loss` val), or a new
 * object literal on every call.
 */
type ContextUse = "reused" | "alternating" | "literal";

/** Points per second of tracking `points` into 10 series, then the final flush. */
async function _trackAim(
  repo: Repo,
  points: number,
  use: ContextUse,
): Promise<{ rate: number; bytes: number }> {
  const series = TRACK_SERIES;
  const names = Array.from(
    { length: series },
    (_, i) => `metric_${use === "alternating" ? i >> 1 : i}`,
  );
  const contexts = names.map((_, i) => ({
    subset: use === "alternating" && i % 2 === 1 ? "val" : "train",
  }));
  const run = await repo.startRun();
  const { ms } = timed(() => {
    if (use === "literal") {
      for (let step = 0; step < points / series; step++) {
        for (let s = 0; s < series; s++) {
          run.track(Math.random(), {
            name: names[s]!,
            context: { subset: "train" },
          });
        }
      }
    } else {
      for (let step = 0; step < points / series; step++) {
        for (let s = 0; s < series; s++) {
          run.track(Math.random(), { name: names[s]!, context: contexts[s]! });
        }
      }
    }
    run.flush();
  });
  await run.close();
  _expectIndexed(repo, run.hash, points);
  return { rate: points / (ms / 1000), bytes: diskBytes(run.dir) / points };
}

/** The same points, one row each, the fastest plain way: prepared, batched, WAL. */
function _trackBaseline(
  path: string,
  points: number,
  series: number,
): { rate: number; bytes: number } {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  db.exec(
    "CREATE TABLE points(series INTEGER, step INTEGER, value REAL, time REAL)",
  );
  const insert = db.prepare(
    "INSERT INTO points(series, step, value, time) VALUES (?, ?, ?, ?)",
  );
  const { ms } = timed(() => {
    let pending = 0;
    db.exec("BEGIN");
    for (let step = 0; step < points / series; step++) {
      for (let s = 0; s < series; s++) {
        insert.run(s, step, Math.random(), Date.now() / 1000);
        if (++pending === BASELINE_BATCH) {
          db.exec("COMMIT; BEGIN");
          pending = 0;
        }
      }
    }
    db.exec("COMMIT");
  });
  db.close();
  return { rate: points / (ms / 1000), bytes: diskBytes(path) / points };
}

// --- 2. Finalization ---------------------------------------------------------

async function finalization(tmp: string): Promise<Figure[]> {
  const path = join(tmp, "finalize", ".aim");
  Repo.openSync(path, { create: true }).close();
  const [small, large] = FINALIZE_POINTS;
  progress(
    `close(): ${REPS} × 2 runs each of ${formatCount(small)} and ${
      formatCount(large)
    } points over ${FINALIZE_SERIES} series`,
  );
  const samples = new Map<number, { close: number[]; afterFlush: number[] }>();
  const buffered = new Map<number, number>();
  // Sizes interleaved, so the cold first close does not land on one size only.
  for (let rep = 0; rep < REPS; rep++) {
    for (const points of FINALIZE_POINTS) {
      const sample = samples.get(points) ?? { close: [], afterFlush: [] };
      samples.set(points, sample);
      const direct = await _closeMs(path, points, false);
      sample.close.push(direct.ms);
      buffered.set(points, direct.buffered);
      sample.afterFlush.push((await _closeMs(path, points, true)).ms);
    }
  }
  const close = (points: number) => median(samples.get(points)!.close);
  const afterFlush = (points: number) =>
    median(samples.get(points)!.afterFlush);
  const figures: Figure[] = FINALIZE_POINTS.map((points) => ({
    figure: `await run.close() after ${
      formatCount(points)
    } points / ${FINALIZE_SERIES} series (median of ${REPS}; ${
      formatCount(buffered.get(points)!)
    } points still buffered; opens index.db)`,
    measured: `${close(points).toFixed(1)} ms`,
    target: "≤ 100 ms",
    pass: close(points) <= 100,
  }));
  const ratio = close(large) / close(small);
  const flushedRatio = afterFlush(large) / afterFlush(small);
  figures.push({
    figure: `close() time, ${formatCount(large)} / ${
      formatCount(small)
    } points`,
    measured: `${ratio.toFixed(2)}×`,
    target: "flat (≤ 1.5×)",
    pass: ratio <= 1.5,
  }, {
    figure: `… close() right after an explicit flush(), ${
      formatCount(small)
    } / ${formatCount(large)} points`,
    measured: `${afterFlush(small).toFixed(1)} ms / ${
      afterFlush(large).toFixed(1)
    } ms (${flushedRatio.toFixed(2)}×)`,
    target: "≤ 100 ms, flat",
    pass: Math.max(afterFlush(small), afterFlush(large)) <= 100 &&
      flushedRatio <= 1.5,
  });
  return figures;
}

/**
 * Milliseconds of `close()` on a fresh run of `points` points. Every run
 * gets its own `Repo`, so `close()` also opens `index.db`, as it does in a
 * training program.
 */
async function _closeMs(
  path: string,
  points: number,
  flushFirst: boolean,
): Promise<{ ms: number; buffered: number }> {
  const repo = Repo.openSync(path);
  try {
    const names = Array.from(
      { length: FINALIZE_SERIES },
      (_, i) => `metric_${i}`,
    );
    const context = { subset: "train" };
    const run = await repo.startRun();
    let sinceFlush = 0;
    let version = run.dataVersion;
    for (let step = 0; step < points / FINALIZE_SERIES; step++) {
      for (const name of names) {
        run.track(Math.random(), { name, context });
        sinceFlush = run.dataVersion === version ? sinceFlush + 1 : 0;
        version = run.dataVersion;
      }
    }
    if (flushFirst) run.flush();
    const start = performance.now();
    await run.close();
    const ms = performance.now() - start;
    _expectIndexed(repo, run.hash, points);
    return { ms, buffered: flushFirst ? 0 : sinceFlush };
  } finally {
    repo.close();
  }
}

// --- 3. Indexing one stalled run ---------------------------------------------

async function indexing(tmp: string): Promise<Figure[]> {
  const spec = { runs: INDEX_RUNS, params: 200, series: 10, points: 100 };
  progress(
    `indexRun(): ${spec.runs} stalled runs of ${spec.series} series × ${spec.points} points, ${spec.params} params`,
  );
  const path = join(tmp, "index", ".aim");
  const repo = Repo.openSync(path, { create: true });
  try {
    await makeStalledRuns({ repo: repo.path, ...spec });
    const hashes = repo.listMarkers();
    if (hashes.length !== spec.runs) {
      throw new Error(
        `expected ${spec.runs} stalled runs, found ${hashes.length}`,
      );
    }
    // Opened once, checkpoints deferred, as by `aim reindex` and the `aim up` indexer.
    repo.index().deferCheckpoints();
    const times: number[] = [];
    let longestWrite = 0;
    for (const hash of hashes) {
      const { ms, result } = timed(() => indexRun(repo, hash));
      if (result.kind !== "indexed" || result.record.status !== "crashed") {
        throw new Error(
          `run ${hash} was not indexed as crashed: ${
            JSON.stringify(result.kind)
          }`,
        );
      }
      times.push(ms);
      longestWrite = Math.max(longestWrite, result.writeMs);
    }
    const p50 = quantile(times, 0.5);
    return [
      {
        figure:
          `indexRun() of a stalled run, 10 series, 200 nested params: p50 (${spec.runs} runs)`,
        measured: `${p50.toFixed(2)} ms`,
        target: "≤ 2 ms",
        pass: p50 <= 2,
      },
      {
        figure: "… p99 / max",
        measured: `${quantile(times, 0.99).toFixed(2)} ms / ${
          Math.max(...times).toFixed(2)
        } ms`,
      },
      {
        figure: "… longest index write transaction (max IndexOutcome.writeMs)",
        measured: `${longestWrite.toFixed(2)} ms`,
      },
    ];
  } finally {
    repo.close();
  }
}

// --- 4. aim reindex of many stalled runs --------------------------------------

async function reindexing(tmp: string): Promise<Figure[]> {
  const spec = { runs: REINDEX_RUNS, params: 4, series: 3, points: 10 };
  progress(
    `reindex(): generating ${
      formatCount(spec.runs)
    } stalled runs (${spec.series} series × ${spec.points} points)`,
  );
  const path = join(tmp, "reindex", ".aim");
  const copy = join(tmp, "reindex-cli", ".aim");
  const repo = Repo.openSync(path, { create: true });
  let summary: ReindexSummary;
  try {
    await makeStalledRuns({ repo: repo.path, ...spec });
    cpSync(path, copy, { recursive: true });
    progress(
      `reindex(): indexing ${formatCount(spec.runs)} stalled runs in-process`,
    );
    summary = reindex(repo);
  } finally {
    repo.close();
  }
  if (
    summary.indexed !== spec.runs || summary.crashed !== spec.runs ||
    summary.failed.length > 0
  ) {
    throw new Error(
      `reindex() did not index every stalled run: ${JSON.stringify(summary)}`,
    );
  }
  const rate = summary.indexed / summary.seconds;

  progress(
    `aim reindex: the CLI on a copy of the same ${formatCount(spec.runs)} runs`,
  );
  // A first run on an empty repository fills Deno's transpile cache for the CLI's modules.
  const empty = join(tmp, "reindex-empty", ".aim");
  Repo.openSync(empty, { create: true }).close();
  await _cli(["reindex", "--repo", empty, "--json"]);
  const start = performance.now();
  const cli = await _cli(["reindex", "--repo", copy, "--json"]);
  const wall = (performance.now() - start) / 1000;
  const cliSummary = JSON.parse(cli) as { indexed: number; seconds: number };
  if (cliSummary.indexed !== spec.runs) {
    throw new Error(
      `aim reindex indexed ${cliSummary.indexed} of ${spec.runs} runs`,
    );
  }
  const cliRate = spec.runs / wall;
  return [
    {
      figure: `reindex() of ${
        formatCount(spec.runs)
      } stalled runs (${spec.series} series × ${spec.points} points, few params)`,
      measured: `${formatCount(Math.round(rate))} runs/s (${
        summary.seconds.toFixed(2)
      } s, longest write ${summary.longestWriteMs.toFixed(2)} ms)`,
      target: "≥ 1,000 runs/s",
      pass: rate >= 1000,
    },
    {
      figure:
        "`deno run -A main.ts reindex` on a copy, wall time incl. process start",
      measured: `${formatCount(Math.round(cliRate))} runs/s (${
        wall.toFixed(2)
      } s wall, ${cliSummary.seconds.toFixed(2)} s reported)`,
      target: "≥ 1,000 runs/s",
      pass: cliRate >= 1000,
    },
  ];
}

async function _cli(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `aim ${args.join(" ")} exited with ${out.code}: ${
        decoder.decode(out.stderr)
      }`,
    );
  }
  return decoder.decode(out.stdout);
}

/** Throws unless the run is indexed with all its points and has no marker. */
function _expectIndexed(repo: Repo, hash: string, points: number): void {
  const record = repo.index().get(hash);
  const count = record?.metrics.reduce((sum, s) => sum + s.count, 0);
  if (count !== points || repo.hasMarker(hash)) {
    throw new Error(
      `run ${hash} was not indexed with its ${points} points (index says ${count})`,
    );
  }
}

function _mega(rate: number): string {
  return (rate / 1e6).toFixed(2);
}
