/**
 * Remote tracking end to end, with real processes and real signals: `aim
 * up` stopped with SIGTERM or SIGKILL while clients stream, clients
 * killed, many clients at once, TLS, and `aim run --remote`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readSeries, type Repo } from "../lib/mod.ts";
import { readMeta } from "../lib/storage/mod.ts";
import { Spawned, tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp, TEST_TOKEN } from "./_aim_up.ts";
import { deriveTrackToken } from "../server/track_routes.ts";
import { aimArgs, PYTHON_CLIENT } from "./fixtures/spawned.ts";

const encoder = new TextEncoder();

/** `aim track --remote URL` with its stdin piped, the test token in AIM_TOKEN. */
function remoteTrack(url: string, args: string[] = [], env = {}): Spawned {
  return new Spawned(
    Deno.execPath(),
    aimArgs(["track", "--remote", url, ...args]),
    { stdin: "piped", env: { AIM_TOKEN: TEST_TOKEN, ...env } },
  );
}

/** Writes `text` to the child's stdin and closes it. */
async function writeAll(child: Spawned, text: string): Promise<void> {
  const writer = child.child.stdin.getWriter();
  await writer.write(encoder.encode(text));
  await writer.close();
}

/** Writes track lines for steps `from` to `to` - 1 in chunks of `chunk`, pausing between chunks so the stream spans time. */
async function feed(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  from: number,
  to: number,
  chunk = 500,
): Promise<void> {
  for (let at = from; at < to; at += chunk) {
    let text = "";
    for (let step = at; step < Math.min(to, at + chunk); step++) {
      text += `{"track": ${step % 97}, "name": "loss", "step": ${step}}\n`;
    }
    await writer.write(encoder.encode(text));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Asserts the run's "loss" holds the steps 0 to n - 1, each exactly once. */
function assertEveryStepOnce(repo: Repo, hash: string, n: number): void {
  const { steps, total } = readSeries(repo, hash, "loss", {}, { points: 0 });
  assert.equal(total, n, `${total} points stored, ${n} sent`);
  const seen = new Set(steps);
  assert.equal(seen.size, n, "no step twice");
  for (let step = 0; step < n; step++) {
    if (!seen.has(step)) assert.fail(`step ${step} is missing`);
  }
}

/** How many points of the run's "loss" the server has, over its API. */
async function storedPoints(
  server: { get(path: string): Promise<{ status: number; body: unknown }> },
  hash: string,
): Promise<number> {
  const { status, body } = await server.get(`api/runs/${hash}`);
  if (status !== 200) return 0;
  const metrics = (body as { metrics: { count: number }[] }).metrics;
  return metrics[0]?.count ?? 0;
}

Deno.test("aim track --remote streams through a SIGTERM restart of aim up: the run is left running meanwhile, and every point is stored once", async () => {
  await using repo = await tempRepo();
  let server = await startAimUp(repo.path);
  const port = server.port;
  await using client = remoteTrack(server.url, ["--name", "through-sigterm"]);
  const hash = await client.waitForLine(/^[0-9a-f]{20}$/);
  const writer = client.child.stdin.getWriter();
  try {
    await feed(writer, 0, 20_000);
    await waitFor(
      async () => (await storedPoints(server, hash)) > 0,
      "points to reach the server",
    );
    const stopped = await server.stop("SIGTERM");
    assert.equal(stopped.code, 0, server.stderr());
    const meta = repo.readRun(hash, readMeta);
    assert.equal(meta.get("status"), "running", "suspended, not finalized");
    assert.ok((meta.get("remote_seq") as number) >= 1);
    assert.equal(repo.loadRun(hash).live, false, "no writer while it is down");
    // The client keeps taking input while the server is away.
    await feed(writer, 20_000, 40_000);
    server = await startAimUp(repo.path, { port });
    await feed(writer, 40_000, 60_000);
    await writer.write(encoder.encode('{"close": true}\n'));
    await writer.close();
    const status = await client.finished();
    assert.equal(status.code, 0, client.stderr);
    assert.match(client.stderr, /cannot reach .*retrying, nothing is lost/);
    assert.match(client.stderr, /answers again after/);
    assertEveryStepOnce(repo, hash, 60_000);
    const record = repo.index().get(hash)!;
    assert.equal(record.status, "finished");
    assert.equal(record.name, "through-sigterm");
    assert.equal(repo.hasMarker(hash), false);
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("the Python client streams through two SIGKILLs of aim up: every acknowledged point is kept and none is stored twice", async () => {
  await using repo = await tempRepo();
  let server = await startAimUp(repo.path);
  const port = server.port;
  const points = 60_000;
  await using client = new Spawned("python3", [
    "-c",
    `
import sys, time
from aim_client import Run
run = Run(repo=sys.argv[1], name="through-sigkill")
print("hash", run.hash, flush=True)
for step in range(${points}):
    run.track(step % 97, name="loss", step=step)
    if step % 500 == 499:
        print("at", step + 1, flush=True)
        time.sleep(0.01)
run.close()
print("closed", flush=True)
`,
    server.url,
  ], { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } });
  const hash = (await client.waitForLine(/^hash /)).split(" ")[1]!;
  try {
    for (const at of [15_000, 35_000]) {
      await client.waitForLine(new RegExp(`^at ${at}$`), 60_000);
      await waitFor(
        async () => (await storedPoints(server, hash)) > 0,
        "points to reach the server",
      );
      assert.equal((await server.stop("SIGKILL")).signal, "SIGKILL");
      // What was acknowledged is on disk, whatever the kill interrupted.
      const stored = repo.readRun(hash, readMeta).get("remote_seq") as number;
      assert.ok(stored >= 1);
      server = await startAimUp(repo.path, { port });
    }
    const status = await client.finished();
    assert.equal(status.code, 0, client.stderr);
    assert.equal(client.lines.at(-1), "closed");
    assertEveryStepOnce(repo, hash, points);
    assert.equal(repo.index().get(hash)!.status, "finished");
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("a SIGKILLed client leaves its run crashed after --track-timeout: indexed, every acknowledged point kept, ended when last heard", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path, {
    args: ["--track-timeout", "2"],
  });
  await using client = new Spawned("python3", [
    "-c",
    `
import sys, time
from aim_client import Run
run = Run(repo=sys.argv[1], name="killed")
for step in range(1000):
    run.track(step, name="loss", step=step)
run.flush()
sink = run._sink
while sink._queued or sink._inflight is not None:
    time.sleep(0.01)
print("acked", run.hash, flush=True)
time.sleep(600)
`,
    server.url,
  ], { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } });
  const hash = (await client.waitForLine(/^acked /)).split(" ")[1]!;
  client.child.kill("SIGKILL");
  const killedAt = Date.now() / 1000;
  assert.equal((await client.finished()).signal, "SIGKILL");
  await waitFor(
    () => repo.index().get(hash)?.status === "crashed",
    "the run to be recorded crashed",
  );
  const record = repo.index().get(hash)!;
  assert.equal(record.metrics[0]!.count, 1000);
  assert.ok(record.ended_at! <= killedAt, "ended when last heard from");
  assert.equal(repo.hasMarker(hash), false, "indexed");
  assertEveryStepOnce(repo, hash, 1000);
  await waitFor(
    () => new RegExp(`remote run ${hash}: no word`).test(server.stderr()),
    "aim up to say why the run crashed",
  );
});

Deno.test("64 concurrent remote runs: no error, no point lost or stored twice", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const processes = 4;
  const perProcess = 16;
  const points = 10_000;
  const clients = Array.from(
    { length: processes },
    (_, p) =>
      new Spawned("python3", [
        "-c",
        `
import sys
from aim_client import Run
runs = [Run(repo=sys.argv[1], experiment="many", name="p${p}-%d" % i) for i in range(${perProcess})]
for step in range(${points}):
    for run in runs:
        run.track(step % 89, name="loss", step=step)
for run in runs:
    run.close()
print("hashes", " ".join(run.hash for run in runs), flush=True)
`,
        server.url,
      ], { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } }),
  );
  try {
    const hashes: string[] = [];
    for (const client of clients) {
      const status = await client.finished();
      assert.equal(status.code, 0, client.stderr);
      assert.equal(client.stderr, "", "no warning, no error");
      hashes.push(...client.lines.at(-1)!.split(" ").slice(1));
    }
    assert.equal(new Set(hashes).size, processes * perProcess);
    for (const hash of hashes) {
      assert.equal(repo.index().get(hash)?.status, "finished", hash);
      assertEveryStepOnce(repo, hash, points);
    }
    assert.doesNotMatch(server.stderr(), /error/i);
    const health = await server.get("api/health");
    const tracking = (health.body as { tracking: { batches: number } })
      .tracking;
    assert.ok(tracking.batches >= processes * perProcess, "batches counted");
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("aim run --remote records a command's run on aim up behind a base path, with its exit code", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path, {
    args: ["--base-path", "/aim"],
  });
  assert.match(server.url, /\/aim\/$/);
  const script = `
import os, sys
from aim_client import Run
run = Run(experiment="wrapped")
run["hparams"] = {"lr": 0.1}
for step in range(300):
    run.track(step / 10, name="loss", step=step)
print("repo", os.environ["AIM_REPO"], flush=True)
sys.exit(int(sys.argv[1]))
`;
  for (const code of [0, 3]) {
    await using child = new Spawned(
      Deno.execPath(),
      aimArgs([
        "run",
        "--remote",
        server.url,
        "--name",
        `exit-${code}`,
        "--system-interval",
        "0",
        "--",
        "python3",
        "-c",
        script,
        String(code),
      ]),
      { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } },
    );
    const status = await child.finished();
    assert.equal(status.code, code, child.stderr);
    assert.deepEqual(child.lines, [`repo ${server.url}`]);
    const [record] = (await server.get(
      `api/runs?q=${encodeURIComponent(`run.name == "exit-${code}"`)}`,
    )).body.runs;
    assert.equal(record.status, code === 0 ? "finished" : "failed");
    assert.equal(record.exit_code, code);
    assert.equal(record.experiment, "wrapped");
    assert.deepEqual(record.params.hparams, { lr: 0.1 });
    assert.ok("__aim" in record.params, "aim run's launch record");
    assert.equal(record.metrics[0].count, 300);
    assert.equal(record.indexed, true);
  }
});

Deno.test("aim track --remote: a wrong token, a missing server and a bad URL are clear errors", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  await using wrong = remoteTrack(server.url, [], {
    AIM_TOKEN: "not-the-token-at-all",
  });
  await wrong.child.stdin.close();
  assert.equal((await wrong.finished()).code, 1);
  assert.match(wrong.stderr, /^error: Tracking needs a token: set AIM_TOKEN/m);
  // Two lines pasted: fetch cannot send it, which is no network failure.
  const started = performance.now();
  await using pasted = remoteTrack(server.url, [], {
    AIM_TOKEN: `track-only\n${server.token}`,
  });
  await pasted.child.stdin.close();
  assert.equal((await pasted.finished()).code, 1);
  assert.match(pasted.stderr, /^error: AIM_TOKEN holds a space, a line break/m);
  assert.ok(performance.now() - started < 30_000, "refused, not retried");
  // A URL without aim up's base path, with either token.
  for (const token of [TEST_TOKEN, await deriveTrackToken(TEST_TOKEN)]) {
    await using astray = remoteTrack(new URL("elsewhere/", server.url).href, [
      "--close-timeout",
      "30",
    ], { AIM_TOKEN: token });
    await astray.child.stdin.close();
    assert.equal((await astray.finished()).code, 1);
    assert.match(
      astray.stderr,
      /^error: http:\/\/127\.0\.0\.1:\d+\/elsewhere has no tracking route \(No route POST \/elsewhere\/api\/track\/runs\): --remote must be the URL aim up printed, with its --base-path/m,
    );
  }
  await using bad = remoteTrack("ftp://example.com");
  await bad.child.stdin.close();
  assert.equal((await bad.finished()).code, 1);
  assert.match(bad.stderr, /--remote must be an http:\/\/ or https:\/\/ URL/);
  // Nothing listens on the port of a stopped server.
  const gone = await startAimUp(repo.path);
  await gone.stop();
  await using lost = remoteTrack(gone.url, ["--close-timeout", "1"]);
  await writeAll(lost, '{"track": 1, "name": "x"}\n');
  assert.equal((await lost.finished()).code, 1);
  assert.match(
    lost.stderr,
    /error: The server at .* did not acknowledge \d+ bytes of run [0-9a-f]{20} within 1 s \(last error: .*\): what it acknowledged is stored/,
  );
  assert.deepEqual(repo.listRuns(), [], "a wrong token creates nothing");
});

Deno.test("a proxy's error page is told in one line by both clients, and retried", async () => {
  const page =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
  await using proxy = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(page, { status: 502 }),
  );
  const url = `http://127.0.0.1:${proxy.addr.port}`;
  await using deno = remoteTrack(url, ["--close-timeout", "1"]);
  await writeAll(deno, '{"track": 1, "name": "x"}\n');
  assert.equal((await deno.finished()).code, 1);
  const oneLine =
    /HTTP 502 from http:\/\/127\.0\.0\.1:\d+\/api\/track\/runs: 502 Bad Gateway 502 Bad Gateway\)/;
  assert.match(deno.stderr, oneLine);
  assert.match(deno.stderr, /retrying, nothing is lost meanwhile/);
  assert.doesNotMatch(deno.stderr, /<|\r/);
  await using python = new Spawned("python3", [
    "-c",
    `
import sys
from aim_client import Run
run = Run(repo=sys.argv[1])
run.track(1.0, name="x")
try:
    run.close(timeout=1)
except Exception as error:
    print(type(error).__name__, error)
`,
    url,
  ], { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } });
  assert.equal((await python.finished()).code, 0, python.stderr);
  assert.match(python.lines[0]!, /^RemoteError .*did not acknowledge/);
  assert.match(python.lines.join("\n") + python.stderr, oneLine);
  assert.doesNotMatch(python.lines.join("\n") + python.stderr, /<|\r/);
});

Deno.test("aim up serves HTTPS with --cert and --key; clients trust it through DENO_CERT or SSL_CERT_FILE", async () => {
  const openssl = await new Deno.Command("openssl", { args: ["version"] })
    .output().catch(() => null);
  if (openssl === null || !openssl.success) {
    console.log(
      "skipped: openssl is not installed, so no certificate can be made",
    );
    return;
  }
  await using repo = await tempRepo();
  const cert = join(repo.dir, "cert.pem");
  const key = join(repo.dir, "key.pem");
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stderr: "piped",
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  await using server = await startAimUp(repo.path, {
    args: ["--cert", cert, "--key", key],
  });
  assert.match(server.url, /^https:\/\//);
  await using untrusted = remoteTrack(server.url);
  await untrusted.child.stdin.close();
  assert.equal((await untrusted.finished()).code, 1);
  assert.match(
    untrusted.stderr,
    /Cannot trust the certificate of https:.*set DENO_CERT/,
  );
  await using trusted = remoteTrack(server.url, ["--name", "over-tls"], {
    DENO_CERT: cert,
  });
  await writeAll(
    trusted,
    '{"track": 1, "name": "loss", "step": 0}\n{"close": true}\n',
  );
  assert.equal((await trusted.finished()).code, 0, trusted.stderr);
  const hash = trusted.lines[0]!;
  await using python = new Spawned("python3", [
    "-c",
    `
import sys
from aim_client import Repo, Run
run = Run(repo=sys.argv[1], name="python-over-tls")
run.track(2.5, name="loss", step=0)
run.close()
print(sorted(r.name for r in Repo(sys.argv[1]).query_runs()))
`,
    server.url,
  ], {
    env: {
      PYTHONPATH: PYTHON_CLIENT,
      AIM_TOKEN: TEST_TOKEN,
      SSL_CERT_FILE: cert,
    },
  });
  assert.equal((await python.finished()).code, 0, python.stderr);
  assert.deepEqual(python.lines, ["['over-tls', 'python-over-tls']"]);
  assert.equal(repo.index().get(hash)!.status, "finished");
  const client = Deno.createHttpClient({
    caCerts: [Deno.readTextFileSync(cert)],
  });
  try {
    const health = await fetch(new URL("api/health", server.url), { client });
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    client.close();
  }
});

/**
 * A TCP proxy in front of `port` that drops the connection instead of
 * passing on every `every`-th acknowledgement of a new batch: the batch is
 * stored, and its client never hears so.
 */
function lossyProxy(port: number, every: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts = { acks: 0, dropped: 0, duplicates: 0 };
  const conns = new Set<Deno.Conn>();
  const serve = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.add(client).add(server);
      const close = () => {
        for (const conn of [client, server]) {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // Closed already.
          }
        }
      };
      client.readable.pipeTo(server.writable).catch(close);
      (async () => {
        const decoder = new TextDecoder();
        const writer = client.writable.getWriter();
        try {
          for await (const chunk of server.readable) {
            const text = decoder.decode(chunk);
            if (text.includes('"duplicate":true')) counts.duplicates++;
            if (text.includes('"duplicate":false')) {
              if (++counts.acks % every === 0) {
                counts.dropped++;
                return close();
              }
            }
            await writer.write(chunk);
          }
        } catch {
          close();
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    counts,
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await serve;
    },
  };
}

Deno.test("a batch whose acknowledgement is lost on the network is sent again and stored once", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const proxy = lossyProxy(server.port, 3);
  try {
    const points = 30_000;
    await using client = new Spawned("python3", [
      "-c",
      `
import sys, time
from aim_client import Run
run = Run(repo=sys.argv[1], name="lossy")
for step in range(${points}):
    run.track(step % 97, name="loss", step=step)
    if step % 1000 == 999:
        time.sleep(0.02)
run.close()
print("hash", run.hash, flush=True)
`,
      `http://127.0.0.1:${proxy.port}`,
    ], { env: { PYTHONPATH: PYTHON_CLIENT, AIM_TOKEN: TEST_TOKEN } });
    assert.equal((await client.finished()).code, 0, client.stderr);
    const hash = client.lines.at(-1)!.split(" ")[1]!;
    assert.ok(proxy.counts.dropped >= 3, JSON.stringify(proxy.counts));
    assert.ok(
      proxy.counts.duplicates >= proxy.counts.dropped,
      `each lost acknowledgement is answered "duplicate" on resend: ${
        JSON.stringify(proxy.counts)
      }`,
    );
    assertEveryStepOnce(repo, hash, points);
  } finally {
    await proxy.close();
  }
});
