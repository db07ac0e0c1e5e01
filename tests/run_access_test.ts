import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../lib/util/mod.ts";
import { readSeries, reindex } from "../lib/mod.ts";
import { LEVELS, PAGE_BLOCKS } from "../lib/series/pyramid.ts";
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

Deno.test("a series whose chunks come in step order is read by bisecting them; one that goes back is marked and indexed", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ handleSignals: false });
  // 40 chunks of 25 steps each, then (in a second series) a step back.
  for (let chunk = 0; chunk < 40; chunk++) {
    for (let i = 0; i < 25; i++) {
      const step = chunk * 100 + i * 2;
      run.track(step, { name: "ordered", step });
      run.track(step, {
        name: "back",
        step: chunk === 30 ? step - 2_000 : step,
      });
    }
    run.flush();
  }
  await run.close();
  const [ordered, back] = withRunDb(
    repo,
    run.hash,
    (db) =>
      ["ordered", "back"].map((name) =>
        (db.prepare("SELECT ordered FROM series WHERE name = ?").get(name) as {
          ordered: number;
        }).ordered
      ),
  );
  assert.deepEqual([ordered, back], [1, 0]);
  const pointsIn = (name: string, from: number, to: number) =>
    withRunDb(
      repo,
      run.hash,
      (db) => readPoints(db, name, "{}", { from, to })!,
    );
  for (
    const [from, to] of [[0, 0], [148, 1_302], [3_950, 10_000], [-9, -1], [
      49,
      51,
    ], [3_999, 3_999]]
  ) {
    // Only the chunks that reach into the range are decoded: 25 points each.
    const read = pointsIn("ordered", from!, to!);
    const wanted = Array.from(
      { length: 40 * 25 },
      (_, k) => Math.floor(k / 25) * 100 + (k % 25) * 2,
    ).filter((step) => step >= from! && step <= to!);
    const chunks = new Set(wanted.map((step) => Math.floor(step / 100)));
    assert.equal(read.steps.length, chunks.size * 25, `${from}..${to}`);
    const all = readSeries(repo, run.hash, "ordered", {}, {
      points: 0,
      from,
      to,
    });
    assert.deepEqual(all.steps, wanted, `${from}..${to}`);
    const steps = (name: string) =>
      readSeries(repo, run.hash, name, {}, { points: 0, from, to }).steps;
    const backWanted = Array.from({ length: 40 * 25 }, (_, k) => {
      const chunk = Math.floor(k / 25), step = chunk * 100 + (k % 25) * 2;
      return chunk === 30 ? step - 2_000 : step;
    }).filter((step) => step >= from! && step <= to!).sort((a, b) => a - b);
    assert.deepEqual(steps("back"), backWanted, `back ${from}..${to}`);
  }
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
  // Every complete page of every level is stored: all but the latest page
  // of each level, which readers make from the level below.
  const blocks = withRunDb(
    repo,
    run.hash,
    (db) =>
      db.prepare("SELECT level, data FROM blocks").all().reduce(
        (sum, row) =>
          sum + new DataView((row.data as Uint8Array).buffer).getUint32(0, true)
            .toString(2).replaceAll("0", "").length,
        0,
      ),
  );
  assert.equal(
    blocks,
    LEVELS.reduce(
      (sum, level) =>
        sum +
        PAGE_BLOCKS *
          (Math.ceil(Math.ceil(50_000 / 2 ** level) / PAGE_BLOCKS) - 1),
      0,
    ),
    "the complete blocks of every level",
  );
  const after = readSeries(repo, run.hash, "loss", {}, { points: 200 });
  assert.deepEqual(after, before, "the same answer, now from the pyramid");
  assert.ok(after.values.includes(1e6));
});
