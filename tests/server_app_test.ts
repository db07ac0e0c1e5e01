import assert from "node:assert/strict";
import { createApp, SERIES_BINARY_TYPE } from "../server/app.ts";
import { decodeSeriesAnswer } from "../server/ui/series_binary.js";
import { answer } from "../server/query_worker.ts";
import { idleAfterPass } from "../server/indexer_worker.ts";
import type { Repo } from "../lib/mod.ts";
import { tempRepo, WriterProcess } from "./_helpers.ts";

const TOKEN = "s3cret-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

function appFor(repo: Repo, basePath = "") {
  return createApp({
    repo,
    token: TOKEN,
    basePath,
    query: (request) => Promise.resolve(answer(repo, request)),
  });
}

async function seed(repo: Repo) {
  const run = await repo.startRun({
    experiment: "base",
    name: "first",
    tags: ["best"],
  });
  run.set("hparams", { lr: 0.01, optimizer: { name: "adam" } });
  for (let step = 0; step < 500; step++) {
    run.track(step === 250 ? 100 : Math.sin(step / 10), {
      name: "loss",
      step,
      epoch: Math.floor(step / 100),
      context: { subset: "train" },
    });
  }
  run.log("hello from the run");
  await run.close();
  const other = await repo.startRun({ experiment: "wide", name: "second" });
  other.set("hparams", { lr: 0.1 });
  other.track(1, { name: "loss", context: { subset: "train" } });
  await other.close();
  return [run.hash, other.hash] as const;
}

Deno.test("every route but /api/health needs the token; ?token= sets an HttpOnly SameSite=Strict cookie", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  const health = await app.request("/api/health");
  assert.equal(health.status, 200);
  assert.deepEqual(Object.keys(await health.json()), [
    "ok",
    "version",
    "queries",
  ]);
  for (
    const path of ["/api/runs", "/api/index", "/api/runs/0123456789abcdef0123"]
  ) {
    const denied = await app.request(path);
    assert.equal(denied.status, 401, path);
    assert.equal((await denied.json()).error.code, "unauthorized");
  }
  assert.equal(
    (await app.request("/api/runs", {
      headers: { authorization: "Bearer wrong" },
    })).status,
    401,
  );
  const viaQuery = await app.request(`/api/runs?token=${TOKEN}`);
  assert.equal(viaQuery.status, 200);
  const cookie = viaQuery.headers.get("set-cookie")!;
  assert.match(cookie, /^aim_token=s3cret-token;/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.equal(
    (await app.request("/api/runs", {
      headers: { cookie: `aim_token=${TOKEN}` },
    })).status,
    200,
  );
  assert.equal((await app.request("/api/runs", { headers: AUTH })).status, 200);
});

Deno.test("/api/runs searches, sorts and pages; a bad query is a 400 naming the column", async () => {
  await using repo = await tempRepo();
  const [first, second] = await seed(repo);
  const app = appFor(repo);
  const all = await (await app.request("/api/runs", { headers: AUTH })).json();
  assert.equal(all.total, 2);
  assert.deepEqual(all.runs.map((r: { hash: string }) => r.hash), [
    first,
    second,
  ]);
  const q = encodeURIComponent(
    'run.hparams.optimizer.name == "adam" and "best" in run.tags',
  );
  const filtered =
    await (await app.request(`/api/runs?q=${q}`, { headers: AUTH })).json();
  assert.deepEqual(filtered.runs.map((r: { hash: string }) => r.hash), [first]);
  assert.equal(filtered.runs[0].metrics[0].max, 100);
  const sorted = await (await app.request(
    `/api/runs?sort=-run.hparams.lr&limit=1&offset=0`,
    { headers: AUTH },
  )).json();
  assert.deepEqual([sorted.total, sorted.runs[0].hash], [2, second]);
  const bad = await app.request(
    `/api/runs?q=${encodeURIComponent("run.hparams.lr >")}`,
    { headers: AUTH },
  );
  assert.equal(bad.status, 400);
  const error = (await bad.json()).error;
  assert.equal(error.code, "query_syntax");
  assert.equal(error.column, 17);
  assert.match(error.message, /at column 17 of: run\.hparams\.lr >/);
  assert.equal(
    (await app.request("/api/runs?limit=-1", { headers: AUTH })).status,
    400,
  );
  assert.equal(
    (await app.request("/api/runs?limit=1000000", { headers: AUTH })).status,
    400,
  );
});

Deno.test("bad and unknown run hashes get 400 and 404, never a path outside the repository", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  for (
    const hash of [
      "..%2F..%2Fetc%2Fpasswd",
      "..%252F..%252Fetc",
      "ABCDEF0123456789",
      "xyz",
      "0".repeat(65),
      "%00abcdef01",
    ]
  ) {
    const response = await app.request(`/api/runs/${hash}`, { headers: AUTH });
    assert.equal(response.status, 400, hash);
    assert.equal((await response.json()).error.code, "bad_hash", hash);
  }
  const traversal = await app.request("/api/runs/../../etc/passwd", {
    headers: AUTH,
  });
  assert.ok([400, 404].includes(traversal.status));
  const unknown = await app.request("/api/runs/0123456789abcdef0123", {
    headers: AUTH,
  });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, "run_not_found");
  for (const sub of ["series?name=loss", "logs"]) {
    assert.equal(
      (await app.request(`/api/runs/0123456789abcdef0123/${sub}`, {
        headers: AUTH,
      })).status,
      404,
      sub,
    );
  }
});

Deno.test("/api/runs/:hash, its series (downsampled, spike kept, step range) and its log", async () => {
  await using repo = await tempRepo();
  const [first] = await seed(repo);
  const app = appFor(repo);
  const run = await (await app.request(`/api/runs/${first}`, { headers: AUTH }))
    .json();
  assert.deepEqual([run.name, run.indexed, run.live, run.params.hparams.lr], [
    "first",
    true,
    false,
    0.01,
  ]);
  const context = encodeURIComponent('{"subset":"train"}');
  const series = await (await app.request(
    `/api/runs/${first}/series?name=loss&context=${context}&points=20`,
    { headers: AUTH },
  )).json();
  assert.equal(series.total, 500);
  assert.ok(series.steps.length <= 20 * 5 && series.steps.length > 20);
  assert.ok(series.values.includes(100), "the spike survives downsampling");
  const range = await (await app.request(
    `/api/runs/${first}/series?name=loss&context=${context}&points=0&from=100&to=109`,
    { headers: AUTH },
  )).json();
  assert.deepEqual(range.steps, [
    100,
    101,
    102,
    103,
    104,
    105,
    106,
    107,
    108,
    109,
  ]);
  assert.deepEqual(range.epochs, Array(10).fill(1));
  const missing = await app.request(`/api/runs/${first}/series?name=nope`, {
    headers: AUTH,
  });
  assert.equal(missing.status, 404);
  assert.equal(
    (await app.request(`/api/runs/${first}/series?name=loss&context=notjson`, {
      headers: AUTH,
    })).status,
    400,
  );
  const logs =
    await (await app.request(`/api/runs/${first}/logs`, { headers: AUTH }))
      .json();
  assert.equal(logs.total, 1);
  assert.equal(logs.lines[0].text, "hello from the run");
});

Deno.test("POST /api/series/search returns every matching series with its points", async () => {
  await using repo = await tempRepo();
  const [first, second] = await seed(repo);
  const app = appFor(repo);
  const found = await (await app.request("/api/series/search", {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({
      q: 'metric.name == "loss" and metric.context.subset == "train"',
      points: 50,
    }),
  })).json();
  assert.equal(found.total, 2);
  assert.deepEqual(
    found.series.map((s: { run: { hash: string } }) => s.run.hash),
    [first, second],
  );
  assert.ok(found.series[0].data.values.includes(100));
  const bad = await app.request("/api/series/search", {
    method: "POST",
    headers: AUTH,
    body: "not json",
  });
  assert.equal(bad.status, 400);
});

Deno.test("a series search in binary carries the same answer as JSON, with the columns asked for", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  const app = appFor(repo);
  const search = (body: Record<string, unknown>) =>
    app.request("/api/series/search", {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify({ q: 'metric.name == "loss"', ...body }),
    });
  // JSON carries non-finite numbers as strings, and null for no epoch.
  const fromJson = (column: (number | string | null)[]) =>
    column.map((v) => v === null ? NaN : Number(v));
  const cases = [
    {
      body: { detail: "full", points: 40 },
      columns: ["steps", "values", "epochs", "times"],
    },
    {
      body: { detail: "full", points: 40, columns: ["values"] },
      columns: ["values"],
    },
    { body: { points: 40 }, columns: ["steps", "values"] },
  ];
  for (const { body, columns } of cases) {
    const json = await (await search(body)).json();
    const binary = await search({ ...body, encoding: "binary" });
    assert.equal(binary.status, 200);
    assert.equal(binary.headers.get("content-type"), SERIES_BINARY_TYPE);
    const decoded = decodeSeriesAnswer(await binary.arrayBuffer());
    assert.equal(decoded.total, 2);
    assert.equal(decoded.series.length, 2);
    decoded.series.forEach((match, i) => {
      const want = json.series[i];
      assert.deepEqual(match.run, want.run);
      assert.deepEqual(match.series, want.series);
      const got = match.data as unknown as Record<string, unknown>;
      for (const column of ["steps", "values", "epochs", "times"]) {
        if (!columns.includes(column)) {
          assert.equal(got[column], undefined, `${column} was not asked for`);
          assert.equal(want.data[column], undefined, `${column} in JSON`);
          continue;
        }
        assert.ok(got[column] instanceof Float64Array, column);
        assert.deepEqual(
          Array.from(got[column] as Float64Array),
          fromJson(want.data[column]),
          `${column} of series ${i}, ${JSON.stringify(body)}`,
        );
      }
      assert.deepEqual(got.resolution, want.data.resolution);
      assert.equal(got.total, want.data.total);
    });
    // The spike at step 250 is in the first run's full-detail answer.
    if (body.detail === "full" && columns.includes("values")) {
      assert.ok(Array.from(decoded.series[0]!.data!.values!).includes(100));
    }
  }
});

Deno.test("a series search names what is wrong with its detail, encoding or columns", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  const app = appFor(repo);
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { detail: "everything" },
      /detail must be "preview" or "full", got "everything"/,
    ],
    [{ encoding: "xml" }, /encoding must be "json" or "binary", got "xml"/],
    [
      { columns: ["steps", "loss"] },
      /columns must be a list of steps, values, epochs, times, got \["steps","loss"\]/,
    ],
    [{ columns: "steps" }, /columns must be a list/],
    [{ detail: "preview", from: 10 }, /A step range needs "detail": "full"/],
    [
      { points: 10_001 },
      /points must be an integer from 0 to 10000, got 10001/,
    ],
  ];
  for (const [body, message] of cases) {
    const response = await app.request("/api/series/search", {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify({ q: 'metric.name == "loss"', ...body }),
    });
    assert.equal(response.status, 400, JSON.stringify(body));
    const error = (await response.json()).error;
    assert.equal(error.code, "bad_request");
    assert.match(error.message, message);
  }
});

Deno.test("PATCH edits a finished run and re-indexes it, and edits a live run too; DELETE refuses a live run", async () => {
  await using repo = await tempRepo();
  const [first, second] = await seed(repo);
  const app = appFor(repo);
  const patched = await app.request(`/api/runs/${first}`, {
    method: "PATCH",
    headers: AUTH,
    body: JSON.stringify({ name: "renamed", tags: ["a", "b"], archived: true }),
  });
  assert.equal(patched.status, 200);
  assert.deepEqual([
    repo.index().get(first)!.name,
    repo.index().get(first)!.tags,
    repo.index().get(first)!.archived,
  ], [
    "renamed",
    ["a", "b"],
    true,
  ]);
  assert.equal(
    repo.loadRun(first).record.name,
    "renamed",
    "written to the run's own space, not only the index",
  );
  assert.equal(
    repo.index().get(first)!.status,
    "finished",
    "editing does not change the state",
  );
  const invalid = await app.request(`/api/runs/${first}`, {
    method: "PATCH",
    headers: AUTH,
    body: '{"status":"failed"}',
  });
  assert.equal(invalid.status, 400);

  await using writer = new WriterProcess(repo.path, [
    "--forever",
    "--batch",
    "10",
  ]);
  const live = (await writer.waitForLine(/^started /)).split(" ")[1]!;
  // Issue 12: people tag runs while they train; the edit lies beside the run.
  const edited = await app.request(`/api/runs/${live}`, {
    method: "PATCH",
    headers: AUTH,
    body: '{"name":"x","tags":["watch"]}',
  });
  assert.equal(edited.status, 200);
  const answer = await edited.json();
  assert.deepEqual([answer.name, answer.tags, answer.live], [
    "x",
    ["watch"],
    true,
  ]);
  const shown =
    await (await app.request(`/api/runs/${live}`, { headers: AUTH }))
      .json();
  assert.deepEqual([shown.name, shown.tags], ["x", ["watch"]]);
  const refused = await app.request(`/api/runs/${live}`, {
    method: "DELETE",
    headers: AUTH,
  });
  assert.equal(refused.status, 409);
  assert.equal((await refused.json()).error.code, "run_live");
  const deleted = await app.request(`/api/runs/${second}`, {
    method: "DELETE",
    headers: AUTH,
  });
  assert.equal(deleted.status, 200);
  assert.equal(repo.index().get(second), null);
  assert.equal(
    (await app.request(`/api/runs/${second}`, { headers: AUTH })).status,
    404,
  );
});

Deno.test("/api/index reports the repository counts, and routes live under --base-path", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  const app = appFor(repo, "/aim/");
  const index = await (await app.request("/aim/api/index", { headers: AUTH }))
    .json();
  assert.deepEqual([index.status.runs, index.status.indexed, index.indexer], [
    2,
    2,
    null,
  ]);
  assert.equal(
    (await app.request("/api/index", { headers: AUTH })).status,
    404,
  );
  assert.equal((await app.request("/aim/api/health")).status, 200);
  const viaQuery = await app.request(`/aim/api/runs?token=${TOKEN}`);
  assert.match(viaQuery.headers.get("set-cookie")!, /Path=\/aim/);
});

Deno.test("the indexer sleeps its interval after indexing, and backs off to six intervals while idle", () => {
  const interval = 5_000;
  let idle = interval;
  const sleeps: number[] = [];
  for (const indexed of [0, 0, 0, 0, 3, 0]) {
    idle = idleAfterPass(idle, indexed, interval);
    sleeps.push(idle);
  }
  assert.deepEqual(sleeps, [10_000, 20_000, 30_000, 30_000, 5_000, 10_000]);
});

Deno.test("a browser without the token, or with a wrong one, gets the sign-in page; the API and assets keep a JSON 401", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo, "/aim");
  const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
  const page = async (path: string, headers: Record<string, string> = {}) => {
    const response = await app.request(path, {
      headers: { ...html, ...headers },
    });
    const text = (await response.text()).replaceAll("&#39;", "'");
    return { response, text };
  };
  for (
    const [path, headers, reason] of [
      ["/aim/", {}, /needs its token/],
      ["/aim/run/0123456789abcdef0123?tab=logs", {}, /needs its token/],
      ["/aim/no/such/page", {}, /needs its token/],
      ["/aim/runs?token=not-the-right-token", {}, /not this server's token/],
      ["/aim/", { cookie: "aim_token=an-old-token-0123456" }, /no longer/],
    ] as const
  ) {
    const { response, text } = await page(path, headers);
    assert.equal(response.status, 401, path);
    assert.match(response.headers.get("content-type")!, /^text\/html/);
    const csp = response.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src/, "no script runs on it");
    assert.equal(response.headers.get("x-frame-options"), "DENY");
    assert.match(text, reason);
    assert.match(text, /<form method="get">/);
    assert.match(text, /<input id="token" name="token"/);
    assert.doesNotMatch(text, /s3cret-token/);
  }
  // The page's other parameters survive signing in; the token's do not.
  assert.match(
    (await page("/aim/run/0123456789abcdef0123?tab=logs&token=x")).text,
    /<input type="hidden" name="tab" value="logs">/,
  );
  for (
    const path of ["/aim/api/runs", "/aim/static/app.js", "/aim/ui/check?q="]
  ) {
    const { response, text } = await page(path);
    assert.equal(response.status, 401, path);
    assert.equal(JSON.parse(text).error.code, "unauthorized", path);
  }
  // The token pasted alone, or the whole URL aim up printed.
  for (
    const pasted of [
      ` ${TOKEN} `,
      `http://127.0.0.1:43800/aim/?token=${TOKEN}`,
    ]
  ) {
    const signed = await page(
      `/aim/runs?${new URLSearchParams({ token: pasted })}`,
    );
    assert.equal(signed.response.status, 200, pasted);
    assert.match(
      signed.response.headers.get("set-cookie")!,
      new RegExp(`^aim_token=${TOKEN}; .*HttpOnly`),
    );
  }
});

Deno.test("an unknown page gets the app's own page, answered 404; the API's unknown routes keep their JSON", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  const html = { ...AUTH, accept: "text/html" };
  for (
    const [path, base] of [
      ["/no-such-page", "./"],
      ["/runs/extra/deep", "../../"],
      ["/run/not-a-hash", "../"],
    ] as const
  ) {
    const response = await app.request(path, { headers: html });
    assert.equal(response.status, 404, path);
    assert.match(response.headers.get("content-type")!, /^text\/html/);
    const text = await response.text();
    assert.ok(text.includes(`<base href="${base}">`), path);
    assert.match(text, /static\/app\.js/);
  }
  for (const path of ["/api/nope", "/static/nope.js", "/ui/nope"]) {
    const response = await app.request(path, { headers: html });
    assert.equal(response.status, 404, path);
    assert.equal((await response.json()).error.code, "not_found", path);
  }
  const script = await app.request("/no-such-page", { headers: AUTH });
  assert.equal((await script.json()).error.code, "not_found");
});

Deno.test("/ui/check warns about params no run has, with the closest names, in the query and the sort", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  const app = appFor(repo);
  const check = async (params: Record<string, string>) =>
    await (await app.request(`/ui/check?${new URLSearchParams(params)}`, {
      headers: AUTH,
    })).json();
  assert.deepEqual(
    await check({ q: 'run.hparms.lr < 0.01 and run.stauts == "x"' }),
    {
      ok: true,
      warnings: [
        {
          name: "run.hparms.lr",
          column: 1,
          message:
            "No run has a param run.hparms.lr, so it is None in every run: did you mean run.hparams.lr?",
          suggestions: ["run.hparams.lr"],
          field: "q",
        },
        {
          name: "run.stauts",
          column: 26,
          message:
            "No run has a param run.stauts, so it is None in every run: did you mean run.status?",
          suggestions: ["run.status"],
          field: "q",
        },
      ],
    },
  );
  const sorted = await check({
    q: 'metric.name == "loss"',
    kind: "metrics",
    sort: "-run.hparams.optimizer.nam",
  });
  assert.deepEqual(
    sorted.warnings.map((w: { field: string; suggestions: string[] }) => [
      w.field,
      w.suggestions,
    ]),
    [["sort", ["run.hparams.optimizer.name"]]],
  );
  assert.deepEqual(await check({ q: "run.hparams.optimizer.name" }), {
    ok: true,
    warnings: [],
  });
  assert.equal((await check({ q: "run.hparms.lr <" })).ok, false);
});
