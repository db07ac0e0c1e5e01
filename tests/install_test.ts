/**
 * Getting aim onto a machine: the program's lock holds only what it
 * imports (so its first start fetches nothing else), `deno task install`
 * puts a self-contained `aim` on the PATH, and that `aim` works from any
 * folder: init, runs ls, up, and the Python client finding it.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { ROOT, Spawned } from "./_helpers.ts";
import { PYTHON_CLIENT } from "./fixtures/spawned.ts";
import { chooseBin } from "../scripts/install.ts";
import { SHEBANG } from "../scripts/bundle.ts";
import { Repo } from "../lib/mod.ts";

/** The packages a lock file pins, by name. */
function lockedPackages(file: string): string[] {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, file)));
  return Object.keys(lock.npm ?? {}).map((key) =>
    key.slice(0, key.lastIndexOf("@"))
  ).sort();
}

Deno.test("deno.lock pins only the packages the program imports; the test-only ones are in dev.lock", () => {
  const program = lockedPackages("deno.lock");
  assert.deepEqual(
    program,
    ["hono", "uplot"],
    "Deno fetches every package of deno.lock when aim first starts: something ran with the default lock " +
      "(with --frozen=false?). Restore it with `git checkout deno.lock`; tests use --lock=dev.lock",
  );
  for (const name of ["fast-check", "playwright-core"]) {
    assert.ok(lockedPackages("dev.lock").includes(name), `${name} in dev.lock`);
  }
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  assert.deepEqual(
    Object.values(config.imports as Record<string, string>)
      .map((target) => /^npm:\/?(@?[^@/]+)/.exec(target)?.[1]).sort(),
    ["hono", "hono", "uplot"],
    "the import map names only the program's packages: each lands in deno.lock",
  );
});

Deno.test("the program's module graph needs no test-only package", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const packages = [
    ...new Set(
      Object.values(info.npmPackages as Record<string, { name: string }>)
        .map((p) => p.name),
    ),
  ].sort();
  assert.deepEqual(packages, ["hono", "uplot"]);
});

Deno.test("chooseBin() puts aim beside the deno on the PATH when it can, else in ~/.local/bin", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aim-bin-" });
  try {
    const withDeno = join(dir, "tools");
    await Deno.mkdir(withDeno);
    await Deno.writeTextFile(join(withDeno, "deno"), "#!/bin/sh\n", {
      mode: 0o755,
    });
    const path = ["", join(dir, "empty"), withDeno, "/nonexistent"].join(":");
    assert.deepEqual(chooseBin(undefined, { path, home: "/h" }, () => true), {
      dir: withDeno,
      reason: "beside deno",
    });
    assert.deepEqual(
      chooseBin(undefined, { path, home: "/h" }, () => false),
      {
        dir: "/h/.local/bin",
        reason: `${withDeno}, where deno is, cannot be written`,
      },
    );
    assert.equal(
      chooseBin(undefined, { path: "/nonexistent", home: "/h" }, () => true)
        .dir,
      "/h/.local/bin",
    );
    assert.equal(
      chooseBin("rel/bin", { path, home: "/h" }, () => true).dir,
      join(Deno.cwd(), "rel", "bin"),
    );
    assert.throws(
      () => chooseBin(undefined, { path: "", home: undefined }, () => true),
      /HOME is not set; give --bin DIR/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task install puts a self-contained aim on the PATH: init, runs ls, up and the Python client work from any folder, and nothing is downloaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aim-install-" });
  try {
    const bin = join(dir, "bin");
    const installed = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "scripts/install.ts", "--bin", bin],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(installed.stdout);
    assert.equal(
      installed.code,
      0,
      new TextDecoder().decode(installed.stderr),
    );
    assert.match(said, /Installed aim \d+\.\d+\.\d+ as .*\/bin\/aim \(--bin\)/);
    assert.match(said, /is not on your PATH: add it/);
    const file = join(bin, "aim");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o755);
    const text = await Deno.readTextFile(file);
    assert.equal(text.slice(0, text.indexOf("\n")), SHEBANG);

    // A fresh shell elsewhere: aim and deno on the PATH, an empty Deno cache.
    const home = join(dir, "home");
    const work = join(home, "project");
    await Deno.mkdir(work, { recursive: true });
    const env = {
      PATH: [bin, dirname(Deno.execPath()), "/usr/bin", "/bin"].join(":"),
      HOME: home,
      DENO_DIR: join(dir, "deno-cache"),
      AIM_REPO: "",
      AIM_BIN: "",
    };
    const aim = async (...args: string[]) => {
      await using child = new Spawned("aim", args, { env, cwd: work });
      const status = await child.finished();
      return {
        code: status.code,
        stdout: child.lines.join("\n"),
        stderr: child.stderr,
      };
    };
    const help = await aim("--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^aim \d+\.\d+\.\d+: experiment tracking/);
    assert.deepEqual(
      [...Deno.readDirSync(join(dir, "deno-cache"))]
        .filter((e) => e.name === "npm")
        .flatMap((e) => [...Deno.readDirSync(join(dir, "deno-cache", e.name))]),
      [],
      "the first aim --help downloads no package",
    );
    const init = await aim("init");
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.stdout, `Initialized an aim repository in ${work}/.aim`);
    const empty = await aim("runs", "ls");
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /\(no runs\)/);

    // The Python client's standalone mode finds aim on the PATH (no AIM_BIN).
    await using python = new Spawned("python3", [
      "-c",
      `
from aim_client import Run
run = Run(experiment="installed")
run["hparams"] = {"lr": 0.01}
run.track(0.5, name="loss")
run.close()
print(run.hash, flush=True)
`,
    ], { env: { ...env, PYTHONPATH: PYTHON_CLIENT }, cwd: work });
    assert.equal((await python.finished()).code, 0, python.stderr);
    const hash = python.lines[0]!;
    {
      using repo = Repo.openSync(join(work, ".aim"));
      const record = repo.index().get(hash);
      assert.equal(record?.experiment, "installed");
      assert.equal(record?.status, "finished");
    }
    const listed = await aim("runs", "ls");
    assert.match(listed.stdout, new RegExp(hash));

    // aim up: its Workers run from the same single file.
    await using up = new Spawned("aim", [
      "up",
      "--port",
      "0",
      "--token",
      "installed-t0ken-0123",
    ], { env, cwd: work });
    const line = await up.waitForLine(/^open http/);
    const url = /^open (http:\/\/[^/]+\/)/.exec(line)![1]!;
    const answer = await fetch(new URL("api/runs", url), {
      headers: { authorization: "Bearer installed-t0ken-0123" },
    });
    const body = await answer.json();
    assert.equal(answer.status, 200);
    assert.deepEqual(body.runs.map((r: { hash: string }) => r.hash), [hash]);
    up.child.kill("SIGTERM");
    assert.equal((await up.finished()).code, 0, up.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
