/**
 * Editing runs from outside their writer, live or not (issue 12): edits lie
 * beside the run and over every read, and none is lost whatever the writer
 * does meanwhile — flush, finalize, or die by SIGKILL — nor on reindex.
 * Writers are real processes (tests/fixtures/writer.ts).
 */

import assert from "node:assert/strict";
import { reindex, type Repo, searchRuns, updateRun } from "../lib/mod.ts";
import { liveWriter, tempRepo, WriterProcess } from "./_helpers.ts";

/** What every reader says of `hash`: its own space, the index, and a search. */
function views(repo: Repo, hash: string) {
  const found = searchRuns(repo, `run.hash == "${hash}"`).runs[0]?.record;
  return {
    space: repo.loadRun(hash).record,
    index: repo.hasMarker(hash) ? null : repo.index().get(hash),
    search: found,
  };
}

/** Edits `hash` `count` times, each a new name and tag set; returns the last. */
async function editMany(repo: Repo, hash: string, count: number, pause = 5) {
  let last = { name: "", tags: [] as string[] };
  for (let i = 0; i < count; i++) {
    last = { name: `edit-${i}`, tags: ["edited", `n${i}`] };
    const record = updateRun(repo, hash, last);
    assert.equal(record.name, last.name, `edit ${i} answered`);
    assert.deepEqual(
      repo.loadRun(hash).record.tags,
      last.tags,
      `edit ${i} read back`,
    );
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return last;
}

Deno.test("edits made while the writer flushes are read at once, kept when it finalizes, and kept by reindex", async () => {
  await using repo = await tempRepo();
  await using writer = await liveWriter(repo.path, { batch: 50 });
  const last = await editMany(repo, writer.hash, 40);
  assert.equal(repo.isLive(writer.hash), true, "edited while live");
  // SIGTERM: the writer finalizes and indexes the run, with the edits.
  writer.child.kill("SIGTERM");
  assert.equal((await writer.finished()).code, 143);
  const after = views(repo, writer.hash);
  for (const [where, record] of Object.entries(after)) {
    assert.ok(record, `${where} has the run`);
    assert.deepEqual([record.name, record.tags], [last.name, last.tags], where);
  }
  assert.equal(after.index!.status, "terminated");
  reindex(repo, { all: true });
  const again = repo.index().get(writer.hash)!;
  assert.deepEqual([again.name, again.tags], [last.name, last.tags]);
});

Deno.test("edits made while the writer finalizes are kept: the run is indexed again if its writer read it first", async () => {
  await using repo = await tempRepo();
  // Eight runs closed one after another: the last is edited all along.
  await using writer = new WriterProcess(repo.path, [
    "--points",
    "2000",
    "--batch",
    "100",
    "--end",
    "close-slow",
    "--series",
    "4",
    "--runs",
    "8",
  ]);
  let hash = "";
  for (let run = 0; run < 8; run++) {
    hash = (await writer.waitForLine(/^started /)).split(" ")[1]!;
  }
  await writer.waitForLine(/^closing/);
  // Edit for as long as the writer is finalizing, and a little after.
  let last = { name: "", tags: [] as string[] };
  let i = 0;
  const finished = writer.finished();
  let done = false;
  finished.then(() => (done = true));
  while (!done || i < 3) {
    last = { name: `during-close-${i}`, tags: [`c${i}`] };
    updateRun(repo, hash, last);
    i++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.equal((await finished).code, 0, writer.stderr);
  // Whatever the writer indexed, a run edited after its read is marked again.
  reindex(repo);
  for (const [where, record] of Object.entries(views(repo, hash))) {
    assert.ok(record, `${where} has the run`);
    assert.deepEqual([record.name, record.tags], [last.name, last.tags], where);
  }
  assert.equal(repo.index().get(hash)!.status, "finished");
  assert.ok(i > 3, `edits were made during close (${i})`);
});

Deno.test("edits made before a writer is SIGKILLed survive it and its reindex, and the crash is recorded", async () => {
  await using repo = await tempRepo();
  await using writer = await liveWriter(repo.path, { batch: 20 });
  const last = await editMany(repo, writer.hash, 15, 2);
  writer.child.kill("SIGKILL");
  await writer.finished();
  assert.equal(repo.isLive(writer.hash), false);
  const summary = reindex(repo);
  assert.equal(summary.indexed, 1);
  for (const [where, record] of Object.entries(views(repo, writer.hash))) {
    assert.ok(record, `${where} has the run`);
    assert.deepEqual([record.name, record.tags], [last.name, last.tags], where);
  }
  assert.equal(repo.index().get(writer.hash)!.status, "crashed");
});

Deno.test("a value the writer sets after an edit wins; an edit after the writer's value wins", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "start", handleSignals: false });
  run.track(1, { name: "loss" });
  run.flush();
  updateRun(repo, run.hash, { name: "edited", description: "from the UI" });
  assert.equal(repo.loadRun(run.hash).record.name, "edited");
  // The clock moves on: the program renames its run after the edit.
  await new Promise((resolve) => setTimeout(resolve, 5));
  run.name = "renamed by the program";
  run.flush();
  const record = repo.loadRun(run.hash).record;
  assert.equal(record.name, "renamed by the program");
  assert.equal(record.description, "from the UI", "other edits stay");
  await new Promise((resolve) => setTimeout(resolve, 5));
  updateRun(repo, run.hash, { name: "edited again" });
  await run.close();
  assert.equal(repo.index().get(run.hash)!.name, "edited again");
  assert.equal(repo.index().get(run.hash)!.description, "from the UI");
});

Deno.test("an edits file that is not a run's edits makes the run unreadable with a named error, never a crash", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "r", handleSignals: false });
  await run.close();
  Deno.writeTextFileSync(`${repo.runDir(run.hash)}/edits.json`, "{not json");
  repo.touchMarker(run.hash);
  const page = searchRuns(repo, "");
  assert.equal(page.runs.length, 0);
  assert.equal(page.unreadable.length, 1);
  assert.match(page.unreadable[0]!.reason, /edits\.json is not JSON/);
});
