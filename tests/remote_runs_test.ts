import assert from "node:assert/strict";
import { AimError, readSeries } from "../lib/mod.ts";
import { REMOTE_SEQ, RemoteRuns } from "../lib/tracking/mod.ts";
import { readMeta } from "../lib/storage/mod.ts";
import { tempRepo } from "./_helpers.ts";
import { ManualClock } from "./_clock.ts";

const HASH = "00112233445566778899";

function lines(from: number, to: number, name = "loss"): Uint8Array {
  let text = "";
  for (let step = from; step < to; step++) {
    text += `{"track": ${step / 2}, "name": "${name}", "step": ${step}}\n`;
  }
  return new TextEncoder().encode(text);
}

function steps(repo: Awaited<ReturnType<typeof tempRepo>>, hash: string) {
  return readSeries(repo, hash, "loss", {}, { points: 0 }).steps;
}

async function rejects(
  promise: Promise<unknown>,
  code: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AimError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("RemoteRuns applies a batch sent twice once, refuses a gap, and answers a close sent twice", async () => {
  await using repo = await tempRepo();
  const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
  const opened = await remote.open({
    hash: HASH,
    experiment: "far",
    tags: ["remote"],
  });
  assert.deepEqual(opened, { hash: HASH, seq: 0, status: "running" });
  const first = await remote.batch(HASH, 1, lines(0, 10));
  assert.deepEqual(
    [first.seq, first.duplicate, first.lines, first.malformed],
    [1, false, 10, 0],
  );
  const again = await remote.batch(HASH, 1, lines(0, 10));
  assert.deepEqual([again.seq, again.duplicate], [1, true]);
  await rejects(
    remote.batch(HASH, 3, lines(20, 30)),
    "out_of_order",
    /batches 1 to 1 are stored, so the next is 2/,
  );
  // Opening again (a client that lost an answer) finds the same run.
  assert.deepEqual(await remote.open({ hash: HASH }), {
    hash: HASH,
    seq: 1,
    status: "running",
  });
  await remote.batch(HASH, 2, lines(10, 20));
  await rejects(
    remote.close(HASH, 3, { status: "finished" }),
    "out_of_order",
    /batches 1 to 2 are stored/,
  );
  const closed = await remote.close(HASH, 2, { status: "finished" });
  assert.deepEqual(closed, { hash: HASH, seq: 2, status: "finished" });
  assert.deepEqual(await remote.close(HASH, 2, { status: "failed" }), closed);
  // A retry of the last batch after the end is recognized; a new one is refused.
  assert.equal((await remote.batch(HASH, 2, lines(10, 20))).duplicate, true);
  await rejects(
    remote.batch(HASH, 3, lines(20, 30)),
    "run_closed",
    /has ended \(finished\): batch 3 is refused/,
  );
  assert.deepEqual(steps(repo, HASH), [...Array(20).keys()]);
  const record = repo.index().get(HASH)!;
  assert.deepEqual([record.experiment, record.tags], ["far", ["remote"]]);
  assert.equal(remote.size, 0);
});

Deno.test("a batch larger than a flush is committed in one transaction together with its number", async () => {
  await using repo = await tempRepo();
  const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
  await remote.open({ hash: HASH });
  const versionOf = () =>
    repo.readRun(HASH, (db) => {
      const meta = readMeta(db);
      return [meta.get("data_version"), meta.get(REMOTE_SEQ)];
    });
  const [before] = versionOf();
  // More points than the writer buffers before flushing by itself (65,536).
  await remote.batch(HASH, 1, lines(0, 70_000));
  assert.deepEqual(versionOf(), [(before as number) + 1, 1]);
  assert.equal(steps(repo, HASH).length, 70_000);
  remote.suspendAll();
});

Deno.test("malformed lines of a batch are skipped, logged and told in the acknowledgement; the rest is kept", async () => {
  await using repo = await tempRepo();
  const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
  await remote.open({ hash: HASH });
  const body = new TextEncoder().encode(
    '{"track": 1, "name": "loss", "step": 0}\nnot json\n{"track": "x", "name": "loss"}\n{"track": 2, "name": "loss", "step": 1}',
  );
  const ack = await remote.batch(HASH, 1, body);
  assert.deepEqual([ack.lines, ack.malformed], [4, 2]);
  assert.match(ack.warnings[0]!, /^batch 1, line 2: not valid JSON/);
  assert.match(ack.warnings[1]!, /^batch 1, line 3: "track" must be a number/);
  assert.deepEqual(steps(repo, HASH), [0, 1]);
  await remote.close(HASH, 1, { status: "finished" });
});

Deno.test("a close line stops its batch only when asked (aim track), and is told either way", async () => {
  await using repo = await tempRepo();
  const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
  await remote.open({ hash: HASH });
  const body = new TextEncoder().encode(
    '{"track": 1, "name": "loss", "step": 0}\n{"close": true}\n{"track": 2, "name": "loss", "step": 1}\n',
  );
  const kept = await remote.batch(HASH, 1, body);
  assert.equal(kept.closed, true);
  assert.deepEqual(steps(repo, HASH), [0, 1]);
  const stopped = await remote.batch(
    HASH,
    2,
    new TextEncoder().encode(
      '{"track": 1, "name": "loss", "step": 5}\n{"close": true}\n{"track": 2, "name": "loss", "step": 6}\n',
    ),
    { stopAtClose: true },
  );
  assert.equal(stopped.closed, true);
  assert.deepEqual(steps(repo, HASH), [0, 1, 5]);
  await remote.close(HASH, 2, { status: "finished" });
});

Deno.test("a silent client's run is recorded crashed after the timeout, indexed, with its points and its end when last heard", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  const remote = new RemoteRuns(repo, { timeoutMs: 30_000 });
  await remote.open({ hash: HASH });
  await remote.batch(HASH, 1, lines(0, 100));
  const lastHeard = clock.now();
  clock.advance(29_000);
  assert.deepEqual(remote.sweep(), [], "still within the timeout");
  clock.advance(2_000);
  assert.deepEqual(remote.sweep(), [HASH]);
  const record = repo.index().get(HASH)!;
  assert.equal(record.status, "crashed");
  assert.equal(record.ended_at, lastHeard / 1000);
  assert.equal(record.metrics[0]!.count, 100);
  assert.deepEqual(repo.listMarkers(), [], "indexed");
  // The client comes back: the run goes on, and ends as it says.
  assert.deepEqual(await remote.open({ hash: HASH }), {
    hash: HASH,
    seq: 1,
    status: "running",
  });
  await remote.batch(HASH, 2, lines(100, 110));
  await remote.close(HASH, 2, { status: "finished" });
  assert.equal(repo.index().get(HASH)!.status, "finished");
  assert.equal(steps(repo, HASH).length, 110);
});

Deno.test("suspended runs stay running, and a later RemoteRuns resumes them from their stored batch number", async () => {
  await using repo = await tempRepo();
  const before = new RemoteRuns(repo, { timeoutMs: 60_000 });
  await before.open({ hash: HASH });
  await before.batch(HASH, 1, lines(0, 10));
  assert.equal(before.suspendAll(), 1);
  const meta = repo.readRun(HASH, readMeta);
  assert.deepEqual([meta.get("status"), meta.get(REMOTE_SEQ)], ["running", 1]);
  assert.equal(repo.hasMarker(HASH), true, "not finalized: still unindexed");
  // A server restarted: the client resends batch 1 (its answer was lost), then 2.
  const after = new RemoteRuns(repo, { timeoutMs: 60_000 });
  assert.equal((await after.batch(HASH, 1, lines(0, 10))).duplicate, true);
  assert.equal((await after.batch(HASH, 2, lines(10, 20))).duplicate, false);
  await after.close(HASH, 2, { status: "finished" });
  assert.deepEqual(steps(repo, HASH), [...Array(20).keys()]);
});

Deno.test("remote writes to a run that no remote client created are refused", async () => {
  await using repo = await tempRepo();
  const local = await repo.startRun({ name: "local" });
  await local.close();
  const remote = new RemoteRuns(repo, { timeoutMs: 60_000 });
  await rejects(
    remote.batch(local.hash, 1, lines(0, 1)),
    "run_closed",
    /was not created by remote tracking/,
  );
  await rejects(
    remote.open({ hash: local.hash }),
    "run_closed",
    /was not created by remote tracking/,
  );
  await rejects(
    remote.batch("0123abcd0123abcd0123", 1, lines(0, 1)),
    "run_not_found",
    /No run 0123abcd0123abcd0123/,
  );
});
