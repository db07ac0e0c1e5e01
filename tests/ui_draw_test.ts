/**
 * The drawing contract (server/ui/series_draw.js), imported as the browser
 * imports it: which points a chart draws as a line, which as an envelope,
 * on linear and log scales, for one series and for a group's mean.
 */

import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import type { Resolution } from "../server/ui/api_types.js";
import {
  chartLine,
  drawGroup,
  type Drawing,
  drawSeries,
  FINE_PX,
  type Points,
  toPoints,
  xExtent,
} from "../server/ui/series_draw.js";

// --- Fixtures ------------------------------------------------------------

/** Every point of a series. */
function raw(steps: number[], values: number[]): Points {
  return {
    steps,
    values,
    epochs: null,
    times: null,
    resolution: { kind: "raw", width: 1, origin: 0 },
    complete: true,
  };
}

/** Indexes of the points of each bucket of `width` steps from `origin`. */
function buckets(steps: number[], width: number, origin: number): number[][] {
  const out = new Map<number, number[]>();
  steps.forEach((step, i) => {
    const k = Math.floor((step - origin) / width);
    out.set(k, [...out.get(k) ?? [], i]);
  });
  return [...out.values()];
}

/** Keeps the points `pick` chooses in each bucket, in step order, each once. */
function downsample(
  steps: number[],
  values: number[],
  resolution: Resolution,
  pick: (bucket: number[]) => number[],
): Points {
  const kept = buckets(steps, resolution.width, resolution.origin)
    .flatMap((bucket) => [...new Set(pick(bucket))].sort((a, b) => a - b));
  return {
    steps: kept.map((i) => steps[i]!),
    values: kept.map((i) => values[i]!),
    epochs: null,
    times: null,
    resolution,
    complete: kept.length === steps.length,
  };
}

/** The lowest and highest of `values` at `bucket`'s indexes. */
function extremes(values: number[], bucket: number[]): [number, number] {
  let lo = bucket[0]!, hi = bucket[0]!;
  for (const i of bucket) {
    if (values[i]! < values[lo]!) lo = i;
    if (values[i]! > values[hi]!) hi = i;
  }
  return [lo, hi];
}

/** What the server's `buckets` read keeps: each bucket's first, lowest, highest and last point. */
function m4(steps: number[], values: number[], width: number): Points {
  return downsample(
    steps,
    values,
    { kind: "buckets", width, origin: 0 },
    (b) => [b[0]!, ...extremes(values, b), b[b.length - 1]!],
  );
}

/** What an index preview keeps: each bucket's lowest, highest and last point. */
function preview(
  steps: number[],
  values: number[],
  width: number,
  origin = steps[0]!,
): Points {
  return downsample(
    steps,
    values,
    { kind: "preview", width, origin },
    (b) => [...extremes(values, b), b[b.length - 1]!],
  );
}

/**
 * The series: a loss falling smoothly from 2.5 to 1.6 over 20,000
 * steps, with a short spike to 5 every 250 steps (at 100, 350, 600…).
 */
function spiky() {
  const steps: number[] = [], values: number[] = [];
  for (let step = 0; step < 20_000; step++) {
    steps.push(step);
    values.push(baseline(step) + (step % 250 === 100 ? 2.5 : 0));
  }
  return { steps, values };
}

function baseline(step: number): number {
  return 2.5 - 0.9 * step / 20_000;
}

const LINEAR = { x: "step" as const, log: false, smooth: 0, start: 0 };

/** Drawn on a plot 1,000 px wide showing the whole series. */
function onPlot(points: Points, view: Partial<typeof LINEAR> = {}): Drawing {
  const [lo, hi] = xExtent(points, "step", 0)!;
  return drawSeries(points, {
    ...LINEAR,
    ...view,
    pxPerX: 1000 / (hi - lo),
  });
}

// --- toPoints() ----------------------------------------------------------

Deno.test("toPoints() reads the API's JSON numbers and its binary columns alike", () => {
  const resolution: Resolution = { kind: "buckets", width: 4, origin: 0 };
  const json = toPoints({
    name: "loss",
    context: {},
    steps: [0, 3, 4],
    values: [1, "NaN", "-Infinity"],
    epochs: [0, null, 1],
    times: [10, 11, 12],
    total: 5,
    resolution,
  });
  assert.deepEqual(Array.from(json.values), [1, NaN, -Infinity]);
  assert.deepEqual(Array.from(json.epochs!), [0, NaN, 1]);
  assert.deepEqual(json.times, [10, 11, 12]);
  assert.equal(json.complete, false, "3 of 5 points");
  const binary = toPoints({
    name: "loss",
    context: {},
    n: 2,
    steps: new Float64Array([0, 1]),
    values: new Float64Array([1, 2]),
    total: 2,
    resolution,
  });
  assert.ok(binary.values instanceof Float64Array);
  assert.equal(binary.epochs, null, "a column not asked for");
  assert.equal(binary.complete, true, "every point, though bucketed");
});

Deno.test("toPoints() knows an index preview holds every point when it has as many as the series", () => {
  const data = {
    name: "loss",
    context: {},
    steps: [0, 1, 2],
    values: [3, 2, 1],
    preview: true as const,
    resolution: { kind: "preview" as const, width: 1, origin: 0 },
  };
  assert.equal(toPoints(data, 3).complete, true);
  assert.equal(toPoints(data, 4).complete, false);
  assert.equal(toPoints(data).complete, false);
});

// --- drawSeries() --------------------------------------------------------

Deno.test("drawSeries() draws every point as a line, with gaps for NaN and infinities", () => {
  const drawing = onPlot(raw([0, 1, 2, 3], [1, NaN, Infinity, 4]));
  assert.equal(drawing.fine, true);
  assert.equal(drawing.bucketPx, 0);
  assert.deepEqual(drawing.xs, [0, 1, 2, 3]);
  assert.deepEqual(drawing.ys, [1, null, null, 4]);
  assert.equal(chartLine(drawing, { color: "#000000", label: "l" }).band, null);
});

Deno.test(`drawSeries() draws buckets at most ${FINE_PX} px wide as a line through their points in step order`, () => {
  const { steps, values } = spiky();
  // 20,000 steps across 1,000 px: buckets of 32 steps are 1.6 px wide.
  const points = m4(steps, values, 32);
  const drawing = onPlot(points);
  assert.equal(drawing.fine, true);
  assert.ok(Math.abs(drawing.bucketPx - 1.6) < 0.01, `${drawing.bucketPx}`);
  assert.deepEqual(drawing.xs, Array.from(points.steps));
  assert.deepEqual(drawing.ys, Array.from(points.values));
  // Every spike is reached, and between spikes the line stays on the baseline.
  for (let spike = 100; spike < 20_000; spike += 250) {
    assert.equal(drawing.ys[drawing.xs.indexOf(spike)], baseline(spike) + 2.5);
  }
  drawing.xs.forEach((step, i) => {
    if (step % 250 !== 100) close(drawing.ys[i], baseline(step), 1e-9);
  });
  const line = chartLine(drawing, { color: "#000000", label: "l" });
  assert.equal(line.coarse, false);
});

Deno.test("drawSeries() draws an index preview as an envelope per bucket and a line through each bucket's last point, not a sawtooth", () => {
  const { steps, values } = spiky();
  // 32 buckets of 625 steps, 31 px each on a 1,000 px plot.
  const points = preview(steps, values, 625);
  const drawing = onPlot(points);
  assert.equal(drawing.fine, false);
  assert.ok(drawing.bucketPx > 30, `${drawing.bucketPx}`);
  assert.equal(drawing.xs.length, 32, "one point per bucket");
  drawing.xs.forEach((step, k) => {
    assert.equal(step, 625 * k + 624, "the bucket's last step");
    close(drawing.ys[k], baseline(step), 1e-9);
    assert.equal(drawing.band.x0[k], 625 * k);
    assert.equal(drawing.band.x1[k], 625 * k + 624);
    close(drawing.band.lo[k], baseline(625 * k + 624), 1e-3);
    // Every bucket holds a spike, and its envelope reaches the highest.
    const top = Math.max(...values.slice(625 * k, 625 * k + 625));
    assert.ok(top > baseline(625 * k) + 2);
    assert.equal(drawing.band.hi[k], top);
  });
  const line = chartLine(drawing, { color: "#000000", label: "l" });
  assert.equal(line.coarse, true);
  assert.equal(line.band, drawing.band);
  // What joining the preview's points in step order would have drawn.
  const zigzag = Array.from(points.values).filter((v) => v > 4).length;
  assert.ok(zigzag >= 32, "the preview's points swing up to every spike");
  assert.ok(drawing.ys.every((v) => v !== null && v < 2.6));
});

Deno.test("drawSeries() draws the same buckets as a line or an envelope by their width on the plot", () => {
  const { steps, values } = spiky();
  const points = m4(steps, values, 64);
  const at = (pxPerX: number) => drawSeries(points, { ...LINEAR, pxPerX });
  assert.equal(at(2 / 64).fine, true, "2 px");
  assert.equal(at(2.5 / 64).fine, false, "2.5 px");
  assert.equal(at(2.5 / 64).xs.length, Math.ceil(20_000 / 64));
  // Every point there is stays a line at any zoom.
  assert.equal(
    drawSeries({ ...points, complete: true }, { ...LINEAR, pxPerX: 1 }).fine,
    true,
  );
});

Deno.test("drawSeries() on a log scale leaves values ≤ 0 as gaps and clips envelopes at the lower edge", () => {
  const steps = [0, 1, 2, 3, 4, 5, 6, 7];
  const values = [1, -1, 2, 3, 0, -2, NaN, NaN];
  const fine = drawSeries(raw(steps, values), {
    ...LINEAR,
    log: true,
    pxPerX: 1,
  });
  assert.deepEqual(fine.ys, [1, null, 2, 3, null, null, null, null]);
  assert.equal(fine.clipped, 3);
  const coarse = drawSeries(
    {
      ...raw(steps, values),
      resolution: { kind: "buckets", width: 2, origin: 0 },
      complete: false,
    },
    { ...LINEAR, log: true, pxPerX: 10 },
  );
  assert.equal(coarse.fine, false);
  // Buckets [1, -1], [2, 3], [0, -2], [NaN, NaN].
  assert.deepEqual(coarse.band.lo, [-Infinity, 2, -Infinity, null]);
  assert.deepEqual(coarse.band.hi, [1, 3, -Infinity, null]);
  assert.deepEqual(coarse.ys, [null, 3, null, null]);
  assert.equal(coarse.clipped, 3);
  const linear = drawSeries(raw(steps, values), { ...LINEAR, pxPerX: 1 });
  assert.deepEqual(linear.ys, [1, -1, 2, 3, 0, -2, null, null]);
  assert.equal(linear.clipped, 0);
});

Deno.test("drawSeries() by epoch or time leaves out points without that x, and measures buckets along it", () => {
  const points: Points = {
    ...raw([0, 10, 20, 30], [1, 2, 3, 4]),
    epochs: [0, NaN, 1, 1],
    times: [1000, 1001, 1002, 1003],
  };
  const epoch = drawSeries(points, { ...LINEAR, x: "epoch", pxPerX: 1 });
  assert.deepEqual(epoch.xs, [0, 1, 1]);
  assert.deepEqual(epoch.ys, [1, 3, 4]);
  const time = drawSeries(points, {
    ...LINEAR,
    x: "time",
    start: 1000,
    pxPerX: 1,
  });
  assert.deepEqual(time.xs, [0, 1, 2, 3]);
  assert.deepEqual(
    drawSeries({ ...points, times: null }, { ...LINEAR, x: "time", pxPerX: 1 })
      .xs,
    [],
  );
  // 10 steps per second, buckets of 20 steps: 2 s, 2 px at 1 px per second, 4 px at 2.
  const bucketed: Points = {
    ...points,
    resolution: { kind: "buckets", width: 20, origin: 0 },
    complete: false,
  };
  assert.equal(
    drawSeries(bucketed, { ...LINEAR, x: "time", start: 1000, pxPerX: 1 })
      .bucketPx,
    2,
  );
  assert.equal(
    drawSeries(bucketed, { ...LINEAR, x: "time", start: 1000, pxPerX: 2 }).fine,
    false,
  );
});

Deno.test("drawSeries() smooths the line, not the envelope", () => {
  const { steps, values } = spiky();
  const points = preview(steps, values, 625);
  const plain = onPlot(points);
  const smooth = onPlot(points, { smooth: 0.9 });
  assert.notDeepEqual(smooth.ys, plain.ys);
  assert.deepEqual(smooth.band, plain.band);
});

Deno.test("drawSeries(): every bucket's envelope holds all its raw values, its line point is its last value, and a fine line is every point kept", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), {
        minLength: 1,
        maxLength: 300,
      }),
      fc.integer({ min: 0, max: 6 }),
      fc.boolean(),
      fc.double({ min: 0.001, max: 10, noNaN: true }),
      (values, power, isPreview, pxPerX) => {
        const steps = values.map((_, i) => i * 3);
        const width = 2 ** power;
        const points = isPreview
          ? preview(steps, values, width)
          : m4(steps, values, width);
        const drawing = drawSeries(points, { ...LINEAR, pxPerX });
        const groups = buckets(steps, width, points.resolution.origin);
        assert.equal(drawing.band.lo.length, groups.length);
        groups.forEach((bucket, k) => {
          for (const i of bucket) {
            assert.ok(drawing.band.lo[k]! <= values[i]!);
            assert.ok(drawing.band.hi[k]! >= values[i]!);
            assert.ok(drawing.band.x0[k]! <= steps[i]!);
            assert.ok(drawing.band.x1[k]! >= steps[i]!);
          }
          assert.equal(drawing.repYs[k], values[bucket[bucket.length - 1]!]);
        });
        assert.equal(
          drawing.fine,
          points.complete || width * pxPerX <= FINE_PX,
        );
        if (drawing.fine) {
          assert.deepEqual(drawing.xs, Array.from(points.steps));
          assert.deepEqual(drawing.ys, Array.from(points.values));
        } else assert.deepEqual(drawing.xs, drawing.repXs);
      },
    ),
  );
});

// --- drawGroup() ---------------------------------------------------------

const MINMAX = { kind: "minmax" as const, cells: 11, log: false };

function member(values: number[], steps = values.map((_, i) => i)): Drawing {
  return drawSeries(raw(steps, values), { ...LINEAR, pxPerX: 1 });
}

Deno.test("drawGroup() of no member, or of members without points, is null", () => {
  assert.equal(drawGroup([], MINMAX), null);
  assert.equal(drawGroup([member([])], MINMAX), null);
});

Deno.test("drawGroup() averages the members inside each one's own x range, on cells spanning them all", () => {
  const mean = drawGroup([
    member(Array(11).fill(1)),
    member(Array(6).fill(3)),
  ], MINMAX)!;
  assert.deepEqual(mean.xs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(mean.ys, [2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1]);
  assert.deepEqual(mean.band.lo, Array(11).fill(1));
  assert.deepEqual(mean.band.hi, [3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1]);
  assert.equal(mean.fine, true);
});

Deno.test("drawGroup() widens the min–max band to a member's spike where it is, from its buckets, fine or coarse", () => {
  const { steps, values } = spiky();
  const flat = steps.map(baseline);
  for (const points of [m4(steps, values, 32), preview(steps, values, 625)]) {
    const drawn = drawSeries(points, { ...LINEAR, pxPerX: 1000 / 19_999 });
    const mean = drawGroup(
      [
        drawn,
        drawSeries(raw(steps, flat), { ...LINEAR, pxPerX: 1000 / 19_999 }),
      ],
      { ...MINMAX, cells: 500 },
    )!;
    assert.equal(mean.fine, drawn.fine);
    assert.ok(Math.max(...mean.band.hi.map((v) => v ?? 0)) > 4.9);
    // The mean is of last points: near the baseline, not pulled up by spikes.
    mean.xs.forEach((x, i) => close(mean.ys[i], baseline(x), 0.02));
  }
});

Deno.test('drawGroup() with "std" gives mean ± the population standard deviation, clipped at the lower edge on a log scale', () => {
  const members = [member([1, 1]), member([3, 3]), member([5, 5])];
  const std = drawGroup(members, { kind: "std", cells: 2, log: false })!;
  const sd = Math.sqrt(8 / 3);
  assert.deepEqual(std.ys, [3, 3]);
  std.band.lo.forEach((lo) => close(lo, 3 - sd, 1e-9));
  std.band.hi.forEach((hi) => close(hi, 3 + sd, 1e-9));
  // 1, 1 and 10: a mean of 4, a deviation of √18 ≈ 4.24.
  const wide = [member([1, 1]), member([1, 1]), member([10, 10])];
  const log = drawGroup(wide, { kind: "std", cells: 2, log: true })!;
  assert.deepEqual(log.ys, [4, 4]);
  assert.deepEqual(log.band.lo, [-Infinity, -Infinity]);
  assert.equal(
    drawGroup(wide, { kind: "std", cells: 2, log: false })!.band.lo[0]! < 0,
    true,
  );
});

Deno.test("drawGroup() is a preview when any member is", () => {
  const { steps, values } = spiky();
  const coarse = drawSeries(preview(steps, values, 625), {
    ...LINEAR,
    pxPerX: 1000 / 19_999,
  });
  const mean = drawGroup([member([2, 2]), coarse], MINMAX)!;
  assert.equal(mean.fine, false);
});

function close(
  actual: number | null | undefined,
  expected: number,
  within: number,
) {
  assert.ok(
    actual !== null && actual !== undefined &&
      Math.abs(actual - expected) <= within,
    `${actual} is not ${expected} ± ${within}`,
  );
}
