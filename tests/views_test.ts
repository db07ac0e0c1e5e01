/**
 * Saved views: the JSON routes create, list, rename and delete them, they
 * are files in the repository's `views/` folder (so another server over the
 * same repository sees them), and bad input is refused with what and where.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../server/app.ts";
import { answer } from "../server/query_worker.ts";
import { listViews, Repo } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";

const TOKEN = "views-test-token-0123456789";

function appFor(repo: Repo) {
  return createApp({
    repo,
    token: TOKEN,
    query: (request) => Promise.resolve(answer(repo, request)),
  });
}

function call(
  app: ReturnType<typeof appFor>,
  method: string,
  path: string,
  body?: unknown,
) {
  return app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

Deno.test("views are saved, listed, renamed and deleted through the API, as files in the repository", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  const state = "?axis=run.hparams.lr&brush=%7B%7D";
  const created = await call(app, "POST", "/api/views", {
    name: "  lr sweep ",
    page: "params",
    state,
  });
  assert.equal(created.status, 201);
  const view = await created.json();
  assert.match(view.id, /^[0-9a-f]{16}$/);
  assert.equal(view.name, "lr sweep");
  assert.equal(view.state, state);
  // A file of the repository, whole JSON, with no temporary file left.
  const files = [...Deno.readDirSync(join(repo.path, "views"))].map((e) =>
    e.name
  );
  assert.deepEqual(files, [`${view.id}.json`]);
  assert.deepEqual(
    JSON.parse(
      await Deno.readTextFile(join(repo.path, "views", `${view.id}.json`)),
    ),
    view,
  );

  // Another server over the same repository lists it.
  using other = Repo.openSync(repo.path);
  const listed = await (await call(appFor(other), "GET", "/api/views")).json();
  assert.deepEqual(listed, { views: [view], unreadable: [] });

  // The same name on the same page is refused; on another page it is fine.
  const twice = await call(app, "POST", "/api/views", {
    name: "lr sweep",
    page: "params",
    state: "",
  });
  assert.equal(twice.status, 400);
  assert.match(
    (await twice.json()).error.message,
    /already named "lr sweep" \(id [0-9a-f]{16}\)/,
  );
  const scatter = await (await call(app, "POST", "/api/views", {
    name: "lr sweep",
    page: "scatters",
    state: "?x=run.hparams.lr",
  })).json();

  const renamed = await call(app, "PATCH", `/api/views/${view.id}`, {
    name: "best lr",
  });
  assert.equal(renamed.status, 200);
  assert.equal((await renamed.json()).name, "best lr");
  assert.deepEqual(
    listViews(repo.path).views.map((v) => [v.page, v.name, v.state]),
    [["params", "best lr", state], ["scatters", "lr sweep", scatter.state]],
  );

  const deleted = await call(app, "DELETE", `/api/views/${view.id}`);
  assert.deepEqual(await deleted.json(), { deleted: view.id });
  assert.deepEqual(listViews(repo.path).views.map((v) => v.id), [scatter.id]);
  const again = await call(app, "DELETE", `/api/views/${view.id}`);
  assert.equal(again.status, 404);
  assert.equal((await again.json()).error.code, "view_not_found");
});

Deno.test("bad view input is refused, saying which field and why", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  const refused = async (method: string, path: string, body: unknown) => {
    const response = await call(app, method, path, body);
    assert.equal(response.status, 400, `${method} ${path}`);
    return (await response.json()).error.message as string;
  };
  assert.match(
    await refused("POST", "/api/views", {
      name: "",
      page: "params",
      state: "",
    }),
    /name must be a non-empty string, got ""/,
  );
  assert.match(
    await refused("POST", "/api/views", { name: "a", page: "home", state: "" }),
    /page must be one of runs, compare, metrics, params, scatters, got "home"/,
  );
  assert.match(
    await refused("POST", "/api/views", {
      name: "a",
      page: "params",
      state: "axis=x",
    }),
    /state must be a URL query string starting with "\?"/,
  );
  assert.match(
    await refused("POST", "/api/views", {
      name: "a",
      page: "params",
      state: "",
      colour: "red",
    }),
    /no field "colour": the fields are name, page, state/,
  );
  assert.match(
    await refused("PATCH", "/api/views/..%2F..%2Findex", { name: "b" }),
    /16 lower-case hex characters, got "..\/..\/index"/,
  );
  assert.match(
    await refused("PATCH", "/api/views/0123456789abcdeg", { name: "b" }),
    /16 lower-case hex characters, got "0123456789abcdeg"/,
  );
  assert.equal(listViews(repo.path).views.length, 0);
});

Deno.test("listViews() reports a corrupt view file and keeps listing the others", async () => {
  await using repo = await tempRepo();
  const app = appFor(repo);
  const good = await (await call(app, "POST", "/api/views", {
    name: "kept",
    page: "metrics",
    state: "?metric=loss",
  })).json();
  const dir = join(repo.path, "views");
  await Deno.writeTextFile(join(dir, "00000000000000ff.json"), '{"id": "00');
  await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
  // A save a kill interrupted: skipped silently, never reported.
  await Deno.writeTextFile(join(dir, `.${good.id}.1234abcd.tmp`), "{");
  const { views, unreadable } = listViews(repo.path);
  assert.deepEqual(views.map((v) => v.id), [good.id]);
  assert.deepEqual(
    unreadable.map((u) => u.file),
    [
      "views/00000000000000ff.json",
      "views/notes.txt",
    ].sort(),
  );
  assert.match(
    unreadable.find((u) => u.file.endsWith("ff.json"))!.reason,
    /views\/00000000000000ff\.json is not JSON/,
  );
});
