import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { reindex } from "../lib/mod.ts";
import { searchRuns } from "../lib/mod.ts";
import { Repo } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";

Deno.test("an index of an older schema is rebuilt, and the very first search still sees every run", async () => {
  await using repo = await tempRepo();
  for (let i = 0; i < 3; i++) {
    const run = await repo.startRun({ name: `run-${i}` });
    run.set("hparams", { lr: i / 10 });
    await run.close();
  }
  repo.close();
  const db = new DatabaseSync(join(repo.path, "index.db"));
  db.exec("PRAGMA user_version = 1");
  db.close();

  const reopened = Repo.openSync(repo.path);
  try {
    const page = searchRuns(reopened, "run.hparams.lr >= 0.1");
    assert.deepEqual(page.runs.map((r) => r.record.name), ["run-1", "run-2"]);
    assert.ok(
      page.runs.every((r) => !r.indexed),
      "read from the run spaces until reindexed",
    );
    assert.equal(
      reopened.listMarkers().length,
      3,
      "every run is marked for indexing",
    );
    assert.equal(reindex(reopened).indexed, 3);
    assert.deepEqual(
      searchRuns(reopened, "run.hparams.lr >= 0.1").runs.map((
        r,
      ) => [r.record.name, r.indexed]),
      [
        ["run-1", true],
        ["run-2", true],
      ],
    );
  } finally {
    reopened.close();
  }
});
