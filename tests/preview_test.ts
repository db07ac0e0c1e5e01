import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import { Preview, PREVIEW_BUCKETS } from "../lib/series/mod.ts";

Deno.test("a preview keeps a single spike among a million points in at most 3 points per bucket", () => {
  const preview = new Preview();
  for (let step = 0; step < 1_000_000; step++) {
    preview.add(step, step === 654_321 ? 1e9 : Math.sin(step / 1000));
  }
  const { steps, values } = preview.points();
  assert.ok(steps.length <= 3 * PREVIEW_BUCKETS);
  assert.equal(values[steps.indexOf(654_321)], 1e9);
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b), "in step order");
});

Deno.test("a preview keeps the global min and max of any series and restores from its bytes", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.oneof(fc.double({ noNaN: true }), fc.constant(NaN)),
        ),
        {
          minLength: 1,
          maxLength: 500,
        },
      ),
      (points) => {
        const preview = new Preview();
        for (const [step, value] of points) preview.add(step, value);
        const { steps, values } = preview.points();
        const real = points.filter(([, v]) => !Number.isNaN(v)).map(([, v]) =>
          v
        );
        if (real.length === 0) return steps.length === 0;
        assert.ok(values.includes(Math.max(...real)), "max kept");
        assert.ok(values.includes(Math.min(...real)), "min kept");
        assert.ok(steps.length <= 3 * PREVIEW_BUCKETS);
        assert.deepEqual(new Preview(preview.bytes()).points(), {
          steps,
          values,
        });
        return true;
      },
    ),
    {
      numRuns: 300,
      // Found by this property once: two values on one step, then a step back.
      examples: [[[[19, 5e-324], [19, 0], [0, NaN]]]],
    },
  );
});

Deno.test("a preview keeps each bucket's last point, which traces the curve between spikes", () => {
  const preview = new Preview();
  // A loss falling smoothly from 2.5 to 1.6, with a short spike every 250 steps.
  const loss = (step: number) =>
    step % 250 === 125 ? 5.5 : 2.5 - 0.9 * step / 100_000;
  for (let step = 1; step <= 100_000; step++) preview.add(step, loss(step));
  const { steps, values } = preview.points();
  const width = preview.width;
  const buckets = new Map<number, number[]>();
  steps.forEach((step, i) => {
    const k = Math.floor((step - preview.origin) / width);
    buckets.set(k, [...(buckets.get(k) ?? []), i]);
  });
  for (const indices of buckets.values()) {
    const last = indices.reduce((a, b) => (steps[b]! >= steps[a]! ? b : a));
    assert.equal(
      values[last],
      loss(steps[last]!),
      "the last point is the curve's",
    );
    assert.ok(values[last]! < 2.6, "not a spike");
  }
  assert.ok(values.includes(5.5), "and the spikes are there");
});

Deno.test("a preview written before buckets kept their last point is still read", () => {
  const old = new Float64Array(2 + 32 * 4).fill(NaN);
  old[0] = 0;
  old[1] = 10;
  old.set([2, 1.0, 7, 3.0], 2); // bucket 0: lowest at step 2, highest at step 7
  const preview = new Preview(new Uint8Array(old.buffer));
  assert.deepEqual(preview.points(), { steps: [2, 7], values: [1, 3] });
  preview.add(9, 2.0);
  assert.deepEqual(preview.points(), { steps: [2, 7, 9], values: [1, 3, 2] });
});
