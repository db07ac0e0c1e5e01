/**
 * The query Worker pool with real Workers: deadlines, a stuck Worker
 * replaced, and requests whose client went away.
 */

import assert from "node:assert/strict";
import { AimError, type Repo } from "../lib/mod.ts";
import { QueryPool } from "../server/query_pool.ts";
import { RemoteError } from "../server/wire.ts";
import { decodeSeriesAnswer } from "../server/ui/series_binary.js";
import { tempRepo } from "./_helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url);
const STUCK = new URL("./fixtures/stuck_query_worker.ts", import.meta.url);

/** `count` closed runs, all marked unindexed so that a search reads every run file. */
async function unindexedRuns(repo: Repo, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("hparams", { lr: i / count });
    run.track(i, { name: "loss" });
    await run.close();
  }
  for (const hash of repo.listRuns()) repo.touchMarker(hash);
}

/** A JSON answer's text (a binary answer here is a bug in the test). */
function text(body: string | Uint8Array): string {
  assert.equal(typeof body, "string", "a JSON answer");
  return body as string;
}

/** The code an error carries, whether raised here or in a Worker. */
function codeOf(error: unknown): string | undefined {
  if (error instanceof RemoteError) return error.wire.code;
  if (error instanceof AimError) return error.code;
  return undefined;
}

Deno.test("a search past its deadline is stopped in its Worker and answered query_timeout; the Worker keeps serving", async () => {
  await using repo = await tempRepo();
  await unindexedRuns(repo, 300);
  const pool = new QueryPool(repo.path, MAIN, { size: 1, timeoutMs: 5 });
  try {
    const error = await pool.request({ kind: "runs", q: "" }).then(
      () => null,
      (e) => e,
    );
    assert.equal(codeOf(error), "query_timeout", String(error));
    assert.match(String(error.message), /longer than its limit of 0\.005 s/);
    // Stopped by the Worker itself: nothing had to be replaced.
    assert.equal(pool.status().replaced, 0);
    const small = JSON.parse(
      text(
        await pool.request({ kind: "runs", q: "", limit: 0 }).catch(() =>
          '{"total": -1}'
        ),
      ),
    );
    // A cheap request may still beat 5 ms, or time out: either way the Worker answers.
    assert.ok(small.total === 300 || small.total === -1);
  } finally {
    pool.close();
  }
});

Deno.test("a Worker stuck past its deadline is replaced, health says so meanwhile, and the requests behind it are answered", async () => {
  await using repo = await tempRepo();
  await unindexedRuns(repo, 3);
  const pool = new QueryPool(repo.path, STUCK, {
    size: 1,
    timeoutMs: 300,
    graceMs: 300,
  });
  try {
    // The first request waits for the Worker to start: out of the timings below.
    await pool.request({ kind: "runs", q: "", limit: 0 });
    const started = performance.now();
    const stuck = pool.request({ kind: "runs", q: "spin" }).then(
      () => null,
      (e) => e,
    );
    const behind = pool.request({ kind: "runs", q: "" });
    behind.catch(() => {}); // awaited below; a failed assertion must not leave it dangling
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal(pool.status().stuck, true, JSON.stringify(pool.status()));
    assert.equal(pool.status().queued, 1);
    const error = await stuck;
    assert.equal(codeOf(error), "query_timeout", String(error));
    assert.ok(performance.now() - started < 5000);
    assert.equal(JSON.parse(text(await behind)).total, 3);
    assert.equal(pool.status().replaced, 1);
    assert.equal(pool.status().stuck, false);
  } finally {
    pool.close();
  }
});

Deno.test("a request whose client went away is dropped from the queue, or cancelled in its Worker", async () => {
  await using repo = await tempRepo();
  await unindexedRuns(repo, 400);
  // Queued behind a stuck Worker: dropped at once.
  const stuckPool = new QueryPool(repo.path, STUCK, {
    size: 1,
    timeoutMs: 60_000,
  });
  try {
    await stuckPool.request({ kind: "runs", q: "", limit: 0 });
    void stuckPool.request({ kind: "runs", q: "spin" }).catch(() => {});
    const client = new AbortController();
    const queued = stuckPool.request({ kind: "runs", q: "" }, client.signal);
    client.abort();
    await assert.rejects(queued, /cancelled: its client went away/);
    assert.equal(stuckPool.status().queued, 0);
  } finally {
    stuckPool.close();
  }
  // Running: the Worker stops between series reads. (A series read with a
  // step range opens the run's file every time: no cache makes it quick.)
  const pool = new QueryPool(repo.path, MAIN, { size: 1, timeoutMs: 60_000 });
  const ranged = {
    kind: "metrics",
    q: "run.hparams.lr >= 0",
    points: 100,
    from: 0,
    to: 1e9,
  } as const;
  try {
    const full = performance.now();
    await pool.request(ranged);
    const fullMs = performance.now() - full;
    const client = new AbortController();
    const started = performance.now();
    const running = pool.request(ranged, client.signal);
    setTimeout(() => client.abort(), Math.min(20, fullMs / 4));
    const error = await running.then(() => null, (e) => e);
    assert.equal(codeOf(error), "unavailable", String(error));
    assert.match(String(error.message), /cancelled/);
    assert.ok(
      performance.now() - started < fullMs,
      `cancelled after ${
        performance.now() - started
      } ms; a whole search takes ${fullMs} ms`,
    );
    assert.equal(pool.status().replaced, 0);
  } finally {
    pool.close();
  }
});

Deno.test("closing the pool answers waiting and running requests at once", async () => {
  await using repo = await tempRepo();
  const pool = new QueryPool(repo.path, STUCK, { size: 1, timeoutMs: 60_000 });
  await pool.request({ kind: "runs", q: "", limit: 0 });
  const running = pool.request({ kind: "runs", q: "spin" });
  const queued = pool.request({ kind: "runs", q: "" });
  await new Promise((resolve) => setTimeout(resolve, 200));
  pool.close();
  await Promise.all([
    assert.rejects(running, /shutting down/),
    assert.rejects(queued, /shutting down/),
  ]);
  await assert.rejects(pool.request({ kind: "runs", q: "" }), /shutting down/);
});

Deno.test("a binary series answer crosses from its Worker as bytes and decodes to the run's points", async () => {
  await using repo = await tempRepo();
  await unindexedRuns(repo, 3);
  const pool = new QueryPool(repo.path, MAIN, { size: 1, timeoutMs: 10_000 });
  try {
    const body = await pool.request({
      kind: "metrics",
      q: 'metric.name == "loss"',
      points: 10,
      detail: "full",
      encoding: "binary",
      columns: ["values"],
    });
    assert.ok(body instanceof Uint8Array, typeof body);
    const page = decodeSeriesAnswer(body.slice().buffer);
    assert.deepEqual(
      page.series.map((match) => Array.from(match.data!.values!)).sort(),
      [[0], [1], [2]],
    );
  } finally {
    pool.close();
  }
});
