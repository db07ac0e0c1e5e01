import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import { downsample } from "../lib/series/mod.ts";

/** Deterministic noise in [0, 1) so failures reproduce. */
function noise(n: number, seed = 1): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 2 ** 32;
  }
  return out;
}

function range(n: number, start = 0, step = 1): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => start + i * step);
}

/** Which bucket a step falls in, with the rounding downsample() documents. */
function bucketOf(
  step: number,
  first: number,
  last: number,
  buckets: number,
): number {
  if (last === first) return 0;
  return Math.min(
    buckets - 1,
    Math.floor((step - first) * (buckets / (last - first))),
  );
}

Deno.test("downsample() keeps a single spike among a million points", () => {
  const n = 1_000_000;
  const steps = range(n);
  for (
    const [at, spike] of [[123_457, 1e6], [999_999, -1e6], [0, 50], [
      500_000,
      NaN,
    ]] as const
  ) {
    const values = noise(n, at + 7);
    values[at] = spike;
    const out = downsample(steps, values, 1000);
    const i = out.steps.indexOf(at);
    assert.ok(i >= 0, `the point at step ${at} was dropped`);
    assert.ok(
      Object.is(out.values[i], spike),
      `step ${at} kept value ${out.values[i]}`,
    );
    assert.ok(out.steps.length <= 5 * 1000);
  }
});

Deno.test("downsample() keeps first, last, min and max of each bucket, in step order", () => {
  const steps = range(12);
  const values = Float64Array.from([5, 1, 9, 3, 4, 4, 4, 4, 8, 0, 7, 6]);
  const out = downsample(steps, values, 2);
  // Bucket 0 is steps 0-5: first 0, min 1 (1), max 2 (9), last 5.
  // Bucket 1 is steps 6-11: first 6, max 8 (8), min 9 (0), last 11.
  assert.deepEqual(Array.from(out.steps), [0, 1, 2, 5, 6, 8, 9, 11]);
  assert.deepEqual(Array.from(out.values), [5, 1, 9, 4, 4, 8, 0, 6]);
});

Deno.test("downsample() keeps the first NaN of a bucket visible", () => {
  const steps = range(8);
  const values = Float64Array.from([1, NaN, 3, NaN, 2, NaN, NaN, NaN]);
  const out = downsample(steps, values, 2);
  // Bucket 0 (0-3): first 0, min 0, max 2, NaN 1, last 3; bucket 1 (4-7): 4, NaN 5, 7.
  assert.deepEqual(Array.from(out.steps), [0, 1, 2, 3, 4, 5, 7]);
  assert.ok(Number.isNaN(out.values[1]!) && Number.isNaN(out.values[5]!));
  const allNan = downsample(range(100), new Float64Array(100).fill(NaN), 10);
  assert.equal(allNan.steps.length, 20, "first and last of each bucket");
  assert.ok(allNan.values.every(Number.isNaN));
});

Deno.test("downsample() with 0 buckets returns every point as a copy", () => {
  const steps = range(5), values = noise(5);
  const out = downsample(steps, values, 0);
  assert.deepEqual(out, { steps, values });
  assert.notEqual(out.steps, steps);
  assert.notEqual(out.values.buffer, values.buffer);
});

Deno.test("downsample() handles empty, single-step and tiny inputs", () => {
  assert.deepEqual(downsample(new Float64Array(0), new Float64Array(0), 10), {
    steps: new Float64Array(0),
    values: new Float64Array(0),
  });
  const one = downsample(Float64Array.of(3), Float64Array.of(-1), 10);
  assert.deepEqual(Array.from(one.steps), [3]);
  // All on one step: one bucket, so first, min, max and last only.
  const same = downsample(new Float64Array(50).fill(7), range(50), 10);
  assert.deepEqual(Array.from(same.values), [0, 49]);
  const twoSteps = downsample(
    Float64Array.of(0, 1e-300),
    Float64Array.of(1, 2),
    1000,
  );
  assert.deepEqual(Array.from(twoSteps.steps), [0, 1e-300]);
});

Deno.test("downsample() sorts points given out of step order", () => {
  const out = downsample(
    Float64Array.of(3, 1, 2, 0),
    Float64Array.of(30, 10, 20, 0),
    0,
  );
  assert.deepEqual(
    Array.from(out.steps),
    [3, 1, 2, 0],
    "0 buckets returns input as is",
  );
  const sorted = downsample(
    Float64Array.of(3, 1, 2, 0),
    Float64Array.of(30, 10, 20, 0),
    4,
  );
  assert.deepEqual(Array.from(sorted.steps), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(sorted.values), [0, 10, 20, 30]);
});

Deno.test("downsample() rejects bad arguments with RangeError", () => {
  assert.throws(() => downsample(range(3), range(2), 1), RangeError);
  assert.throws(() => downsample(range(3), range(3), -1), RangeError);
  assert.throws(() => downsample(range(3), range(3), 1.5), RangeError);
  assert.throws(() => downsample(range(3), range(3), NaN), RangeError);
  assert.throws(
    () => downsample(Float64Array.of(0, NaN, 2), range(3), 2),
    /steps must be finite/,
  );
  assert.throws(
    () => downsample(Float64Array.of(0, 1, Infinity), range(3), 2),
    /steps must be finite/,
  );
});

Deno.test("downsample() output is a bounded, ordered subset keeping every extreme", () => {
  const value = fc.oneof(
    { arbitrary: fc.double({ noNaN: true, min: -1e6, max: 1e6 }), weight: 8 },
    { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0), weight: 1 },
  );
  const points = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), value), {
    maxLength: 300,
    size: "large",
  });
  const series = fc.tuple(fc.integer({ min: -50, max: 50 }), points).map(
    ([start, pts]) => {
      // Non-decreasing steps with repeats, as a series may hold.
      let step = start;
      const steps = new Float64Array(pts.length),
        values = new Float64Array(pts.length);
      pts.forEach(([gap, v], i) => {
        step += gap;
        steps[i] = step;
        values[i] = v;
      });
      return { steps, values };
    },
  );
  fc.assert(
    fc.property(
      series,
      fc.integer({ min: 1, max: 40 }),
      ({ steps, values }, buckets) => {
        const out = downsample(steps, values, buckets);
        const n = steps.length;
        assert.equal(out.steps.length, out.values.length);
        if (n === 0) return assert.equal(out.steps.length, 0);
        const first = steps[0]!, last = steps[n - 1]!;

        // Every output point is an input point, in input order, each used once.
        const picked: number[] = [];
        let from = 0;
        for (let k = 0; k < out.steps.length; k++) {
          let i = from;
          while (
            i < n &&
            !(steps[i] === out.steps[k] && Object.is(values[i], out.values[k]))
          ) i++;
          assert.ok(
            i < n,
            `output point ${k} is not an input point after index ${from}`,
          );
          picked.push(i);
          from = i + 1;
        }

        const perBucket = new Map<number, { real: number; nan: number }>();
        for (const i of picked) {
          const b = bucketOf(steps[i]!, first, last, buckets);
          const count = perBucket.get(b) ?? { real: 0, nan: 0 };
          if (Number.isNaN(values[i]!)) count.nan++;
          else count.real++;
          perBucket.set(b, count);
        }
        for (const [b, { real, nan }] of perBucket) {
          assert.ok(
            real + nan <= 5 && (real <= 4 || nan === 0),
            `bucket ${b}: ${real} values + ${nan} NaN`,
          );
        }

        // Per bucket: first and last points, min and max values, and a NaN if any.
        const members = new Map<number, number[]>();
        for (let i = 0; i < n; i++) {
          const b = bucketOf(steps[i]!, first, last, buckets);
          members.set(b, [...(members.get(b) ?? []), i]);
        }
        for (const [b, idx] of members) {
          // Equal points are interchangeable, so compare (step, value) pairs.
          const kept = (i: number) =>
            picked.some((j) =>
              steps[j] === steps[i] && Object.is(values[j], values[i])
            );
          assert.ok(kept(idx[0]!), `bucket ${b} lost its first point`);
          assert.ok(
            kept(idx[idx.length - 1]!),
            `bucket ${b} lost its last point`,
          );
          const real = idx.filter((i) => !Number.isNaN(values[i]!));
          if (real.length > 0) {
            const vs = real.map((i) => values[i]!);
            const keptValues = picked.filter((i) => idx.includes(i)).map((i) =>
              values[i]!
            );
            assert.ok(
              keptValues.includes(Math.min(...vs)),
              `bucket ${b} lost its min`,
            );
            assert.ok(
              keptValues.includes(Math.max(...vs)),
              `bucket ${b} lost its max`,
            );
          }
          if (real.length < idx.length) {
            assert.ok(
              picked.some((i) => idx.includes(i) && Number.isNaN(values[i]!)),
              `bucket ${b} lost its NaN`,
            );
          }
        }
        assert.ok(out.steps.length <= 5 * buckets);
      },
    ),
    { numRuns: 500 },
  );
});
