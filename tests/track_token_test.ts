import assert from "node:assert/strict";
import { createApp } from "../server/app.ts";
import { deriveTrackToken } from "../server/track_routes.ts";
import { answer } from "../server/query_worker.ts";
import type { BatchAck, RemoteState } from "../lib/tracking/mod.ts";
import type { TrackingRequest } from "../server/messages.ts";
import { tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp, TEST_TOKEN } from "./_aim_up.ts";

const TOKEN = "the-main-token-0123";
const TRACK = "the-track-token-456";
const HASH = "0123456789abcdef0123";

/** The app with remote tracking answered by a stub that records its calls. */
async function appWithTracking() {
  const repo = await tempRepo();
  const calls: TrackingRequest[] = [];
  const app = createApp({
    repo,
    token: TOKEN,
    query: (request) => Promise.resolve(answer(repo, request)),
    tracking: {
      trackToken: TRACK,
      request: (request) => {
        calls.push(request);
        const state: RemoteState = { hash: HASH, seq: 0, status: "running" };
        return Promise.resolve(
          request.kind === "batch"
            ? {
              ...state,
              duplicate: false,
              lines: 0,
              malformed: 0,
              warnings: [],
              closed: false,
            } satisfies BatchAck
            : state,
        );
      },
    },
  });
  return { app, repo, calls };
}

/** A request path for a route pattern: parameters filled in, wildcards made concrete. */
function concrete(path: string): string {
  return path.replace(/:hash/g, HASH).replace(/:name/g, "app.js")
    .replace(/\*$/, "runs").replace(/\/\//g, "/");
}

Deno.test("the track-only token is refused by every route that is not tracking, however it is given", async () => {
  const { app, repo } = await appWithTracking();
  await using _ = repo;
  const routes = app.routes.filter((r) =>
    r.method !== "ALL" && !r.path.startsWith("/api/track/") &&
    r.path !== "/api/health"
  );
  // Every read route the app has: a new one is covered without changing this test.
  assert.ok(routes.length >= 10, routes.map((r) => r.path).join(" "));
  for (const route of routes) {
    const path = concrete(route.path);
    for (
      const [how, init, url] of [
        ["bearer", { headers: { authorization: `Bearer ${TRACK}` } }, path],
        ["query", {}, `${path}?token=${TRACK}`],
        ["cookie", { headers: { cookie: `aim_token=${TRACK}` } }, path],
      ] as const
    ) {
      const response = await app.request(url, {
        method: route.method,
        ...init,
      });
      assert.equal(
        response.status,
        403,
        `${route.method} ${path} with the track-only token as ${how}`,
      );
      const body = await response.json();
      assert.equal(body.error.code, "forbidden");
      assert.match(body.error.message, /only tracks runs.*reads nothing/);
      assert.equal(
        response.headers.get("set-cookie"),
        null,
        "no cookie is set for it",
      );
    }
    // The main token gets past the token check on the same route.
    const main = await app.request(path, {
      method: route.method,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.ok(
      ![401, 403].includes(main.status),
      `${route.method} ${path} with the main token: ${main.status}`,
    );
  }
});

Deno.test("the tracking routes take the main token and the track-only one, and nothing else", async () => {
  const { app, repo, calls } = await appWithTracking();
  await using _ = repo;
  const post = (path: string, body: string, token?: string) =>
    app.request(path, {
      method: "POST",
      body,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const open = JSON.stringify({ hash: HASH, name: "far" });
  for (const token of [TOKEN, TRACK]) {
    assert.equal((await post("/api/track/runs", open, token)).status, 200);
    assert.equal(
      (await post(`/api/track/runs/${HASH}/batches?seq=1`, "{}\n", token))
        .status,
      200,
    );
    assert.equal(
      (await post(`/api/track/runs/${HASH}/close`, '{"seq": 1}', token))
        .status,
      200,
    );
  }
  for (const token of [undefined, "someone-elses-token"]) {
    const response = await post("/api/track/runs", open, token);
    assert.equal(response.status, 401);
    assert.match((await response.json()).error.message, /set AIM_TOKEN/);
  }
  assert.deepEqual(calls.map((c) => c.kind), [
    "open",
    "batch",
    "close",
    "open",
    "batch",
    "close",
  ]);
  // Bad input is refused before it reaches a tracking Worker, saying what is wrong.
  for (
    const [path, body, message] of [
      ["/api/track/runs", '{"hash": "../etc"}', /hash/],
      ["/api/track/runs", `{"hash": "${HASH}", "tags": [""]}`, /"tags"/],
      [`/api/track/runs/${HASH}/batches?seq=0`, "", /\?seq= must be/],
      [`/api/track/runs/${HASH}/batches`, "", /\?seq= must be/],
      [`/api/track/runs/${HASH}/close`, '{"seq": -1}', /"seq" must be/],
      [
        `/api/track/runs/${HASH}/close`,
        '{"seq": 1, "status": "crashed"}',
        /"status" must be "finished", "failed" or "terminated"/,
      ],
      [`/api/track/runs/${HASH}/close`, "[1]", /JSON object/],
    ] as const
  ) {
    const response = await post(path, body, TOKEN);
    assert.equal(response.status, 400, `${path} ${body}`);
    assert.match((await response.json()).error.message, message);
  }
  assert.equal(calls.length, 6);
});

Deno.test("aim up derives and prints a track-only token that only tracks; --track-token sets it", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const derived = await deriveTrackToken(TEST_TOKEN);
  // It is printed after the URL, which is all that startAimUp waits for.
  await waitFor(
    () => server.stdout().includes("track-only token"),
    "the track-only token's line",
  );
  assert.match(
    server.stdout(),
    new RegExp(
      `track-only token \\(AIM_TOKEN for programs that only track\\): ${derived}\\n`,
    ),
  );
  assert.notEqual(derived, TEST_TOKEN);
  assert.equal(derived, await deriveTrackToken(TEST_TOKEN), "stable");
  const asTracker = { authorization: `Bearer ${derived}` };
  const opened = await server.fetch("api/track/runs", {
    method: "POST",
    headers: asTracker,
    body: JSON.stringify({ hash: HASH, name: "from-a-tracker" }),
  });
  assert.equal(opened.status, 200);
  assert.deepEqual(await opened.json(), {
    hash: HASH,
    seq: 0,
    status: "running",
  });
  const read = await server.fetch("api/runs", { headers: asTracker });
  assert.equal(read.status, 403);
  await read.body?.cancel();
  await using given = await startAimUp(repo.path, {
    args: ["--track-token", "a-tracking-token-of-mine"],
  });
  await waitFor(
    () => given.stdout().includes("track-only token"),
    "the given track-only token's line",
  );
  assert.match(given.stdout(), /: a-tracking-token-of-mine\n/);
});
