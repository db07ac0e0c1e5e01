/**
 * The web UI's pure modules, imported as the browser imports them (they
 * touch no DOM at import time): series arithmetic, formatting, param
 * paths, the explorer's and the runs table's state and plans.
 */

import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import type {
  BinarySeriesPage,
  Run,
  SeriesPoints,
} from "../server/ui/api_types.js";
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
  closeNames,
  contextsOf,
  defaultMetric,
  metricNames,
} from "../server/ui/metrics_catalog.js";
import {
  type Line,
  lineKey,
  linesOf,
  needsRead,
  pointsFor,
  stepRange,
} from "../server/ui/metrics_lines.js";
import {
  DASHES,
  dashesOf,
  dashKey,
  groupOf,
  planChart,
} from "../server/ui/metrics_plot.js";
import {
  type ExplorerState,
  lineLimit,
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
import { ema, interpolate, nearestIndex } from "../server/ui/series_math.js";
import {
  type Points,
  type Projection,
  toPoints,
} from "../server/ui/series_draw.js";
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

/** A line of the explorer: its preview holds `values` at steps 0, 1, 2… unless given. */
function line(
  r: Run,
  values: SeriesPoints["values"],
  extra: Partial<SeriesPoints> = {},
): Line {
  const series = summary("loss", { subset: "train" });
  return {
    key: lineKey({ run: r, series }),
    index: 0,
    run: r,
    series,
    preview: toPoints({
      name: "loss",
      context: series.context,
      steps: values.map((_, i) => i),
      values,
      resolution: { kind: "raw", width: 1, origin: 0 },
      ...extra,
    }),
    full: null,
    zoomed: null,
    stale: false,
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
    dash: "",
    facet: "",
    agg: "",
    smooth: 0,
    x: "step",
    log: false,
    robust: false,
    yMin: null,
    yMax: null,
    more: [],
  });
});

Deno.test("readSettings() keeps valid run hashes only, and defaults an unknown axis, aggregate or smoothing", () => {
  const settings = readSettings(
    "?runs=0123456789abcdef,XYZ,,01234567&x=sideways&agg=mode&smooth=abc&context=",
  );
  assert.deepEqual(settings.hashes, ["0123456789abcdef", "01234567"]);
  assert.equal(settings.x, "step");
  assert.equal(settings.agg, "");
  assert.equal(settings.smooth, 0);
  assert.equal(settings.context, "", "an empty context means any context");
  assert.equal(readSettings("?agg=median").agg, "median");
  const bounds = readSettings("?ymin=abc&ymax=");
  assert.deepEqual([bounds.yMin, bounds.yMax], [null, null]);
  const fields = readSettings("?dash=run.hparams.lr&facet=attr:colour");
  assert.deepEqual([fields.dash, fields.facet], ["", ""]);
  const known = readSettings("?dash=attr:status&facet=param:a.b");
  assert.deepEqual([known.dash, known.facet], ["attr:status", "param:a.b"]);
});

Deno.test("settingsSearch() leaves defaults out and round-trips through readSettings()", () => {
  const settings = {
    ...readSettings(""),
    metric: "loss",
    runQ: "run.hparams.lr > 0.01",
    hashes: ["0123456789abcdef"],
    group: "param:hparams.lr",
    dash: "attr:experiment",
    facet: "param:hparams.optimizer.name",
    agg: "std" as const,
    smooth: 0.6,
    x: "time" as const,
    log: true,
    robust: true,
    yMin: -1.5,
    yMax: 0,
    more: [
      { metric: "acc", context: "" },
      { metric: "loss", context: '{"subset":"val"}' },
    ],
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

Deno.test("seriesQuery() matches any of several metrics, each in its context", () => {
  assert.equal(
    seriesQuery(
      {
        metric: "loss",
        hashes: [],
        runQ: "run.hparams.lr < 1",
        more: [{ metric: "acc", context: "" }],
      },
      '{"subset":"train"}',
    ),
    '((metric.name == "loss" and metric.context == {"subset":"train"}) or (metric.name == "acc")) and (run.hparams.lr < 1)',
  );
});

Deno.test("statusText() counts the lines shown at most per metric charted", () => {
  const state: ExplorerState = {
    ...readSettings("?metric=loss&also=acc"),
    catalog: emptyCatalog(),
    lines: [line(run(), [1])],
    total: 2 * MAX_LINES,
    failed: 0,
    gen: 1,
    loading: false,
    refining: false,
    hidden: new Set(),
    zoom: null,
    fetchMs: 0,
    firstChart: true,
    allFull: true,
    loadedQuery: null,
    invalid: false,
    why: null,
  };
  const shown = { drawn: 1, coarse: 0, clipped: 0 };
  assert.equal(lineLimit(state), 2 * MAX_LINES);
  assert.equal(statusText(state, shown), "1 of 2,000 series");
  assert.match(
    statusText({ ...state, total: 2 * MAX_LINES + 1 }, shown),
    /showing the first 2,000: narrow the run filter/,
  );
});

Deno.test("statusText() says how many values of the facet field have no chart", () => {
  const state: ExplorerState = {
    ...readSettings("?metric=loss&facet=param:seed"),
    catalog: emptyCatalog(),
    lines: [line(run(), [1])],
    total: 1,
    failed: 0,
    gen: 1,
    loading: false,
    refining: false,
    hidden: new Set(),
    zoom: null,
    fetchMs: 0,
    firstChart: true,
    allFull: true,
    loadedQuery: null,
    invalid: false,
    why: null,
  };
  const shown = { drawn: 1, coarse: 0, clipped: 0 };
  assert.equal(statusText(state, shown), "1 of 1 series");
  assert.equal(
    statusText(state, { ...shown, uncharted: 3 }),
    "1 of 1 series · 3 more values of the facet field not charted: narrow the run filter to see them",
  );
});

Deno.test("statusText() reports series found, lines drawn, loading, truncation, failures, previews, clipping and zoom", () => {
  const base: ExplorerState = {
    ...readSettings("?metric=loss"),
    catalog: emptyCatalog(),
    lines: [line(run(), [1]), line(run({ hash: "ff00ff00" }), [2])],
    total: 1200,
    failed: 0,
    gen: 1,
    loading: false,
    refining: false,
    hidden: new Set(),
    zoom: null,
    fetchMs: 0,
    firstChart: true,
    allFull: false,
    loadedQuery: null,
    invalid: false,
    why: null,
  };
  const shown = { drawn: 2, coarse: 0, clipped: 0 };
  assert.equal(
    statusText(base, shown),
    `2 of 1,200 series · showing the first ${
      MAX_LINES.toLocaleString("en-US")
    }: narrow the run filter to see others`,
  );
  assert.equal(
    statusText(
      { ...base, total: 3, failed: 1, loading: true, refining: true },
      { drawn: 1, coarse: 1, clipped: 1234 },
    ),
    "2 of 3 series · 1 lines drawn · loading… · 1 could not be read · log scale: 1,234 values ≤ 0 not drawn · preview — refining…",
  );
  assert.equal(
    statusText({ ...base, total: 2 }, { ...shown, coarse: 2 }),
    "2 of 2 series · preview",
  );
  assert.equal(
    statusText({ ...base, total: 2, zoom: [1, 2], refining: true }, {
      ...shown,
      coarse: 2,
    }),
    "2 of 2 series · zoomed: refining…",
  );
  assert.equal(
    statusText({ ...base, total: 2, zoom: [1, 2] }, shown),
    "2 of 2 series · zoomed: double-click to reset",
  );
});

Deno.test("statusText() says why no series matches, or asks for a metric", () => {
  const base: ExplorerState = {
    ...readSettings("?metric=los"),
    catalog: emptyCatalog(),
    lines: [],
    total: 0,
    failed: 0,
    gen: 1,
    loading: false,
    refining: false,
    hidden: new Set(),
    zoom: null,
    fetchMs: 0,
    firstChart: false,
    allFull: false,
    loadedQuery: null,
    invalid: false,
    why: null,
  };
  const none = { drawn: 0, coarse: 0, clipped: 0 };
  assert.equal(statusText(base, none), "No series match.");
  assert.equal(
    statusText({ ...base, why: "the run filter matches no run" }, none),
    "No series match: the run filter matches no run",
  );
  assert.equal(
    statusText({ ...base, invalid: true }, none),
    "No series match: the run filter is not a valid query.",
  );
  assert.equal(
    statusText({ ...base, loading: true }, none),
    "0 of 0 series · loading…",
  );
  assert.equal(statusText({ ...base, metric: "" }, none), "Choose a metric.");
});

// --- metrics_lines.js ----------------------------------------------------

Deno.test("linesOf() keeps the matches with points, at their place in the search, and counts the others as failed", () => {
  const r = run();
  const series = { ...summary("loss", { subset: "train" }), count: 5 };
  const data = {
    name: "loss",
    context: series.context,
    n: 2,
    steps: new Float64Array([0, 1]),
    values: new Float64Array([1, 2]),
    preview: true as const,
    resolution: { kind: "preview" as const, width: 1, origin: 0 },
  };
  const page: BinarySeriesPage = {
    series: [
      { run: r, series: summary("acc"), data: null, error: "corrupt" },
      { run: r, series, data, error: null },
      { run: r, series: summary("lr"), data, error: "late failure" },
    ],
    total: 3,
    unreadable: [],
  };
  const { lines, failed } = linesOf(page, 50);
  assert.equal(failed, 2);
  assert.equal(lines.length, 1);
  const [found] = lines;
  assert.equal(found!.key, `${r.hash}\u0000loss\u0000{"subset":"train"}`);
  assert.equal(found!.index, 51);
  assert.equal(found!.preview.values, data.values);
  assert.equal(found!.preview.complete, false, "2 of the series' 5 points");
  assert.deepEqual([found!.full, found!.zoomed, found!.stale], [
    null,
    null,
    false,
  ]);
});

/** Points read at pixel resolution: `values` at steps 0, 1, 2… in buckets of 64. */
function read(values: number[], extra: Partial<Points> = {}): Points {
  return {
    steps: values.map((_, i) => i),
    values,
    epochs: null,
    times: null,
    resolution: { kind: "buckets", width: 64, origin: 0 },
    complete: false,
    ...extra,
  };
}

Deno.test("pointsFor() draws the zoomed range's read, else the whole series', else the preview, with the axis's x values", () => {
  const l = line(run(), [1, 2, 3]);
  assert.equal(pointsFor(l, BY_STEP, null), l.preview);
  assert.equal(pointsFor(l, { ...BY_STEP, x: "epoch" }, null), null);
  const full = read([4, 5]);
  l.full = { points: full, width: 800, range: null };
  assert.equal(pointsFor(l, BY_STEP, null), full);
  assert.equal(pointsFor(l, BY_STEP, [0, 1]), full, "until the range is read");
  const zoomed = read([6]);
  l.zoomed = { points: zoomed, width: 800, range: [0, 1] };
  assert.equal(pointsFor(l, BY_STEP, [0, 1]), zoomed);
  assert.equal(pointsFor(l, BY_STEP, [0, 2]), full, "another range");
  assert.equal(pointsFor(l, BY_STEP, null), full);
  const withEpochs = read([4, 5], { epochs: [0, 0] });
  l.full = { points: withEpochs, width: 800, range: null };
  assert.equal(pointsFor(l, { ...BY_STEP, x: "epoch" }, null), withEpochs);
});

Deno.test("needsRead() wants a read of the range at the plot's width with the axis's x values, unless every point is there", () => {
  const l = line(run(), [1, 2, 3]);
  assert.equal(needsRead(l, BY_STEP, null, 800), true, "a preview");
  l.full = { points: read([1, 2]), width: 800, range: null };
  assert.equal(needsRead(l, BY_STEP, null, 800), false);
  assert.equal(needsRead(l, BY_STEP, null, 900), true, "a wider plot");
  assert.equal(needsRead(l, { ...BY_STEP, x: "time" }, null, 800), true);
  assert.equal(needsRead(l, BY_STEP, [0, 1], 800), true, "a zoom");
  l.zoomed = { points: read([1]), width: 800, range: [0, 1] };
  assert.equal(needsRead(l, BY_STEP, [0, 1], 800), false);
  assert.equal(needsRead(l, BY_STEP, [0, 2], 800), true);
  l.stale = true;
  assert.equal(needsRead(l, BY_STEP, null, 800), true, "the run moved on");
  l.stale = false;
  l.full = {
    points: read([1, 2], { complete: true }),
    width: 100,
    range: null,
  };
  assert.equal(needsRead(l, BY_STEP, [5, 9], 800), false, "every point");
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
  assert.equal(stepRange(line(run(), [1]), [0, 1], time), null, "no times");
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
  zoom: null,
  width: 200,
};

Deno.test("planChart() without grouping draws a line per run, each its own colour", () => {
  const plan = planChart(LINES, PLAIN);
  assert.deepEqual(plan.lines.map((l) => l.label), ["a", "b", "c", "aaaa0004"]);
  assert.deepEqual(plan.lines.map((l) => l.color), PALETTE.slice(0, 4));
  assert.deepEqual(plan.lines.map((l) => [l.band, l.coarse]), [
    [null, false],
    [null, false],
    [null, false],
    [null, false],
  ]);
  assert.deepEqual([plan.coarse, plan.clipped], [0, 0]);
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
  // Runs a and c: values i..i+2 for i = 0 and 2, so a mean of 1..3.
  close(plan.lines[1]!.ys[0], 1);
  assert.equal(plan.lines[1]!.band?.lo[0], 0);
  assert.equal(plan.lines[1]!.band?.hi[0], 2);
  assert.equal(plan.lines[1]!.coarse, false);
});

Deno.test("planChart() with a mean and no grouping draws one mean over every line, hidden or not", () => {
  const hidden = new Set([LINES[0]!.key]);
  const plan = planChart(LINES, { ...PLAIN, agg: "std", hidden });
  assert.deepEqual(plan.lines.map((l) => l.label), ["mean of 4"]);
  close(plan.lines[0]!.ys[0], 1.5);
  assert.ok(plan.lines[0]!.band);
  assert.equal(plan.groups.length, 4, "the legend still lists every run");
});

Deno.test("planChart() dashes each line by the value of a second field, a pattern per value in order, and lists the values", () => {
  const plan = planChart(LINES, { ...PLAIN, dash: "param:hparams.lr" });
  assert.deepEqual(plan.lines.map((l) => [l.label, l.color, l.dash]), [
    ["a · 0.1", PALETTE[0], DASHES[2]],
    ["b · 0.01", PALETTE[1], DASHES[1]],
    ["c · 0.1", PALETTE[2], DASHES[2]],
    ["aaaa0004 · (missing)", PALETTE[3], DASHES[0]],
  ]);
  assert.deepEqual(
    plan.dashed.map((d) => [d.label, d.count, d.dash, d.key]),
    [
      ["(missing)", 1, DASHES[0], dashKey("(missing)")],
      ["0.01", 1, DASHES[1], dashKey("0.01")],
      ["0.1", 2, DASHES[2], dashKey("0.1")],
    ],
  );
  assert.equal(new Set(DASHES.map(String)).size, DASHES.length);
  const seeds = [0, 1, 2, 3, 4].map((seed) =>
    line(run({ hash: `bbbb000${seed}`, params: { seed } }), [1])
  );
  assert.deepEqual(
    [...dashesOf(seeds, "param:seed").values()],
    [...DASHES, DASHES[0]],
    "the patterns repeat",
  );
  const hidden = planChart(LINES, {
    ...PLAIN,
    dash: "param:hparams.lr",
    hidden: new Set([dashKey("0.1")]),
  });
  assert.deepEqual(hidden.lines.map((l) => l.label), [
    "b · 0.01",
    "aaaa0004 · (missing)",
  ]);
  assert.deepEqual(planChart(LINES, PLAIN).dashed, []);
  assert.equal(planChart(LINES, PLAIN).lines[0]!.dash, undefined);
});

Deno.test("planChart() with a mean and a dash field draws a mean per dash value, or per group and dash value", () => {
  const byDash = planChart(LINES, {
    ...PLAIN,
    agg: "minmax",
    dash: "param:hparams.lr",
    hidden: new Set([LINES[0]!.key, dashKey("(missing)")]),
  });
  // Runs a and c are both in the 0.1 mean: a run's entry hides nothing.
  assert.deepEqual(byDash.lines.map((l) => [l.label, l.color, l.dash]), [
    ["0.01 (mean of 1)", PALETTE[0], DASHES[1]],
    ["0.1 (mean of 2)", PALETTE[0], DASHES[2]],
  ]);
  close(byDash.lines[1]!.ys[0], 1);
  const byBoth = planChart(LINES, {
    ...PLAIN,
    agg: "median",
    group: "attr:experiment",
    dash: "param:hparams.lr",
  });
  assert.deepEqual(byBoth.lines.map((l) => [l.label, l.color, l.dash]), [
    ["(none) · (missing) (median of 1)", PALETTE[0], DASHES[0]],
    ["base · 0.01 (median of 1)", PALETTE[1], DASHES[1]],
    ["base · 0.1 (median of 2)", PALETTE[1], DASHES[2]],
  ]);
});

Deno.test("planChart() leaves out hidden groups, and lines without the axis's x values", () => {
  const hidden = new Set([LINES[1]!.key]);
  assert.deepEqual(
    planChart(LINES, { ...PLAIN, hidden }).lines.map((l) => l.label),
    ["a", "c", "aaaa0004"],
  );
  for (const agg of ["", "minmax"] as const) {
    const noEpochs = planChart(LINES, {
      ...PLAIN,
      agg,
      view: { ...BY_STEP, x: "epoch" },
    });
    assert.deepEqual(noEpochs.lines, []);
    assert.equal(noEpochs.groups.length, 4, "the legend lists them");
  }
});

Deno.test("planChart() draws a preview too coarse for the plot as an envelope, the read at pixel resolution as a line", () => {
  // 1,000 steps, a preview in buckets of 100 steps: 20 px each on 200 px.
  const steps = Array.from({ length: 1000 }, (_, i) => i);
  const l = line(run(), steps.map((s) => (s % 100 === 50 ? 9 : 1)));
  l.preview = {
    steps: steps.filter((s) => s % 100 === 50 || s % 100 === 99),
    values: steps.filter((s) => s % 100 === 50 || s % 100 === 99)
      .map((s) => (s % 100 === 50 ? 9 : 1)),
    epochs: null,
    times: null,
    resolution: { kind: "preview", width: 100, origin: 0 },
    complete: false,
  };
  const coarse = planChart([l], PLAIN);
  assert.equal(coarse.coarse, 1);
  const [drawn] = coarse.lines;
  assert.equal(drawn!.coarse, true);
  assert.deepEqual(drawn!.ys, Array(10).fill(1), "each bucket's last value");
  assert.deepEqual(drawn!.band?.hi, Array(10).fill(9), "each bucket's spike");
  // Buckets of 8 steps: 1.6 px.
  l.full = {
    points: {
      ...l.preview,
      resolution: { kind: "buckets", width: 8, origin: 0 },
    },
    width: 200,
    range: null,
  };
  const fine = planChart([l], PLAIN);
  assert.equal(fine.coarse, 0);
  assert.equal(fine.lines[0]!.band, null);
  // Zoomed in ten times, the same buckets are 16 px wide: an envelope again.
  assert.equal(planChart([l], { ...PLAIN, zoom: [0, 100] }).coarse, 1);
  const log = planChart([line(run(), [1, 0, -1, 2])], {
    ...PLAIN,
    view: { ...BY_STEP, log: true },
  });
  assert.equal(log.clipped, 2);
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

Deno.test("closeNames() finds names a few edits away, or containing the name, closest first", () => {
  const names = ["loss", "val_loss", "lr", "accuracy", "LOSS_EMA", "gloss"];
  assert.deepEqual(closeNames("los", names), [
    "loss",
    "gloss",
    "LOSS_EMA",
    "val_loss",
  ]);
  assert.deepEqual(closeNames("acuracy", names), ["accuracy"]);
  assert.deepEqual(closeNames("loss", ["loss"]), [], "not itself");
  assert.deepEqual(closeNames("zzz", names), []);
  assert.equal(closeNames("l", names, 2).length, 2);
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
