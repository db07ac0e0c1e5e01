/**
 * Editing a live run in the browser (issue 12): its name, description and
 * tags can be changed on the run page while its writer (a real process)
 * keeps writing, and what the page shows is what the API and the index say
 * once the writer ends.
 */

import assert from "node:assert/strict";
import { liveWriter, tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

const TOKEN = "ui-edit-t0ken-for-the-tests";

Deno.test("a live run is renamed, described and tagged on its page while it writes, and keeps it all when it ends", async () => {
  await using repo = await tempRepo();
  await using writer = await liveWriter(repo.path, { batch: 20 });
  await using server = await startAimUp(repo.path, {
    token: TOKEN,
    indexInterval: "0.5",
  });
  await using ui = await browserPage("edit-live");
  const { page } = ui;
  await page.goto(`${server.url}run/${writer.hash}?token=${TOKEN}`);
  await page.locator(".run-head h1").waitFor();
  assert.equal(
    await page.locator("button", { hasText: "Delete…" }).isDisabled(),
    true,
    "a live run is not deleted",
  );

  await page.locator(".run-head h1").click();
  await page.locator("input.inline-edit").fill("watched while training");
  await page.locator("input.inline-edit").press("Enter");
  await page.locator(".run-head h1", { hasText: "watched while training" })
    .waitFor();
  // The overview's attributes say the same, not the writer's old name.
  await page.locator(".run-content", { hasText: "watched while training" })
    .waitFor();
  assert.equal(
    await page.locator(".run-content", { hasText: "run-0" }).count(),
    0,
  );

  await page.locator(".description").click();
  await page.locator("textarea.inline-edit").fill("lr looks too high");
  await page.locator("textarea.inline-edit").press("Control+Enter");
  await page.locator(".description", { hasText: "lr looks too high" })
    .waitFor();

  await page.locator(".tag-input").fill("promising");
  await page.locator(".tag-input").press("Enter");
  await page.locator(".tags-edit .tag", { hasText: "promising" }).waitFor();
  await ui.shot();

  const shown = await (await fetch(`${server.url}api/runs/${writer.hash}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })).json();
  assert.deepEqual(
    [shown.name, shown.description, shown.tags, shown.live],
    [
      "watched while training",
      "lr looks too high",
      ["fixture", "promising"],
      true,
    ],
  );

  writer.child.kill("SIGTERM");
  await writer.finished();
  const ended = repo.index().get(writer.hash)!;
  assert.deepEqual(
    [ended.name, ended.description, ended.tags, ended.status],
    [
      "watched while training",
      "lr looks too high",
      ["fixture", "promising"],
      "terminated",
    ],
  );
});
