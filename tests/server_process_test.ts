import assert from "node:assert/strict";
import {
  aim,
  liveWriter,
  tempRepo,
  waitFor,
  WriterProcess,
} from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { IndexerSupervisor } from "../server/indexer_supervisor.ts";

/** Starts `count` writer processes, waits until each has flushed, then SIGKILLs them all. */
async function killedWriters(repo: string, count: number): Promise<string[]> {
  const writers = Array.from(
    { length: count },
    () =>
      new WriterProcess(repo, ["--forever", "--batch", "20", "--series", "2"]),
  );
  try {
    const hashes = await Promise.all(
      writers.map(async (w) =>
        (await w.waitForLine(/^started /, 60_000)).split(" ")[1]!
      ),
    );
    await Promise.all(writers.map((w) => w.waitForFlushed(20, 60_000)));
    for (const writer of writers) writer.child.kill("SIGKILL");
    await Promise.all(writers.map((w) => w.finished()));
    return hashes;
  } finally {
    for (const writer of writers) await writer[Symbol.asyncDispose]();
  }
}

Deno.test("aim up indexes 50 SIGKILLed writers as crashed while the API keeps answering, and never a live one", async () => {
  await using repo = await tempRepo();
  const killed = await killedWriters(repo.path, 50);
  await using live = await liveWriter(repo.path, { batch: 10 });
  const liveHash = live.hash;
  const server = await startAimUp(repo.path);
  await using _server = server;
  const started = Date.now();
  let answered = 0;
  let slowest = 0;
  await waitFor(
    async () => {
      const t = performance.now();
      const { status, body } = await server.get("/api/runs?limit=1000");
      slowest = Math.max(slowest, performance.now() - t);
      assert.equal(status, 200);
      // Correct throughout: every run is listed, indexed or not, with its points.
      assert.equal(body.total, 51);
      for (const run of body.runs) {
        assert.ok(
          run.metrics.length === 2 || run.hash === liveHash,
          `run ${run.hash} lists its series`,
        );
        if (run.hash !== liveHash) assert.equal(run.status, "crashed");
      }
      answered++;
      return body.runs.filter((r: { indexed: boolean }) => r.indexed).length ===
        50;
    },
    "50 stalled runs to be indexed",
    60_000,
  );
  const took = (Date.now() - started) / 1000;
  assert.ok(answered > 1, "the API answered while the indexer worked");
  for (const hash of killed) {
    const run = repo.index().get(hash);
    assert.equal(run?.status, "crashed", hash);
    assert.ok(run!.metrics.every((m) => m.count >= 20));
  }
  // The Worker reports each run after its commit, by message: the index can
  // show the 50th run a moment before the reported state does.
  let index = (await server.get("/api/index")).body;
  await waitFor(
    async () => {
      index = (await server.get("/api/index")).body;
      return index.indexer.crashed >= 50;
    },
    "the indexer to report 50 crashed runs",
    10_000,
  );
  assert.equal(index.indexer.crashed, 50);
  assert.equal(index.indexer.failures.length, 0);
  assert.deepEqual([
    index.status.indexed,
    index.status.unindexed_live,
    index.status.unindexed_stalled,
  ], [50, 1, 0]);
  // The live writer is never indexed by the Worker: it has no index row and keeps its marker.
  assert.equal(repo.index().get(liveHash), null);
  assert.ok(repo.hasMarker(liveHash));
  const { body: liveRun } = await server.get(`/api/runs/${liveHash}`);
  assert.deepEqual([liveRun.live, liveRun.indexed, liveRun.status], [
    true,
    false,
    "running",
  ]);
  console.log(
    `indexed 50 stalled runs in ${
      took.toFixed(1)
    } s; ${answered} searches answered meanwhile, slowest ${
      slowest.toFixed(0)
    } ms`,
  );

  const t = Date.now();
  const status = await server.stop();
  assert.equal(status.code, 0, server.stderr());
  assert.ok(Date.now() - t < 5000, "SIGTERM stops aim up within 5 s");
});

Deno.test("an indexer Worker that crashes is restarted and indexing resumes", async () => {
  await using repo = await tempRepo();
  const killed = await killedWriters(repo.path, 8);
  const errors: string[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  const supervisor = new IndexerSupervisor(repo.path, {
    intervalSeconds: 0.2,
    workerUrl: new URL("./fixtures/crashing_indexer.ts", import.meta.url),
  });
  try {
    supervisor.start();
    await waitFor(
      () => killed.every((hash) => !repo.hasMarker(hash)),
      "all runs indexed",
      60_000,
    );
    assert.ok(supervisor.state.restarts >= 1, JSON.stringify(supervisor.state));
    assert.equal(supervisor.state.running, true);
    assert.match(errors.join("\n"), /injected indexer fault after 3 runs/);
    for (const hash of killed) {
      assert.equal(repo.index().get(hash)?.status, "crashed");
    }
  } finally {
    await supervisor.stop();
    console.error = error;
  }
});

Deno.test("aim up names a port in use, and refuses --no-auth on a non-loopback host", async () => {
  await using repo = await tempRepo();
  const server = await startAimUp(repo.path, { args: ["--no-index"] });
  await using _server = server;
  const clash = await aim([
    "up",
    "--repo",
    repo.path,
    "--port",
    String(server.port),
  ]);
  assert.equal(clash.code, 1);
  assert.match(
    clash.stderr,
    new RegExp(
      `error: Port ${server.port} on 127\\.0\\.0\\.1 is in use: choose another with --port`,
    ),
  );
  const open = await aim([
    "up",
    "--repo",
    repo.path,
    "--host",
    "0.0.0.0",
    "--no-auth",
  ]);
  assert.equal(open.code, 2);
  assert.match(open.stderr, /refusing --no-auth on 0\.0\.0\.0/);
  assert.equal((await server.stop()).code, 0);
});

Deno.test("a marker created while the indexer's pass runs wakes it again after the pass, rather than waiting out its idle sleep", async () => {
  await using repo = await tempRepo();
  const hashes: string[] = [];
  for (let i = 0; i < 401; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("hparams", { lr: i / 1000 });
    run.track(i, { name: "loss" });
    await run.close();
    hashes.push(run.hash);
  }
  const late = hashes.pop()!;
  // Closed runs with markers: not live, so the first pass re-indexes them all.
  for (const hash of hashes) repo.touchMarker(hash);
  await using server = await startAimUp(repo.path, { indexInterval: "60" });
  // Once the pass has listed the markers and is under way, a new one.
  await waitFor(async () => {
    const { indexer } = (await server.get("/api/index")).body;
    return indexer.indexed > 0 && indexer.queue > 0;
  }, "the first pass under way");
  repo.touchMarker(late);
  assert.ok(
    (await server.get("/api/index")).body.indexer.queue > 0,
    "the new marker came during the pass",
  );
  // The idle sleep after a pass is a minute or more at --index-interval 60.
  await waitFor(
    () => !repo.hasMarker(late),
    "the run marked during the pass to be indexed",
    20_000,
  );
});
