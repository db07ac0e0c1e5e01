/**
 * The query section of `deno task bench`: run and metric search over 10,000
 * runs written through the real writer, all indexed and then with 1,000 of
 * them unindexed; the param filter over 100,000 runs written straight into
 * the index; and M4 downsampling of a million points next to naive
 * decimation.
 *
 * This file is also the helper process that writes the 10,000 runs, two
 * processes side by side: `deno run -A scripts/bench_query.ts write <repo>
 * <from> <to>` writes runs `from` to `to - 1` of {@linkcode benchRun}.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { downsample } from "../lib/series/mod.ts";
import { searchMetrics, searchRuns } from "../lib/mod.ts";
import { newHash, Repo } from "../lib/mod.ts";
import type {
  Context,
  ParamValue,
  RunRecord,
  SeriesSummary,
} from "../lib/mod.ts";
import { nestedParams } from "./_bench_stalled_writer.ts";
import {
  bulkWriteRecords,
  type Figure,
  formatCount,
  formatMs,
  median,
  p50p99,
  progress,
  quantile,
  type Section,
  tempDir,
  timed,
} from "./_bench_util.ts";

const SELF = fileURLToPath(import.meta.url);

const RUNS = 10_000;
/** Processes writing the 10,000 runs side by side. */
const WRITERS = 2;
/** Experiments `exp-0` … `exp-9` in turn; `exp-0` (every 10th run) is unindexed later. */
const EXPERIMENTS = 10;
const UNINDEXED_EXPERIMENT = "exp-0";
const MANY_RUNS = 100_000;
/** Points in each of a run's 10 series. */
const POINTS = 5;
/**
 * Timed searches per query: at most this many, fewer when a query is so slow
 * that they would take longer than {@linkcode BUDGET_MS}; each set after one
 * untimed round.
 */
const REPS_INDEXED = 100;
const REPS_UNINDEXED = 10;
const REPS_MANY = 50;
const BUDGET_MS = 8_000;
/** For the 1,000-unindexed rounds, stopping early only after 5 of them. */
const BUDGET_UNINDEXED_MS = 30_000;
const DOWNSAMPLE_POINTS = 1_000_000;
const BUCKETS = 1_000;
const DOWNSAMPLE_REPS = 5;
/** Not a multiple of any decimation stride below it (it is prime). */
const SPIKE_AT = 123_457;

/**
 * Results per search: the runs table's first page (server/ui/runs.js asks
 * for 200 in the default order). A page of {@linkcode BIG_PAGE} is timed too.
 */
const PAGE = 200;
const BIG_PAGE = 1_000;

const PARAM_FILTER =
  `run.hparams.lr < 0.01 and run.hparams.optimizer.name == "adam"`;
const SUMMARY_FILTER = `run.metrics["loss", {"subset": "train"}].last < 0.2`;
const METRIC_SEARCH = `metric.name == "loss" and metric.last < 0.2`;

/** One timed query: run search or metric search. */
interface BenchQuery {
  label: string;
  text: string;
  kind: "runs" | "metrics";
}

const QUERIES: BenchQuery[] = [
  { label: "param filter", text: PARAM_FILTER, kind: "runs" },
  { label: "metric-summary filter", text: SUMMARY_FILTER, kind: "runs" },
  { label: "metric search", text: METRIC_SEARCH, kind: "metrics" },
];

/** The query section of the benchmark. */
export const query: Section = {
  title: "Query",
  async run() {
    await using tmp = await tempDir("aim-bench-query-");
    const runs = join(tmp.path, "runs-10k", ".aim");
    const records = join(tmp.path, "runs-100k", ".aim");
    progress(
      `generating ${
        formatCount(RUNS)
      } runs through the writer in ${WRITERS} processes (100 params, 10 series × ${POINTS} points), meanwhile ${
        formatCount(MANY_RUNS)
      } synthetic records into another index`,
    );
    const generated = await _generate(runs, records);
    return [
      ...tenThousandRuns(runs, generated.runsMs),
      ...hundredThousandRuns(records, generated.recordsMs),
      ...downsampling(),
    ];
  },
};

// --- The runs: one shape for the writer and for synthetic index records ----

/** A run to generate: what the writer is given, and so what the index holds. */
export interface BenchRun {
  name: string;
  experiment: string;
  tags: string[];
  /** 100 leaves: 12 under `hparams`, 88 under `config` (numbers, strings, bools). */
  params: { [key: string]: ParamValue };
  /** 10 series of {@linkcode POINTS} points each. */
  series: { name: string; context: Context; values: number[] }[];
}

/** Run `i` of the benchmark, the same on every call. */
export function benchRun(i: number): BenchRun {
  const random = _mulberry32(i + 1);
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)]!;
  const params: { [key: string]: ParamValue } = {
    hparams: {
      lr: 10 ** (-4 + 3 * random()), // 1e-4 … 1e-1, log-uniform
      batch_size: pick([32, 64, 128, 256]),
      epochs: 10 + Math.floor(random() * 90),
      dropout: Math.round(random() * 50) / 100,
      use_amp: random() < 0.5,
      scheduler: pick(["cosine", "step", "none"]),
      seed: i,
      optimizer: {
        name: pick(["adam", "sgd", "adamw"]),
        beta1: 0.9,
        beta2: 0.999,
        weight_decay: pick([0, 1e-4, 1e-2]),
        nesterov: random() < 0.5,
      },
    },
    config: nestedParams(88, i),
  };
  // The final training loss is uniform in [0.05, 1.05]: about 15% below 0.2.
  const loss = 0.05 + random();
  const decay = (final: number) =>
    Array.from({ length: POINTS }, (_, p) => final * (1 + (POINTS - 1 - p)));
  const noise = (level: number) =>
    Array.from({ length: POINTS }, () => level * (0.5 + random()));
  const train = { subset: "train" }, val = { subset: "val" };
  return {
    name: `run-${i}`,
    experiment: `exp-${i % EXPERIMENTS}`,
    tags: i % 7 === 0 ? ["baseline"] : [],
    params,
    series: [
      { name: "loss", context: train, values: decay(loss) },
      { name: "loss", context: val, values: decay(loss * 1.1) },
      { name: "accuracy", context: train, values: noise(0.6) },
      { name: "accuracy", context: val, values: noise(0.55) },
      { name: "lr", context: {}, values: noise(1e-3) },
      { name: "grad_norm", context: train, values: noise(2) },
      { name: "throughput", context: train, values: noise(1000) },
      {
        name: "memory",
        context: { device: "gpu", index: 0 },
        values: noise(8e9),
      },
      { name: "epoch_time", context: {}, values: noise(60) },
      { name: "perplexity", context: val, values: decay(Math.exp(loss)) },
    ],
  };
}

/** {@linkcode benchRun} `i` as the record a finished writer would have indexed. */
export function benchRecord(i: number, createdAt: number): RunRecord {
  const run = benchRun(i);
  const metrics = run.series.map((s): SeriesSummary => ({
    name: s.name,
    context: s.context,
    count: s.values.length,
    first_step: 0,
    last_step: s.values.length - 1,
    last: s.values.at(-1)!,
    min: Math.min(...s.values),
    max: Math.max(...s.values),
    last_time: createdAt + 60,
  }));
  return {
    hash: newHash(),
    name: run.name,
    experiment: run.experiment,
    description: "",
    tags: run.tags,
    status: "finished",
    signal: null,
    exit_code: null,
    created_at: createdAt,
    ended_at: createdAt + 60,
    archived: false,
    params: run.params,
    metrics,
    data_version: 2,
  };
}

/** Writes runs `from` to `to - 1` through the writer: start, set, track, close. */
async function _writeRuns(path: string, from: number, to: number) {
  const repo = Repo.openSync(path);
  try {
    for (let i = from; i < to; i++) {
      const spec = benchRun(i);
      const run = await repo.startRun({
        name: spec.name,
        experiment: spec.experiment,
        tags: spec.tags,
      });
      for (const [key, value] of Object.entries(spec.params)) {
        run.set(key, value);
      }
      for (let p = 0; p < POINTS; p++) {
        for (const s of spec.series) {
          run.track(s.values[p]!, { name: s.name, context: s.context });
        }
      }
      await run.close();
    }
  } finally {
    repo.close();
  }
}

/**
 * Writes the {@linkcode RUNS} runs in {@linkcode WRITERS} child processes
 * and, while they run (they leave a core mostly idle, waiting on files), the
 * {@linkcode MANY_RUNS} records in this one. Milliseconds each took: the
 * writers' is the longest a writer process lived, as it reports itself.
 */
async function _generate(
  runs: string,
  records: string,
): Promise<{ runsMs: number; recordsMs: number }> {
  // The index is made here, not by whichever writer finalizes a run first.
  const repo = Repo.openSync(runs, { create: true });
  repo.index();
  repo.close();
  const per = Math.ceil(RUNS / WRITERS);
  const writers = Array.from({ length: WRITERS }, (_, w) => {
    const from = w * per, to = Math.min(RUNS, from + per);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", SELF, "write", runs, `${from}`, `${to}`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return child.output().then((out) => {
      const decoder = new TextDecoder();
      if (!out.success) {
        throw new Error(
          `The run writer for runs ${from} to ${to} exited with ${out.code}: ${
            decoder.decode(out.stderr)
          }`,
        );
      }
      return (JSON.parse(decoder.decode(out.stdout)) as { ms: number }).ms;
    });
  });
  let recordsMs: number;
  try {
    recordsMs = timed(() => {
      const start = Date.now() / 1000 - MANY_RUNS;
      bulkWriteRecords(
        records,
        MANY_RUNS,
        (i) => benchRecord(i, start + i),
        (n) => {
          if (n % 25_000 === 0) {
            progress(`${formatCount(n)} of ${formatCount(MANY_RUNS)} records`);
          }
        },
      );
    }).ms;
  } finally {
    // Awaited even when the load failed, so no writer outlives the benchmark.
    await Promise.allSettled(writers);
  }
  return { runsMs: Math.max(...await Promise.all(writers)), recordsMs };
}

// --- 1. 10,000 runs through the writer ---------------------------------------

function tenThousandRuns(path: string, generationMs: number): Figure[] {
  const repo = Repo.openSync(path);
  try {
    const indexed = searchRuns(repo, "", { limit: 0 }).total;
    const markers = repo.listMarkers().length;
    if (indexed !== RUNS || markers !== 0) {
      throw new Error(
        `expected ${RUNS} indexed runs and no marker, found ${indexed} indexed and ${markers} markers`,
      );
    }
    const slice = searchRuns(
      repo,
      `run.experiment == "${UNINDEXED_EXPERIMENT}"`,
      { limit: RUNS },
    ).runs.map((run) => run.record.hash);

    progress(
      `${QUERIES.length} queries × up to ${REPS_INDEXED} over ${
        formatCount(RUNS)
      } runs, all indexed`,
    );
    const all = _measure(repo, QUERIES, REPS_INDEXED, BUDGET_MS);
    const big = _measure(
      repo,
      QUERIES,
      REPS_INDEXED,
      BUDGET_MS,
      true,
      BIG_PAGE,
    );

    progress(
      `the same with the ${
        formatCount(slice.length)
      } runs of ${UNINDEXED_EXPERIMENT} unindexed, × up to ${REPS_UNINDEXED}; and restricted to them, indexed vs unindexed`,
    );
    const restricted = QUERIES.map((q) => ({
      ...q,
      text: `run.experiment == "${UNINDEXED_EXPERIMENT}" and (${q.text})`,
    }));
    const mixed = _emptySamples(QUERIES);
    const sliceIndexed = _emptySamples(restricted);
    const sliceUnindexed = _emptySamples(restricted);
    // Markers toggled every round, so both sides see the same machine noise.
    const start = performance.now();
    for (let rep = 0; rep < REPS_UNINDEXED; rep++) {
      if (rep >= 5 && performance.now() - start > BUDGET_UNINDEXED_MS) break;
      _append(sliceIndexed, _measure(repo, restricted, 1, 0, rep === 0));
      for (const hash of slice) repo.touchMarker(hash);
      _append(sliceUnindexed, _measure(repo, restricted, 1, 0, rep === 0));
      _append(mixed, _measure(repo, QUERIES, 1, 0, rep === 0));
      for (const hash of slice) repo.removeMarker(hash);
    }
    _expectSameAnswers(all, mixed, "all indexed", "1,000 unindexed");
    _expectSameAnswers(
      sliceIndexed,
      sliceUnindexed,
      "restricted, indexed",
      "restricted, unindexed",
    );

    const figures: Figure[] = [{
      figure: `generate ${
        formatCount(RUNS)
      } runs through the writer (startRun, set 100 params, 10 series × ${POINTS} points, close), ${WRITERS} processes`,
      measured: `${(generationMs / 1000).toFixed(1)} s (${
        formatCount(Math.round(RUNS / (generationMs / 1000)))
      } runs/s; the 100k records were written meanwhile)`,
    }];
    for (const [i, q] of QUERIES.entries()) {
      const a = all[i]!;
      figures.push({
        figure: `${_call(q)} ${q.label} \`${q.text}\`, ${
          formatCount(RUNS)
        } runs all indexed: p50 / p99 (n = ${a.ms.length}; ${_matches(a)})`,
        measured: p50p99(a.ms),
        target: "p50 ≤ 20 ms",
        pass: quantile(a.ms, 0.5) <= 20,
      });
    }
    for (const [i, q] of QUERIES.entries()) {
      const b = big[i]!;
      figures.push({
        figure: `… ${q.label} with a page of ${
          formatCount(BIG_PAGE)
        } (every record on it decoded): p50 / p99 (n = ${b.ms.length}; ${
          _matches(b)
        })`,
        measured: p50p99(b.ms),
        baseline: `page of ${PAGE}: ${formatMs(quantile(all[i]!.ms, 0.5))} p50`,
      });
    }
    for (const [i, q] of QUERIES.entries()) {
      const m = mixed[i]!;
      figures.push({
        figure: `… ${q.label}, ${formatCount(slice.length)} of the ${
          formatCount(RUNS)
        } runs unindexed (marker touched; read from their run spaces): p50 / p99 (n = ${m.ms.length}; same answer)`,
        measured: p50p99(m.ms),
        baseline: `all indexed: ${formatMs(quantile(all[i]!.ms, 0.5))} p50`,
      });
    }
    for (const [i, q] of QUERIES.entries()) {
      const fast = median(sliceIndexed[i]!.ms);
      const slow = median(sliceUnindexed[i]!.ms);
      figures.push({
        figure: `index speed-up, ${q.label} restricted to the same ${
          formatCount(slice.length)
        } runs (\`run.experiment == "${UNINDEXED_EXPERIMENT}" and (…)\`, ${
          _matches(sliceIndexed[i]!)
        }), markers absent vs present in alternate rounds: unindexed ÷ indexed median (n = ${
          sliceIndexed[i]!.ms.length
        })`,
        measured: `${(slow / fast).toFixed(slow / fast < 10 ? 1 : 0)}×`,
        baseline: `${formatMs(slow)} unindexed vs ${formatMs(fast)} indexed`,
      });
    }
    return figures;
  } finally {
    repo.close();
  }
}

/** Timings of one query, and its answer (the same on every repetition). */
interface Samples {
  ms: number[];
  total: number;
  /** Hashes (and series, for metric search) of the returned page, in order. */
  page: string[];
}

function _emptySamples(queries: BenchQuery[]): Samples[] {
  return queries.map(() => ({ ms: [], total: -1, page: [] }));
}

function _append(into: Samples[], from: Samples[]): void {
  from.forEach((s, i) => {
    into[i]!.ms.push(...s.ms);
    into[i]!.total = s.total;
    into[i]!.page = s.page;
  });
}

/**
 * Times each query up to `reps` times, interleaved, asking for a first page
 * of `limit`, after one untimed round when `warm`. Stops
 * early, after at least 10 rounds, once `budgetMs` have passed.
 */
function _measure(
  repo: Repo,
  queries: BenchQuery[],
  reps: number,
  budgetMs: number,
  warm = true,
  limit = PAGE,
): Samples[] {
  const samples = _emptySamples(queries);
  const start = performance.now();
  for (let rep = warm ? -1 : 0; rep < reps; rep++) {
    if (rep >= 10 && performance.now() - start > budgetMs) break;
    for (const [i, q] of queries.entries()) {
      const { ms, result } = timed(() => _search(repo, q, limit));
      if (rep >= 0) samples[i]!.ms.push(ms);
      samples[i]!.total = result.total;
      samples[i]!.page = result.page;
    }
  }
  return samples;
}

function _search(
  repo: Repo,
  q: BenchQuery,
  limit: number,
): { total: number; page: string[] } {
  if (q.kind === "runs") {
    const found = searchRuns(repo, q.text, { limit });
    if (found.unreadable.length > 0) {
      throw new Error(`unreadable runs: ${JSON.stringify(found.unreadable)}`);
    }
    return {
      total: found.total,
      page: found.runs.map((run) => run.record.hash),
    };
  }
  const found = searchMetrics(repo, q.text, { limit });
  return {
    total: found.total,
    page: found.matches.map((m) =>
      `${m.run.record.hash} ${m.series.name} ${
        JSON.stringify(m.series.context)
      }`
    ),
  };
}

/** Throws unless both settings gave the same totals and pages. */
function _expectSameAnswers(
  a: Samples[],
  b: Samples[],
  aName: string,
  bName: string,
): void {
  a.forEach((s, i) => {
    const t = b[i]!;
    if (s.total !== t.total || s.page.join("\n") !== t.page.join("\n")) {
      throw new Error(
        `query ${
          QUERIES[i]!.label
        } answered differently ${aName} (${s.total} matches) and ${bName} (${t.total} matches)`,
      );
    }
  });
}

// --- 2. 100,000 runs, index only ---------------------------------------------

function hundredThousandRuns(path: string, generationMs: number): Figure[] {
  const repo = Repo.openSync(path);
  try {
    const count = searchRuns(repo, "", { limit: 0 }).total;
    if (count !== MANY_RUNS) {
      throw new Error(`expected ${MANY_RUNS} indexed runs, found ${count}`);
    }
    progress(
      `param filter × up to ${REPS_MANY} over ${formatCount(MANY_RUNS)} runs`,
    );
    const [samples] = _measure(repo, [QUERIES[0]!], REPS_MANY, BUDGET_MS);
    const p50 = quantile(samples!.ms, 0.5);
    return [
      {
        figure: `write ${
          formatCount(MANY_RUNS)
        } synthetic RunRecords (benchRun's shape, series without previews) with IndexDb.write(); value indexes dropped for the load, then re-created from their own DDL`,
        measured: `${(generationMs / 1000).toFixed(1)} s`,
      },
      {
        figure: `searchRuns() param filter, ${
          formatCount(MANY_RUNS)
        } runs in the index only (no run spaces, no markers): p50 / p99 (n = ${
          samples!.ms.length
        }; ${_matches(samples!)})`,
        measured: p50p99(samples!.ms),
        target: "p50 ≤ 200 ms",
        pass: p50 <= 200,
      },
    ];
  } finally {
    repo.close();
  }
}

// --- 3. Downsampling -----------------------------------------------------------

function downsampling(): Figure[] {
  progress(
    `downsample(): ${formatCount(DOWNSAMPLE_POINTS)} points → ${
      formatCount(BUCKETS)
    } buckets × ${DOWNSAMPLE_REPS}, and every-k-th-point decimation`,
  );
  const steps = new Float64Array(DOWNSAMPLE_POINTS);
  const values = new Float64Array(DOWNSAMPLE_POINTS);
  const random = _mulberry32(42);
  for (let i = 0; i < DOWNSAMPLE_POINTS; i++) {
    steps[i] = i;
    values[i] = Math.exp(-i / 2e5) + 0.05 * random();
  }
  const spike = 100;
  values[SPIKE_AT] = spike;

  const m4Ms: number[] = [];
  const naiveMs: number[] = [];
  let m4 = downsample(steps, values, BUCKETS);
  // Naive decimation gets as many points as M4 returned: equal budgets.
  const stride = Math.max(1, Math.floor(DOWNSAMPLE_POINTS / m4.steps.length));
  let naive = _decimate(steps, values, stride);
  for (let rep = 0; rep < DOWNSAMPLE_REPS; rep++) {
    let t = timed(() => downsample(steps, values, BUCKETS));
    m4Ms.push(t.ms);
    m4 = t.result;
    t = timed(() => _decimate(steps, values, stride));
    naiveMs.push(t.ms);
    naive = t.result;
  }
  const kept = (points: { values: Float64Array }) =>
    points.values.includes(spike) ? "spike kept" : "spike **lost**";
  const ms = median(m4Ms);
  return [
    {
      figure: `downsample() of ${formatCount(DOWNSAMPLE_POINTS)} points to ${
        formatCount(BUCKETS)
      } buckets (M4): median of ${DOWNSAMPLE_REPS}`,
      measured: formatMs(ms),
      baseline: `every ${stride}th point: ${formatMs(median(naiveMs))}`,
      target: "≤ 50 ms",
      pass: ms <= 50,
    },
    {
      figure: `… a single spike at step ${
        SPIKE_AT.toLocaleString("en-US")
      } among ${formatCount(DOWNSAMPLE_POINTS)} points`,
      measured: `${kept(m4)} (${formatCount(m4.steps.length)} points)`,
      baseline: `every ${stride}th point: ${kept(naive)} (${
        formatCount(naive.steps.length)
      } points)`,
      target: "kept",
      pass: m4.values.includes(spike),
    },
  ];
}

/** Every `stride`-th point from the first: the naive baseline. */
function _decimate(
  steps: Float64Array,
  values: Float64Array,
  stride: number,
): { steps: Float64Array; values: Float64Array } {
  const n = Math.ceil(steps.length / stride);
  const s = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0, at = 0; at < steps.length; i++, at += stride) {
    s[i] = steps[at]!;
    v[i] = values[at]!;
  }
  return { steps: s, values: v };
}

// --- Helpers -------------------------------------------------------------------

/** A small seeded PRNG, so every run of the benchmark generates the same data. */
function _mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function _call(q: BenchQuery): string {
  return q.kind === "runs" ? "searchRuns()" : "searchMetrics()";
}

function _matches(s: Samples): string {
  return `${formatCount(s.total)} matches, page of ${
    formatCount(s.page.length)
  }`;
}

if (import.meta.main) {
  const [command, path, from, to] = Deno.args;
  if (command !== "write" || path === undefined) {
    console.error(
      "Usage: deno run -A scripts/bench_query.ts write <repo> <from> <to>",
    );
    Deno.exit(2);
  }
  await _writeRuns(path, Number(from), Number(to));
  // Milliseconds since this process started, for the benchmark's figure.
  console.log(JSON.stringify({ ms: performance.now() }));
}
