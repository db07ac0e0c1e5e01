import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { tempRepo, waitFor } from "./_helpers.ts";
import {
  AIM_BIN,
  aimArgs,
  PYTHON_CLIENT,
  Spawned,
} from "./fixtures/spawned.ts";
import { Repo } from "../lib/mod.ts";

/** Runs `python3 -c SCRIPT` with the client importable; `AIM_BIN` runs aim from source. */
function python(
  script: string,
  env: Record<string, string> = {},
): Spawned {
  return new Spawned("python3", ["-c", script], {
    env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, ...env },
  });
}

function logTexts(repo: Repo, hash: string): string[] {
  const db = new DatabaseSync(join(repo.runDir(hash), "run.db"), {
    readOnly: true,
  });
  try {
    return db.prepare("SELECT level, text FROM logs ORDER BY seq").all()
      .map((row) => `${row.level}: ${row.text}`);
  } finally {
    db.close();
  }
}

/** Records parameters, series (NaN, contexts, a dict of values), tags and logs; run under `aim run` or alone. */
const RECORDING = `
import math, sys
from aim_client import Run
run = Run(experiment="base", name="py", tags=["first"])
print("hash", run.hash, flush=True)
run["hparams"] = {"lr": 0.01, "layers": [64, 64], "bad": math.nan}
for i in range(1000):
    run.track(1.0 / (i + 1), name="loss", step=i, epoch=i // 100, context={"subset": "train"})
run.track(math.nan, name="loss", step=1000, context={"subset": "train"})
run.track(math.inf, name="odd")
run.track(-math.inf, name="odd")
run.track(True, name="odd")
run.track({"acc": 0.5, "f1": 0.25}, step=3, context={"subset": "val", "fold": 2})
run.add_tag("second")
run.log_warning("careful")
errors = []
for bad in [lambda: run.track("0.5", name="loss"),
            lambda: run.track(None, name="loss"),
            lambda: run.track(1.0, name=""),
            lambda: run.track(1.0, name="loss", step=1.5),
            lambda: run.track(1.0, name="loss", context=["x"]),
            lambda: run.__setitem__("p", object())]:
    try:
        bad()
        errors.append("no error")
    except TypeError as error:
        errors.append("TypeError")
print("errors", " ".join(errors), flush=True)
run.close()
`;

function checkRecording(repo: Repo, hash: string): void {
  const record = repo.index().get(hash)!;
  assert.ok(record, "the run is indexed");
  assert.deepEqual([record.experiment, record.name], ["base", "py"]);
  assert.deepEqual(record.tags, ["first", "second"]);
  const hparams = record.params.hparams as Record<string, unknown>;
  assert.deepEqual([hparams.lr, hparams.layers], [0.01, [64, 64]]);
  assert.ok(Number.isNaN(hparams.bad));
  const series = (name: string, context: Record<string, unknown> = {}) => {
    const found = record.metrics.find((m) =>
      m.name === name &&
      JSON.stringify(Object.entries(m.context).sort()) ===
        JSON.stringify(Object.entries(context).sort())
    );
    assert.ok(found, `series ${name}`);
    return found;
  };
  const loss = series("loss", { subset: "train" });
  assert.deepEqual(
    [loss.count, loss.first_step, loss.last_step, loss.max, loss.min],
    [1001, 0, 1000, 1, 0.001],
  );
  assert.ok(Number.isNaN(loss.last));
  const odd = series("odd");
  assert.deepEqual([odd.count, odd.min, odd.max, odd.last], [
    3,
    -Infinity,
    Infinity,
    1,
  ]);
  assert.equal(series("acc", { subset: "val", fold: 2 }).last, 0.5);
  assert.equal(series("f1", { subset: "val", fold: 2 }).last_step, 3);
  assert.ok(logTexts(repo, hash).includes("warning: careful"));
}

Deno.test("the Python client under aim run writes to AIM_TRACK_FD", async () => {
  await using repo = await tempRepo();
  await using child = new Spawned(
    Deno.execPath(),
    aimArgs([
      "run",
      "--repo",
      repo.path,
      "--system-interval",
      "0",
      "--",
      "python3",
      "-c",
      RECORDING,
    ]),
    { env: { PYTHONPATH: PYTHON_CLIENT } },
  );
  const status = await child.finished();
  assert.equal(status.code, 0, child.stderr);
  const [hash] = repo.listRuns();
  assert.deepEqual(child.lines, [
    `hash ${hash}`,
    "errors TypeError TypeError TypeError TypeError TypeError TypeError",
  ]);
  checkRecording(repo, hash!);
  assert.equal(repo.index().get(hash!)!.status, "finished");
});

Deno.test("the Python client without aim run starts aim track from AIM_BIN and finishes the run on close", async () => {
  await using repo = await tempRepo();
  await using child = python(RECORDING, { AIM_REPO: repo.path });
  const status = await child.finished();
  assert.equal(status.code, 0, child.stderr);
  const hash = child.lines[0]!.split(" ")[1]!;
  assert.deepEqual(repo.listRuns(), [hash]);
  assert.equal(
    child.lines[1],
    "errors TypeError TypeError TypeError TypeError TypeError TypeError",
  );
  checkRecording(repo, hash);
  assert.equal(
    repo.index().get(hash)!.status,
    "finished",
    "close() waits until aim track has finalized the run",
  );
});

Deno.test("a SIGKILLed Python process leaves a run that aim track finalizes as failed", async () => {
  await using repo = await tempRepo();
  await using child = python(
    `
import time
from aim_client import Run
run = Run(repo=${JSON.stringify(repo.path)})
for i in range(500):
    run.track(i, name="loss", step=i)
run.flush()
print("ready", run.hash, flush=True)
time.sleep(60)
`,
  );
  const hash = (await child.waitForLine(/^ready /)).split(" ")[1]!;
  child.child.kill("SIGKILL");
  assert.equal((await child.finished()).signal, "SIGKILL");
  await waitFor(
    () => repo.index().get(hash)?.status === "failed",
    "aim track to finalize the run",
  );
  const record = repo.index().get(hash)!;
  assert.equal(record.metrics[0]!.count, 500, "every flushed point is kept");
  assert.deepEqual(repo.listMarkers(), []);
  assert.ok(
    logTexts(repo, hash).includes(
      "error: input ended without a close message",
    ),
  );
});

Deno.test("an uncaught exception fails the run, with or without a with block", async () => {
  await using repo = await tempRepo();
  for (
    const script of [
      `
from aim_client import Run
with Run() as run:
    run.track(1.0, name="loss")
    print("hash", run.hash, flush=True)
    raise ValueError("diverged")
`,
      `
from aim_client import Run
run = Run()
run.track(1.0, name="loss")
print("hash", run.hash, flush=True)
raise ValueError("diverged")
`,
    ]
  ) {
    await using child = python(script, { AIM_REPO: repo.path });
    const status = await child.finished();
    assert.equal(status.code, 1);
    assert.match(child.stderr, /ValueError: diverged/);
    const hash = child.lines[0]!.split(" ")[1]!;
    const record = repo.index().get(hash)!;
    assert.ok(record, "finalized before Python exited");
    assert.equal(record.status, "failed");
    assert.equal(record.metrics[0]!.count, 1);
    assert.ok(
      logTexts(repo, hash).some((line) => /^error: .*ValueError/.test(line)),
      logTexts(repo, hash).join("\n"),
    );
  }
});

Deno.test("a Run left open is finished at normal exit, and its points are all written", async () => {
  await using repo = await tempRepo();
  await using child = python(
    `
from aim_client import Run
run = Run()
for i in range(5000):
    run.track(i, name="loss")
print("hash", run.hash, flush=True)
`,
    { AIM_REPO: repo.path },
  );
  assert.equal((await child.finished()).code, 0, child.stderr);
  const record = repo.index().get(child.lines[0]!.split(" ")[1]!)!;
  assert.equal(record.status, "finished");
  assert.deepEqual([record.metrics[0]!.count, record.metrics[0]!.last], [
    5000,
    4999,
  ]);
});

Deno.test("the Python client says how to fix a missing aim", async () => {
  await using child = python(
    `
import os
from aim_client import Run
os.environ.pop("AIM_BIN")
os.environ["PATH"] = "/nonexistent"
try:
    Run()
except FileNotFoundError as error:
    print(error)
`,
  );
  assert.equal((await child.finished()).code, 0, child.stderr);
  assert.match(child.lines[0]!, /aim is not on PATH and AIM_BIN is not set/);
});

Deno.test("Run() outside aim run creates a missing repository as Aim's SDK does: ./.aim, repo=, AIM_REPO; a .aim above is used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aim-py-init-" });
  try {
    const record = (repoPath: string) => {
      using repo = Repo.openSync(repoPath);
      const hashes = repo.listRuns();
      assert.equal(hashes.length, 1, `one run in ${repoPath}`);
      return repo.index().get(hashes[0]!);
    };
    const script = (args: string) => `
from aim_client import Run
run = Run(${args})
run.track(0.5, name="loss")
run.close()
print("hash", run.hash, flush=True)
`;
    const runPython = async (
      args: string,
      cwd: string,
      env: Record<string, string> = {},
    ) => {
      await using child = new Spawned("python3", ["-c", script(args)], {
        env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, AIM_REPO: "", ...env },
        cwd,
      });
      const status = await child.finished();
      assert.equal(status.code, 0, child.stderr);
      return child;
    };
    // No .aim here or above: ./.aim is created.
    const here = join(dir, "project");
    await Deno.mkdir(here);
    const created = await runPython("", here);
    assert.match(
      created.stderr,
      /aim: created a repository in .*project\/\.aim/,
    );
    assert.equal(record(join(here, ".aim"))?.status, "finished");
    // From a subfolder the .aim above is used, not a new one.
    await Deno.mkdir(join(here, "src", "deeper"), { recursive: true });
    const nested = await runPython("", join(here, "src", "deeper"));
    assert.doesNotMatch(nested.stderr, /created/);
    assert.throws(() => Deno.statSync(join(here, "src", "deeper", ".aim")));
    using again = Repo.openSync(join(here, ".aim"));
    assert.equal(again.listRuns().length, 2);
    // repo= and AIM_REPO name where it is created.
    const given = join(dir, "given");
    await runPython(`repo=${JSON.stringify(given)}`, here);
    assert.equal(record(join(given, ".aim"))?.status, "finished");
    const fromEnv = join(dir, "from-env", ".aim");
    await runPython("", here, { AIM_REPO: fromEnv });
    assert.equal(record(fromEnv)?.status, "finished");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
