import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import {
  Block,
  type BucketSource,
  bucketWidth,
  decodePage,
  downsampleAligned,
  encodePage,
  latestPages,
  LEVELS,
  PAGE_BLOCKS,
  pageOf,
  type Point,
  PyramidBuilder,
  readBuckets,
  withLatest,
} from "../lib/series/pyramid.ts";
import { readSeries } from "../lib/mod.ts";
import { readPoints } from "../lib/storage/mod.ts";
import { liveWriter, tempRepo } from "./_helpers.ts";

/** A series as tracked: steps mostly rising (some repeated, some going back), any values. */
const series = fc.array(
  fc.record({
    jump: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
      { weight: 2, arbitrary: fc.integer({ min: 4, max: 2_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: -3_000, max: -1 }) },
    ),
    value: fc.oneof(
      {
        weight: 12,
        arbitrary: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
      },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, 0) },
    ),
    epoch: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
    flush: fc.constantFrom("no", "no", "no", "flush", "fail", "resume"),
  }),
  { maxLength: 2_500, size: "max" },
);

/** Points, flushed into a stored pyramid at the given boundaries, as a writer would. */
function build(
  steps: { jump: number; value: number; epoch?: number; flush: string }[],
  start: number,
) {
  const points: Point[] = [];
  // Pages of complete blocks as the run file keeps them: encoded, read back whole.
  const store = new Map<string, Uint8Array>();
  const key = (level: number, page: number) => `${level}:${page}`;
  const page = (level: number, index: number) => {
    const bytes = store.get(key(level, index));
    return bytes === undefined ? null : decodePage(bytes, level, index);
  };
  // What a reader has: complete blocks, and the points flushed so far.
  let flushed = 0;
  const stored: BucketSource = {
    blocks(level, first, last) {
      const out = new Map<number, Block>();
      for (let p = pageOf(first); p <= pageOf(last); p++) {
        for (const [b, block] of page(level, p) ?? []) {
          if (b >= first && b <= last) out.set(b, block);
        }
      }
      return out;
    },
    points(lo, hi) {
      const kept = points.slice(0, flushed).filter((p) =>
        p.step >= lo && p.step <= hi
      );
      return {
        n: kept.length,
        steps: kept.map((p) => p.step),
        values: kept.map((p) => p.value),
        times: kept.map((p) => p.time),
        epochs: kept.map((p) => p.epoch),
        seqs: kept.map((p) => p.seq),
        firstSeq: 0,
      };
    },
  };
  const maxStep = () =>
    Math.max(...points.slice(0, flushed).map((p) => p.step));
  let builder = new PyramidBuilder();
  const columns = () => {
    const batch = points.slice(flushed);
    return {
      n: batch.length,
      steps: batch.map((p) => p.step),
      values: batch.map((p) => p.value),
      times: batch.map((p) => p.time),
      epochs: batch.map((p) => p.epoch),
      firstSeq: flushed,
    };
  };
  const storedBlock = (level: number, block: number) =>
    page(level, pageOf(block))?.get(block) ?? null;
  const flush = () => {
    const pending = builder.pending(columns(), storedBlock);
    // Only complete blocks are written, into their pages.
    for (const { level, block, state } of pending.writes) {
      const blocks = page(level, pageOf(block)) ?? new Map<number, Block>();
      blocks.set(block, state);
      store.set(
        key(level, pageOf(block)),
        encodePage(level, pageOf(block), blocks),
      );
    }
    builder.commit(pending);
    flushed = points.length;
  };
  let step = start;
  steps.forEach((s, seq) => {
    step += s.jump;
    const p = {
      step,
      value: s.value,
      time: 1_800_000_000 + seq / 8,
      epoch: s.epoch ?? NaN,
      seq,
    };
    points.push(p);
    if (s.flush === "flush") flush();
    // A flush the disk refused: nothing may change, the next one writes it all.
    else if (s.flush === "fail") builder.pending(columns(), storedBlock);
    else if (s.flush === "resume") {
      // The writer ends here and another resumes the series from the file.
      flush();
      builder = new PyramidBuilder();
      if (flushed > 0) {
        const top = maxStep();
        builder.resume(top, latestPages(stored, top).get(LEVELS[0]!)!);
      }
    }
  });
  flush();
  const source = points.length === 0 ? stored : withLatest(stored, maxStep());
  return { points, source };
}

/** Points as comparable tuples (NaN compares equal to NaN here). */
function tuples(points: Point[]): string[] {
  return points.map((p) =>
    JSON.stringify([p.step, String(p.value), p.time, String(p.epoch), p.seq])
  );
}

Deno.test("a pyramid read gives exactly the buckets of downsampling the raw points, for random series, flushes, ranges and widths", () => {
  fc.assert(
    fc.property(
      series,
      fc.integer({ min: -5_000, max: 5_000 }),
      fc.integer({ min: 1, max: 300 }),
      fc.double({ min: -0.2, max: 1.2, noNaN: true }),
      fc.double({ min: -0.2, max: 1.2, noNaN: true }),
      (steps, start, n, a, b) => {
        const { points, source } = build(steps, start);
        if (points.length === 0) return;
        const low = Math.min(...points.map((p) => p.step));
        const high = Math.max(...points.map((p) => p.step));
        const at = (f: number) => Math.round(low + (high - low) * f);
        const lo = Math.min(at(a), at(b));
        const hi = Math.max(at(a), at(b));
        const expected = downsampleAligned(points, lo, hi, n);
        const got = readBuckets(source, lo, hi, n, true);
        assert.equal(got.width, expected.width);
        assert.deepEqual(tuples(got.points), tuples(expected.points));
        assert.equal(
          got.total,
          points.filter((p) => p.step >= lo && p.step <= hi).length,
        );
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("downsampleAligned() keeps every spike and at most five points per bucket, buckets aligned to a power of two", () => {
  const points: Point[] = Array.from({ length: 100_000 }, (_, i) => ({
    step: i,
    value: i === 54_321 ? 1e9 : Math.sin(i / 1000),
    time: i,
    epoch: NaN,
    seq: i,
  }));
  const { points: kept, width } = downsampleAligned(points, 0, 99_999, 1000);
  assert.equal(width, 128);
  assert.ok(kept.some((p) => p.value === 1e9), "the spike survives");
  const buckets = new Map<number, number>();
  for (const p of kept) {
    const k = Math.floor(p.step / width);
    buckets.set(k, (buckets.get(k) ?? 0) + 1);
  }
  assert.ok(buckets.size <= 1000);
  assert.ok([...buckets.values()].every((c) => c <= 5));
});

Deno.test("bucketWidth() is the smallest power of two that spans the range in at most n aligned buckets", () => {
  assert.equal(bucketWidth(0, 999, 1000), 1);
  assert.equal(bucketWidth(0, 1000, 1000), 2);
  assert.equal(bucketWidth(-5, 5, 2), 8);
  assert.equal(bucketWidth(-5, 5, 1), 32, "across 0: two buckets at any width");
  assert.equal(bucketWidth(7, 7, 1), 1);
  assert.throws(() => bucketWidth(0, 10, 0), RangeError);
});

Deno.test("a block survives its encoding, points shared between roles included", () => {
  const block = new Block();
  const start = 5 * 2 ** LEVELS[1]!;
  for (let i = 0; i < 40; i++) {
    block.add({
      step: start + i,
      value: i === 7 ? NaN : 100 - i,
      time: i,
      epoch: i % 3 === 0 ? NaN : i,
      seq: 1000 + i,
    });
  }
  const back = Block.decode(block.encode(start), start);
  assert.equal(back.count, 40);
  assert.deepEqual(tuples(back.kept()), tuples(block.kept()));
  assert.throws(() => Block.decode(new Uint8Array(3), 0), RangeError);
});

Deno.test("a page of blocks survives its encoding, keeps the blocks asked for, and refuses malformed bytes", () => {
  const level = LEVELS[0]!, page = 3;
  const blocks = new Map<number, Block>();
  // Slots 0 and 2 of the page hold points; 1 and 3 are empty.
  for (const slot of [0, 2]) {
    const block = page * PAGE_BLOCKS + slot;
    const state = new Block();
    for (let i = 0; i < 5; i++) {
      state.add({
        step: block * 2 ** level + i * 3,
        value: slot * 10 + i,
        time: i,
        epoch: NaN,
        seq: slot * 100 + i,
      });
    }
    blocks.set(block, state);
  }
  const bytes = encodePage(level, page, blocks);
  const back = decodePage(bytes, level, page);
  assert.deepEqual([...back.keys()], [...blocks.keys()]);
  for (const [block, state] of blocks) {
    assert.deepEqual(tuples(back.get(block)!.kept()), tuples(state.kept()));
    assert.equal(back.get(block)!.count, 5);
  }
  const second = page * PAGE_BLOCKS + 2;
  assert.deepEqual([...decodePage(bytes, level, page, second, second).keys()], [
    second,
  ]);
  assert.throws(
    () => decodePage(bytes.subarray(0, 3), level, page),
    RangeError,
  );
  assert.throws(
    () => decodePage(bytes.subarray(0, bytes.length - 8), level, page),
    RangeError,
  );
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodePage(longer, level, page), /past its last block/);
});

Deno.test("a writer SIGKILLed mid-flush leaves a pyramid that agrees with its points", async () => {
  await using repo = await tempRepo();
  for (const killAfter of [2_000, 9_000, 30_000]) {
    await using writer = await liveWriter(repo.path, {
      batch: 977,
      series: 2,
      flushed: killAfter,
      wiggly: true,
    });
    writer.child.kill("SIGKILL");
    await writer.finished();
    const context = { i: 0 };
    {
      const raw = repo.readRun(
        writer.hash,
        (db) => readPoints(db, "s0", JSON.stringify(context)),
      )!;
      const points: Point[] = Array.from(raw.steps, (step, i) => ({
        step,
        value: raw.values[i]!,
        time: raw.times[i]!,
        epoch: raw.epochs[i]!,
        seq: raw.seqs[i]!,
      }));
      assert.ok(points.length >= killAfter, "every flushed point is there");
      const low = Math.min(...raw.steps), high = Math.max(...raw.steps);
      for (
        const [a, b, n] of [[0, 1, 100], [0.1, 0.9, 37], [0.5, 0.51, 5], [
          0,
          1,
          3,
        ]] as const
      ) {
        const lo = Math.round(low + (high - low) * a);
        const hi = Math.round(low + (high - low) * b);
        const expected = downsampleAligned(points, lo, hi, n);
        const got = readSeries(repo, writer.hash, "s0", context, {
          points: n,
          from: lo,
          to: hi,
        });
        assert.deepEqual(
          got.steps.map((step, i) =>
            JSON.stringify([step, String(got.values[i]), got.times[i]])
          ),
          expected.points.map((p) =>
            JSON.stringify([p.step, String(p.value), p.time])
          ),
          `killed after ${killAfter}, ${lo}..${hi} at ${n}`,
        );
        assert.equal(got.resolution.width, Math.max(1, expected.width));
      }
    }
  }
});
