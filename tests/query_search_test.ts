/**
 * Searches over a real repository: sorting, and the query rules that the
 * README promises (string order, escapes, regular expressions, dates,
 * contexts), answered alike by the index and by the run spaces.
 */

import assert from "node:assert/strict";
import {
  AimError,
  type ParamValue,
  type Repo,
  searchMetrics,
  searchRuns,
} from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";
import { ManualClock } from "./_clock.ts";

/** Closed runs with `lr` set to each value, named after their position. */
async function runsWithLr(repo: Repo, values: ParamValue[]): Promise<void> {
  for (const [i, lr] of values.entries()) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("lr", lr);
    await run.close();
  }
}

/** The names of the runs `q` finds, in order, from the index and from the run spaces. */
function names(repo: Repo, q: string, sort?: string): string[] {
  const indexed = searchRuns(repo, q, sort ? { sort } : {}).runs.map((r) =>
    r.record.name
  );
  for (const hash of repo.listRuns()) repo.touchMarker(hash);
  const unindexed = searchRuns(repo, q, sort ? { sort } : {}).runs.map((r) =>
    r.record.name
  );
  for (const hash of repo.listRuns()) repo.removeMarker(hash);
  assert.deepEqual(unindexed, indexed, `index and run spaces differ on ${q}`);
  return indexed;
}

Deno.test("sorting keeps None and NaN last in both directions, and reverses only within a kind", async () => {
  await using repo = await tempRepo();
  await runsWithLr(repo, [0.1, null, 0.01, "x", NaN, "b"]);
  // r0=0.1, r1=None, r2=0.01, r3="x", r4=NaN, r5="b"
  assert.deepEqual(names(repo, "", "run.lr"), [
    "r2",
    "r0",
    "r5",
    "r3",
    "r1",
    "r4",
  ]);
  assert.deepEqual(names(repo, "", "-run.lr"), [
    "r0",
    "r2",
    "r3",
    "r5",
    "r1",
    "r4",
  ]);
});

Deno.test("sorting orders strings by code point, as < does", async () => {
  await using repo = await tempRepo();
  // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 unit.
  await runsWithLr(repo, ["\u{1F600}", "\uFF5E", "a"]);
  assert.deepEqual(names(repo, "", "run.lr"), ["r2", "r1", "r0"]);
  assert.deepEqual(names(repo, 'run.lr < "\u{1F600}"'), ["r1", "r2"]);
});

Deno.test("string literals read Python's octal escapes and refuse \\N{...}", async () => {
  await using repo = await tempRepo();
  await runsWithLr(repo, ["A", "a\0b"]);
  assert.deepEqual(names(repo, String.raw`run.lr == "\101"`), ["r0"]);
  assert.deepEqual(names(repo, String.raw`run.lr == "a\0b"`), ["r1"]);
  assert.deepEqual(names(repo, String.raw`run.lr == "a\000b"`), ["r1"]);
  assert.throws(
    () => searchRuns(repo, String.raw`run.lr == "\N{LATIN CAPITAL LETTER A}"`),
    (error: unknown) =>
      error instanceof AimError && error.code === "query_syntax" &&
      /\\N\{\.\.\.\} named characters are not supported/.test(error.message),
  );
});

Deno.test("match() uses a subset of Python's re that cannot backtrack: a catastrophic pattern answers at once", async () => {
  await using repo = await tempRepo();
  await runsWithLr(repo, ["a".repeat(20_000) + "!", "LR-12"]);
  const started = performance.now();
  assert.deepEqual(names(repo, 'run.lr.match("(a+)+$")'), []);
  assert.ok(performance.now() - started < 5000);
  assert.deepEqual(names(repo, String.raw`run.lr.match("(?i)lr-\d+$")`), [
    "r1",
  ]);
  assert.throws(
    () => searchRuns(repo, String.raw`run.lr.match(r"(a)\1")`),
    /invalid regular expression: backreferences are not supported/,
  );
});

Deno.test("a time attribute compared with a string that is no date is a syntax error, not silently false", async () => {
  await using repo = await tempRepo();
  await runsWithLr(repo, [1]);
  assert.deepEqual(names(repo, 'run.created_at > "2000-01-01"'), ["r0"]);
  assert.throws(
    () => searchRuns(repo, 'run.created_at > "yesterday"'),
    (error: unknown) =>
      error instanceof AimError && error.code === "query_syntax" &&
      /cannot read "yesterday" as a date/.test(error.message),
  );
  // A string that is not a literal compared with a time is an ordinary comparison: false.
  assert.deepEqual(names(repo, "run.created_at > run.name"), []);
});

Deno.test("run.metrics[name, context] finds a context by its exact JSON: True is not 1 there", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "r0", handleSignals: false });
  run.track(0.5, { name: "loss", context: { flag: true } });
  await run.close();
  assert.deepEqual(
    names(repo, 'run.metrics["loss", {"flag": True}].last == 0.5'),
    [
      "r0",
    ],
  );
  assert.deepEqual(
    names(repo, 'run.metrics["loss", {"flag": 1}].last == 0.5'),
    [],
  );
  // metric.context compares values by ==, where True == 1.
  assert.equal(
    searchMetrics(repo, "metric.context.flag == 1").matches.length,
    1,
  );
});

Deno.test("with recentMs set, searches reuse what they read of an unindexed run for that long, then read it again", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "before", handleSignals: false });
  await run.close();
  repo.touchMarker(run.hash);
  const name = () => searchRuns(repo, "").runs[0]!.record.name;
  // Renamed behind the search's back, as another process would.
  const rename = async (to: string) => {
    const again = await repo.resumeRun(run.hash, { handleSignals: false });
    again.name = to;
    await again.close();
    repo.touchMarker(run.hash);
  };
  assert.equal(name(), "before");
  await rename("after");
  assert.equal(name(), "after", "without recentMs every search reads afresh");
  repo.recentMs = 60_000;
  assert.equal(name(), "after");
  await rename("later");
  assert.equal(name(), "after", "within recentMs the last answer stands");
  repo.recentMs = 1;
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(name(), "later", "past recentMs the run is read again");
});

Deno.test("newest first by creation is the same answer by the index's order as by sorting records, in pages, ties by hash", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  for (let i = 0; i < 12; i++) {
    // Pairs created at the same instant: ties are broken by hash.
    if (i % 2 === 0) clock.advance(1000);
    const run = await repo.startRun({
      name: `r${i}`,
      experiment: i % 3 === 0 ? "a" : "b",
      handleSignals: false,
    });
    run.track(i, { name: "loss" });
    run.track(i, { name: "acc", context: { subset: "val" } });
    await run.close();
  }
  // Some runs unindexed, as after a crash: both sides are merged.
  for (const hash of repo.listRuns().slice(0, 5)) repo.touchMarker(hash);
  const runNames = (q: string, sort: string, limit: number, offset: number) =>
    searchRuns(repo, q, { sort, limit, offset }).runs.map((r) => r.record.name);
  const seriesOf = (q: string, sort: string, limit: number, offset: number) =>
    searchMetrics(repo, q, { sort, limit, offset }).matches.map((m) =>
      `${m.run.record.name}/${m.series.name}`
    );
  for (const q of ["", 'run.experiment == "b"', 'run.name.match("r1")']) {
    for (const [limit, offset] of [[100, 0], [3, 0], [3, 4], [5, 10]]) {
      const fast = runNames(q, "-run.created_at", limit!, offset!);
      // Any other expression takes the path that sorts whole records.
      const slow = runNames(q, "-(run.created_at + 0)", limit!, offset!);
      assert.deepEqual(fast, slow, `${q} ${limit} ${offset}`);
      const mq = q === "" ? 'metric.name != ""' : q;
      assert.deepEqual(
        seriesOf(mq, "-run.created_at", limit!, offset!),
        seriesOf(mq, "-(run.created_at + 0)", limit!, offset!),
        `metrics ${mq} ${limit} ${offset}`,
      );
    }
  }
  const all = runNames("", "-run.created_at", 100, 0);
  assert.deepEqual(
    all,
    runNames("", "", 100, 0).reverse().sort((x, y) => {
      // Reversed creation order, but runs created together stay in hash order.
      const [a, b] = [x, y].map((n) => Math.floor(Number(n.slice(1)) / 2));
      return b! - a! || all.indexOf(x) - all.indexOf(y);
    }),
  );
  assert.ok(
    ["r10", "r11"].includes(all[0]!) && ["r0", "r1"].includes(all[11]!),
    `newest first: ${all}`,
  );
});
