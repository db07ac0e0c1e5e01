/**
 * The series section of `deno task bench`: what the pyramid (issue 11) buys
 * and costs, measured side by side with the code before it. The library of
 * {@linkcode BEFORE} is taken out of git into a temporary folder, and every
 * measurement runs in its own process (`_bench_series_child.ts`) against
 * one library or the other, interleaved, so both see the same machine.
 *
 * - Reads: 1,000 buckets over a 10,000,000-point series, and over a fifth
 *   of it (a zoom), against the raw-point read.
 * - Costs: `track()` throughput, bytes on disk per point, and `close()`
 *   after 100,000 and 1,000,000 points.
 *
 * @module
 */

import { join } from "node:path";
import {
  type Figure,
  formatCount,
  median,
  progress,
  ROOT,
  type Section,
  tempDir,
} from "./_bench_util.ts";

/** The last commit before the pyramid: "today's" code for the baselines. */
const BEFORE = "588b4b1";
const REPS = 3;
const TRACK_POINTS = 2_000_000;
const TRACK_SERIES = 10;
/** Series and steps per flush of the small-flush case: a loop logging 100 metrics every step. */
const SMALL_SERIES = 100;
const SMALL_FLUSH_STEPS = 10;
const CLOSE_POINTS = [100_000, 1_000_000] as const;
const CLOSE_SERIES = 100;
const READ_POINTS = 10_000_000;
const READ_BUCKETS = 1_000;
const CHILD = join(ROOT, "scripts", "_bench_series_child.ts");

/** The series section of the benchmark. */
export const series: Section = {
  title: "Series reads and the pyramid's cost",
  async run() {
    await using tmp = await tempDir("aim-bench-series-");
    const before = join(tmp.path, "before");
    await _extract(BEFORE, before);
    const libs = { now: join(ROOT, "lib"), before: join(before, "lib") };
    return [
      ...await _reads(tmp.path, libs),
      ...await _costs(tmp.path, libs),
    ];
  },
};

interface _Libs {
  now: string;
  before: string;
}

async function _reads(tmp: string, libs: _Libs): Promise<Figure[]> {
  progress(
    `reads: a ${
      formatCount(READ_POINTS)
    }-point series written and read at ${READ_BUCKETS} buckets, by today's code and by ${BEFORE}`,
  );
  const now = await _child(libs.now, "read", join(tmp, "read-now"), [
    READ_POINTS,
    READ_BUCKETS,
  ], { AIM_BENCH_RAW: "1" });
  const before = await _child(
    libs.before,
    "read",
    join(tmp, "read-before"),
    [READ_POINTS, READ_BUCKETS],
  );
  const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
  return [
    {
      figure: `readSeries(): ${formatCount(READ_BUCKETS)} buckets over a ${
        formatCount(READ_POINTS)
      }-point series (median of 5; every spike kept)`,
      measured: ms(now.fullMs!),
      baseline: `${ms(before.fullMs!)} before the pyramid (${BEFORE})`,
      target: "≤ 5 ms",
      pass: now.fullMs! <= 5,
    },
    {
      figure: "… the raw-point read of the same series (every point decoded)",
      measured: `${ms(now.rawMs!)}: ${
        (now.rawMs! / now.fullMs!).toFixed(0)
      }× the bucket read`,
    },
    {
      figure: `… a zoom: ${
        formatCount(READ_BUCKETS)
      } buckets over the middle fifth (${formatCount(READ_POINTS / 5)} points)`,
      measured: ms(now.zoomMs!),
      baseline: `${ms(before.zoomMs!)} before the pyramid`,
    },
    {
      figure: `writing that series (track + close), ${
        formatCount(READ_POINTS)
      } points`,
      measured: `${now.writeS!.toFixed(1)} s`,
      baseline: `${before.writeS!.toFixed(1)} s before the pyramid`,
    },
  ];
}

async function _costs(tmp: string, libs: _Libs): Promise<Figure[]> {
  progress(
    `costs: ${REPS} × track() of ${
      formatCount(TRACK_POINTS)
    } points and close() after ${
      CLOSE_POINTS.map(formatCount).join(" / ")
    } points, today's code and ${BEFORE} interleaved`,
  );
  const track = { now: [] as _Result[], before: [] as _Result[] };
  const small = { now: [] as _Result[], before: [] as _Result[] };
  const close = new Map<string, number[]>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const which of ["now", "before"] as const) {
      track[which].push(
        await _child(libs[which], "track", join(tmp, `track-${which}`), [
          TRACK_POINTS,
          TRACK_SERIES,
        ]),
      );
      small[which].push(
        await _child(libs[which], "track", join(tmp, `small-${which}`), [
          TRACK_POINTS,
          SMALL_SERIES,
          SMALL_FLUSH_STEPS,
        ]),
      );
      for (const points of CLOSE_POINTS) {
        const key = `${which}-${points}`;
        const out = await _child(libs[which], "close", join(tmp, key), [
          points,
          CLOSE_SERIES,
        ]);
        close.set(key, [...close.get(key) ?? [], out.ms!]);
      }
    }
  }
  const rate = (which: "now" | "before") =>
    median(track[which].map((r) => r.rate!));
  const bytes = (which: "now" | "before") =>
    median(track[which].map((r) => r.bytes!));
  const closeMs = (which: string, points: number) =>
    median(close.get(`${which}-${points}`)!);
  const rateRatio = rate("now") / rate("before");
  const smallRate = (which: "now" | "before") =>
    median(small[which].map((r) => r.rate!));
  const smallBytes = (which: "now" | "before") =>
    median(small[which].map((r) => r.bytes!));
  const bytesRatio = bytes("now") / bytes("before");
  const [few, many] = CLOSE_POINTS;
  const flat = closeMs("now", many) / closeMs("now", few);
  return [
    {
      figure: `run.track(): ${
        formatCount(TRACK_POINTS)
      } points into ${TRACK_SERIES} series, incl. flushes (median of ${REPS})`,
      measured: `${(rate("now") / 1e6).toFixed(2)} M points/s (${
        rateRatio.toFixed(2)
      }×)`,
      baseline: `${
        (rate("before") / 1e6).toFixed(2)
      } M points/s before the pyramid`,
      target: "within 10% (≥ 0.90×)",
      pass: rateRatio >= 0.9,
    },
    {
      figure: "on-disk bytes per point (run space after close)",
      measured: `${bytes("now").toFixed(1)} B (${bytesRatio.toFixed(2)}×)`,
      baseline: `${bytes("before").toFixed(1)} B before the pyramid`,
      target: "within 10% (≤ 1.10×)",
      pass: bytesRatio <= 1.1,
    },
    {
      figure:
        `… ${SMALL_SERIES} series, a flush every ${SMALL_FLUSH_STEPS} steps (small flushes, as the one-second flush gives a loop that logs every step): throughput / bytes per point`,
      measured: `${(smallRate("now") / 1e6).toFixed(2)} M points/s (${
        (smallRate("now") / smallRate("before")).toFixed(2)
      }×) / ${smallBytes("now").toFixed(1)} B (${
        (smallBytes("now") / smallBytes("before")).toFixed(2)
      }×)`,
      baseline: `${(smallRate("before") / 1e6).toFixed(2)} M points/s / ${
        smallBytes("before").toFixed(1)
      } B before the pyramid`,
    },
    {
      figure: `await run.close() after ${formatCount(few)} / ${
        formatCount(many)
      } points over ${CLOSE_SERIES} series (median of ${REPS})`,
      measured: `${closeMs("now", few).toFixed(1)} ms / ${
        closeMs("now", many).toFixed(1)
      } ms (${flat.toFixed(2)}×)`,
      baseline: `${closeMs("before", few).toFixed(1)} ms / ${
        closeMs("before", many).toFixed(1)
      } ms before the pyramid`,
      target: "≤ 100 ms, flat (≤ 1.5×)",
      pass: closeMs("now", many) <= 100 && flat <= 1.5,
    },
  ];
}

type _Result = Partial<
  Record<
    "rate" | "bytes" | "ms" | "writeS" | "fullMs" | "zoomMs" | "rawMs",
    number
  >
>;

/** Runs one measurement in its own process; its JSON answer. */
async function _child(
  lib: string,
  what: string,
  repo: string,
  args: number[],
  env: Record<string, string> = {},
): Promise<_Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, lib, what, repo, ...args.map(String)],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `The ${what} measurement against ${lib} failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

/** The `lib/` of `commit`, taken out of git into `dir`. */
async function _extract(commit: string, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const archive = await new Deno.Command("git", {
    args: ["-C", ROOT, "archive", "--format=tar", commit, "lib"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!archive.success) {
    throw new Error(
      `git archive ${commit} failed: ${new TextDecoder().decode(archive.stderr)}
(the series section compares with that commit: run it from a git clone)`,
    );
  }
  const tar = new Deno.Command("tar", {
    args: ["-x", "-C", dir],
    stdin: "piped",
  }).spawn();
  const writer = tar.stdin.getWriter();
  await writer.write(archive.stdout);
  await writer.close();
  const status = await tar.status;
  if (!status.success) throw new Error(`tar could not unpack ${commit}'s lib/`);
}
