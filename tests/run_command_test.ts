import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { isDeepStrictEqual } from "node:util";
import { aim, tempRepo, waitFor } from "./_helpers.ts";
import { aimArgs, PYTHON_CLIENT, Spawned } from "./fixtures/spawned.ts";
import { MAX_LOG_LINE, TerminalLog } from "../lib/tracking/mod.ts";
import { Ingester } from "../lib/tracking/mod.ts";
import type { Repo } from "../lib/mod.ts";
import type { RunRecord } from "../lib/mod.ts";

/** Starts `aim run --repo REPO ARGS -- COMMAND` from source. */
function aimRun(
  repo: Repo,
  args: string[],
  command: string[],
  options: ConstructorParameters<typeof Spawned>[2] = {},
): Spawned {
  return new Spawned(
    Deno.execPath(),
    aimArgs(["run", "--repo", repo.path, ...args, "--", ...command]),
    { ...options, env: { PYTHONPATH: PYTHON_CLIENT, ...options.env } },
  );
}

/** The only run of a repository, from the index. */
function onlyRun(repo: Repo): RunRecord {
  const hashes = repo.listRuns();
  assert.equal(hashes.length, 1, `one run, found ${hashes.join(", ")}`);
  const record = repo.index().get(hashes[0]!);
  assert.ok(record, "the run is indexed");
  return record;
}

/** The run's log lines as [level, text]. */
function logLines(
  repo: Repo,
  hash: string,
  level?: string,
): [string, string][] {
  const db = new DatabaseSync(join(repo.runDir(hash), "run.db"), {
    readOnly: true,
  });
  try {
    const rows = db.prepare(
      level === undefined
        ? "SELECT level, text FROM logs ORDER BY seq"
        : "SELECT level, text FROM logs WHERE level = ? ORDER BY seq",
    ).all(...(level === undefined ? [] : [level]));
    return rows.map((row) => [String(row.level), String(row.text)]);
  } finally {
    db.close();
  }
}

function metric(record: RunRecord, name: string, context = {}) {
  const found = record.metrics.find((m) =>
    m.name === name && isDeepStrictEqual(m.context, context)
  );
  assert.ok(
    found,
    `series ${name} ${JSON.stringify(context)} among ${
      record.metrics.map((m) => m.name).join(", ")
    }`,
  );
  return found;
}

function processGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

Deno.test("aim run records the pipe's metrics, the output as the log, __aim and system metrics, and finishes on exit 0", async () => {
  await using repo = await tempRepo();
  // A git work tree with a commit and an uncommitted change.
  const work = join(repo.dir, "work");
  Deno.mkdirSync(work);
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
      cwd: work,
      stdout: "null",
      stderr: "null",
    }).outputSync();
  git("init", "-q", "-b", "main");
  Deno.writeTextFileSync(join(work, "train.txt"), "v1");
  git("add", ".");
  git("commit", "-q", "-m", "first");
  Deno.writeTextFileSync(join(work, "train.txt"), "v2");
  const commit = new TextDecoder().decode(
    new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: work })
      .outputSync().stdout,
  ).trim();
  // A fake nvidia-smi, first on PATH.
  const bin = join(repo.dir, "bin");
  Deno.mkdirSync(bin);
  Deno.writeTextFileSync(
    join(bin, "nvidia-smi"),
    "#!/bin/sh\necho '0, 42, 2048, 8192'\necho '1, [N/A], 1024, 8192'\n",
  );
  Deno.chmodSync(join(bin, "nvidia-smi"), 0o755);

  const script = `
import os, sys, time
fd = int(os.environ["AIM_TRACK_FD"])
lines = [
    '{"track": 0.5, "name": "loss", "step": 0, "context": {"subset": "train"}}',
    '{"track": NaN, "name": "loss", "step": 1, "context": {"subset": "train"}}',
    'this is not json',
    '{"track": "abc", "name": "loss"}',
    '{"track": 0.25, "name": "loss", "step": 2, "context": {"subset": "train"}}',
    '{"set": "hparams", "value": {"lr": 0.01}}',
    '{"close": true}',
    '{"track": 7, "name": "after_close"}',
]
os.write(fd, ("\\n".join(lines) + "\\n").encode())
print("hello", os.environ["AIM_RUN_HASH"], os.environ["AIM_REPO"])
print("to stderr", file=sys.stderr)
sys.stdout.write("progress 10%\\rprogress 100%\\n")
sys.stdout.flush()
time.sleep(1)  # the workload: long enough for a few system samples
`;
  await using child = aimRun(
    repo,
    [
      "--experiment",
      "exp",
      "--name",
      "first",
      "--tag",
      "t1",
      "--param",
      "lr=0.01",
      "--param",
      "layers=[64,64]",
      "--system-interval",
      "0.1",
    ],
    ["python3", "-c", script],
    {
      cwd: work,
      env: {
        PATH: `${bin}:${Deno.env.get("PATH")}`,
        SLURM_JOB_ID: "4242",
        CUDA_VISIBLE_DEVICES: "0,1",
      },
    },
  );
  const status = await child.finished();
  assert.equal(status.code, 0, child.stderr);
  const record = onlyRun(repo);
  assert.deepEqual(child.lines, [
    `hello ${record.hash} ${repo.path}`,
    "progress 10%\rprogress 100%",
  ], "stdout passes through unchanged");
  assert.match(child.stderr, /^to stderr$/m);
  assert.match(
    child.stderr,
    /aim run: warning: tracking pipe line 3: not valid JSON/,
  );
  assert.match(child.stderr, /line 4: "track" must be a number, got "abc"/);

  assert.equal(record.status, "finished");
  assert.equal(record.exit_code, 0);
  assert.deepEqual(
    [record.experiment, record.name, record.tags],
    ["exp", "first", ["t1"]],
  );
  assert.deepEqual(record.params.layers, [64, 64]);
  assert.deepEqual(record.params.hparams, { lr: 0.01 });
  const loss = metric(record, "loss", { subset: "train" });
  assert.deepEqual([loss.count, loss.last, loss.min, loss.max], [
    3,
    0.25,
    0.25,
    0.5,
  ]);
  assert.equal(
    metric(record, "after_close").count,
    1,
    "a close line does not end aim run's pipe",
  );

  const meta = record.params.__aim as Record<string, unknown>;
  assert.deepEqual(meta.command, ["python3", "-c", script]);
  assert.equal(meta.cwd, work);
  assert.equal(typeof meta.host, "string");
  assert.equal(typeof meta.user, "string");
  assert.equal(typeof meta.pid, "number");
  assert.deepEqual(meta.git, {
    commit,
    branch: "main",
    dirty: true,
    root: work,
  });
  assert.deepEqual(meta.env, {
    CUDA_VISIBLE_DEVICES: "0,1",
    SLURM_JOB_ID: "4242",
  });

  assert.deepEqual(logLines(repo, record.hash, "stdout"), [
    ["stdout", `hello ${record.hash} ${repo.path}`],
    ["stdout", "progress 100%"],
  ], "a carriage return starts the logged line over");
  assert.deepEqual(logLines(repo, record.hash, "stderr"), [
    ["stderr", "to stderr"],
  ]);
  assert.equal(
    logLines(repo, record.hash, "warning").filter(([, text]) =>
      text.startsWith("malformed tracking line skipped")
    ).length,
    2,
  );

  const system = { system: true };
  for (
    const name of [
      "cpu_percent",
      "rss_mb",
      "processes",
      "host_memory_percent",
      "host_load",
    ]
  ) {
    assert.ok(metric(record, name, system).count >= 1, name);
  }
  assert.ok(metric(record, "rss_mb", system).max > 1, "python uses > 1 MB");
  assert.equal(metric(record, "processes", system).last, 1);
  const gpu0 = { system: true, gpu: 0 };
  assert.equal(metric(record, "gpu_percent", gpu0).last, 42);
  assert.equal(metric(record, "gpu_memory_mb", gpu0).last, 2048);
  assert.equal(metric(record, "gpu_memory_percent", gpu0).last, 25);
  assert.ok(
    !record.metrics.some((m) =>
      m.name === "gpu_percent" && (m.context as { gpu?: number }).gpu === 1
    ),
    "an [N/A] utilisation is left out",
  );
  assert.equal(
    metric(record, "gpu_memory_mb", { system: true, gpu: 1 }).last,
    1024,
  );
});

Deno.test("aim run fails the run with the exit code of a command that exits 1, and --no-capture leaves the log empty", async () => {
  await using repo = await tempRepo();
  await using child = aimRun(repo, ["--no-capture", "--system-interval", "0"], [
    "sh",
    "-c",
    "echo out; echo err >&2; exit 1",
  ]);
  const status = await child.finished();
  assert.equal(status.code, 1);
  assert.deepEqual(child.lines, ["out"]);
  assert.equal(child.stderr, "err\n");
  const record = onlyRun(repo);
  assert.deepEqual([record.status, record.exit_code, record.signal], [
    "failed",
    1,
    null,
  ]);
  assert.deepEqual(logLines(repo, record.hash), []);
});

Deno.test("aim run fails the run with the signal of a command killed by one, and exits 128+n", async () => {
  await using repo = await tempRepo();
  await using child = aimRun(repo, [], ["sh", "-c", "kill -KILL $$"]);
  const status = await child.finished();
  assert.equal(status.code, 128 + 9, child.stderr);
  const record = onlyRun(repo);
  assert.deepEqual([record.status, record.signal], ["failed", "SIGKILL"]);
});

Deno.test("aim run fails the run and exits 127 for a command that does not exist", async () => {
  await using repo = await tempRepo();
  await using child = aimRun(repo, [], ["no-such-command-for-aim-run"]);
  const status = await child.finished();
  assert.equal(status.code, 127);
  assert.match(child.stderr, /cannot start "no-such-command-for-aim-run"/);
  const record = onlyRun(repo);
  assert.deepEqual([record.status, record.exit_code], ["failed", 127]);
});

Deno.test("aim run without a command after -- is a usage error", async () => {
  await using repo = await tempRepo();
  const out = await aim(["run", "--repo", repo.path, "python3"]);
  assert.equal(out.code, 2);
  assert.match(
    out.stderr,
    /put -- before the command, .*: aim run --repo \S+ -- python3\n/,
  );
  const none = await aim(["run", "--repo", repo.path, "--"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no command to run: put it after --/);
  const bad = await aim([
    "run",
    "--repo",
    repo.path,
    "--grace",
    "soon",
    "--",
    "true",
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--grace must be a number of seconds/);
  assert.deepEqual(repo.listRuns(), [], "no run is started");
});

Deno.test("SIGTERM to aim run is forwarded to the command; the run is terminated and aim run exits 143", async () => {
  await using repo = await tempRepo();
  const script = `
import signal, sys, time
from aim_client import Run
run = Run()
def stop(number, frame):
    print("child got", signal.Signals(number).name, flush=True)
    run.track(1.0, name="at_exit")
    run.close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    time.sleep(0.05)
`;
  await using child = aimRun(repo, ["--system-interval", "0"], [
    "python3",
    "-c",
    script,
  ]);
  await child.waitForLine(/^ready$/);
  child.child.kill("SIGTERM");
  const status = await child.finished();
  assert.equal(status.code, 128 + 15, child.stderr);
  assert.ok(child.lines.includes("child got SIGTERM"), child.lines.join("|"));
  const record = onlyRun(repo);
  assert.deepEqual(
    [record.status, record.signal, record.exit_code],
    ["terminated", "SIGTERM", 0],
  );
  assert.equal(
    metric(record, "at_exit").count,
    1,
    "what the command tracked while stopping is kept",
  );
  assert.match(
    logLines(repo, record.hash, "warning").map(([, t]) => t).join("\n"),
    /aim run received SIGTERM: forwarded to the command/,
  );
});

Deno.test("a command that ignores SIGTERM is SIGKILLed with its process group when --grace expires", async () => {
  await using repo = await tempRepo();
  const script = `
import signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen(["sleep", "60"])
print("grandchild", grandchild.pid, flush=True)
while True:
    time.sleep(0.05)
`;
  await using child = aimRun(repo, ["--grace", "1", "--system-interval", "0"], [
    "python3",
    "-c",
    script,
  ]);
  const grandchild = Number(
    (await child.waitForLine(/^grandchild \d+$/)).split(" ")[1],
  );
  const start = performance.now();
  child.child.kill("SIGTERM");
  const status = await child.finished();
  const seconds = (performance.now() - start) / 1000;
  assert.equal(status.code, 128 + 15, child.stderr);
  assert.ok(seconds >= 0.9, `waited the grace period, ${seconds} s`);
  assert.ok(seconds < 10, `but not much longer, ${seconds} s`);
  await waitFor(() => processGone(grandchild), "the grandchild to die", 5_000);
  const record = onlyRun(repo);
  assert.deepEqual([record.status, record.signal], ["terminated", "SIGTERM"]);
  assert.match(
    logLines(repo, record.hash, "warning").map(([, t]) => t).join("\n"),
    /outlived the 1 s grace period: its process group was killed/,
  );
});

Deno.test("a second signal during the grace period is forwarded and changes nothing else", async () => {
  await using repo = await tempRepo();
  const script = `
import signal, sys, time
seen = []
def note(number, frame):
    seen.append(signal.Signals(number).name)
    print("child got", seen[-1], flush=True)
    if len(seen) == 2:
        sys.exit(5)
signal.signal(signal.SIGTERM, note)
signal.signal(signal.SIGINT, note)
print("ready", flush=True)
while True:
    time.sleep(0.05)
`;
  await using child = aimRun(
    repo,
    ["--grace", "20", "--system-interval", "0"],
    [
      "python3",
      "-c",
      script,
    ],
  );
  await child.waitForLine(/^ready$/);
  child.child.kill("SIGTERM");
  await child.waitForLine(/^child got SIGTERM$/);
  child.child.kill("SIGINT");
  const status = await child.finished();
  assert.equal(status.code, 128 + 15, "the first signal decides the exit code");
  const record = onlyRun(repo);
  assert.deepEqual(
    [record.status, record.signal, record.exit_code],
    ["terminated", "SIGTERM", 5],
  );
});

Deno.test("aim run SIGKILLed leaves a stalled run that aim reindex recovers as crashed", async () => {
  await using repo = await tempRepo();
  const script = `
import time
from aim_client import Run
run = Run()
step = 0
while True:
    run.track(step * 0.5, name="loss", step=step)
    step += 1
    if step % 100 == 0:
        run.flush()
        print("step", step, flush=True)  # dies of a broken pipe once aim run is gone
    time.sleep(0.001)
`;
  await using child = aimRun(repo, ["--system-interval", "0"], [
    "python3",
    "-c",
    script,
  ]);
  await waitFor(() => repo.listRuns().length === 1, "the run to start");
  const hash = repo.listRuns()[0]!;
  await waitFor(() => {
    try {
      return (repo.loadRun(hash).record.metrics[0]?.count ?? 0) >= 200;
    } catch {
      return false; // its space exists before its run.db does
    }
  }, "points to be flushed");
  const pid = (repo.loadRun(hash).record.params.__aim as { pid: number }).pid;
  try {
    child.child.kill("SIGKILL");
    assert.equal((await child.finished()).signal, "SIGKILL");
    const { record, live } = repo.loadRun(hash);
    assert.equal(live, false);
    assert.equal(record.status, "crashed");
    assert.deepEqual(repo.listMarkers(), [hash], "the marker stays");
    const flushed = record.metrics[0]!.count;
    assert.ok(flushed >= 200);

    const out = await aim(["reindex", "--repo", repo.path]);
    assert.equal(out.code, 0, out.stderr);
    const indexed = repo.index().get(hash)!;
    assert.equal(indexed.status, "crashed");
    assert.ok(indexed.metrics[0]!.count >= flushed);
    assert.deepEqual(repo.listMarkers(), []);
  } finally {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // The command already died of its broken pipe.
    }
  }
});

Deno.test("aim run ingests 100k protocol lines from the pipe", async () => {
  await using repo = await tempRepo();
  const script = `
import os
fd = int(os.environ["AIM_TRACK_FD"])
os.write(fd, "".join('{"track": %d, "name": "loss", "step": %d, "context": {"subset": "train"}}\\n' % (i, i) for i in range(100000)).encode())
`;
  await using child = aimRun(repo, ["--system-interval", "0"], [
    "python3",
    "-c",
    script,
  ]);
  assert.equal((await child.finished()).code, 0, child.stderr);
  const loss = metric(onlyRun(repo), "loss", { subset: "train" });
  assert.deepEqual([loss.count, loss.first_step, loss.last_step, loss.max], [
    100_000,
    0,
    99_999,
    99_999,
  ]);
});

Deno.test("aim run passes 100 MB of output through completely, logs every line, and keeps its memory bounded", async () => {
  await using repo = await tempRepo();
  // 1M numbered lines of 100 bytes; then it waits, so that aim run's peak
  // memory can be read while it is still alive.
  const script = `
import sys
pad = b"y" * 91
out = sys.stdout.buffer
for start in range(0, 1000000, 10000):
    out.write(b"".join(b"%08d%s\\n" % (i, pad) for i in range(start, start + 10000)))
out.flush()
sys.stdin.read()
`;
  await using child = aimRun(repo, ["--system-interval", "0"], [
    "python3",
    "-c",
    script,
  ], { stdin: "piped", countOnly: true });
  await waitFor(
    () => child.stdoutBytes >= 100_000_000,
    "100 MB to pass through",
    45_000,
  );
  const status = Deno.readTextFileSync(`/proc/${child.child.pid}/status`);
  const peakMb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)![1]) / 1024;
  await child.child.stdin.close();
  assert.equal((await child.finished()).code, 0, child.stderr);
  assert.equal(child.stdoutBytes, 100_000_000);
  assert.ok(peakMb < 300, `aim run's peak RSS is ${peakMb.toFixed(0)} MB`);

  const hash = onlyRun(repo).hash;
  const db = new DatabaseSync(join(repo.runDir(hash), "run.db"), {
    readOnly: true,
  });
  try {
    const row = db.prepare(
      "SELECT count(*) AS n, min(text) AS first, max(text) AS last FROM logs WHERE level = 'stdout'",
    ).get() as { n: number; first: string; last: string };
    assert.equal(row.n, 1_000_000);
    assert.equal(row.first, "00000000" + "y".repeat(91));
    assert.equal(row.last, "00999999" + "y".repeat(91));
  } finally {
    db.close();
  }
});

Deno.test("TerminalLog cuts long lines, keeps a progress bar's last state, and survives split and binary chunks", () => {
  const lines: string[] = [];
  const log = new TerminalLog((text) => lines.push(text));
  const encode = (text: string) => new TextEncoder().encode(text);
  log.push(encode("a".repeat(MAX_LOG_LINE + 10) + "\n"));
  log.push(encode(" 10%|#   |\r"));
  log.push(encode(" 50%|##  |\r100%|####|"));
  log.push(encode("\r\n"));
  log.push(encode("windows line\r\n"));
  const euro = encode("€ split\n");
  log.push(euro.subarray(0, 1));
  log.push(euro.subarray(1));
  log.push(new Uint8Array([0xff, 0xfe, 10]));
  log.push(encode("no newline at the end"));
  log.end();
  assert.deepEqual(lines, [
    "a".repeat(MAX_LOG_LINE) + " … [10 more bytes cut]",
    "100%|####|",
    "windows line",
    "€ split",
    "\ufffd\ufffd",
    "no newline at the end",
  ]);
});

Deno.test("the protocol reader skips an over-long line as it comes and reads a last line without a newline", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  const reported: string[] = [];
  const ingester = new Ingester(run, {
    stopAtClose: false,
    onMalformed: (text) => reported.push(text),
  });
  const encode = (text: string) => new TextEncoder().encode(text);
  ingester.push(encode('{"track": 1, "name": "a"}\n{"track": 2, "na'));
  ingester.push(encode('me": "a"}\n{"log": "'));
  const block = encode("x".repeat(64 * 1024));
  for (let i = 0; i < 20; i++) ingester.push(block); // 1.25 MiB in one line
  ingester.push(encode('"}\n{"close": true}\n{"track": 3, "name": "a"}'));
  const summary = ingester.end();
  run.finalize({ status: "finished" });
  assert.deepEqual(summary, { lines: 5, malformed: 1, closed: true });
  assert.equal(reported.length, 1);
  assert.match(
    reported[0]!,
    /^line 3: line is 131\d{4} characters long, more than 1048576: \{"log": "x{10}/,
  );
  const record = repo.index().get(run.hash)!;
  assert.deepEqual(
    [record.metrics[0]!.count, record.metrics[0]!.last],
    [3, 3],
  );
});
