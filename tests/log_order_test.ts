import assert from "node:assert/strict";
import { readLogs } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";
import {
  AIM_BIN,
  aimArgs,
  PYTHON_CLIENT,
  Spawned,
} from "./fixtures/spawned.ts";

/**
 * Prints to stdout (without flushing), logs through the client and prints
 * to stderr, in turn, a few times: the client's lines reach aim run in its
 * buffer, after output written later.
 */
const INTERLEAVED = `
import sys, time
from aim_client import Run
run = Run()
for i in range(4):
    print("out %d" % i)
    time.sleep(0.15)
    run.log_info("client %d" % i)
    time.sleep(0.15)
    print("err %d" % i, file=sys.stderr)
    time.sleep(0.15)
run.close()
`;

Deno.test("a Python program's output and its client's log lines are read back in the order they were written, each stream marked", async () => {
  await using repo = await tempRepo();
  // Without PYTHONUNBUFFERED in aim run's environment, as on most machines:
  // aim run sets it for its child.
  await using child = new Spawned("env", [
    "-u",
    "PYTHONUNBUFFERED",
    Deno.execPath(),
    ...aimArgs([
      "run",
      "--repo",
      repo.path,
      "--system-interval",
      "0",
      "--",
      "python3",
      "-c",
      INTERLEAVED,
    ]),
  ], { env: { PYTHONPATH: PYTHON_CLIENT } });
  assert.equal((await child.finished()).code, 0, child.stderr);
  const [hash] = repo.listRuns();
  const { lines } = readLogs(repo, hash!);
  assert.deepEqual(
    lines.map((l) => `${l.line} ${l.level} ${l.text}`),
    [0, 1, 2, 3].flatMap((i) => [
      `${3 * i + 1} stdout out ${i}`,
      `${3 * i + 2} info client ${i}`,
      `${3 * i + 3} stderr err ${i}`,
    ]),
  );
  // Stored as they arrived: the client's lines came later than their place.
  assert.notDeepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1));
});

Deno.test("the Python client's log lines carry the time they were written, not the time they were sent", async () => {
  await using repo = await tempRepo();
  await using child = new Spawned("python3", [
    "-c",
    `
import time
from aim_client import Run
run = Run()
before = time.time()
run.log_warning("written now")
after = time.time()
# Sent with the next buffer, half a second later at most.
time.sleep(0.7)
print(run.hash, repr(before), repr(after), flush=True)
run.close()
`,
  ], {
    env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, AIM_REPO: repo.path },
  });
  assert.equal((await child.finished()).code, 0, child.stderr);
  const [hash, before, after] = child.lines[0]!.split(" ");
  const [line] = readLogs(repo, hash!).lines;
  assert.equal(line?.text, "written now");
  assert.equal(line?.level, "warning");
  assert.ok(
    line!.time >= Number(before) && line!.time <= Number(after),
    `logged at ${line!.time}, written between ${before} and ${after}`,
  );
});
