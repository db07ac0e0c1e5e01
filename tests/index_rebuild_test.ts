import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { reindex } from "../lib/mod.ts";
import { searchRuns } from "../lib/mod.ts";
import { Repo } from "../lib/mod.ts";
import { aim, tempRepo } from "./_helpers.ts";

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

Deno.test("an index.db of garbage or a damaged one is moved aside, named, and built anew by aim reindex", async () => {
  for (const damage of ["garbage", "truncated"] as const) {
    await using repo = await tempRepo();
    for (let i = 0; i < 3; i++) {
      const run = await repo.startRun({ name: `run-${i}` });
      await run.close();
    }
    repo.close();
    const path = join(repo.path, "index.db");
    if (damage === "garbage") {
      Deno.writeFileSync(path, crypto.getRandomValues(new Uint8Array(65_536)));
    } else {
      // A real index cut short: its header is fine, its pages are not.
      const bytes = Deno.readFileSync(path);
      Deno.writeFileSync(path, bytes.subarray(0, 4096 + 100));
    }
    const out = await aim(["reindex", "--repo", repo.path]);
    assert.equal(out.code, 0, `${damage}: ${out.stderr}`);
    assert.match(
      out.stderr,
      /index\.db was not a readable index: moved to .*index\.db\.corrupt-/,
      damage,
    );
    assert.match(out.stdout, /indexed 3 of 3 runs/, damage);
    const aside = [...Deno.readDirSync(repo.path)].filter((e) =>
      e.name.startsWith("index.db.corrupt-")
    );
    assert.equal(aside.length, 1, `${damage}: the damaged file is kept aside`);
    const listed = await aim(["runs", "ls", "--json", "--repo", repo.path]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).length, 3);
    assert.equal(listed.stderr, "", `${damage}: the new index is good`);
  }
});
