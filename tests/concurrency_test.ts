import assert from "node:assert/strict";
import { join } from "node:path";
import { indexRun } from "../lib/mod.ts";
import { openDatabase } from "../lib/util/mod.ts";
import { readDataVersion, readPoints } from "../lib/storage/mod.ts";
import { tempRepo, WriterProcess } from "./_helpers.ts";

Deno.test("16 concurrent writer processes of 100k points each lose nothing", async () => {
  await using repo = await tempRepo();
  const writers = Array.from(
    { length: 16 },
    () =>
      new WriterProcess(repo.path, ["--points", "100000", "--batch", "5000"]),
  );
  try {
    const statuses = await Promise.all(writers.map((w) => w.finished()));
    statuses.forEach((status, i) =>
      assert.equal(status.code, 0, writers[i]!.stderr)
    );
    const hashes = writers.map((w) =>
      w.lines.find((l) => l.startsWith("started "))!.split(" ")[1]!
    );
    assert.equal(new Set(hashes).size, 16);
    assert.deepEqual(repo.listMarkers(), []);
    for (const hash of hashes) {
      const record = repo.index().get(hash)!;
      assert.equal(record.status, "finished");
      assert.equal(record.metrics[0]!.count, 100_000);
      const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
      try {
        const points = readPoints(db, "s0", '{"i":0}')!;
        assert.equal(points.values.length, 100_000);
        let sum = 0;
        for (const v of points.values) sum += v;
        assert.equal(sum, (99_999 * 100_000) / 2);
      } finally {
        db.close();
      }
    }
  } finally {
    for (const writer of writers) await writer[Symbol.asyncDispose]();
  }
});

Deno.test("an indexer racing a flushing writer never leaves newer data unindexed without a marker", async () => {
  await using repo = await tempRepo();
  await using writer = new WriterProcess(repo.path, [
    "--forever",
    "--batch",
    "50",
    "--series",
    "2",
  ]);
  const hash = (await writer.waitForLine(/^started /)).split(" ")[1]!;
  await writer.waitForFlushed(50);
  let indexed = 0;
  let kept = 0;
  const stopAt = Date.now() + 3000;
  while (Date.now() < stopAt) {
    const outcome = indexRun(repo, hash, { includeLive: true });
    assert.equal(outcome.kind, "indexed");
    if (outcome.kind === "indexed" && outcome.markerKept) kept++;
    indexed++;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  writer.child.kill("SIGKILL");
  await writer.finished();
  const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
  const finalVersion = readDataVersion(db);
  db.close();
  const indexedVersion = repo.index().versions().get(hash);
  // The property: either the index covers the final version, or the marker says it does not.
  assert.ok(
    repo.hasMarker(hash) || indexedVersion === finalVersion,
    `marker gone but index at version ${indexedVersion} < ${finalVersion}`,
  );
  assert.ok(indexed > 20, `the indexer ran ${indexed} times`);
  assert.ok(
    kept > 0,
    "the race happened at least once (a write landed during an index pass)",
  );
  // And the stalled run is then recovered completely.
  assert.equal(indexRun(repo, hash).kind, "indexed");
  assert.equal(repo.index().versions().get(hash), finalVersion);
  assert.equal(repo.hasMarker(hash), false);
});
