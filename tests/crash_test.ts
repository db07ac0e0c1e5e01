import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readPoints } from "../lib/storage/mod.ts";
import { openDatabase } from "../lib/util/mod.ts";
import { aim, liveWriter, tempRepo, WriterProcess } from "./_helpers.ts";
import type { Repo } from "../lib/mod.ts";

/** Starts a writer, waits until it has flushed at least `minStep` steps, SIGKILLs it. */
async function killedRun(
  repo: Repo,
  minStep: number,
): Promise<{ hash: string; flushed: number }> {
  await using writer = await liveWriter(repo.path, {
    batch: 700,
    series: 4,
    flushed: minStep,
  });
  const hash = writer.hash;
  writer.child.kill("SIGKILL");
  const status = await writer.finished();
  assert.equal(status.signal, "SIGKILL");
  const flushed = Number(
    writer.lines.findLast((l) => l.startsWith("flushed "))!.split(" ")[1],
  );
  return { hash, flushed };
}

function dumpIndex(path: string): unknown {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return {
      runs: db.prepare(
        "SELECT hash, name, experiment, description, status, signal, exit_code, created_at, ended_at, archived, data_version FROM runs ORDER BY hash",
      ).all(),
      records: db.prepare("SELECT * FROM records ORDER BY hash").all(),
      previews: db.prepare(
        "SELECT * FROM previews ORDER BY hash, name, context",
      ).all(),
      params: db.prepare("SELECT * FROM params ORDER BY hash, path").all(),
      tags: db.prepare("SELECT * FROM tags ORDER BY hash, tag").all(),
      series: db.prepare("SELECT * FROM series ORDER BY hash, name, context")
        .all(),
    };
  } finally {
    db.close();
  }
}

function integrity(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return String(
      (db.prepare("PRAGMA integrity_check").get() as {
        integrity_check: string;
      }).integrity_check,
    );
  } finally {
    db.close();
  }
}

Deno.test("a SIGKILLed run stays unindexed, reads back every flushed point, and aim reindex recovers it", async () => {
  await using repo = await tempRepo();
  // A finished run beside the crashed one, to check reindex leaves it alone.
  await using done = new WriterProcess(repo.path, ["--points", "100"]);
  assert.equal((await done.finished()).code, 0);
  const { hash, flushed } = await killedRun(repo, 3000);

  assert.deepEqual(repo.listMarkers(), [hash], "the marker stays");
  assert.equal(repo.index().get(hash), null, "not in the index");
  const status = JSON.parse(
    (await aim(["status", "--json", "--repo", repo.path])).stdout,
  );
  assert.equal(status.runs, 2);
  assert.equal(status.unindexed_stalled, 1);
  assert.equal(status.unindexed_live, 0);

  // Queries still see it, from its own space.
  const listed = JSON.parse(
    (await aim(["runs", "ls", "--json", "--repo", repo.path])).stdout,
  );
  const crashed = listed.find((r: { hash: string }) => r.hash === hash);
  assert.equal(crashed.status, "crashed");
  assert.equal(crashed.indexed, false);
  assert.equal(crashed.live, false);
  assert.ok(crashed.metrics[0].count >= flushed);

  const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
  try {
    for (let s = 0; s < 4; s++) {
      const points = readPoints(db, `s${s}`, `{"i":${s}}`)!;
      assert.ok(
        points.values.length >= flushed,
        `${points.values.length} >= ${flushed}`,
      );
      for (let i = 0; i < points.values.length; i++) {
        assert.equal(points.steps[i], i);
      }
    }
  } finally {
    db.close();
  }

  const reindexed = await aim(["reindex", "--repo", repo.path]);
  assert.equal(reindexed.code, 0, reindexed.stderr);
  assert.match(reindexed.stdout, /indexed 1 of 1 runs \(1 crashed\)/);
  assert.deepEqual(repo.listMarkers(), []);
  const record = repo.index().get(hash)!;
  assert.equal(record.status, "crashed");
  assert.ok(record.ended_at !== null && record.ended_at >= record.created_at);
  assert.ok(record.metrics.every((m) => m.count >= flushed));

  repo.close();
  for (
    const file of [
      join(repo.path, "index.db"),
      ...repo.listRuns().map((h) => join(repo.runDir(h), "run.db")),
    ]
  ) {
    assert.equal(integrity(file), "ok", file);
  }
  const afterReindex = dumpIndex(join(repo.path, "index.db"));
  const rebuilt = await aim(["reindex", "--all", "--repo", repo.path]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.deepEqual(
    dumpIndex(join(repo.path, "index.db")),
    afterReindex,
    "reindex equals a rebuild with --all",
  );
});

Deno.test("reindex --finalize-stalled records crashed in the run's own space", async () => {
  await using repo = await tempRepo();
  const { hash } = await killedRun(repo, 700);
  assert.equal(
    (await aim(["reindex", "--finalize-stalled", "--repo", repo.path])).code,
    0,
  );
  const db = openDatabase(join(repo.runDir(hash), "run.db"), "local");
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'status'")
      .get() as { value: string };
    assert.equal(JSON.parse(row.value), "crashed");
  } finally {
    db.close();
  }
  assert.equal(
    repo.index().get(hash)!.data_version,
    repo.loadRun(hash).record.data_version,
  );
});

Deno.test("reindex skips a run whose file is truncated, names it, and indexes the others", async () => {
  await using repo = await tempRepo();
  const runs = [
    await killedRun(repo, 700),
    await killedRun(repo, 700),
    await killedRun(repo, 700),
  ];
  const victim = runs[1]!.hash;
  const file = join(repo.runDir(victim), "run.db");
  // Fold the WAL in first so that truncating the main file really cuts committed data.
  const db = new DatabaseSync(file);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const size = Deno.statSync(file).size;
  Deno.truncateSync(file, Math.floor(size / 3));
  const before = await Deno.readFile(file);

  const out = await aim(["reindex", "--repo", repo.path]);
  assert.equal(out.code, 1, "a failed run makes the exit code non-zero");
  assert.match(
    out.stderr,
    new RegExp(
      `run ${victim} skipped: Cannot read run ${victim} from .*run\\.db: `,
    ),
  );
  assert.match(out.stdout, /indexed 2 of 3 runs/);
  for (const { hash } of runs) {
    if (hash === victim) continue;
    assert.equal(repo.index().get(hash)?.status, "crashed");
  }
  assert.deepEqual(
    repo.listMarkers(),
    [victim],
    "the unreadable run keeps its marker",
  );
  assert.deepEqual(
    await Deno.readFile(file),
    before,
    "its file is left as it was",
  );
  const listed = await aim(["runs", "ls", "--json", "--repo", repo.path]);
  assert.equal(listed.code, 0);
  assert.equal(JSON.parse(listed.stdout).length, 2);
  assert.match(listed.stderr, new RegExp(`Cannot read run ${victim}`));
});
