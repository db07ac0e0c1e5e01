/**
 * The web UI's pure modules, imported as the browser imports them (they
 * touch no DOM at import time): series arithmetic, formatting, param
 * paths, the explorer's and the runs table's state and plans.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Run, SeriesPage, SeriesPoints } from "../server/ui/api_types.js";
import { alpha, PALETTE, paletteColor } from "../server/ui/colors.js";
import {
  epochSeconds,
  fmtBytes,
  fmtClock,
  fmtContext,
  fmtContextKey,
  fmtDuration,
  fmtNum,
  fmtTime,
  fmtValue,
  num,
} from "../server/ui/format.js";
import {
  buildCatalog,
  chooseContext,
  contextsOf,
  defaultMetric,
  metricNames,
} from "../server/ui/metrics_catalog.js";
import {
  type Line,
  lineKey,
  linesOf,
  project,
  type Projection,
  stepRange,
} from "../server/ui/metrics_lines.js";
import { groupOf, planChart } from "../server/ui/metrics_plot.js";
import {
  type ExplorerState,
  MAX_LINES,
  readSettings,
  seriesQuery,
  settingsSearch,
  statusText,
} from "../server/ui/metrics_state.js";
import { emptyCatalog } from "../server/ui/metrics_catalog.js";
import {
  at,
  canonical,
  compareValues,
  leaves,
  metricExpr,
  paramExpr,
} from "../server/ui/params.js";
import * as runsModel from "../server/ui/runs_model.js";
import {
  aggregate,
  ema,
  GRID,
  interpolate,
  nearestIndex,
} from "../server/ui/series_math.js";
import { debounce, pool } from "../server/ui/tasks.js";

// --- Fixtures ------------------------------------------------------------

/** A run as the API sends it, with `overrides`. */
function run(overrides: Partial<Run> = {}): Run {
  return {
    hash: "0123456789abcdef0123",
    name: "run",
    experiment: "base",
    description: "",
    tags: [],
    status: "finished",
    signal: null,
    exit_code: 0,
    live: false,
    indexed: true,
    archived: false,
    created_at: "2026-01-01T00:00:00.000Z",
    ended_at: "2026-01-01T00:01:00.000Z",
    duration: 60,
    data_version: 1,
    params: {},
    metrics: [],
    ...overrides,
  };
}

/** A series summary named `name` in `context`. */
function summary(name: string, context = {}) {
  return {
    name,
    context,
    count: 1,
    first_step: 0,
    last_step: 0,
    last: 1,
    min: 1,
    max: 1,
  };
}

/** A line of the explorer: `values` at steps 0, 1, 2… unless given. */
function line(
  r: Run,
  values: SeriesPoints["values"],
  extra: Partial<SeriesPoints> = {},
): Line {
  const series = summary("loss", { subset: "train" });
  return {
    key: lineKey({ run: r, series }),
    run: r,
    series,
    data: {
      name: "loss",
      context: series.context,
      steps: values.map((_, i) => i),
      values,
      resolution: { kind: "raw", width: 1, origin: 0 },
      ...extra,
    },
    zoomed: null,
  };
}

/** `v` with -0 as 0, for comparisons that tell them apart. */
const plusZero = (v: number | null) => v === null ? null : v + 0;

const BY_STEP: Projection = { x: "step", log: false, smooth: 0 };

function close(actual: number | null | undefined, expected: number) {
  assert.ok(
    actual !== null && actual !== undefined &&
      Math.abs(actual - expected) < 1e-9,
    `${actual} is not ${expected}`,
  );
}

// --- series_math.js ------------------------------------------------------

Deno.test("ema() with weight 0 returns the values unchanged", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.double({ noNaN: true, min: -1e6, max: 1e6 }))),
      // -0 comes back as 0, which is the same value.
      (ys) => assert.deepEqual(ema(ys, 0).map(plusZero), ys.map(plusZero)),
    ),
  );
});

Deno.test("ema() is bias-corrected: a constant series stays at its value from the first point", () => {
  for (const weight of [0.3, 0.9, 0.99]) {
    for (const y of ema([5, 5, 5, 5], weight)) close(y, 5);
  }
});

Deno.test("ema() keeps gaps as gaps and does not let them move the average", () => {
  const withGap = ema([1, null, 3], 0.5);
  const without = ema([1, 3], 0.5);
  assert.equal(withGap[1], null);
  close(withGap[0], 1);
  close(withGap[2], without[1]!);
  // 0.5·(0.5·1) + 0.5·3 over 0.75 of weight.
  close(withGap[2], 1.75 / 0.75);
  assert.deepEqual(ema([null, null], 0.5), [null, null]);
});

Deno.test("ema() of an empty series is empty", () => {
  assert.deepEqual(ema([], 0.9), []);
});

Deno.test("interpolate() is linear between two points, and takes a gap's neighbour", () => {
  close(interpolate([0, 10], [0, 100], 0, 2.5), 25);
  close(interpolate([0, 10], [100, 0], 0, 10), 0);
  assert.equal(interpolate([0, 10], [null, 5], 0, 3), 5);
  assert.equal(interpolate([0, 10], [4, null], 0, 3), 4);
  assert.equal(interpolate([0, 10], [null, null], 0, 3), null);
});

Deno.test("interpolate() at or before the point, of a single point, or between equal x gives one point's y", () => {
  assert.equal(interpolate([0, 10], [7, 9], 0, 0), 7);
  assert.equal(interpolate([0, 10], [7, 9], 0, -5), 7);
  assert.equal(interpolate([3], [7], 0, 99), 7);
  assert.equal(interpolate([2, 2], [7, 9], 0, 2.5), 9);
});

Deno.test("aggregate() of no line, or of lines without points, is null", () => {
  assert.equal(aggregate([], "minmax"), null);
  assert.equal(
    aggregate([{ xs: [], ys: [] }, { xs: [], ys: [] }], "std"),
    null,
  );
});

Deno.test("aggregate() of lines at a single x gives one point with their mean and extremes", () => {
  const result = aggregate([
    { xs: [5], ys: [1] },
    { xs: [5], ys: [3] },
    { xs: [], ys: [] },
  ], "minmax");
  assert.deepEqual(result, { xs: [5], mean: [2], lo: [1], hi: [3] });
});

Deno.test("aggregate() counts each line only inside its own x range", () => {
  const result = aggregate([
    { xs: [0, 10], ys: [1, 1] },
    { xs: [0, 5], ys: [3, 3] },
  ], "minmax")!;
  assert.equal(result.xs.length, GRID);
  assert.equal(result.xs[0], 0);
  assert.equal(result.xs[GRID - 1], 10);
  result.xs.forEach((x, i) => {
    if (x <= 5) {
      close(result.mean[i], 2);
      assert.deepEqual([result.lo[i], result.hi[i]], [1, 3]);
    } else {
      close(result.mean[i], 1);
      assert.deepEqual([result.lo[i], result.hi[i]], [1, 1]);
    }
  });
});

Deno.test("aggregate() interpolates lines logged at different x values onto one grid", () => {
  // y = x and y = 10 - x average to 5 everywhere.
  const result = aggregate([
    { xs: [0, 10], ys: [0, 10] },
    { xs: [0, 2.5, 5, 10], ys: [10, 7.5, 5, 0] },
  ], "minmax")!;
  result.xs.forEach((x, i) => {
    close(result.mean[i], 5);
    close(result.lo[i], Math.min(x, 10 - x));
    close(result.hi[i], Math.max(x, 10 - x));
  });
});

Deno.test('aggregate() with "std" gives mean ± the population standard deviation', () => {
  const result = aggregate([
    { xs: [0, 1], ys: [1, 1] },
    { xs: [0, 1], ys: [3, 3] },
    { xs: [0, 1], ys: [5, 5] },
  ], "std")!;
  const sd = Math.sqrt(8 / 3);
  result.xs.forEach((_, i) => {
    close(result.mean[i], 3);
    close(result.lo[i], 3 - sd);
    close(result.hi[i], 3 + sd);
  });
});

Deno.test("aggregate() leaves out grid points where every line has a gap", () => {
  assert.deepEqual(
    aggregate([{ xs: [0, 1, 2], ys: [null, null, null] }], "minmax"),
    { xs: [], mean: [], lo: [], hi: [] },
  );
  // A gap next to a point takes the point's value rather than none.
  const result = aggregate([{ xs: [0, 10], ys: [4, null] }], "minmax")!;
  assert.equal(result.xs.length, GRID);
  for (const m of result.mean) assert.equal(m, 4);
});

Deno.test("aggregate() of log-scale lines averages what is left after the gaps for values ≤ 0", () => {
  const log: Projection = { x: "step", log: true, smooth: 0 };
  const a = project(line(run(), [-1, 0, 10]), log);
  const b = project(line(run(), [100, 100, 100]), log);
  assert.deepEqual(a.ys, [null, null, 10]);
  const result = aggregate([a, b], "minmax")!;
  // Line a counts past step 1, where its gap takes the next point's value.
  close(result.mean[0], 100);
  close(result.mean[result.mean.length - 1], 55);
});

Deno.test("nearestIndex() finds the nearest x, the first of a tie, and -1 for none", () => {
  assert.equal(nearestIndex([], 3), -1);
  assert.equal(nearestIndex([7], -100), 0);
  assert.equal(nearestIndex([0, 10, 20], 14), 1);
  assert.equal(nearestIndex([0, 10, 20], 15), 1);
  assert.equal(nearestIndex([0, 10, 20], 16), 2);
  assert.equal(nearestIndex([0, 10, 20], 99), 2);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1 }),
      fc.integer({ min: -1200, max: 1200 }),
      (values, x) => {
        const xs = [...values].sort((a, b) => a - b);
        const best = Math.min(...xs.map((v) => Math.abs(v - x)));
        assert.equal(Math.abs(xs[nearestIndex(xs, x)]! - x), best);
      },
    ),
  );
});

// --- format.js -----------------------------------------------------------

Deno.test("num() reads numbers and the API's non-finite strings, and nothing else", () => {
  assert.equal(num(1.5), 1.5);
  assert.ok(Number.isNaN(num("NaN")));
  assert.equal(num("Infinity"), Infinity);
  assert.equal(num("-Infinity"), -Infinity);
  for (const other of ["1", "nan", null, undefined, true, {}]) {
    assert.equal(num(other), null);
  }
});

Deno.test("fmtNum() keeps integers whole, five significant digits otherwise, and exponents for tiny or huge values", () => {
  assert.equal(fmtNum(0), "0");
  assert.equal(fmtNum(1234567), "1,234,567");
  assert.equal(fmtNum(-42), "-42");
  assert.equal(fmtNum(0.123456), "0.12346");
  assert.equal(fmtNum(-0.5), "-0.5");
  assert.equal(fmtNum(0.000123456), "1.235e-4");
  assert.equal(fmtNum(1234567.5), "1.235e+6");
  assert.equal(fmtNum(1e15), "1.000e+15");
});

Deno.test("fmtNum() shows non-finite values by name, null as nothing, and other text as is", () => {
  assert.equal(fmtNum("NaN"), "NaN");
  assert.equal(fmtNum(NaN), "NaN");
  assert.equal(fmtNum("-Infinity"), "-Infinity");
  assert.equal(fmtNum(null), "");
  assert.equal(fmtNum(undefined), "");
  assert.equal(fmtNum("abc"), "abc");
});

Deno.test("fmtValue() spells param values as Python does", () => {
  assert.equal(fmtValue(null), "None");
  assert.equal(fmtValue(undefined), "");
  assert.equal(fmtValue(true), "True");
  assert.equal(fmtValue(false), "False");
  assert.equal(fmtValue("adam"), "adam");
  assert.equal(fmtValue(0.001), "0.001");
  assert.equal(fmtValue("Infinity"), "Infinity");
  assert.equal(fmtValue([1, "a"]), '[1,"a"]');
  assert.equal(fmtValue({ a: 1 }), '{"a":1}');
});

Deno.test("fmtDuration() shows seconds, minutes, hours and days, and nothing for no number", () => {
  assert.equal(fmtDuration(5.2), "5.2s");
  assert.equal(fmtDuration(12.4), "12s");
  assert.equal(fmtDuration(65), "1m 05s");
  assert.equal(fmtDuration(3725), "1h 02m");
  assert.equal(fmtDuration(49 * 3600), "2d 1h");
  assert.equal(fmtDuration(-3), "0.0s");
  assert.equal(fmtDuration(NaN), "");
  assert.equal(fmtDuration(Infinity), "");
  assert.equal(fmtDuration(null), "");
});

Deno.test("fmtTime() and fmtClock() show the local date and time of day", () => {
  const iso = "2026-11-25T20:55:38.000Z";
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  const clock = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  assert.equal(fmtClock(d.getTime() / 1000), clock);
  assert.equal(
    fmtTime(iso),
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock}`,
  );
  assert.equal(fmtTime(null), "");
  assert.equal(fmtTime(""), "");
});

Deno.test("epochSeconds() reads an ISO time, and null for none", () => {
  assert.equal(epochSeconds("1970-01-01T00:01:00Z"), 60);
  assert.equal(epochSeconds(null), null);
});

Deno.test("fmtContext() lists a context's entries, and {} for none", () => {
  assert.equal(fmtContext({}), "{}");
  assert.equal(fmtContext(null), "{}");
  assert.equal(
    fmtContext({ subset: "train", gpu: 0, system: true }),
    "subset=train, gpu=0, system=true",
  );
  assert.equal(fmtContext({ pair: [1, 2] }), "pair=[1,2]");
});

Deno.test("fmtContextKey() shows a canonical context key, or the key itself when it is not JSON", () => {
  assert.equal(fmtContextKey('{"subset":"val"}'), "subset=val");
  assert.equal(fmtContextKey("{}"), "{}");
  assert.equal(fmtContextKey("not json"), "not json");
});

Deno.test("fmtBytes() uses binary units with one decimal below 10", () => {
  assert.equal(fmtBytes(0), "0 B");
  assert.equal(fmtBytes(1023), "1023 B");
  assert.equal(fmtBytes(1536), "1.5 KiB");
  assert.equal(fmtBytes(12 * 1024 ** 2), "12 MiB");
  assert.equal(fmtBytes(5 * 1024 ** 5), "5120 TiB");
});

// --- params.js -----------------------------------------------------------

Deno.test("canonical() gives equal text for values whose keys differ only in order, at any depth", () => {
  assert.equal(
    canonical({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }),
    '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const reversed = JSON.parse(
        JSON.stringify(value),
        (_key, v) =>
          v !== null && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
      );
      assert.equal(canonical(reversed), canonical(value));
      assert.deepEqual(
        JSON.parse(canonical(value)),
        JSON.parse(JSON.stringify(value)),
      );
    }),
  );
});

Deno.test("leaves() lists every scalar and list with its path, and no object", () => {
  assert.deepEqual(
    leaves({ hparams: { lr: 0.1, opt: { name: "adam" } }, layers: [1, 2] }),
    [
      [["hparams", "lr"], 0.1],
      [["hparams", "opt", "name"], "adam"],
      [["layers"], [1, 2]],
    ],
  );
  assert.deepEqual(leaves({ empty: {} }), []);
  assert.deepEqual(leaves(null), []);
});

Deno.test("at() follows a param path, and is undefined past a missing key or a scalar", () => {
  const params = { hparams: { lr: 0.1, none: null }, list: [5, 6] };
  assert.equal(at(params, ["hparams", "lr"]), 0.1);
  assert.equal(at(params, ["hparams", "none"]), null);
  assert.equal(at(params, ["list", "1"]), 6);
  assert.deepEqual(at(params, []), params);
  assert.equal(at(params, ["hparams", "nope"]), undefined);
  assert.equal(at(params, ["hparams", "lr", "deeper"]), undefined);
  assert.equal(at(params, ["hparams", "none", "x"]), undefined);
});

Deno.test("paramExpr() and metricExpr() spell what they name in the query language", () => {
  assert.equal(paramExpr(["hparams", "lr"]), 'run["hparams"]["lr"]');
  assert.equal(paramExpr(['say "hi"']), 'run["say \\"hi\\""]');
  assert.equal(metricExpr("loss", {}), 'run.metrics["loss"]');
  assert.equal(metricExpr("loss", null), 'run.metrics["loss"]');
  assert.equal(
    metricExpr("loss", { subset: "train" }),
    'run.metrics["loss", {"subset":"train"}]',
  );
});

Deno.test("compareValues() orders numbers by value and other values as text", () => {
  assert.deepEqual(
    ["10", "9", "0.5", "1e-3"].sort(compareValues),
    ["1e-3", "0.5", "9", "10"],
  );
  assert.deepEqual(["sgd", "adam", "(missing)"].sort(compareValues), [
    "(missing)",
    "adam",
    "sgd",
  ]);
  assert.ok(compareValues("NaN", "1") > 0, "NaN is not a finite number");
});

// --- colors.js and tasks.js ----------------------------------------------

Deno.test("paletteColor() cycles through the palette, and alpha() makes rgba()", () => {
  assert.equal(paletteColor(0), PALETTE[0]);
  assert.equal(paletteColor(PALETTE.length + 2), PALETTE[2]);
  assert.equal(new Set(PALETTE).size, PALETTE.length);
  assert.equal(alpha("#1f77b4", 0.18), "rgba(31, 119, 180, 0.18)");
  assert.equal(alpha("#000000", 1), "rgba(0, 0, 0, 1)");
});

Deno.test("pool() runs at most `limit` tasks at once and keeps the results in order", async () => {
  let running = 0, most = 0;
  const tasks = [30, 5, 20, 1, 10].map((ms, i) => async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return i;
  });
  assert.deepEqual(await pool(tasks, 2), [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  assert.deepEqual(await pool([], 4), []);
});

Deno.test("pool() rejects with a task's failure", async () => {
  await assert.rejects(
    pool([
      () => Promise.resolve(1),
      () => Promise.reject(new RangeError("bad task")),
    ], 1),
    RangeError,
  );
});

Deno.test("debounce() calls once, later, with the last arguments", async () => {
  const calls: number[][] = [];
  let done!: () => void;
  const called = new Promise<void>((resolve) => (done = resolve));
  const debounced = debounce((...args: number[]) => {
    calls.push(args);
    done();
  }, 5);
  debounced(1);
  debounced(2, 3);
  assert.deepEqual(calls, [], "not at once");
  await called;
  assert.deepEqual(calls, [[2, 3]]);
});

// --- metrics_state.js ----------------------------------------------------

Deno.test("readSettings() of an empty address gives the explorer's defaults", () => {
  assert.deepEqual(readSettings(""), {
    metric: "",
    context: null,
    runQ: "",
    hashes: [],
    group: "",
    agg: "",
    smooth: 0,
    x: "step",
    log: false,
  });
});

Deno.test("readSettings() keeps valid run hashes only, and defaults an unknown axis, aggregate or smoothing", () => {
  const settings = readSettings(
    "?runs=0123456789abcdef,XYZ,,01234567&x=sideways&agg=median&smooth=abc&context=",
  );
  assert.deepEqual(settings.hashes, ["0123456789abcdef", "01234567"]);
  assert.equal(settings.x, "step");
  assert.equal(settings.agg, "");
  assert.equal(settings.smooth, 0);
  assert.equal(settings.context, "", "an empty context means any context");
});

Deno.test("settingsSearch() leaves defaults out and round-trips through readSettings()", () => {
  const settings = {
    ...readSettings(""),
    metric: "loss",
    runQ: "run.hparams.lr > 0.01",
    hashes: ["0123456789abcdef"],
    group: "param:hparams.lr",
    agg: "std" as const,
    smooth: 0.6,
    x: "time" as const,
    log: true,
  };
  const context = '{"subset":"train"}';
  const search = settingsSearch(settings, context);
  assert.deepEqual(readSettings(search), { ...settings, context });
  assert.equal(settingsSearch(readSettings(""), ""), "");
  assert.equal(
    settingsSearch({ ...readSettings(""), metric: "loss" }, ""),
    "metric=loss",
  );
});

Deno.test("seriesQuery() joins the metric, context, runs and run filter with and", () => {
  assert.equal(
    seriesQuery({ metric: "loss", hashes: [], runQ: "  " }, ""),
    'metric.name == "loss"',
  );
  assert.equal(
    seriesQuery(
      { metric: "loss", hashes: ["0123abcd"], runQ: "run.hparams.lr < 1" },
      '{"subset":"train"}',
    ),
    'metric.name == "loss" and metric.context == {"subset":"train"} and run.hash in ["0123abcd"] and (run.hparams.lr < 1)',
  );
});

Deno.test("statusText() reports series found, lines drawn, loading, truncation, failures and zoom", () => {
  const base: ExplorerState = {
    ...readSettings("?metric=loss"),
    catalog: emptyCatalog(),
    lines: [line(run(), [1]), line(run({ hash: "ff00ff00" }), [2])],
    total: 1200,
    failed: 0,
    gen: 1,
    loading: false,
    hidden: new Set(),
    zoom: null,
    zoomGen: 0,
    zoomLoading: false,
    fetchMs: 0,
    firstChart: true,
    loadedQuery: null,
  };
  assert.equal(
    statusText(base, 2),
    `2 of 1,200 series · showing the first ${MAX_LINES}: narrow the run filter to see others`,
  );
  assert.equal(
    statusText(
      {
        ...base,
        total: 3,
        failed: 1,
        loading: true,
        zoom: [1, 2],
        zoomLoading: true,
      },
      1,
    ),
    "2 of 3 series · 1 lines drawn · loading… · 1 could not be read · reading the zoomed range…",
  );
  assert.equal(
    statusText({ ...base, total: 2, zoom: [1, 2] }, 2),
    "2 of 2 series · zoomed: double-click to reset",
  );
  assert.equal(statusText({ ...base, metric: "", total: 0, lines: [] }, 0), "");
});

// --- metrics_lines.js ----------------------------------------------------

Deno.test("linesOf() keeps the matches with points and counts the others as failed", () => {
  const r = run();
  const ok = line(r, [1, 2]);
  const page: SeriesPage = {
    series: [
      { run: r, series: ok.series, data: ok.data, error: null },
      { run: r, series: summary("acc"), data: null, error: "corrupt" },
      { run: r, series: summary("lr"), data: ok.data, error: "late failure" },
    ],
    total: 3,
    unreadable: [],
  };
  const { lines, failed } = linesOf(page);
  assert.equal(failed, 2);
  assert.deepEqual(lines, [ok]);
  assert.equal(
    lines[0]!.key,
    `${r.hash}\u0000loss\u0000{"subset":"train"}`,
  );
});

Deno.test("project() by epoch leaves out points without one, and by time counts from the run's creation", () => {
  const created = epochSeconds(run().created_at)!;
  const l = line(run(), [1, 2, 3], {
    epochs: [0, null, 1],
    times: [created + 0.5, created + 1, created + 2],
  });
  assert.deepEqual(project(l, { ...BY_STEP, x: "epoch" }), {
    xs: [0, 1],
    ys: [1, 3],
  });
  assert.deepEqual(project(l, { ...BY_STEP, x: "time" }), {
    xs: [0.5, 1, 2],
    ys: [1, 2, 3],
  });
  // An index preview has neither: nothing to draw until read from the run.
  assert.deepEqual(project(line(run(), [1, 2]), { ...BY_STEP, x: "time" }), {
    xs: [],
    ys: [],
  });
});

Deno.test("project() makes gaps of NaN and infinities, and on a log scale of values ≤ 0", () => {
  const l = line(run(), ["NaN", -1, 0, 2, "Infinity"]);
  assert.deepEqual(project(l, BY_STEP).ys, [null, -1, 0, 2, null]);
  assert.deepEqual(project(l, { ...BY_STEP, log: true }).ys, [
    null,
    null,
    null,
    2,
    null,
  ]);
});

Deno.test("project() prefers the zoomed points and smooths with ema()", () => {
  const l = line(run(), [1, 2, 3]);
  l.zoomed = { ...l.data, steps: [10, 11], values: [4, 8] };
  assert.deepEqual(project(l, BY_STEP), { xs: [10, 11], ys: [4, 8] });
  const smoothed = project(l, { ...BY_STEP, smooth: 0.5 });
  assert.deepEqual(smoothed.ys, ema([4, 8], 0.5));
});

Deno.test("stepRange() is the zoomed range itself by step, else the steps around the points inside it", () => {
  const created = epochSeconds(run().created_at)!;
  const l = line(run(), [1, 2, 3, 4, 5], {
    steps: [0, 10, 20, 30, 40],
    times: [0, 1, 2, 3, 4].map((t) => created + t),
  });
  assert.deepEqual(stepRange(l, [1.2, 7.8], BY_STEP), [1, 8]);
  const time = { ...BY_STEP, x: "time" as const };
  assert.deepEqual(stepRange(l, [1.5, 2.5], time), [10, 30]);
  assert.deepEqual(stepRange(l, [0, 4], time), [0, 40]);
  assert.equal(stepRange(l, [10, 20], time), null);
});

// --- metrics_plot.js -----------------------------------------------------

const RUNS = [
  run({ hash: "aaaa0001", name: "a", params: { hparams: { lr: 0.1 } } }),
  run({ hash: "aaaa0002", name: "b", params: { hparams: { lr: 0.01 } } }),
  run({ hash: "aaaa0003", name: "c", params: { hparams: { lr: 0.1 } } }),
  run({ hash: "aaaa0004", name: "", experiment: "", params: {} }),
];
const LINES = RUNS.map((r, i) => line(r, [i, i + 1, i + 2]));
const PLAIN = {
  group: "",
  agg: "" as const,
  hidden: new Set<string>(),
  contextChosen: true,
  view: BY_STEP,
};

Deno.test("planChart() without grouping draws a line per run, each its own colour", () => {
  const plan = planChart(LINES, PLAIN);
  assert.deepEqual(plan.lines.map((l) => l.label), ["a", "b", "c", "aaaa0004"]);
  assert.deepEqual(plan.lines.map((l) => l.color), PALETTE.slice(0, 4));
  assert.deepEqual(plan.bands, []);
  assert.deepEqual(plan.groups.map((g) => g.members.length), [1, 1, 1, 1]);
  const withContext = planChart(LINES, { ...PLAIN, contextChosen: false });
  assert.equal(withContext.lines[0]!.label, "a subset=train");
});

Deno.test("planChart() grouped by a param colours by value in numeric order, and groups the runs lacking it as (missing)", () => {
  const plan = planChart(LINES, { ...PLAIN, group: "param:hparams.lr" });
  // "(missing)" is text: it sorts before the numbers, as "(" before digits.
  assert.deepEqual(plan.groups.map((g) => [g.label, g.members.length]), [
    ["(missing)", 1],
    ["0.01", 1],
    ["0.1", 2],
  ]);
  assert.deepEqual(plan.lines.map((l) => [l.label, l.color]), [
    ["aaaa0004 · (missing)", PALETTE[0]],
    ["b · 0.01", PALETTE[1]],
    ["a · 0.1", PALETTE[2]],
    ["c · 0.1", PALETTE[2]],
  ]);
});

Deno.test("planChart() with a mean per group draws a line and a band per group the legend shows", () => {
  const plan = planChart(LINES, {
    ...PLAIN,
    group: "param:hparams.lr",
    agg: "minmax",
    hidden: new Set(["(missing)"]),
  });
  assert.deepEqual(plan.lines.map((l) => [l.label, l.width]), [
    ["0.01 (mean of 1)", 2],
    ["0.1 (mean of 2)", 2],
  ]);
  assert.equal(plan.bands.length, 2);
  // Runs a and c: values i..i+2 for i = 0 and 2, so a mean of 1..3.
  close(plan.lines[1]!.ys[0], 1);
  assert.equal(plan.bands[1]!.lo[0], 0);
  assert.equal(plan.bands[1]!.hi[0], 2);
});

Deno.test("planChart() with a mean and no grouping draws one mean over every line, hidden or not", () => {
  const hidden = new Set([LINES[0]!.key]);
  const plan = planChart(LINES, { ...PLAIN, agg: "std", hidden });
  assert.deepEqual(plan.lines.map((l) => l.label), ["mean of 4"]);
  close(plan.lines[0]!.ys[0], 1.5);
  assert.equal(plan.bands.length, 1);
  assert.equal(plan.groups.length, 4, "the legend still lists every run");
});

Deno.test("planChart() leaves hidden groups out and draws every line when there is nothing to average", () => {
  const hidden = new Set([LINES[1]!.key]);
  assert.deepEqual(
    planChart(LINES, { ...PLAIN, hidden }).lines.map((l) => l.label),
    ["a", "c", "aaaa0004"],
  );
  const noEpochs = planChart(LINES, {
    ...PLAIN,
    agg: "minmax",
    view: { ...BY_STEP, x: "epoch" },
  });
  assert.equal(noEpochs.lines.length, 4);
  assert.deepEqual(noEpochs.lines[0]!.xs, []);
});

Deno.test("groupOf() names a line's group by attribute, context or param", () => {
  const l = LINES[3]!;
  assert.equal(groupOf(l, ""), null);
  assert.equal(groupOf(l, "attr:experiment"), "(none)");
  assert.equal(groupOf(LINES[0]!, "attr:experiment"), "base");
  assert.equal(groupOf(l, "attr:status"), "finished");
  assert.equal(groupOf(l, "attr:context"), "subset=train");
  assert.equal(groupOf(LINES[0]!, "param:hparams.lr"), "0.1");
  assert.equal(groupOf(l, "param:hparams.lr"), "(missing)");
  assert.equal(groupOf(l, "bogus"), null);
});

// --- metrics_catalog.js --------------------------------------------------

const SYSTEM = { system: true };
const CATALOG_RUNS = [
  run({
    metrics: [summary("acc", { subset: "val" }), summary("cpu", SYSTEM)],
    params: { hparams: { lr: 0.1, layers: [1, 2] }, seed: 1 },
  }),
  run({
    metrics: [
      summary("acc", { subset: "train" }),
      summary("cpu", SYSTEM),
      summary("loss", { subset: "train" }),
    ],
    params: { hparams: { lr: 0.2, opt: { name: "adam" } } },
  }),
  run({ metrics: [summary("cpu", SYSTEM)] }),
];

Deno.test("buildCatalog() counts metric names by run, with their contexts, and lists scalar params sorted", () => {
  const catalog = buildCatalog(CATALOG_RUNS);
  assert.deepEqual(metricNames(catalog), ["cpu", "acc", "loss"]);
  assert.deepEqual(contextsOf(catalog, "acc"), [
    ['{"subset":"train"}', { subset: "train" }],
    ['{"subset":"val"}', { subset: "val" }],
  ]);
  assert.deepEqual(contextsOf(catalog, "nope"), []);
  assert.deepEqual(catalog.params, ["hparams.lr", "hparams.opt.name", "seed"]);
});

Deno.test("defaultMetric() prefers loss, then the commonest metric outside system metrics", () => {
  assert.equal(defaultMetric(buildCatalog(CATALOG_RUNS)), "loss");
  assert.equal(defaultMetric(buildCatalog(CATALOG_RUNS.slice(0, 1))), "acc");
  assert.equal(defaultMetric(buildCatalog(CATALOG_RUNS.slice(2))), "cpu");
  assert.equal(defaultMetric(buildCatalog([])), null);
});

Deno.test("chooseContext() keeps the address's context, else the current one, else the only one, else a training one", () => {
  const train: [string, { subset: string }] = ['{"subset":"train"}', {
    subset: "train",
  }];
  const val: [string, { subset: string }] = ['{"subset":"val"}', {
    subset: "val",
  }];
  assert.equal(chooseContext([train, val], "", '{"gpu":1}'), '{"gpu":1}');
  assert.equal(chooseContext([train, val], train[0], val[0]), val[0]);
  assert.equal(chooseContext([train, val], val[0], null), val[0]);
  assert.equal(chooseContext([val], "", null), val[0]);
  assert.equal(chooseContext([val, train], "", null), train[0]);
  assert.equal(chooseContext([val, ['{"a":1}', { a: 1 }]], "", null), "");
  assert.equal(chooseContext([], "stale", null), "");
  assert.equal(chooseContext([train, val], "", ""), "", "any context");
});

// --- runs_model.js -------------------------------------------------------

Deno.test("the runs page's address round-trips, and hiding archived runs narrows the query", () => {
  const settings = {
    q: 'run.name == "a"',
    sort: "-run.name",
    hideArchived: true,
  };
  const search = runsModel.settingsSearch(settings);
  assert.deepEqual(runsModel.readSettings(search), settings);
  assert.equal(runsModel.settingsSearch(runsModel.readSettings("")), "");
  assert.equal(
    runsModel.effectiveQuery(settings),
    '(run.name == "a") and not run.archived',
  );
  assert.equal(
    runsModel.effectiveQuery({ ...settings, q: "  " }),
    "not run.archived",
  );
  assert.equal(
    runsModel.effectiveQuery({ ...settings, hideArchived: false, q: " x " }),
    "x",
  );
});

Deno.test("nextSort() cycles a column ascending, descending, then newest first; the creation column toggles", () => {
  const name = { key: "name", sort: "run.name" };
  assert.equal(runsModel.nextSort("", name), "run.name");
  assert.equal(runsModel.nextSort("run.name", name), "-run.name");
  assert.equal(runsModel.nextSort("-run.name", name), "");
  assert.equal(runsModel.nextSort("run.status", name), "run.name");
  const created = { key: "created", sort: "run.created_at" };
  assert.equal(runsModel.nextSort("", created), "run.created_at");
  assert.equal(runsModel.nextSort("run.created_at", created), "");
  assert.equal(runsModel.nextSort("run.name", created), "");
});

Deno.test("sortArrow() marks the sorted column, and newest first on the creation column", () => {
  const name = { key: "name", sort: "run.name" };
  const created = { key: "created", sort: "run.created_at" };
  assert.equal(runsModel.sortArrow("", created), "▼");
  assert.equal(runsModel.sortArrow("", name), "");
  assert.equal(runsModel.sortArrow("run.name", name), "▲");
  assert.equal(runsModel.sortArrow("-run.name", name), "▼");
  assert.equal(runsModel.sortArrow("run.name", { key: "tags" }), "");
  assert.equal(runsModel.pageSize(""), runsModel.PAGE_FAST);
  assert.equal(runsModel.pageSize("run.name"), runsModel.PAGE_SORTED);
});

Deno.test("defaultColumns() picks the commonest params, hyperparameters first, and the last value of the commonest series", () => {
  const known = runsModel.emptyKnown();
  runsModel.learn(known, [
    run({
      params: { seed: 1, data: { a: 1, b: 2, c: 3 }, hparams: { lr: 0.1 } },
      metrics: [summary("loss"), summary("cpu", SYSTEM), summary("acc")],
    }),
    run({
      params: { seed: 2, data: { a: 1, b: 2 } },
      metrics: [summary("acc")],
    }),
  ]);
  assert.equal(known.params.get("seed")?.n, 2);
  assert.equal(known.metrics.size, 2, "system metrics are left out");
  assert.deepEqual(runsModel.defaultColumns(known), {
    params: [["hparams", "lr"], ["seed"], ["data", "a"], ["data", "b"]],
    metrics: [
      { name: "acc", context: {}, agg: "last" },
      { name: "loss", context: {}, agg: "last" },
    ],
  });
});

Deno.test("rowWindow(), pageAhead() and pagesOnScreen() follow the scroll position", () => {
  const { ROW, OVERSCAN } = runsModel;
  assert.deepEqual(runsModel.rowWindow(0, 600, 1000), [
    0,
    Math.ceil(600 / ROW) + OVERSCAN,
  ]);
  assert.deepEqual(runsModel.rowWindow(100 * ROW, 10 * ROW, 1000), [
    100 - OVERSCAN,
    110 + OVERSCAN,
  ]);
  assert.deepEqual(runsModel.rowWindow(0, 600, 5), [0, 5]);
  assert.equal(runsModel.pageAhead(190, 230, 200, true), 1);
  assert.equal(runsModel.pageAhead(450, 490, 200, false), 1);
  assert.equal(runsModel.pageAhead(10, 50, 200, false), 0);
  assert.deepEqual(runsModel.pagesOnScreen(0, 600, 1000, 200), [0, 0]);
  assert.deepEqual(
    runsModel.pagesOnScreen(195 * ROW, 10 * ROW, 1000, 200),
    [0, 1],
  );
  assert.deepEqual(runsModel.pagesOnScreen(0, 600, 0, 200), [0, 0]);
});

Deno.test("pagesToDrop() keeps the pages nearest the screen, at most KEEP_PAGES", () => {
  const { KEEP_PAGES } = runsModel;
  const few = Array.from({ length: KEEP_PAGES }, (_, i) => i);
  assert.deepEqual(runsModel.pagesToDrop(few, 0), []);
  const many = Array.from({ length: KEEP_PAGES + 3 }, (_, i) => i);
  assert.deepEqual(
    runsModel.pagesToDrop(many, 10).sort((a, b) => a - b),
    [0, 1, 2],
  );
});
