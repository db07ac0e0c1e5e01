/**
 * `aim up` as a long-lived service: the token it generates is kept across
 * restarts in the user's config folder, readable by its owner only, and
 * can be rotated; `--token` and `AIM_TOKEN` still override it. Real
 * processes, a throw-away config folder.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { aim, tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";

/** A config folder of its own, so that no test touches the real ~/.config. */
async function configHome(): Promise<
  { dir: string; file: string } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "aim-config-" });
  return {
    dir,
    file: join(dir, "aim", "token"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Starts aim up without --token, with `config` as XDG_CONFIG_HOME. */
function up(repo: string, config: string, args: string[] = []) {
  return startAimUp(repo, {
    token: "generated",
    args: ["--no-index", ...args],
    env: { XDG_CONFIG_HOME: config },
  });
}

async function status(url: string, token: string): Promise<number> {
  const response = await fetch(new URL("api/runs", url), {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("aim up keeps the token it generates across restarts, in a file of mode 0600; --rotate-token replaces it and the old one is refused", async () => {
  await using repo = await tempRepo();
  await using config = await configHome();
  let first: string;
  {
    await using server = await up(repo.path, config.dir);
    first = server.token!;
    assert.match(first, /^[0-9a-f]{36}$/);
    assert.equal(await status(server.url, first), 200);
  }
  assert.equal(Deno.readTextFileSync(config.file).trim(), first);
  assert.equal(Deno.statSync(config.file).mode! & 0o777, 0o600);
  assert.equal(Deno.statSync(join(config.dir, "aim")).mode! & 0o777, 0o700);
  {
    await using again = await up(repo.path, config.dir);
    assert.equal(again.token, first, "a restart keeps the token");
    assert.equal(await status(again.url, first), 200);
  }
  {
    await using rotated = await up(repo.path, config.dir, ["--rotate-token"]);
    const second = rotated.token!;
    assert.notEqual(second, first);
    assert.equal(
      await status(rotated.url, first),
      401,
      "the old one is refused",
    );
    assert.equal(await status(rotated.url, second), 200);
    assert.equal(Deno.readTextFileSync(config.file).trim(), second);
    assert.equal(Deno.statSync(config.file).mode! & 0o777, 0o600);
  }
  {
    // --token and AIM_TOKEN win, and leave the kept one alone.
    await using given = await startAimUp(repo.path, {
      token: "given-t0ken-for-this-start",
      args: ["--no-index"],
      env: { XDG_CONFIG_HOME: config.dir },
    });
    assert.equal(await status(given.url, "given-t0ken-for-this-start"), 200);
    await using fromEnv = await startAimUp(repo.path, {
      token: "generated",
      args: ["--no-index"],
      env: {
        XDG_CONFIG_HOME: config.dir,
        AIM_TOKEN: "env-t0ken-for-this-start",
      },
    });
    assert.equal(fromEnv.token, "env-t0ken-for-this-start");
    assert.notEqual(
      Deno.readTextFileSync(config.file).trim(),
      "env-t0ken-for-this-start",
    );
  }
  const contradiction = await aim([
    "up",
    "--repo",
    repo.path,
    "--port",
    "0",
    "--rotate-token",
    "--token",
    "given-t0ken-for-this-start",
  ], { env: { XDG_CONFIG_HOME: config.dir } });
  assert.equal(contradiction.code, 2);
  assert.match(
    contradiction.stderr,
    /--rotate-token .* does not go with --token/,
  );
});

Deno.test("a token file others can read, or that holds no token, is replaced with a warning; a start that fails keeps nothing", async () => {
  await using repo = await tempRepo();
  await using config = await configHome();
  await Deno.mkdir(join(config.dir, "aim"));
  Deno.writeTextFileSync(config.file, "leaked-t0ken-0123456789\n");
  Deno.chmodSync(config.file, 0o644);
  {
    await using server = await up(repo.path, config.dir);
    assert.notEqual(server.token, "leaked-t0ken-0123456789");
    assert.equal(await status(server.url, "leaked-t0ken-0123456789"), 401);
    assert.match(
      server.stderr(),
      /warning: .*token was readable by others \(mode 644\): a new token replaces it/,
    );
    assert.equal(Deno.readTextFileSync(config.file).trim(), server.token);
    assert.equal(Deno.statSync(config.file).mode! & 0o777, 0o600);
  }
  Deno.writeTextFileSync(config.file, "short\n", { mode: 0o600 });
  {
    await using server = await up(repo.path, config.dir);
    assert.match(server.stderr(), /does not hold a token/);
    assert.equal(Deno.readTextFileSync(config.file).trim(), server.token);
  }

  // A port in use: no server, so no token is made.
  await using fresh = await configHome();
  await using busy = await up(repo.path, config.dir);
  const clash = await aim([
    "up",
    "--repo",
    repo.path,
    "--port",
    String(busy.port),
  ], { env: { XDG_CONFIG_HOME: fresh.dir } });
  assert.equal(clash.code, 1);
  assert.throws(() => Deno.statSync(fresh.file), Deno.errors.NotFound);
});
