import assert from "node:assert/strict";
import { join } from "node:path";
import { mountTypeOf } from "../lib/util/mod.ts";
import { aim, liveWriter, tempRepo, WriterProcess } from "./_helpers.ts";

Deno.test("aim init creates .aim, finds it from a subfolder like git, and honours AIM_REPO", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const created = await aim(["init"], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Initialized an aim repository in .*\.aim/);
    assert.equal(
      Deno.readTextFileSync(join(dir, ".aim", "VERSION")).trim(),
      "1",
    );
    assert.match((await aim(["init"], { cwd: dir })).stdout, /already exists/);
    await Deno.mkdir(join(dir, "a", "b"), { recursive: true });
    const status = await aim(["status", "--json"], {
      cwd: join(dir, "a", "b"),
    });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).repo, join(dir, ".aim"));
    const viaEnv = await aim(["status", "--json"], {
      cwd: "/",
      env: { AIM_REPO: dir },
    });
    assert.equal(JSON.parse(viaEnv.stdout).repo, join(dir, ".aim"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing repository and a newer format version are clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await aim(["runs", "ls"], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^error: No aim repository found in .* or any parent: run `aim init`/,
    );
    assert.equal((await aim(["init", "--repo", dir])).code, 0);
    Deno.writeTextFileSync(join(dir, ".aim", "VERSION"), "3\n");
    const newer = await aim(["status", "--repo", dir]);
    assert.equal(newer.code, 1);
    assert.match(
      newer.stderr,
      /Cannot open repository .* as its format version is 3: this aim reads up to 1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage errors name the problem and exit 2", async () => {
  await using repo = await tempRepo();
  for (
    const [args, pattern] of [
      [["runs", "ls", "--bogus"], /Unknown option '--bogus'/],
      [["nosuch"], /unknown command "nosuch"/],
      [["runs", "rm"], /no run hash given/],
      [["runs", "frob"], /unknown subcommand "frob"/],
      [["reindex", "--repo"], /--repo/],
      [
        ["runs", "ls", "--limit", " "],
        /--limit must be a non-negative integer, got " "/,
      ],
      [
        ["runs", "ls", "--offset", ""],
        /--offset must be a non-negative integer, got ""/,
      ],
      [["track", "--tag", ""], /--tag must not be empty/],
      [["run", "--tag", " ", "--", "true"], /--tag must not be empty/],
      [["version", "extra"], /aim version takes no arguments, got "extra"/],
    ] as const
  ) {
    const list: readonly string[] = args;
    const out = await aim([
      ...list,
      ...(list.includes("--repo") ? [] : ["--repo", repo.path]),
    ]);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, pattern);
    assert.equal(out.stdout, "");
  }
  // A --host that does not resolve or is not this machine's: an error, no stack.
  for (const host of ["bogus.invalid", "192.0.2.1"]) {
    const out = await aim([
      "up",
      "--port",
      "0",
      "--host",
      host,
      "--repo",
      repo.path,
    ]);
    assert.equal(out.code, 1, out.stderr);
    assert.match(
      out.stderr,
      new RegExp(
        `^error: Cannot listen on --host ${host.replaceAll(".", "\\.")}: `,
      ),
    );
    assert.doesNotMatch(out.stderr, /Uncaught|^ {4}at /m);
  }
  const traversal = await aim([
    "runs",
    "rm",
    "../../etc/passwd",
    "--repo",
    repo.path,
  ]);
  assert.equal(traversal.code, 1);
  assert.match(traversal.stderr, /Invalid run hash "..\/..\/etc\/passwd"/);
});

Deno.test("--help works for every command", async () => {
  for (const command of [[], ["init"], ["runs"], ["reindex"], ["status"]]) {
    const out = await aim([...command, "--help"]);
    assert.equal(out.code, 0, command.join(" "));
    assert.match(out.stdout, /Usage: aim/);
  }
  assert.match((await aim(["version"])).stdout, /^aim \d+\.\d+\.\d+\n$/);
});

Deno.test("runs ls --json lists live, finished and stalled runs with their summaries", async () => {
  await using repo = await tempRepo();
  await using finished = new WriterProcess(repo.path, ["--points", "10"]);
  assert.equal((await finished.finished()).code, 0);
  await using live = await liveWriter(repo.path, { batch: 10 });
  const liveHash = live.hash;
  const out = await aim(["runs", "ls", "--json", "--repo", repo.path]);
  assert.equal(out.code, 0, out.stderr);
  const runs = JSON.parse(out.stdout);
  assert.equal(runs.length, 2);
  for (const run of runs) {
    for (
      const key of [
        "hash",
        "name",
        "experiment",
        "tags",
        "status",
        "live",
        "indexed",
        "created_at",
        "ended_at",
        "params",
        "metrics",
      ]
    ) {
      assert.ok(key in run, `${key} in ${JSON.stringify(run)}`);
    }
  }
  const [done, running] = runs[0].hash === liveHash
    ? [runs[1], runs[0]]
    : [runs[0], runs[1]];
  assert.deepEqual([done.status, done.live, done.indexed], [
    "finished",
    false,
    true,
  ]);
  assert.deepEqual([running.status, running.live, running.indexed], [
    "running",
    true,
    false,
  ]);
  assert.deepEqual(Object.keys(done.metrics[0]).sort(), [
    "context",
    "count",
    "first_step",
    "last",
    "last_step",
    "max",
    "min",
    "name",
  ]);
  assert.equal(done.metrics[0].count, 10);
  assert.equal(done.metrics[0].max, 9);

  const refused = await aim(["runs", "rm", liveHash, "--repo", repo.path]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is live .* --force/);
  assert.ok(
    Deno.statSync(repo.runDir(liveHash)).isDirectory,
    "nothing deleted",
  );
  const removed = await aim(["runs", "rm", done.hash, "--repo", repo.path]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(repo.index().get(done.hash), null);
  assert.throws(() => Deno.statSync(repo.runDir(done.hash)));
  const status = JSON.parse(
    (await aim(["status", "--json", "--repo", repo.path])).stdout,
  );
  assert.deepEqual([
    status.runs,
    status.indexed,
    status.unindexed_live,
    status.unindexed_stalled,
  ], [1, 0, 1, 0]);
});

Deno.test("mountTypeOf finds the filesystem of the longest mount containing a path", () => {
  const mountinfo = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "40 22 0:40 / /shared rw,relatime shared:2 - nfs4 server:/export rw",
    "41 40 0:41 / /shared/scratch rw - lustre 10.0.0.1@tcp:/fs rw",
    "42 22 0:42 / /with\\040space rw - cifs //srv/x rw",
  ].join("\n");
  assert.equal(mountTypeOf("/home/me/.aim", mountinfo), "ext4");
  assert.equal(mountTypeOf("/shared/me/.aim", mountinfo), "nfs4");
  assert.equal(mountTypeOf("/shared/scratch/.aim", mountinfo), "lustre");
  assert.equal(mountTypeOf("/sharedx/.aim", mountinfo), "ext4");
  assert.equal(mountTypeOf("/with space/.aim", mountinfo), "cifs");
});

Deno.test("network mode keeps a rollback journal and judges another host's runs by heartbeat", async () => {
  await using repo = await tempRepo();
  const env = { AIM_FS_MODE: "network", AIM_HEARTBEAT_INTERVAL: "0.2" };
  await using writer = await liveWriter(repo.path, {
    batch: 10,
    env: { ...env, AIM_HOSTNAME: "node-a" },
  });
  const hash = writer.hash;
  assert.throws(
    () => Deno.statSync(join(repo.runDir(hash), "run.db-wal")),
    "no WAL on a network filesystem",
  );
  const asOtherHost = {
    ...env,
    AIM_HOSTNAME: "login-1",
    AIM_HEARTBEAT_TIMEOUT: "2",
  };
  let status = JSON.parse(
    (await aim(["status", "--json", "--repo", repo.path], { env: asOtherHost }))
      .stdout,
  );
  assert.equal(status.fs_mode, "network");
  assert.equal(
    status.unindexed_live,
    1,
    "a fresh heartbeat from another host means live",
  );
  writer.child.kill("SIGKILL");
  await writer.finished();
  const deadline = Date.now() + 10_000;
  while (status.unindexed_stalled !== 1) {
    assert.ok(
      Date.now() < deadline,
      "the run turns stalled once its heartbeat is older than the timeout",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    status = JSON.parse(
      (await aim(["status", "--json", "--repo", repo.path], {
        env: asOtherHost,
      })).stdout,
    );
  }
  const reindexed = await aim(["reindex", "--repo", repo.path], {
    env: asOtherHost,
  });
  assert.equal(reindexed.code, 0, reindexed.stderr);
  assert.equal(repo.index().get(hash)?.status, "crashed");
});
