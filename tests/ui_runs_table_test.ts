/**
 * The runs table in a real browser: headless Chromium against a real
 * `aim up` over runs written by real writers. Selections that outlive a
 * query, selecting every run a query matches, and a table that reads at
 * 800, 1280 and 1920 pixels wide.
 */

import assert from "node:assert/strict";
import type { Page } from "./_dev_deps.ts";
import type { Repo } from "../lib/mod.ts";
import { tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

const TOKEN = "ui-t0ken-for-the-tests";

/** The command `aim run` would record for run `r`: one argument holds a space. */
function command(r: number): string[] {
  return [
    "python3",
    "train.py",
    "--lr",
    String(0.001 * (r + 1)),
    "--data",
    "/datasets/imagenet/train shards/000-of-128",
    "--checkpoint-dir",
    "/scratch/checkpoints/resnet50",
  ];
}

/** Six runs lr-0 … lr-5, as `aim run` and a training script record them. */
async function seed(repo: Repo): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (let r = 0; r < 6; r++) {
    const run = await repo.startRun({
      experiment: "resnet-sweep",
      name: `lr-${r}`,
      tags: r % 2 ? ["best"] : [],
      handleSignals: false,
    });
    run.set("__aim", { command: command(r), cwd: "/home/me", pid: 4242 + r });
    run.set("hparams", {
      lr: 0.001 * (r + 1),
      optimizer: { name: r % 2 ? "sgd" : "adam" },
      batch_size: 64 * (r + 1),
      seed: 5828 + r,
    });
    for (let step = 0; step < 20; step++) {
      run.track(1 / (step + 1 + r), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
    }
    await run.close();
    hashes[`lr-${r}`] = run.hash;
  }
  return hashes;
}

function rowNames(page: Page): Promise<string[]> {
  return page.locator(".vt-row[data-loaded] .vt-td:nth-child(2)")
    .allTextContents();
}

Deno.test("deleting runs that the query now hides names them in the dialog, and says how many are hidden", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  await using server = await startAimUp(repo.path, { token: TOKEN });
  await using ui = await browserPage("delete-hidden");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  for (const name of ["lr-0", "lr-1"]) {
    await page.locator(".vt-row", { hasText: name }).locator(
      "input[type=checkbox]",
    ).check();
  }
  const info = page.locator(".sel-info");
  assert.equal(await info.textContent(), "2 selected");

  // lr-1 uses sgd: this query hides it, and it stays selected.
  const box = page.locator("input.query");
  await box.fill('run.hparams.optimizer.name == "adam"');
  await box.press("Enter");
  await waitFor(
    async () => (await rowNames(page)).join() === "lr-4,lr-2,lr-0",
    "the adam runs",
  );
  await info.filter({ hasText: "not shown" }).waitFor();
  assert.equal(await info.textContent(), "2 selected (1 not shown)");

  await page.locator("button", { hasText: "Delete…" }).click();
  const dialog = page.locator("dialog.confirm[open]");
  await dialog.waitFor();
  assert.match(
    await dialog.locator("p").first().textContent() ?? "",
    /^Delete 2 runs\?/,
  );
  assert.equal(
    await dialog.locator(".warn-hidden").textContent(),
    "1 of them is not shown by the current query.",
  );
  assert.deepEqual(await dialog.locator("ul.doomed li").allTextContents(), [
    "lr-1 — not shown by the query",
    "lr-0",
  ]);
  await ui.shot();
  await dialog.locator("button", { hasText: "Cancel" }).click();
  assert.equal(repo.listRuns().length, 6, "nothing deleted on cancel");

  await page.locator("button", { hasText: "Delete…" }).click();
  await dialog.locator("button.danger", { hasText: "Delete" }).click();
  await waitFor(
    () => repo.listRuns().length === 4,
    "the two runs deleted",
  );
  assert.equal(repo.index().get(hashes["lr-0"]!), null);
  assert.equal(repo.index().get(hashes["lr-1"]!), null);
  assert.equal(repo.listRuns().length, 4);
});

Deno.test("the header's box selects every run the query matches, also those not loaded, exactly as the API answers the query", async () => {
  await using repo = await tempRepo();
  // More than the table loads at first (a page of 200, newest first).
  for (let batch = 0; batch < 210; batch += 30) {
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const run = await repo.startRun({ handleSignals: false });
        run.set("hparams", { lr: (batch + i) / 1000 });
        await run.close();
      }),
    );
  }
  await using server = await startAimUp(repo.path, { token: TOKEN });
  await using ui = await browserPage("select-all");
  const { page } = ui;
  const q = "run.hparams.lr >= 0.005";
  await page.goto(
    `${server.url}?q=${encodeURIComponent(q)}&token=${TOKEN}`,
  );
  await page.locator(".vt-row[data-loaded]").first().waitFor();
  assert.equal(await page.locator(".toolbar .count").textContent(), "205 runs");
  const all = page.locator("input.select-all");
  await all.check();
  const info = page.locator(".sel-info");
  await info.filter({ hasText: "205 selected" }).waitFor();
  assert.equal(await info.textContent(), "205 selected");
  assert.equal(await all.isChecked(), true);
  assert.equal(
    await page.locator(
      ".vt-row[data-loaded] input[type=checkbox]:not(:checked)",
    )
      .count(),
    0,
    "every row on screen is checked",
  );
  await ui.shot();

  // What the selection acts on, against what the API says the query matches.
  const { body } = await server.get(
    `api/runs?q=${encodeURIComponent(q)}&limit=1000`,
  );
  const expected = new Set(
    (body.runs as { hash: string }[]).map((run) => run.hash),
  );
  assert.equal(expected.size, 205);
  // Under a wider query, the box says only some of its runs are selected.
  const box = page.locator("input.query");
  await box.fill("");
  await box.press("Enter");
  await page.locator(".toolbar .count", { hasText: "210 runs" }).waitFor();
  await waitFor(
    () =>
      all.evaluate((input) => (input as unknown as HTMLInput).indeterminate),
    "the header's box half-checked",
  );
  assert.equal(await info.textContent(), "205 selected");

  // Metrics opens the selection in the metrics explorer (Compare, side by side).
  await page.locator(".actions button", { hasText: /^Metrics$/ }).click();
  await page.waitForURL(/\/metrics\?runs=/);
  const selected = new URL(page.url()).searchParams.get("runs")!.split(",");
  assert.equal(selected.length, 205);
  assert.deepEqual(new Set(selected), expected);
});

Deno.test("the runs table reads at 800, 1280 and 1920 pixels: headers whole, params as written, commands as a shell line, dates whole", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await startAimUp(repo.path, { token: TOKEN });
  for (const width of [800, 1280, 1920]) {
    await using ui = await browserPage(`runs-${width}`, { width, height: 700 });
    const { page } = ui;
    await page.goto(`${server.url}?token=${TOKEN}`);
    await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
    const heads = await page.locator(".vt-th").evaluateAll((cells) =>
      cells.map((cell) => ({
        text: cell.textContent,
        cut: cell.scrollWidth > cell.clientWidth + 1 ||
          cell.scrollHeight > cell.clientHeight + 1,
      }))
    );
    const titles = heads.map((h) => h.text);
    for (
      const title of [
        "hparams.lr",
        "hparams.optimizer.name",
        "hparams.batch_size",
        "hparams.seed",
        "loss (subset=train) last",
      ]
    ) {
      assert.ok(titles.includes(title), `${title} among ${titles}`);
    }
    assert.deepEqual(
      heads.filter((h) => h.cut),
      [],
      `no header cut at ${width}`,
    );

    const cell = (key: string, row = 0) =>
      page.locator(".vt-row[data-loaded]").nth(row).locator(".vt-td").nth(
        titlesIndex(titles, key),
      );
    // Params as written: a seed is no quantity.
    assert.equal(await cell("hparams.seed").textContent(), "5833");
    assert.equal(await cell("hparams.batch_size").textContent(), "384");
    // The creation time is whole, and on screen without scrolling.
    const created = cell("Created▼");
    const table = (await page.locator(".vt").boundingBox())!;
    const date = (await created.boundingBox())!;
    assert.ok(
      date.x + date.width <= table.x + table.width,
      `the date ends at ${date.x + date.width}, the table at ${
        table.x + table.width
      }`,
    );
    assert.equal(
      await created.evaluate((td) => td.scrollWidth <= td.clientWidth),
      true,
    );
    assert.match(
      await created.textContent() ?? "",
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    );
    await ui.shot();
  }

  // The command, chosen as a column: a shell line, whole in its tooltip.
  await using ui = await browserPage("runs-command", {
    width: 1280,
    height: 700,
  });
  const { page } = ui;
  await page.addInitScript(() =>
    globalThis.localStorage.setItem(
      "aim.runs.columns",
      JSON.stringify({ params: [["__aim", "command"]], metrics: [] }),
    )
  );
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  const line =
    "python3 train.py --lr 0.006 --data '/datasets/imagenet/train shards/000-of-128' --checkpoint-dir /scratch/checkpoints/resnet50";
  const commandCell = page.locator(".vt-row[data-loaded]").first().locator(
    ".vt-td",
  ).last();
  assert.equal(await commandCell.textContent(), line);
  assert.equal(await commandCell.getAttribute("title"), line);
  await ui.shot();

  // On the run page at 800 px, the command wraps between arguments only.
  await page.setViewportSize({ width: 800, height: 700 });
  await page.locator(".vt-row[data-loaded]").first().locator("a").click();
  const args = page.locator(".params .val-command .arg");
  await args.first().waitFor();
  const boxes = await args.evaluateAll((spans) =>
    spans.map((span) => ({
      text: span.textContent,
      lines: span.getClientRects().length,
      top: span.getBoundingClientRect().top,
    }))
  );
  assert.equal(boxes.map((b) => b.text).join(" "), line);
  assert.ok(
    new Set(boxes.map((b) => Math.round(b.top))).size > 1,
    "it wraps",
  );
  for (const box of boxes) {
    assert.equal(box.lines, 1, `${box.text} is not cut across lines`);
  }
  await ui.shot("overview");
});

/** What the test reads of an input element (the tests are not checked with the DOM's types). */
interface HTMLInput {
  indeterminate: boolean;
}

function titlesIndex(titles: (string | null)[], title: string): number {
  const i = titles.indexOf(title);
  assert.ok(i >= 0, `no column ${title} among ${titles}`);
  return i;
}
