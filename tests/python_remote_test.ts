/**
 * The Python client against a real `aim up`: bounded memory while the
 * server is away, close() when it never comes back, the track-only token,
 * and reading runs back (a path through the CLI, a URL through the API,
 * pandas, a real PyTorch training).
 *
 * Tests that need numpy, pandas or torch run Debian's /usr/bin/python3
 * (the python3 first on PATH may lack them) and are skipped, saying so,
 * when the module is missing.
 */

import assert from "node:assert/strict";
import { Spawned, tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp, TEST_TOKEN } from "./_aim_up.ts";
import { AIM_BIN, PYTHON_CLIENT } from "./fixtures/spawned.ts";
import { deriveTrackToken } from "../server/track_routes.ts";

const SYSTEM_PYTHON = "/usr/bin/python3";

function python(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
  program = "python3",
): Spawned {
  return new Spawned(program, ["-c", script, ...args], {
    env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, AIM_TOKEN: TEST_TOKEN, ...env },
  });
}

/** Whether /usr/bin/python3 imports every module of `modules`; says why not when it does not. */
async function systemPythonHas(modules: string[]): Promise<boolean> {
  const out = await new Deno.Command(SYSTEM_PYTHON, {
    args: ["-c", `import ${modules.join(", ")}`],
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (out === null || !out.success) {
    console.log(
      `skipped: ${SYSTEM_PYTHON} cannot import ${modules.join(", ")} (${
        out === null
          ? "no such program"
          : new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
      })`,
    );
    return false;
  }
  return true;
}

/** A port nothing listens on now (taken, then released). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("a remote Run keeps what the server has not acknowledged, waits in track() past its bound, and loses nothing when the server comes", async () => {
  await using repo = await tempRepo();
  const port = freePort();
  await using client = python(
    `
import sys, threading, time
from aim_client import Run
run = Run(repo=sys.argv[1], name="late-server")
print("started", run.hash, flush=True)
done = [0]
def report():
    while True:
        print("at", done[0], flush=True)
        time.sleep(0.1)
threading.Thread(target=report, daemon=True).start()
for step in range(20000):
    run.track(step, name="loss", step=step)
    done[0] = step + 1
run.close()
print("closed", flush=True)
`,
    [`http://127.0.0.1:${port}`],
    { AIM_REMOTE_BUFFER: String(64 << 10) },
  );
  const hash = (await client.waitForLine(/^started /)).split(" ")[1]!;
  // With nowhere to send, track() stops once 64 KiB wait: about 1,500 points.
  await waitFor(
    () => /wait for .*track\(\) waits until it takes them/.test(client.stderr),
    "the client to say it waits",
  );
  const reports = () => client.lines.filter((l) => l.startsWith("at "));
  // Five reports in a row, half a second, with no progress: track() waits.
  await waitFor(
    () => new Set(reports().slice(-5)).size === 1 && reports().length >= 5,
    "track() to stop making progress",
  );
  const stalled = Number(reports().at(-1)!.slice(3));
  assert.ok(stalled > 0 && stalled < 5000, `stalled at ${stalled}`);
  assert.match(
    client.stderr,
    /cannot reach http:\/\/127\.0\.0\.1:\d+ .*retrying, nothing is lost/,
  );
  await using server = await startAimUp(repo.path, { port });
  const status = await client.finished();
  assert.equal(status.code, 0, client.stderr);
  assert.equal(client.lines.at(-1), "closed");
  const record = repo.index().get(hash)!;
  assert.equal(record.status, "finished");
  assert.equal(record.metrics[0]!.count, 20_000);
  assert.equal(record.metrics[0]!.last_step, 19_999);
  assert.ok(server.url);
});

Deno.test("close() of a remote Run whose server is gone raises RemoteError after its timeout, saying what was not stored", async () => {
  await using repo = await tempRepo();
  const server = await startAimUp(repo.path);
  await using client = python(
    `
import sys, time
from aim_client import Run, RemoteError
run = Run(repo=sys.argv[1])
print("started", flush=True)
while not open(sys.argv[2]).read():  # the test says when the server is gone
    time.sleep(0.05)
for step in range(100):
    run.track(step, name="loss", step=step)
started = time.monotonic()
try:
    run.close(timeout=1.5)
    print("closed")
except RemoteError as error:
    print("waited %.1f" % (time.monotonic() - started))
    print(error)
`,
    [server.url, `${repo.dir}/go`],
  );
  Deno.writeTextFileSync(`${repo.dir}/go`, "");
  await client.waitForLine(/^started$/);
  assert.equal((await server.stop("SIGKILL")).signal, "SIGKILL");
  Deno.writeTextFileSync(`${repo.dir}/go`, "go");
  assert.equal((await client.finished()).code, 0, client.stderr);
  const waited = Number(client.lines[1]!.split(" ")[1]);
  assert.ok(waited >= 1.4 && waited < 5, `waited ${waited} s`);
  assert.match(
    client.lines[2]!,
    /^run [0-9a-f]{20}: aim up at http:\/\/127\.0\.0\.1:\d+ did not acknowledge \d+ bytes within 1\.5 s \(last error: .*\): every point it acknowledged is stored, the rest is lost/,
  );
});

Deno.test("the track-only token tracks from Python but reads nothing; a wrong token fails Run() at once", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const trackOnly = await deriveTrackToken(TEST_TOKEN);
  await using client = python(
    `
import sys
from aim_client import Repo, Run
run = Run(repo=sys.argv[1], name="tracker")
run.track(1.0, name="loss")
run.close()
print("tracked", run.hash)
try:
    Repo(sys.argv[1]).query_runs()
except PermissionError as error:
    print("refused:", error)
`,
    [server.url],
    { AIM_TOKEN: trackOnly },
  );
  assert.equal((await client.finished()).code, 0, client.stderr);
  const hash = client.lines[0]!.split(" ")[1]!;
  assert.equal(repo.index().get(hash)!.status, "finished");
  assert.match(
    client.lines[1]!,
    /^refused: .*only tracks runs.*reading needs the main one/,
  );
  await using wrong = python(
    `
import sys
from aim_client import Run
try:
    Run(repo=sys.argv[1])
except RuntimeError as error:
    print(error)
`,
    [server.url],
    { AIM_TOKEN: "a-token-that-is-wrong" },
  );
  assert.equal((await wrong.finished()).code, 0, wrong.stderr);
  assert.match(
    wrong.lines[0]!,
    /^aim up at http:.* refused the run: Tracking needs a token/,
  );
});

Deno.test("Python: a token pasted with a line break, a server that is down and a URL without the base path are clear errors at once", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const down = `http://127.0.0.1:${freePort()}`;
  const astray = new URL("elsewhere/", server.url).href;
  await using client = python(
    `
import os, sys
from aim_client import Repo, Run
def attempt(what, call):
    try:
        call()
        print(what, "no error")
    except Exception as error:
        print(what, type(error).__name__, error)
os.environ["AIM_TOKEN"], good = "track-1234\\nabcdefgh", os.environ["AIM_TOKEN"]
attempt("pasted", lambda: Run(repo=sys.argv[1]))
attempt("pasted-read", lambda: Repo(sys.argv[1], token="track-1234 abcdefgh").query_runs())
os.environ["AIM_TOKEN"] = good
attempt("down", lambda: Repo(sys.argv[2]).query_runs())
attempt("astray-read", lambda: Repo(sys.argv[3]).query_runs())
attempt("astray-track", lambda: Run(repo=sys.argv[3]))
`,
    [server.url, down, astray],
  );
  const started = performance.now();
  assert.equal((await client.finished()).code, 0, client.stderr);
  assert.ok(performance.now() - started < 30_000, "none waits for a timeout");
  const [pasted, pastedRead, gone, read, track] = client.lines;
  assert.match(
    pasted!,
    /^pasted ValueError AIM_TOKEN holds a space, a line break or a character outside printable ASCII/,
  );
  assert.match(pastedRead!, /^pasted-read ValueError token holds a space/);
  assert.match(
    gone!,
    /^down ConnectionError cannot reach aim up at http:\/\/127\.0\.0\.1:\d+ \(.*\): is it running, and is this the URL it printed\?$/,
  );
  assert.match(
    read!,
    /^astray-read RuntimeError aim up at .*\/elsewhere\/: No route GET \/elsewhere\/api\/runs \(is this the URL aim up printed, with its --base-path if it has one\?\)$/,
  );
  assert.match(
    track!,
    /^astray-track RuntimeError aim up at .*\/elsewhere refused the run: No route POST \/elsewhere\/api\/track\/runs \(is this the URL aim up printed/,
  );
});

/** Tracks two runs, then reads them back through `Repo(where)` and prints what it found as JSON. */
const READ_BACK = `
import json, math, sys
from aim_client import Repo, Run
where = sys.argv[1]
if sys.argv[2] == "track":
    for lr in (0.1, 0.01):
        run = Run(repo=where, experiment="sweep", name="lr-%g" % lr)
        run["hparams"] = {"lr": lr, "optimizer": {"name": "adam"}}
        for step in range(1000):
            run.track(lr * step, name="loss", step=step, epoch=step // 100, context={"subset": "train"})
        run.track(math.nan, name="loss", step=1000, context={"subset": "train"})
        run.close()
repo = Repo(where)
runs = repo.query_runs('run.experiment == "sweep"', sort="-run.hparams.lr")
metrics = repo.query_metrics('metric.name == "loss" and run.hparams.lr < 0.05')
coarse = repo.query_metrics('metric.name == "loss"', points=10)
ranged = repo.query_metrics('metric.name == "loss"', step_range=(10, 19))
out = {
    "runs": [[r.name, r["hparams"]["lr"], r.status, r.metrics[0]["count"], r.created_at.tzinfo is not None] for r in runs],
    "metric": [[m.run.name, m.name, m.context, m.total, len(m.steps), m.steps[:3], m.values[:3], m.epochs[98:101] + m.epochs[-1:], str(m.values[-1])] for m in metrics],
    "times": all(isinstance(t, float) and t > 1e9 for t in metrics[0].times),
    "coarse": [[len(m.steps) <= 40, m.resolution["kind"], m.values[-1] != m.values[-1]] for m in coarse],
    "ranged": [m.steps for m in ranged],
}
try:
    import pandas
    frame = runs.dataframe()
    points = metrics.dataframe()
    out["dataframe"] = [
        sorted(c for c in frame.columns if c.startswith(("hparams", "metrics"))),
        list(frame["hparams.lr"]),
        len(points), sorted(points.columns), float(points["value"].iloc[5]),
    ]
except ImportError as error:
    out["dataframe"] = str(error)
print(json.dumps(out))
`;

Deno.test("Repo(path) and Repo(url) read the same runs and points back, downsampled or in a step range, and as DataFrames", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  const pandas = await systemPythonHas(["pandas"]);
  const program = pandas ? SYSTEM_PYTHON : "python3";
  await using viaUrl = python(READ_BACK, [server.url, "track"], {}, program);
  assert.equal((await viaUrl.finished()).code, 0, viaUrl.stderr);
  await using viaPath = python(READ_BACK, [repo.path, "read"], {}, program);
  assert.equal((await viaPath.finished()).code, 0, viaPath.stderr);
  const fromUrl = JSON.parse(viaUrl.lines.at(-1)!);
  const fromPath = JSON.parse(viaPath.lines.at(-1)!);
  assert.deepEqual(
    fromPath,
    fromUrl,
    "the CLI and the API give the same answer",
  );
  assert.deepEqual(fromUrl.runs, [
    ["lr-0.1", 0.1, "finished", 1001, true],
    ["lr-0.01", 0.01, "finished", 1001, true],
  ]);
  assert.deepEqual(fromUrl.metric, [[
    "lr-0.01",
    "loss",
    { subset: "train" },
    1001,
    1001,
    [0, 1, 2],
    [0, 0.01, 0.02],
    [0, 0, 1, null],
    "nan",
  ]]);
  assert.equal(fromUrl.times, true);
  assert.deepEqual(fromUrl.coarse, [
    [true, "buckets", true],
    [true, "buckets", true],
  ], "downsampled, and the last (NaN) point kept");
  assert.deepEqual(fromUrl.ranged, [
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  ]);
  if (pandas) {
    assert.deepEqual(fromUrl.dataframe, [
      [
        "hparams.lr",
        "hparams.optimizer.name",
        'metrics.loss{"subset":"train"}.count',
        'metrics.loss{"subset":"train"}.last',
        'metrics.loss{"subset":"train"}.last_step',
        'metrics.loss{"subset":"train"}.max',
        'metrics.loss{"subset":"train"}.min',
      ],
      [0.1, 0.01],
      1001,
      [
        "epoch",
        "metric.context",
        "metric.context.subset",
        "metric.name",
        "run.experiment",
        "run.hash",
        "run.name",
        "step",
        "time",
        "value",
      ],
      0.05,
    ]);
  } else assert.match(fromUrl.dataframe, /dataframe\(\) needs pandas/);
});

Deno.test("a real PyTorch training tracks remotely and is read back with query_metrics and dataframe()", async () => {
  if (!(await systemPythonHas(["torch", "pandas"]))) return;
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  await using training = python(
    `
import json, sys
import torch
from aim_client import Repo, Run
torch.manual_seed(0)
x = torch.randn(256, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(256, 1)
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
run = Run(repo=sys.argv[1], experiment="torch", name="linear")
run["hparams"] = {"lr": 0.05, "batch": 32}
losses = []
step = 0
for epoch in range(5):
    for i in range(0, 256, 32):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[i:i + 32]), y[i:i + 32])
        loss.backward()
        optimizer.step()
        run.track(loss, name="loss", step=step, epoch=epoch, context={"subset": "train"})
        losses.append(loss.item())
        step += 1
    with torch.no_grad():
        run.track(torch.nn.functional.mse_loss(model(x), y), name="loss", step=step, epoch=epoch, context={"subset": "val"})
run.close()
metrics = Repo(sys.argv[1]).query_metrics('metric.name == "loss" and metric.context.subset == "train" and run.experiment == "torch"')
frame = metrics.dataframe()
print(json.dumps({
    "sent": losses,
    "read": metrics[0].values,
    "epochs": sorted(set(metrics[0].epochs)),
    "rows": len(frame),
    "mean": float(frame["value"].mean()),
    "falling": losses[-1] < losses[0] / 10,
}))
`,
    [server.url],
    {},
    SYSTEM_PYTHON,
  );
  assert.equal((await training.finished()).code, 0, training.stderr);
  const out = JSON.parse(training.lines.at(-1)!);
  assert.equal(out.sent.length, 40);
  assert.deepEqual(
    out.read,
    out.sent,
    "every loss, exactly as the tensors held it",
  );
  assert.deepEqual(out.epochs, [0, 1, 2, 3, 4]);
  assert.equal(out.rows, 40);
  assert.ok(
    Math.abs(
      out.mean - out.sent.reduce((a: number, b: number) => a + b, 0) / 40,
    ) < 1e-9,
  );
  assert.equal(out.falling, true, "the model trained");
  const [record] = (await server.get(
    `api/runs?q=${encodeURIComponent('run.name == "linear"')}`,
  )).body.runs;
  assert.equal(record.status, "finished");
  assert.deepEqual(record.metrics.map((m: { count: number }) => m.count), [
    40,
    5,
  ]);
});

Deno.test("a remote Run sends images inline; one too large for a line is refused at track() with what to do, and the rest is kept", async () => {
  await using repo = await tempRepo();
  await using server = await startAimUp(repo.path);
  await using client = python(
    `
import os, sys
import aim_client
from aim_client import Image, Run
def png(side, noise):
    row = lambda y: os.urandom(side * 3) if noise else bytes((x * 7 + y * 3) % 256 for x in range(side * 3))
    return aim_client._encode_png(side, side, 3, b"".join(b"\\x00" + row(y) for y in range(side)))
run = Run(repo=sys.argv[1], name="images")
run.track(Image(png(16, False), caption="small"), name="samples", step=0)
try:
    run.track(Image(png(600, True)), name="samples", step=1)
except ValueError as error:
    print("refused:", error)
run.track(1.0, name="loss", step=1)
run.close()
print("tracked", run.hash)
`,
    [server.url],
  );
  assert.equal((await client.finished()).code, 0, client.stderr);
  assert.match(
    client.lines[0]!,
    /^refused: Image\(\) is \d+ bytes as PNG: tracking to a remote aim sends images inline, at most 700000 bytes each/,
  );
  const hash = client.lines[1]!.split(" ")[1]!;
  await waitFor(
    () => repo.index().get(hash)?.status === "finished",
    "the run finished and indexed",
  );
  const sequences = await server.fetch("api/sequences/search", {
    method: "POST",
    body: JSON.stringify({ q: `run.hash == "${hash}"`, kind: "images" }),
  });
  const answer = await sequences.json();
  assert.equal(sequences.status, 200, JSON.stringify(answer));
  assert.equal(answer.sequences.length, 1);
  assert.equal(answer.sequences[0].sequence.count, 1, JSON.stringify(answer));
  assert.equal(repo.index().get(hash)!.metrics[0]!.name, "loss");
});
