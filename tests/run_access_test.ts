import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../lib/util/mod.ts";
import { readSeries, reindex } from "../lib/mod.ts";
import { LEVELS } from "../lib/series/pyramid.ts";
import { readPoints } from "../lib/storage/mod.ts";
import type { Repo } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";

/** Steps tracked in three flushes (three chunks), the last one out of order. */
const CHUNKS = [
  Array.from({ length: 100 }, (_, i) => i),
  Array.from({ length: 100 }, (_, i) => 500 + i),
  [50, 1000, 60, 7],
];

async function writeChunks(repo: Repo): Promise<string> {
  const run = await repo.startRun();
  for (const steps of CHUNKS) {
    for (const step of steps) run.track(step / 10, { name: "loss", step });
    run.flush();
  }
  await run.close();
  return run.hash;
}

function withRunDb<T>(
  repo: Repo,
  hash: string,
  fn: (db: ReturnType<typeof openDatabase>) => T,
): T {
  const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Every tracked step inside [from, to], in step order (ties: tracking order). */
function expected(from: number, to: number): number[] {
  return CHUNKS.flat().filter((step) => step >= from && step <= to)
    .sort((a, b) => a - b);
}

const RANGES: [number, number][] = [
  [0, 99],
  [500, 599],
  [550, 560],
  [40, 70],
  [101, 499],
  [999, 2000],
  [-5, 5],
  [2000, 3000],
];

Deno.test("a step-range read returns exactly the points in the range, whatever the step order", async () => {
  await using repo = await tempRepo();
  const hash = await writeChunks(repo);
  for (const [from, to] of RANGES) {
    const data = readSeries(repo, hash, "loss", {}, { points: 0, from, to });
    assert.deepEqual(data.steps, expected(from, to), `range ${from}..${to}`);
    assert.deepEqual(data.values, expected(from, to).map((s) => s / 10));
  }
});

Deno.test("a step-range read opens only the chunks whose steps reach into the range", async () => {
  await using repo = await tempRepo();
  const hash = await writeChunks(repo);
  const read = (from: number, to: number) =>
    withRunDb(
      repo,
      hash,
      (db) => readPoints(db, "loss", "{}", { from, to })!.steps.length,
    );
  // Chunk bounds: 0..99, 500..599, and 7..1000 (out of order).
  assert.equal(read(0, 5), 100);
  assert.equal(read(500, 599), 100 + 4);
  assert.equal(read(900, 1000), 4);
  assert.equal(read(1001, 3000), 0);
  assert.equal(
    withRunDb(repo, hash, (db) => readPoints(db, "loss", "{}")!.steps.length),
    204,
  );
});

Deno.test("a run file from before chunk step bounds is read whole, and gains them and its pyramid when resumed", async () => {
  await using repo = await tempRepo();
  const hash = await writeChunks(repo);
  withRunDb(repo, hash, (db) =>
    db.exec(
      // A file from before step bounds: no bounds, no pyramid, no format version.
      "DROP INDEX chunks_steps; DROP TABLE blocks; ALTER TABLE series DROP COLUMN pyramid; " +
        "ALTER TABLE chunks DROP COLUMN first_seq; ALTER TABLE chunks DROP COLUMN min_step; " +
        "ALTER TABLE chunks DROP COLUMN max_step; PRAGMA user_version = 0",
    ));
  for (const [from, to] of RANGES) {
    const data = readSeries(repo, hash, "loss", {}, { points: 0, from, to });
    assert.deepEqual(
      data.steps,
      expected(from, to),
      `old file, ${from}..${to}`,
    );
  }
  const run = await repo.resumeRun(hash);
  run.track(0.5, { name: "loss", step: 5000 });
  await run.close();
  // Resumed, the file is brought to format 4: every chunk, old ones too,
  // has its bounds, and a range read skips what it does not need.
  const read = (from: number, to: number) =>
    withRunDb(
      repo,
      hash,
      (db) => readPoints(db, "loss", "{}", { from, to })!.steps.length,
    );
  assert.equal(read(0, 10), 100 + 4);
  assert.equal(read(4000, 6000), 1);
  for (const [from, to] of RANGES) {
    const data = readSeries(repo, hash, "loss", {}, { points: 0, from, to });
    assert.deepEqual(
      data.steps,
      expected(from, to),
      `upgraded, ${from}..${to}`,
    );
  }
  const data = readSeries(repo, hash, "loss", {}, {
    points: 0,
    from: 4000,
    to: 6000,
  });
  assert.deepEqual(data.steps, [5000]);
});

Deno.test("a series read keeps each point's own epoch and time, even when steps repeat", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  run.track(1, { name: "loss", step: 5, epoch: 1, time: 1000 });
  run.track(2, { name: "loss", step: 5, epoch: 2, time: 2000 });
  run.track(3, { name: "loss", step: 6, time: 3000 });
  await run.close();
  const data = readSeries(repo, run.hash, "loss", {}, { points: 0 });
  assert.deepEqual(data.steps, [5, 5, 6]);
  assert.deepEqual(data.values, [1, 2, 3]);
  assert.deepEqual(data.epochs, [1, 2, null]);
  assert.deepEqual(data.times, [1000, 2000, 3000]);
  const ranged = readSeries(repo, run.hash, "loss", {}, {
    points: 1,
    from: 5,
    to: 5,
  });
  assert.deepEqual(ranged.epochs, [1, 2]);
});

Deno.test("reindex gives a stalled run of an older format its pyramid, and reads then use it", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ handleSignals: false });
  for (let step = 0; step < 50_000; step++) {
    run.track(step === 31_337 ? 1e6 : Math.cos(step / 300), {
      name: "loss",
      step,
    });
  }
  await run.close();
  withRunDb(repo, run.hash, (db) =>
    db.exec(
      "DROP INDEX chunks_steps; DROP TABLE blocks; ALTER TABLE series DROP COLUMN pyramid; ALTER TABLE chunks DROP COLUMN first_seq; PRAGMA user_version = 3",
    ));
  const before = readSeries(repo, run.hash, "loss", {}, { points: 200 });
  repo.touchMarker(run.hash);
  assert.equal(reindex(repo).indexed, 1);
  assert.equal(
    withRunDb(
      repo,
      run.hash,
      (db) =>
        (db.prepare("SELECT count(*) AS n FROM blocks").get() as { n: number })
          .n,
    ),
    LEVELS.reduce((sum, level) => sum + Math.ceil(50_000 / 2 ** level), 0),
    "the blocks of every level",
  );
  const after = readSeries(repo, run.hash, "loss", {}, { points: 200 });
  assert.deepEqual(after, before, "the same answer, now from the pyramid");
  assert.ok(after.values.includes(1e6));
});
