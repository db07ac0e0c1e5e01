/**
 * The fault suite, short version: each fault and bad input an attack run
 * found against aim, reproduced with real processes, real signals and real
 * files, and held fixed. The long version, with figures, is
 * `deno task fault` (scripts/fault.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { AimError, Repo, searchRuns } from "../lib/mod.ts";
import { parseMessage } from "../lib/tracking/mod.ts";
import { startAimUp } from "./_aim_up.ts";
import { aim, liveWriter, Spawned, tempRepo, waitFor } from "./_helpers.ts";
import { aimArgs } from "./fixtures/spawned.ts";
import { canMount, fillDisk, readOnlyView, tmpfs } from "./_mounts.ts";

const TOKEN = "fault-suite-token-0123";

/** `aim track` fed `lines` on stdin; its exit code, stdout and stderr. */
async function track(
  repo: string,
  lines: string[],
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: aimArgs(["track", "--repo", repo, ...args]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** The runs `aim runs ls --json` lists, by name. */
async function listed(repo: string): Promise<Record<string, RunJson>> {
  const out = await aim(["runs", "ls", "--json", "--repo", repo]);
  assert.equal(out.code, 0, out.stderr);
  const runs = JSON.parse(out.stdout) as RunJson[];
  return Object.fromEntries(runs.map((run) => [run.name, run]));
}

interface RunJson {
  hash: string;
  name: string;
  status: string;
  ended_at: string | null;
  indexed: boolean;
  metrics: { name: string; count: number }[];
}

// ---------------------------------------------------------------- tracking

Deno.test("a far-future or negative time is refused on input, and a stored one breaks no listing", async () => {
  await using repo = await tempRepo();
  const out = await track(repo.path, [
    '{"track": 1, "name": "loss", "time": 1e20}',
    '{"track": 2, "name": "loss", "time": -5}',
    '{"log": "late", "time": 1e20}',
    '{"track": 3, "name": "loss"}',
    '{"close": true}',
  ], ["--name", "clocks"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /"time" must be seconds since the epoch, from 0 to/);
  const run = (await listed(repo.path)).clocks!;
  assert.equal(run.metrics[0]!.count, 1, "the good point is kept");

  // A run file written before the check, with a point from year 3e12.
  const bad = await repo.startRun({ name: "bad clock", handleSignals: false });
  bad.track(1, { name: "loss" });
  await bad.close();
  const db = new DatabaseSync(repo.runFile(bad.hash));
  db.exec(
    "UPDATE series SET last_time = 1e20; UPDATE meta SET value = '1e20' WHERE key = 'ended_at'",
  );
  db.close();
  repo.touchMarker(bad.hash);
  const runs = await listed(repo.path);
  assert.equal(runs["bad clock"]!.ended_at, null, "no valid date: null");
  assert.equal(runs.clocks!.metrics[0]!.count, 1, "the other run still lists");
  await using server = await startAimUp(repo.path, { token: TOKEN });
  for (const path of ["api/runs", `api/runs/${bad.hash}`]) {
    assert.equal((await server.get(path)).status, 200, path);
  }
  const search = await server.fetch("api/series/search", {
    method: "POST",
    body: JSON.stringify({ q: 'metric.name == "loss"' }),
  });
  assert.equal(search.status, 200, await search.text());
});

Deno.test("a series name or key with a lone surrogate is refused alone: the other points and close() survive", async () => {
  await using repo = await tempRepo();
  const out = await track(repo.path, [
    '{"track": 1, "name": "\\ud800"}',
    '{"track": 2, "name": "\\udc00"}',
    '{"set": "\\ud800", "value": 1}',
    '{"tag": "\\udc00"}',
    '{"track": 3, "name": "loss"}',
    '{"close": true}',
  ], ["--name", "surrogates"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /holds a lone surrogate/);
  const run = (await listed(repo.path)).surrogates!;
  assert.equal(run.status, "finished");
  assert.deepEqual(run.metrics.map((m) => [m.name, m.count]), [["loss", 1]]);
  // And from TypeScript: a TypeError, the run still writable.
  const live = await repo.startRun({ handleSignals: false });
  assert.throws(() => live.track(1, { name: "\ud800" }), TypeError);
  assert.throws(() => live.set("\udc00", 1), TypeError);
  live.track(1, { name: "ok" });
  await live.close();
  assert.equal(repo.index().get(live.hash)!.metrics.length, 1);
});

Deno.test("a malformed line is parsed in time linear in its length", () => {
  const time = (length: number) => {
    const line = '{"track": 1, "name": "' + '"x'.repeat(length / 2);
    const started = performance.now();
    assert.throws(() => parseMessage(line), AimError);
    return performance.now() - started;
  };
  time(1000); // warm up
  const small = time(128 * 1024);
  const large = time(1024 * 1024);
  // The quadratic parser took 12.7 s at 128 Ki; minutes at 1 Mi.
  assert.ok(large < 2_000, `1 MiB line took ${large} ms`);
  assert.ok(large < 40 * Math.max(small, 1), `${small} ms → ${large} ms`);
  assert.equal(parseMessage('{"track": NaN, "name": "x"}').type, "track");
});

Deno.test("a writer killed at any instant of its start leaves no run or a readable one", async () => {
  await using repo = await tempRepo();
  const delays = Array.from({ length: 24 }, (_, i) => 40 + i * 25);
  for (const delay of delays) {
    const child = new Deno.Command(Deno.execPath(), {
      args: aimArgs(["track", "--repo", repo.path, "--name", `k${delay}`]),
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await new Promise((resolve) => setTimeout(resolve, delay));
    child.kill("SIGKILL");
    await child.status;
    await child.stdin.close().catch(() => {});
  }
  const reindex = await aim(["reindex", "--repo", repo.path]);
  assert.equal(reindex.code, 0, reindex.stderr + reindex.stdout);
  assert.doesNotMatch(reindex.stderr, /error/);
  const runs = Object.values(await listed(repo.path));
  assert.equal(runs.length, repo.listRuns().length, "every run space lists");
  assert.ok(runs.every((run) => run.status === "crashed" && run.indexed));
  assert.deepEqual(repo.listJunk(), [], "leftovers were swept");
});

// ---------------------------------------------------------------- files

Deno.test("junk in the repository is skipped and named, and never blocks a listing or the indexer", async () => {
  await using repo = await tempRepo();
  const good = await repo.startRun({ name: "good", handleSignals: false });
  good.track(1, { name: "loss" });
  await good.close();
  const hash = (n: number) => String(n).repeat(20);
  // A non-empty folder named like a marker.
  Deno.mkdirSync(join(repo.path, "progress", hash(1)));
  Deno.writeTextFileSync(join(repo.path, "progress", hash(1), "x"), "x");
  // A run folder whose run.db is a FIFO, and one with no run.db.
  Deno.mkdirSync(repo.runDir(hash(2)));
  await new Deno.Command("mkfifo", { args: [repo.runFile(hash(2))] }).output();
  repo.touchMarker(hash(2));
  Deno.mkdirSync(repo.runDir(hash(3)));
  // A run.db that is SQLite but not a run (no meta table), with a marker.
  Deno.mkdirSync(repo.runDir(hash(4)));
  new DatabaseSync(repo.runFile(hash(4))).close();
  repo.touchMarker(hash(4));
  // A leftover of an interrupted creation.
  Deno.mkdirSync(join(repo.path, "runs", `.new-${hash(5)}`));

  const started = performance.now();
  const ls = await aim(["runs", "ls", "--json", "--repo", repo.path]);
  assert.ok(performance.now() - started < 10_000, "a FIFO never blocks");
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(JSON.parse(ls.stdout).map((r: RunJson) => r.name), [
    "good",
  ]);
  assert.match(ls.stderr, new RegExp(`${hash(2)}.*not a regular file`));

  const reindex = await aim(["reindex", "--repo", repo.path]);
  assert.equal(reindex.code, 1, "an unreadable run is an error");
  assert.match(
    reindex.stderr,
    new RegExp(
      `run ${hash(4)} skipped: .*no such table: meta.*aim runs rm --force ${
        hash(4)
      }`,
    ),
  );
  assert.match(reindex.stderr, new RegExp(`${hash(3)}: a run folder without`));
  assert.match(
    reindex.stdout,
    /1 interrupted creations or deletions cleaned up/,
  );
  for (const n of [2, 3, 4]) {
    const rm = await aim([
      "runs",
      "rm",
      "--force",
      "--repo",
      repo.path,
      hash(n),
    ]);
    assert.equal(rm.code, 0, rm.stderr);
  }
  const again = await aim(["reindex", "--repo", repo.path]);
  assert.equal(again.code, 0, again.stderr);

  // The indexer skips the marker folder without crashing, pass after pass.
  await using server = await startAimUp(repo.path, {
    token: TOKEN,
    indexInterval: "0.1",
  });
  const first = (await server.get("api/index")).body.indexer.last_pass_at;
  await waitFor(
    async () =>
      (await server.get("api/index")).body.indexer.last_pass_at !== first,
    "another indexer pass",
  );
  assert.equal((await server.get("api/index")).body.indexer.restarts, 0);
});

Deno.test("a deleted marker does not hide a run: status counts it, and reindex finds it", async () => {
  await using repo = await tempRepo();
  repo.index(); // an index that exists, and so is not rebuilt (which marks every run)
  await using writer = await liveWriter(repo.path);
  writer.child.kill("SIGKILL");
  await writer.finished();
  repo.removeMarker(writer.hash);
  const status = JSON.parse(
    (await aim(["status", "--json", "--repo", repo.path])).stdout,
  );
  assert.equal(status.hidden, 1);
  assert.equal(status.indexed, 0);
  const reindex = await aim(["reindex", "--repo", repo.path]);
  assert.match(reindex.stdout, /1 runs found without index rows or marker/);
  assert.equal((await listed(repo.path))["run-0"]!.status, "crashed");
});

Deno.test(
  "a full disk: aim track keeps points in memory and stores them when space comes back; reading commands keep working",
  {
    ignore: !(await canMount()),
  },
  async () => {
    await using disk = await tmpfs(24 << 20);
    const repoPath = join(disk.path, ".aim");
    assert.equal((await aim(["init", "--repo", repoPath])).code, 0);
    const before = await track(repoPath, [
      '{"track": 1, "name": "loss"}',
      '{"close": true}',
    ], [
      "--name",
      "before",
    ]);
    assert.equal(before.code, 0, before.stderr);
    const filler = await fillDisk(disk.path, 200 << 10);

    // Reading works while the disk is full.
    for (const args of [["runs", "ls"], ["metrics", "ls"], ["status"]]) {
      const out = await aim([...args, "--repo", repoPath]);
      assert.equal(out.code, 0, `${args.join(" ")}: ${out.stderr}`);
      assert.doesNotMatch(out.stderr, /Uncaught/);
    }
    const reindex = await aim(["reindex", "--repo", repoPath]);
    assert.ok(
      reindex.code === 0 || /disk/.test(reindex.stderr),
      reindex.stderr,
    );
    assert.doesNotMatch(reindex.stderr, /Uncaught/);

    await using feeder = new Spawned(
      Deno.execPath(),
      aimArgs(["track", "--repo", repoPath, "--name", "during"]),
      { stdin: "piped" },
    );
    const stdin = feeder.child.stdin.getWriter();
    const batch = (from: number) =>
      new TextEncoder().encode(
        Array.from(
          { length: 50_000 },
          (_, i) =>
            `{"track": ${from + i}, "name": "loss", "step": ${from + i}}\n`,
        ).join(""),
      );
    for (let i = 0; i < 4; i++) await stdin.write(batch(i * 50_000));
    await waitFor(
      () => /keeping \d+ points/.test(feeder.stderr),
      "the writer to say it waits",
      30_000,
    );
    Deno.removeSync(filler);
    for (let i = 4; i < 6; i++) await stdin.write(batch(i * 50_000));
    await stdin.write(new TextEncoder().encode('{"close": true}\n'));
    await stdin.close();
    const status = await feeder.finished();
    assert.equal(status.code, 0, feeder.stderr);
    assert.match(feeder.stderr, /is written again/);
    assert.doesNotMatch(feeder.stderr, /Uncaught|dropped/);
    const runs = await listed(repoPath);
    assert.equal(runs.during!.status, "finished");
    assert.equal(runs.during!.metrics[0]!.count, 300_000, "nothing lost");
  },
);

Deno.test(
  "a read-only repository: reading works, and what must write says so",
  {
    ignore: !(await canMount()),
  },
  async () => {
    await using repo = await tempRepo();
    const run = await repo.startRun({ name: "kept", handleSignals: false });
    run.track(0.5, { name: "loss" });
    await run.close();
    await using writer = await liveWriter(repo.path);
    writer.child.kill("SIGKILL");
    await writer.finished();
    repo.close();
    await using view = await readOnlyView(repo.dir);
    const path = join(view.path, ".aim");
    const runs = await listed(path);
    assert.deepEqual(Object.keys(runs).sort(), ["kept", "run-0"]);
    assert.equal(runs["run-0"]!.status, "crashed");
    const metrics = await aim(["metrics", "ls", "--repo", path]);
    assert.equal(metrics.code, 0, metrics.stderr);
    const status = JSON.parse(
      (await aim(["status", "--json", "--repo", path])).stdout,
    );
    assert.equal(status.index, "read-only");
    const reindex = await aim(["reindex", "--repo", path]);
    assert.equal(reindex.code, 1);
    assert.match(reindex.stderr, /^error: Cannot write the index .*read-only/m);
    const rm = await aim(["runs", "rm", "--repo", path, run.hash]);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /read-only here: reading works, writing does not/);

    await using server = await startAimUp(path, { token: TOKEN });
    assert.equal((await server.get("api/runs")).body.total, 2);
    await waitFor(
      async () => (await server.get("api/index")).body.indexer.paused !== null,
      "the indexer to say it is paused",
    );
    const index = (await server.get("api/index")).body;
    assert.match(index.indexer.paused, /unable to open/);
    assert.equal(index.status.index, "read-only");
    const patch = await server.fetch(`api/runs/${run.hash}`, {
      method: "PATCH",
      body: JSON.stringify({ name: "x" }),
    });
    assert.equal(patch.status, 409);
    assert.equal((await patch.json()).error.code, "repo_read_only");
  },
);

// ---------------------------------------------------------------- server

Deno.test("catastrophic regular expressions cannot stall searches: two at once are answered, and so is everything else", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({
    name: "a".repeat(40) + "!",
    handleSignals: false,
  });
  await run.close();
  await using server = await startAimUp(repo.path, { token: TOKEN });
  const redos = encodeURIComponent('run.name.match("(a+)+$")');
  const started = performance.now();
  const answers = await Promise.all([
    server.get(`api/runs?q=${redos}`),
    server.get(`api/runs?q=${redos}`),
    server.get("api/runs"),
  ]);
  assert.ok(performance.now() - started < 5_000);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
  assert.equal(answers[0]!.body.total, 0);
  const health = await server.get("api/health");
  assert.equal(health.body.ok, true);
});

Deno.test("tokens: empty or short ones are refused, an empty ?token= overrides nothing, and the bearer scheme is case-insensitive", async () => {
  await using repo = await tempRepo();
  for (
    const [args, env] of [
      [["--token", ""], {}],
      [["--host", "0.0.0.0", "--token", ""], {}],
      [["--token", "short"], {}],
      [[], { AIM_TOKEN: "short" }],
    ] as [string[], Record<string, string>][]
  ) {
    const out = await aim(["up", "--repo", repo.path, "--port", "0", ...args], {
      env,
    });
    assert.equal(out.code, 2, `${args.join(" ")} ${JSON.stringify(env)}`);
    assert.match(out.stderr, /at least 16/);
  }
  await using server = await startAimUp(repo.path, { token: TOKEN });
  const plain = (path: string, headers: Record<string, string>) =>
    fetch(new URL(path, server.url), { headers });
  assert.equal(
    (await plain("api/runs", { authorization: `bearer ${TOKEN}` })).status,
    200,
  );
  assert.equal(
    (await plain("api/runs", { authorization: `BEARER ${TOKEN}` })).status,
    200,
  );
  const cookie = { cookie: `aim_token=${TOKEN}` };
  assert.equal((await plain("api/runs?token=", cookie)).status, 200);
  assert.equal((await plain("api/runs?token=", {})).status, 401);
  assert.equal((await plain("api/runs", { cookie: "aim_token=" })).status, 401);
});

Deno.test("request bodies are capped: a huge one is refused as it arrives, and the server's memory stays put", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path, { token: TOKEN });
  const rss = () =>
    Number(
      /^VmRSS:\s+(\d+)/m.exec(
        Deno.readTextFileSync(`/proc/${server.pid}/status`),
      )![1],
    ) * 1024;
  const before = rss();
  const chunk = new TextEncoder().encode("x".repeat(1 << 20));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ >= 200) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const response = await server.fetch("api/series/search", {
    method: "POST",
    body,
    // @ts-ignore: Deno's fetch streams a request body with duplex half.
    duplex: "half",
  });
  assert.equal(response.status, 413);
  assert.equal((await response.json()).error.code, "too_large");
  const declared = await server.fetch("api/series/search", {
    method: "POST",
    headers: { "content-length": String(400 << 20) },
    body: "{}",
  }).catch((error) => error);
  assert.ok(!(declared instanceof Response) || declared.status !== 200);
  assert.ok(
    rss() - before < 100 << 20,
    `RSS grew by ${(rss() - before) >> 20} MB`,
  );
});

/**
 * One HTTP/1.1 request over a raw connection: fetch() may not set Host or
 * Origin, which is exactly what an attacker's browser or DNS does.
 */
async function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(body);
    const head = Object.entries({
      host: `127.0.0.1:${port}`,
      connection: "close",
      "content-length": String(bytes.length),
      ...headers,
    }).map(([key, value]) => `${key}: ${value}\r\n`).join("");
    await conn.write(
      new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\n${head}\r\n`),
    );
    await conn.write(bytes);
    let answer = "";
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      answer += new TextDecoder().decode(buffer.subarray(0, n));
      if (answer.includes("\r\n")) break;
    }
    return Number(answer.split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test("Host and Origin are checked always: DNS rebinding and cross-origin changes are refused, with or without a token", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "target", handleSignals: false });
  await run.close();
  for (const token of [TOKEN, null]) {
    await using server = await startAimUp(repo.path, { token });
    const auth: Record<string, string> = token === null
      ? {}
      : { authorization: `Bearer ${token}` };
    const send = (method: string, headers: Record<string, string>) =>
      raw(
        server.port,
        method,
        `/api/runs/${run.hash}`,
        { ...auth, ...headers },
        method === "PATCH" ? '{"name": "renamed"}' : "",
      );
    for (const method of ["GET", "PATCH", "DELETE"]) {
      assert.equal(
        await send(method, { host: `evil.example:${server.port}` }),
        403,
        `${method} with a foreign Host (token ${token})`,
      );
    }
    assert.equal(
      await send("PATCH", {
        origin: "http://127.0.0.1:8000",
        "content-type": "text/plain",
      }),
      403,
      "a PATCH from a page on another port",
    );
    assert.equal(
      await send("DELETE", { "sec-fetch-site": "cross-site" }),
      403,
      "a DELETE the browser marks cross-site",
    );
    assert.equal(
      await send("PATCH", { origin: `http://127.0.0.1:${server.port}` }),
      200,
      "a PATCH from the server's own page",
    );
    assert.equal(
      await send("GET", { host: `localhost:${server.port}` }),
      200,
      "localhost names loopback too",
    );
  }
  await using proxied = await startAimUp(repo.path, {
    token: TOKEN,
    args: ["--allowed-host", "aim.lab.example"],
  });
  assert.equal(
    await raw(proxied.port, "GET", "/api/runs", {
      host: "aim.lab.example",
      authorization: `Bearer ${TOKEN}`,
    }),
    200,
    "a name given with --allowed-host",
  );
  assert.equal(
    await raw(proxied.port, "GET", "/api/runs", {
      host: "other.lab.example",
      authorization: `Bearer ${TOKEN}`,
    }),
    403,
  );
});

Deno.test("deleting runs while the indexer indexes them leaves no phantom, no half-deleted run and no 500", async () => {
  await using repo = await tempRepo();
  // 60 stalled runs: writers SIGKILLed after a flush.
  const hashes: string[] = [];
  for (let i = 0; i < 3; i++) {
    await using writer = new Spawned(Deno.execPath(), [
      "run",
      "--allow-all",
      new URL("./fixtures/writer.ts", import.meta.url).pathname,
      repo.path,
      "--runs",
      "20",
      "--forever",
      "--batch",
      "5",
    ]);
    await writer.waitForLine(/^flushed [1-9]/, 60_000);
    hashes.push(
      ...writer.lines.filter((l) => l.startsWith("started ")).map((l) =>
        l.split(" ")[1]!
      ),
    );
    writer.child.kill("SIGKILL");
    await writer.finished();
  }
  assert.equal(hashes.length, 60);
  await using server = await startAimUp(repo.path, {
    token: TOKEN,
    indexInterval: "0.1",
  });
  const statuses = await Promise.all(
    hashes.filter((_, i) => i % 2 === 0).map(async (hash) => {
      const response = await server.fetch(`api/runs/${hash}`, {
        method: "DELETE",
      });
      return [response.status, await response.text()] as const;
    }),
  );
  for (const [status, text] of statuses) {
    assert.ok(status === 200 || status === 409, `${status} ${text}`);
  }
  await waitFor(
    async () =>
      (await server.get("api/index")).body.status.unindexed_stalled === 0,
    "the indexer to finish",
  );
  const deleted = new Set(
    hashes.filter((_, i) => i % 2 === 0 && statuses[i / 2]![0] === 200),
  );
  const listedNow = (await server.get("api/runs?limit=1000")).body.runs.map((
    r: { hash: string },
  ) => r.hash);
  for (const hash of deleted) {
    assert.ok(!listedNow.includes(hash), `deleted ${hash} still lists`);
    assert.equal((await server.get(`api/runs/${hash}`)).status, 404);
  }
  assert.equal(listedNow.length, 60 - deleted.size);
  const check = new DatabaseSync(join(repo.path, "index.db"));
  assert.equal(
    (check.prepare("PRAGMA integrity_check").get() as Record<string, string>)
      .integrity_check,
    "ok",
  );
  const indexed = new Set(
    check.prepare("SELECT hash FROM runs").all().map((r) => String(r.hash)),
  );
  check.close();
  for (const hash of deleted) assert.ok(!indexed.has(hash), `phantom ${hash}`);
  assert.deepEqual(repo.listJunk(), [], "no half-deleted run");
});

Deno.test("searches over stalled runs read each run file once, until it changes", async () => {
  await using repo = await tempRepo();
  const hashes: string[] = [];
  for (let i = 0; i < 20; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("i", i);
    await run.close();
    hashes.push(run.hash);
  }
  for (const hash of hashes) repo.touchMarker(hash);
  const reads = () => repo.records.stats().misses;
  assert.equal(searchRuns(repo, "run.i >= 0").total, 20);
  const first = reads();
  for (let i = 0; i < 5; i++) searchRuns(repo, "run.i >= 0");
  assert.equal(reads(), first, "no file read again");
  assert.equal(repo.records.stats().hits, 5 * 20);
  const edited = await repo.resumeRun(hashes[0]!, { handleSignals: false });
  edited.set("i", 100);
  await edited.close();
  repo.touchMarker(hashes[0]!);
  assert.equal(searchRuns(repo, "run.i == 100").total, 1, "a change is seen");
});

// ---------------------------------------------------------------- smaller

Deno.test("smaller faults: huge offsets, control characters, a tiny index interval, an impossible init", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({
    name: "evil\x1b[2J\x1b]0;title\x07name",
    handleSignals: false,
  });
  await run.close();
  const offset = await aim([
    "runs",
    "ls",
    "--offset",
    "1e300",
    "--repo",
    repo.path,
  ]);
  assert.equal(offset.code, 2);
  assert.match(offset.stderr, /--offset must be a non-negative integer/);
  const ls = await aim(["runs", "ls", "--repo", repo.path]);
  assert.equal(ls.code, 0);
  assert.ok(!ls.stdout.includes("\x1b"), "no raw escape reaches the terminal");
  assert.match(ls.stdout, /evil\\x1b\[2J\\x1b\]0;title\\x07name/);
  const interval = await aim([
    "up",
    "--repo",
    repo.path,
    "--index-interval",
    "0.001",
  ]);
  assert.equal(interval.code, 2);
  assert.match(
    interval.stderr,
    /--index-interval must be a number of seconds from 0\.1/,
  );
  const init = await aim(["init", "--repo", "/proc/aim-test"]);
  assert.equal(init.code, 1);
  assert.match(
    init.stderr,
    /^error: Cannot create a repository at \/proc\/aim-test/,
  );
  await using server = await startAimUp(repo.path, { token: TOKEN });
  for (
    const path of [
      "api/runs?offset=1e300",
      `api/runs/${run.hash}/logs?offset=1e300`,
      "api/runs?limit=-1",
    ]
  ) {
    const answer = await server.get(path);
    assert.equal(answer.status, 400, path);
    assert.equal(answer.body.error.code, "bad_request");
  }
  assert.equal(
    Repo.openSync(repo.path).readRun(run.hash, () => 1),
    1,
    "the run is intact",
  );
});
