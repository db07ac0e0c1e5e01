import assert from "node:assert/strict";
import { join } from "node:path";
import { readPoints } from "../lib/storage/mod.ts";
import { openDatabase } from "../lib/util/mod.ts";
import { tempRepo, WriterProcess } from "./_helpers.ts";

const SIGNALS = { SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as const;

for (
  const [signal, number] of Object.entries(SIGNALS) as [Deno.Signal, number][]
) {
  Deno.test(`${signal} to a tracking program finalizes and indexes its runs and exits ${128 + number}`, async () => {
    await using repo = await tempRepo();
    await using writer = new WriterProcess(repo.path, [
      "--forever",
      "--runs",
      "2",
      "--series",
      "3",
      "--batch",
      "500",
    ]);
    const hashes = [
      (await writer.waitForLine(/^started /)).split(" ")[1]!,
    ];
    await writer.waitForLine(/^flushed [1-9]/);
    hashes.push(
      writer.lines.filter((l) => l.startsWith("started "))[1]!.split(" ")[1]!,
    );
    await writer.waitForFlushed(2000);
    writer.child.kill(signal);
    const status = await writer.finished();
    assert.equal(status.code, 128 + number, writer.stderr);
    assert.equal(
      status.signal,
      null,
      "the program exited by itself, not by the signal's default action",
    );
    const flushedBefore = Number(
      writer.lines.findLast((l) => l.startsWith("flushed "))!.split(" ")[1],
    );
    assert.deepEqual(repo.listMarkers(), [], "finalized runs leave no marker");
    for (const hash of hashes) {
      const indexed = repo.index().get(hash);
      assert.ok(indexed, `run ${hash} is indexed`);
      assert.equal(indexed.status, "terminated");
      assert.equal(indexed.signal, signal);
      assert.ok(
        indexed.ended_at !== null && indexed.ended_at >= indexed.created_at,
      );
      assert.equal(indexed.metrics.length, 3);
      for (const series of indexed.metrics) {
        // Every point tracked before the signal (at least those reported flushed) is there, with no gap.
        assert.ok(
          series.count >= flushedBefore,
          `${series.count} >= ${flushedBefore}`,
        );
        assert.equal(series.first_step, 0);
        assert.equal(series.last_step, series.count - 1);
        assert.equal(series.last, series.count - 1);
      }
      const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
      try {
        const points = readPoints(db, "s0", '{"i":0}')!;
        assert.equal(points.values.length, indexed.metrics[0]!.count);
        for (let i = 0; i < points.values.length; i++) {
          assert.equal(points.values[i], i);
        }
      } finally {
        db.close();
      }
      assert.equal(
        repo.index().versions().get(hash),
        repo.loadRun(hash).record.data_version,
      );
    }
  });
}

const ENDINGS = [
  { end: "close", code: 0, status: "finished", exitCode: null },
  { end: "return", code: 0, status: "finished", exitCode: null },
  { end: "throw", code: 1, status: "failed", exitCode: null },
  { end: "reject", code: 1, status: "failed", exitCode: null },
  { end: "exit3", code: 3, status: "failed", exitCode: 3 },
] as const;

for (const ending of ENDINGS) {
  Deno.test(`a program that ends by ${ending.end} leaves its run ${ending.status} and indexed`, async () => {
    await using repo = await tempRepo();
    await using writer = new WriterProcess(repo.path, [
      "--points",
      "2500",
      "--series",
      "2",
      "--end",
      ending.end,
    ]);
    const status = await writer.finished();
    assert.equal(status.code, ending.code, writer.stderr);
    const hash = (await writer.waitForLine(/^started /)).split(" ")[1]!;
    const record = repo.index().get(hash);
    assert.ok(record, "indexed");
    assert.equal(record.status, ending.status);
    assert.equal(record.exit_code, ending.exitCode);
    assert.deepEqual(record.metrics.map((m) => m.count), [2500, 2500]);
    assert.deepEqual(record.params, { hparams: { lr: 0.001, seed: 0 } });
    assert.deepEqual(repo.listMarkers(), []);
    if (ending.end === "throw") {
      assert.match(writer.stderr, /training diverged/);
    }
  });
}
