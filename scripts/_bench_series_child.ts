/**
 * One measurement of the series section of `deno task bench`, in its own
 * process, against the aim library at a given folder (this tree's `lib/`,
 * or an older commit's): so that today's code and the code before the
 * pyramid are measured side by side, the same way. Prints one JSON line.
 *
 *   _bench_series_child.ts LIB track REPO POINTS SERIES [FLUSH_EVERY]
 *   _bench_series_child.ts LIB close REPO POINTS SERIES
 *   _bench_series_child.ts LIB read REPO POINTS BUCKETS
 *
 * @module
 */

import { join } from "node:path";
import type * as Aim from "../lib/mod.ts";

const [lib, what, repoPath, pointsText, extraText, flushText] = Deno.args;
const aim = await import(join(lib!, "mod.ts")) as typeof Aim;
const points = Number(pointsText);
const extra = Number(extraText);
const repo = aim.Repo.openSync(repoPath!, { create: true });

/** Bytes of every file under `dir`. */
function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    total += entry.isDirectory ? diskBytes(path) : Deno.statSync(path).size;
  }
  return total;
}

/** Median of a few timings of `fn`, in milliseconds. */
function medianMs(times: number, fn: () => unknown): number {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    fn();
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b)[Math.floor(times / 2)]!;
}

/** A smooth curve with a spike every 100,003 steps, so extremes matter. */
function value(step: number): number {
  return Math.sin(step / 1000) + (step % 100_003 === 0 ? 50 : 0);
}

let result: Record<string, number>;
if (what === "track") {
  // As the storage section: `extra` series, one context object each,
  // reused; with FLUSH_EVERY, an explicit flush every so many steps, as a
  // training loop logging every step gets from the one-second flush.
  const run = await repo.startRun({ handleSignals: false });
  const contexts = Array.from({ length: extra }, () => ({ subset: "train" }));
  const every = flushText === undefined ? Infinity : Number(flushText);
  const start = performance.now();
  for (let step = 0; step < points / extra; step++) {
    for (let s = 0; s < extra; s++) {
      run.track(Math.random(), { name: `metric_${s}`, context: contexts[s]! });
    }
    if (step % every === every - 1) run.flush();
  }
  run.flush();
  const ms = performance.now() - start;
  await run.close();
  result = {
    rate: points / (ms / 1000),
    bytes: diskBytes(repo.runDir(run.hash)) / points,
  };
} else if (what === "close") {
  const run = await repo.startRun({ handleSignals: false });
  for (let step = 0; step < points / extra; step++) {
    for (let s = 0; s < extra; s++) run.track(value(step), { name: `m${s}` });
  }
  const start = performance.now();
  await run.close();
  result = { ms: performance.now() - start };
} else if (what === "read") {
  const run = await repo.startRun({ handleSignals: false });
  const writeStart = performance.now();
  for (let step = 0; step < points; step++) {
    run.track(value(step), { name: "loss", step });
  }
  await run.close();
  const writeS = (performance.now() - writeStart) / 1000;
  const read = (options: Aim.ReadSeriesOptions) => () => {
    const data = aim.readSeries(repo, run.hash, "loss", {}, options);
    // Every spike in the range must be in the answer, however it was read.
    const from = options.from ?? 0, to = options.to ?? points - 1;
    let expected = 0;
    for (let s = Math.ceil(from / 100_003) * 100_003; s <= to; s += 100_003) {
      expected++;
    }
    const spikes = data.values.filter((v) => v > 10).length;
    if (spikes !== expected) {
      throw new Error(`${spikes} spikes read of ${expected}`);
    }
  };
  result = {
    writeS,
    fullMs: medianMs(5, read({ points: extra })),
    zoomMs: medianMs(
      5,
      read({ points: extra, from: points * 0.4, to: points * 0.6 }),
    ),
  };
  // The raw read (this tree only): every point of the series decoded,
  // before any downsampling, which would only add to it.
  if (what === "read" && Deno.env.get("AIM_BENCH_RAW") === "1") {
    const storage = await import(join(lib!, "storage", "mod.ts"));
    result.rawMs = medianMs(3, () =>
      repo.readRun(
        run.hash,
        (db) => storage.readPoints(db, "loss", "{}").steps.length,
      ));
  }
} else {
  throw new Error(`unknown measurement ${what}`);
}
repo.close();
console.log(JSON.stringify(result));
