/**
 * The web UI's modules as files: each is embedded in the app (a module
 * missing from the asset list of server/ui_routes.ts breaks the pages only
 * in a browser), imports only its siblings, and is type-checked by
 * `deno check`, which checks a JavaScript file only when it asks to.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "hono";
import { mountUi } from "../server/ui_routes.ts";
import { ROOT } from "./_helpers.ts";

const UI = join(ROOT, "server", "ui");

Deno.test("mountUi() serves every file under server/ui/ as it is on disk", async () => {
  const app = new Hono();
  mountUi(app, { basePath: "" });
  const names = [];
  for await (const entry of Deno.readDir(UI)) {
    // The HTML shell is served at the page routes, filled in.
    if (entry.isFile && entry.name !== "index.html") names.push(entry.name);
  }
  assert.ok(names.includes("app.js") && names.includes("style.css"));
  for (const name of names.sort()) {
    const response = await app.request(`/static/${name}`);
    assert.equal(response.status, 200, `${name} is not served`);
    assert.equal(
      await response.text(),
      await Deno.readTextFile(join(UI, name)),
      `${name} is served stale`,
    );
    const type = name.endsWith(".css") ? "text/css" : "text/javascript";
    assert.match(response.headers.get("content-type")!, new RegExp(type));
  }
});

Deno.test("every relative import of a UI module names a file under server/ui/", async () => {
  let found = 0;
  for await (const entry of Deno.readDir(UI)) {
    if (!entry.name.endsWith(".js")) continue;
    const text = await Deno.readTextFile(join(UI, entry.name));
    const imports = text.matchAll(
      /(?:^import [^;]*? from|\bimport\()\s*"(\.\/[^"]+)"/gms,
    );
    for (const [, path] of imports) {
      found++;
      const target = path!.slice(2);
      assert.ok(
        !target.includes("/"),
        `${entry.name} imports ${path}: /static/ serves one folder`,
      );
      await Deno.stat(join(UI, target)).catch(() =>
        assert.fail(`${entry.name} imports ${path}, which does not exist`)
      );
    }
  }
  // The app's routes, page modules and their helpers, at the least.
  assert.ok(found > 50, `only ${found} imports found: is the pattern stale?`);
});

Deno.test("every UI module asks deno check to type-check it", async () => {
  for await (const entry of Deno.readDir(UI)) {
    if (!entry.name.endsWith(".js")) continue;
    const text = await Deno.readTextFile(join(UI, entry.name));
    // The pragma counts only in the comments before the first statement.
    const head = text.slice(0, text.search(/^(?!\/\/)/m));
    assert.match(head, /^\/\/ @ts-check$/m, `${entry.name} lacks // @ts-check`);
  }
});
