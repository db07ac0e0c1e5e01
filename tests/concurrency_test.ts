import assert from "node:assert/strict";
import { join } from "node:path";
import { indexRun } from "../lib/mod.ts";
import { openDatabase } from "../lib/util/mod.ts";
import { readDataVersion, readPoints } from "../lib/storage/mod.ts";
import { liveWriter, tempRepo, WriterProcess } from "./_helpers.ts";
import { type Repo, RunSpaces } from "../lib/mod.ts";

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

Deno.test("an indexer racing a flushing writer process never leaves newer data unindexed without a marker", async () => {
  await using repo = await tempRepo();
  await using writer = await liveWriter(repo.path, { batch: 50, series: 2 });
  const hash = writer.hash;
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
  // Whether a write landed inside an index pass here is up to the scheduler;
  // the next test makes it happen.
  console.log(`${kept} of ${indexed} passes saw a write land meanwhile`);
  // And the stalled run is then recovered completely.
  assert.equal(indexRun(repo, hash).kind, "indexed");
  assert.equal(repo.index().versions().get(hash), finalVersion);
  assert.equal(repo.hasMarker(hash), false);
});

/** Run spaces whose marker removal first lets a writer commit: the protocol's critical interleaving. */
class RacingSpaces extends RunSpaces {
  constructor(readonly repo: Repo, readonly beforeRemove: () => void) {
    super(repo.path, repo.mode);
  }
  index() {
    return this.repo.index();
  }
  override removeMarker(hash: string): void {
    this.beforeRemove();
    super.removeMarker(hash);
  }
}

Deno.test("a writer that commits after the indexer read its run keeps the marker: the race, forced", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ handleSignals: false });
  run.track(1, { name: "loss" });
  run.flush();
  const read = run.dataVersion;
  const racing = new RacingSpaces(repo, () => {
    // The writer commits between the indexer's read and its marker removal.
    run.track(2, { name: "loss" });
    run.flush();
  });
  const outcome = indexRun(racing, run.hash, { includeLive: true });
  assert.equal(outcome.kind, "indexed");
  if (outcome.kind !== "indexed") return;
  assert.equal(outcome.record.data_version, read, "indexed what it read");
  assert.equal(outcome.markerKept, true);
  assert.ok(repo.hasMarker(run.hash), "newer data keeps its marker");
  assert.equal(repo.index().versions().get(run.hash), read);
  // Without a write in between, the marker goes.
  const calm = new RacingSpaces(repo, () => {});
  const again = indexRun(calm, run.hash, { includeLive: true });
  assert.equal(again.kind === "indexed" && again.markerKept, false);
  assert.equal(repo.hasMarker(run.hash), false);
  assert.equal(repo.index().versions().get(run.hash), run.dataVersion);
  await run.close();
});
