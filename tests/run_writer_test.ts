import assert from "node:assert/strict";
import { join } from "node:path";
import { readPoints } from "../lib/storage/mod.ts";
import { canonicalJson } from "../lib/util/mod.ts";
import { openDatabase } from "../lib/util/mod.ts";
import { tempRepo, waitFor } from "./_helpers.ts";
import { ManualClock } from "./_clock.ts";
import type { Repo } from "../lib/mod.ts";

function points(repo: Repo, hash: string, name: string, context = "{}") {
  const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
  try {
    return readPoints(db, name, context);
  } finally {
    db.close();
  }
}

Deno.test("a closed run is indexed with its params, tags, and series summaries", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({
    experiment: "base",
    name: "lr-0.01",
    tags: ["demo", "demo"],
  });
  run.set("hparams", {
    lr: 0.01,
    layers: [64, 64],
    optimizer: { name: "adam" },
  });
  run.track(0.5, {
    name: "loss",
    step: 10,
    epoch: 1,
    context: { subset: "train" },
  });
  run.track(0.25, { name: "loss", context: { subset: "train" } });
  run.track(0.75, { name: "loss", context: { subset: "val" } });
  await run.close();
  await run.close();
  const record = repo.index().get(run.hash)!;
  assert.equal(record.status, "finished");
  assert.equal(record.experiment, "base");
  assert.deepEqual(record.tags, ["demo"]);
  assert.deepEqual(record.params, {
    hparams: { lr: 0.01, layers: [64, 64], optimizer: { name: "adam" } },
  });
  const train = record.metrics.find((m) => m.context.subset === "train")!;
  assert.deepEqual(
    {
      count: train.count,
      first: train.first_step,
      last: train.last_step,
      value: train.last,
      min: train.min,
      max: train.max,
    },
    { count: 2, first: 10, last: 11, value: 0.25, min: 0.25, max: 0.5 },
  );
  const val = record.metrics.find((m) => m.context.subset === "val")!;
  assert.equal(val.first_step, 0, "step defaults per series");
  assert.deepEqual(repo.listMarkers(), []);
  const read = points(repo, run.hash, "loss", '{"subset":"train"}')!;
  assert.deepEqual([...read.steps], [10, 11]);
  assert.deepEqual([...read.epochs].map(String), ["1", "NaN"]);
});

Deno.test("NaN and ±Infinity are stored and read back as such", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  run.set("weird", { nan: NaN, inf: Infinity, list: [-Infinity, 1] });
  for (const value of [1, NaN, Infinity, -Infinity, 2]) {
    run.track(value, { name: "x" });
  }
  run.track(NaN, { name: "all-nan" });
  await run.close();
  const record = repo.index().get(run.hash)!;
  assert.ok(Number.isNaN((record.params.weird as Record<string, number>).nan));
  assert.equal((record.params.weird as Record<string, number>).inf, Infinity);
  assert.deepEqual((record.params.weird as Record<string, unknown>).list, [
    -Infinity,
    1,
  ]);
  const x = record.metrics.find((m) => m.name === "x")!;
  assert.deepEqual([x.count, x.last, x.min, x.max], [
    5,
    2,
    -Infinity,
    Infinity,
  ]);
  const allNan = record.metrics.find((m) => m.name === "all-nan")!;
  assert.ok(
    Number.isNaN(allNan.last) && Number.isNaN(allNan.min) &&
      Number.isNaN(allNan.max),
  );
  assert.deepEqual([...points(repo, run.hash, "x")!.values].map(String), [
    "1",
    "NaN",
    "Infinity",
    "-Infinity",
    "2",
  ]);
  assert.deepEqual(
    repo.loadRun(run.hash).record.metrics,
    record.metrics,
    "the run space and the index agree",
  );
});

Deno.test("resumeRun appends to the same run and keeps its steps going", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "first" });
  run.track(1, { name: "loss" });
  run.track(2, { name: "loss" });
  await run.close();
  const again = await repo.resumeRun(run.hash);
  assert.equal(again.name, "first");
  assert.equal(repo.isLive(run.hash), true, "a resumed run is live");
  again.track(3, { name: "loss" });
  again.addTag("resumed");
  await again.close();
  const record = repo.index().get(run.hash)!;
  assert.deepEqual([
    record.metrics[0]!.count,
    record.metrics[0]!.last_step,
    record.metrics[0]!.last,
  ], [3, 2, 3]);
  assert.deepEqual(record.tags, ["resumed"]);
  assert.deepEqual([...points(repo, run.hash, "loss")!.values], [1, 2, 3]);
});

Deno.test("resumeRun refuses a live run and an unknown one", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  await assert.rejects(
    async () => await repo.resumeRun(run.hash),
    /Run [0-9a-f]+ is live: pid \d+/,
  );
  await assert.rejects(
    async () => await repo.resumeRun("0123456789abcdef0123"),
    /No run 0123456789abcdef0123/,
  );
  await run.close();
});

Deno.test("bad input to the writer is refused with a clear error and nothing is half-written", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  run.track(1, { name: "ok" });
  const bad = run as unknown as {
    track(v: unknown, o: unknown): void;
    set(k: unknown, v: unknown): void;
  };
  assert.throws(() => bad.track("0.5", { name: "loss" }), {
    name: "TypeError",
    message: 'track() needs a number for series "loss", got the string "0.5"',
  });
  assert.throws(() => bad.track(1, {}), /non-empty string name/);
  assert.throws(
    () => bad.track(1, { name: "loss", step: 1.5 }),
    /step for series "loss" must be an integer/,
  );
  assert.throws(
    () => bad.track(1, { name: "loss", context: [1] }),
    /context must be a plain object/,
  );
  assert.throws(
    () => bad.set("p", { when: new Date() }),
    /Cannot store a Date/,
  );
  assert.throws(
    () => bad.set("p", () => 1),
    /Cannot store a value of type function/,
  );
  assert.throws(() => bad.set("", 1), /must not be empty/);
  await run.close();
  const record = repo.index().get(run.hash)!;
  assert.deepEqual(record.params, {});
  assert.deepEqual(record.metrics.map((m) => m.name), ["ok"]);
  assert.throws(() => run.track(1, { name: "late" }), /is closed: resume it/);
});

Deno.test("points wait at most a second before the writer's timer commits them, whatever the timer's phase", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  const run = await repo.startRun({ handleSignals: false });
  // Track at every offset from the timer's 250 ms ticks, in 10 ms steps.
  for (let round = 0; round < 25; round++) {
    clock.advance(10 * round + 3);
    const tracked = clock.now();
    run.track(round, { name: "loss" });
    assert.equal(
      points(repo, run.hash, "loss")?.values.length ?? 0,
      round,
      "still buffered",
    );
    while ((points(repo, run.hash, "loss")?.values.length ?? 0) === round) {
      clock.advance(10);
      assert.ok(
        clock.now() - tracked <= 1000,
        `committed within 1 s (round ${round}, tracked at ${
          tracked % 250
        } ms past a tick)`,
      );
    }
    // Never earlier than needed: the timer flushes what is 750 ms old.
    assert.ok(clock.now() - tracked >= 750, `round ${round}`);
  }
  await run.close();
  assert.equal(clock.active, 0, "close stops the timer");
});

Deno.test("a loop that never yields to the timer still commits within a second, from inside track()", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  const run = await repo.startRun({ handleSignals: false });
  run.track(1, { name: "loss" });
  clock.jump(999);
  run.track(2, { name: "loss" });
  assert.equal(points(repo, run.hash, "loss")?.values.length ?? 0, 0);
  clock.jump(1);
  run.track(3, { name: "loss" });
  assert.deepEqual([...points(repo, run.hash, "loss")!.values], [1, 2, 3]);
  await run.close();
});

Deno.test("the writer's own timer flushes with the system clock too", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ handleSignals: false });
  run.track(1, { name: "loss" });
  await waitFor(
    () => (points(repo, run.hash, "loss")?.values.length ?? 0) === 1,
    "the timer's flush",
  );
  await run.close();
});

Deno.test("every flush bumps the data version and re-creates a deleted marker", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  const start = run.dataVersion;
  repo.removeMarker(run.hash);
  run.track(1, { name: "a" });
  run.flush();
  assert.equal(run.dataVersion, start + 1);
  assert.equal(repo.hasMarker(run.hash), true);
  run.flush();
  assert.equal(run.dataVersion, start + 1, "an empty flush commits nothing");
  await run.close();
});

Deno.test("a context object mutated between calls lands each point in the series it names", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  const context: Record<string, string | number> = { subset: "train" };
  run.track(1, { name: "loss", context });
  context.subset = "val";
  run.track(2, { name: "loss", context });
  context["10"] = 1;
  context["9"] = 2;
  run.track(3, { name: "loss", context });
  await run.close();
  const byContext = Object.fromEntries(
    repo.index().get(run.hash)!.metrics.map((
      m,
    ) => [canonicalJson(m.context), m.last]),
  );
  assert.deepEqual(byContext, {
    '{"subset":"train"}': 1,
    '{"subset":"val"}': 2,
    '{"10":1,"9":2,"subset":"val"}': 3,
  });
  assert.deepEqual([
    ...points(repo, run.hash, "loss", '{"10":1,"9":2,"subset":"val"}')!.values,
  ], [3]);
});
