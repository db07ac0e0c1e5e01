/**
 * The web UI in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) against a real `aim up` over a repository seeded by real
 * writers. Every test fails on any console error of the page, and saves a
 * screenshot under test-output/.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../scripts/_chromium.ts";
import type { Repo } from "../lib/mod.ts";
import { createApp } from "../server/app.ts";
import { answer } from "../server/query_worker.ts";
import { liveWriter, ROOT, tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";

const TOKEN = "ui-t0ken-for-the-tests";
const OUTPUT = join(ROOT, "test-output");

/** Six finished or failed runs, and what the tests check about them. */
async function seed(repo: Repo): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (let r = 0; r < 6; r++) {
    const run = await repo.startRun({
      experiment: r < 3 ? "base" : "wide",
      name: `lr-${r}`,
      tags: r % 2 ? ["best"] : [],
      handleSignals: false,
    });
    run.set("hparams", {
      lr: 0.001 * (r + 1),
      optimizer: { name: r % 2 ? "sgd" : "adam", beta: 0.9 },
    });
    for (let step = 0; step < 300; step++) {
      const epoch = Math.floor(step / 100);
      const train = { subset: "train" };
      run.track(Math.exp(-step / (80 + 20 * r)), {
        name: "loss",
        step,
        epoch,
        context: train,
      });
      if (step % 10 === 0) {
        run.track(1 - Math.exp(-step / 100), {
          name: "accuracy",
          step,
          epoch,
          context: { subset: "val" },
        });
        run.track(10 + r, { name: "cpu", step, context: { system: true } });
      }
    }
    for (let line = 0; line < 20; line++) {
      run.log(`epoch ${line}: loss ${(1 / (line + 1)).toFixed(3)}`);
    }
    if (r === 2) {
      run.log("training diverged", "error");
      run.finalize({ status: "failed", exitCode: 1 });
    } else await run.close();
    hashes[`lr-${r}`] = run.hash;
  }
  return hashes;
}

/** A stalled run: a writer process that flushed, then was SIGKILLed. */
async function stalledRun(repoPath: string): Promise<string> {
  await using writer = await liveWriter(repoPath, { batch: 20 });
  const hash = writer.hash;
  writer.child.kill("SIGKILL");
  await writer.finished();
  return hash;
}

/** A real `aim up` on a free port with the test token; stopped (and checked to exit 0) at scope end. */
function aimUp(repoPath: string, interval = "0.5", extra: string[] = []) {
  return startAimUp(repoPath, {
    token: TOKEN,
    indexInterval: interval,
    args: extra,
  });
}

/** A browser page that records console errors; closed at scope end. */
async function browserPage(name: string) {
  const browser: Browser = await launchChromium();
  const page: Page = await browser.newPage({
    viewport: { width: 1400, height: 900 },
  });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  let shots = 0;
  return {
    page,
    errors,
    /** Saves test-output/ui-NAME[-n].png. */
    async shot(suffix = "") {
      await Deno.mkdir(OUTPUT, { recursive: true });
      const file = join(
        OUTPUT,
        `ui-${name}${suffix ? `-${suffix}` : shots ? `-${shots}` : ""}.png`,
      );
      shots++;
      await page.screenshot({ path: file });
      return file;
    },
    async [Symbol.asyncDispose]() {
      try {
        assert.deepEqual(errors, [], "the page logged errors");
      } finally {
        await browser.close();
      }
    },
  };
}

/** The state badges of the table row of the run called `name`. */
function rowBadges(page: Page, name: string): Promise<string[]> {
  return page.locator(".vt-row[data-loaded]", { hasText: name }).locator(
    ".badge",
  ).allTextContents();
}

function rowNames(page: Page): Promise<string[]> {
  return page.locator(".vt-row[data-loaded] .vt-td:nth-child(2)")
    .allTextContents();
}

Deno.test("the runs page lists every seeded run with its state, newest first, sorts by a column, and tags, archives and deletes", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("runs");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  assert.equal(
    new URL(page.url()).search,
    "",
    "the token is gone from the address bar",
  );
  assert.deepEqual(await rowNames(page), [
    "lr-5",
    "lr-4",
    "lr-3",
    "lr-2",
    "lr-1",
    "lr-0",
  ]);
  assert.equal(await page.locator(".toolbar .count").textContent(), "6 runs");
  assert.deepEqual(await rowBadges(page, "lr-2"), ["failed"]);
  assert.deepEqual(await rowBadges(page, "lr-1"), ["finished"]);
  assert.match(
    await page.locator(".vt-row", { hasText: "lr-1" }).textContent() ?? "",
    /best/,
  );
  await page.locator(".vt-th", { hasText: "hparams.lr" }).click();
  await waitFor(
    async () => (await rowNames(page))[0] === "lr-0",
    "ascending lr",
  );
  assert.deepEqual(await rowNames(page), [
    "lr-0",
    "lr-1",
    "lr-2",
    "lr-3",
    "lr-4",
    "lr-5",
  ]);
  assert.match(page.url(), /sort=run/);
  await ui.shot();

  // Select two runs, tag them, archive one, delete another.
  const select = (name: string) =>
    page.locator(".vt-row", { hasText: name }).locator("input[type=checkbox]")
      .check();
  await select("lr-1");
  await select("lr-3");
  assert.equal(await page.locator(".sel-info").textContent(), "2 selected");
  await page.locator("input.tag-input").fill("picked");
  await page.locator("button", { hasText: "Add tag" }).click();
  await waitFor(
    async () =>
      (await page.locator(".vt-row", { hasText: "lr-3" }).textContent())!
        .includes("picked"),
    "the new tag in the row",
  );
  assert.deepEqual(repo.index().get(hashes["lr-1"]!)?.tags, ["best", "picked"]);
  await page.locator(".vt-row", { hasText: "lr-3" }).locator("input").uncheck();
  await page.locator("button", { hasText: /^Archive$/ }).click();
  await waitFor(
    async () => (await rowBadges(page, "lr-1")).includes("archived"),
    "lr-1 archived",
  );
  assert.equal(repo.index().get(hashes["lr-1"]!)?.archived, true);
  await page.locator("label", { hasText: "hide archived" }).click();
  await waitFor(
    async () => (await rowNames(page)).length === 5,
    "archived runs hidden",
  );
  await page.locator("button.link", { hasText: "Clear" }).click();
  await select("lr-0");
  await page.locator("button", { hasText: "Delete…" }).click();
  await page.locator("dialog button.danger", { hasText: "Delete" }).click();
  await waitFor(
    async () => !(await rowNames(page)).includes("lr-0"),
    "lr-0 deleted",
  );
  assert.deepEqual(await rowNames(page), ["lr-2", "lr-3", "lr-4", "lr-5"]);
  assert.equal(repo.index().get(hashes["lr-0"]!), null);
  await ui.shot("edited");
});

Deno.test("a query filters the runs table, and a bad query shows its error under the box at its column", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("query");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();

  const box = page.locator("input.query");
  await box.fill(
    'run.hparams.optimizer.name == "sgd" and run.hparams.lr > 0.003',
  );
  await box.press("Enter");
  await waitFor(
    async () => (await rowNames(page)).join() === "lr-5,lr-3",
    "the filtered rows",
  );
  assert.equal(await page.locator(".toolbar .count").textContent(), "2 runs");
  await ui.shot("filtered");

  await box.fill("run.hparams.lr >");
  await box.press("Enter");
  const error = page.locator(".query-error");
  await error.waitFor();
  assert.match(
    await error.locator(".msg").textContent() ?? "",
    /expected an operand.* at column 17/,
  );
  assert.equal(await error.getAttribute("data-column"), "17");
  assert.equal(
    await error.locator("pre.caret").textContent(),
    `run.hparams.lr >\n${" ".repeat(16)}^`,
  );
  assert.equal(await page.locator(".vt-row[data-loaded]").count(), 0);
  await ui.shot("error");
});

Deno.test("the metrics explorer draws one line per matching run, grouping by a param changes the colours, zoom re-reads the range", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("metrics");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").first().waitFor();
  await page.locator("header nav a", { hasText: "Metrics" }).click();
  const chart = page.locator(".chart-main");
  await waitFor(
    async () => (await chart.getAttribute("data-lines")) === "6",
    "six lines",
  );
  assert.equal(await page.locator("input.metric").inputValue(), "loss");
  assert.equal(await chart.getAttribute("data-colors"), "6");
  assert.equal(await page.locator(".legend .entry").count(), 6);

  await page.locator("select.group").selectOption(
    "param:hparams.optimizer.name",
  );
  await waitFor(
    async () => (await chart.getAttribute("data-colors")) === "2",
    "two colours",
  );
  assert.equal(await chart.getAttribute("data-lines"), "6");
  assert.deepEqual(
    await page.locator(".legend .entry .label").allTextContents(),
    ["adam", "sgd"],
  );
  await ui.shot("grouped");

  await page.locator("select.agg").selectOption("minmax");
  await waitFor(
    async () => (await chart.getAttribute("data-lines")) === "2",
    "a mean per group",
  );
  await page.locator("select.agg").selectOption("");

  // Drag across the middle of the plot: the lines' points in that range are
  // read again (by pages of the series search, with a step range).
  const zoomed = page.waitForRequest((r) =>
    r.method() === "POST" && /\/api\/series\/search$/.test(r.url()) &&
    "from" in JSON.parse(r.postData() ?? "{}")
  );
  const plot = await chart.locator(".u-over").boundingBox();
  assert.ok(plot);
  await page.mouse.move(plot.x + plot.width * 0.3, plot.y + plot.height / 2);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * 0.6, plot.y + plot.height / 2, {
    steps: 5,
  });
  await page.mouse.up();
  await zoomed;
  await page.locator(".explorer-status", { hasText: "zoomed" }).waitFor();
  await page.mouse.move(plot.x + plot.width * 0.45, plot.y + plot.height / 3);
  await page.locator(".chart-tip .tip-row").first().waitFor();
  assert.equal(
    await page.locator(".chart-tip .tip-row").count(),
    6,
    "hover lists every line",
  );
  await ui.shot("zoomed");
});

Deno.test("the run page shows attributes, params, charts by context and the log, following a live run", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  const live = await repo.startRun({
    experiment: "live",
    name: "still-training",
    handleSignals: false,
  });
  try {
    live.set("hparams", { lr: 0.5 });
    live.log("first line");
    live.track(1, { name: "loss" });
    live.flush();
    await using server = await aimUp(repo.path);
    await using ui = await browserPage("run");
    const { page } = ui;
    await page.goto(`${server.url}run/${hashes["lr-2"]}?token=${TOKEN}`);
    await page.locator(".params .tree").waitFor();
    assert.equal(await page.locator(".run-head h1").textContent(), "lr-2");
    assert.deepEqual(await page.locator(".run-head .badge").allTextContents(), [
      "failed",
    ]);
    const params = await page.locator(".params .tree").textContent() ?? "";
    for (const text of ["hparams", "lr: 0.003", "optimizer", 'name: "adam"']) {
      assert.ok(params.includes(text), `params show ${text}: ${params}`);
    }
    assert.match(
      await page.locator(".attributes").textContent() ?? "",
      /exit code\s*1/,
    );
    await ui.shot("overview");

    await page.locator(".tabs a", { hasText: "Metrics" }).click();
    await page.locator(".chart-card .chart[data-lines='1']").nth(1).waitFor();
    assert.deepEqual(
      await page.locator(".context-group h3 code").allTextContents(),
      ["subset=train", "subset=val"],
    );
    await page.locator(".tabs a", { hasText: "System" }).click();
    await page.locator(".chart-card[data-series='cpu'] .chart[data-lines='1']")
      .waitFor();

    await page.locator(".tabs a", { hasText: "Logs" }).click();
    await page.locator(".log .line", { hasText: "training diverged" })
      .waitFor();
    assert.equal(await page.locator(".log .line").count(), 21);
    assert.equal(
      await page.locator(".log .line.error").textContent().then((t) =>
        t?.endsWith("training diverged")
      ),
      true,
    );
    await ui.shot("log");

    // A live run: its log is followed as it grows, and it turns finished when it ends.
    await page.goto(`${server.url}run/${live.hash}?tab=logs`);
    await page.locator(".log .line", { hasText: "first line" }).waitFor();
    assert.deepEqual(await page.locator(".run-head .badge").allTextContents(), [
      "running",
      "live",
      "unindexed",
    ]);
    assert.equal(
      await page.locator(".log-bar input[type=checkbox]").isChecked(),
      true,
    );
    live.log("a line written after the page opened");
    live.flush();
    await page.locator(".log .line", {
      hasText: "a line written after the page opened",
    }).waitFor({ timeout: 10_000 });
    await live.close();
    await waitFor(
      async () =>
        (await page.locator(".run-head .badge").allTextContents()).join() ===
          "finished",
      "the page to see the run finished",
    );
    await ui.shot("live-log");
  } finally {
    await live.close();
  }
});

Deno.test("a stalled unindexed run shows as stalled, then as indexed once the indexer Worker has run", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using writer = await liveWriter(repo.path, { batch: 20 });
  const hash = writer.hash;
  // After a pass that finds nothing to do (the writer is live then) the
  // indexer sleeps twice its interval, 2 minutes, unless a new marker wakes
  // it: the run stays stalled until the test wakes the indexer itself.
  await using server = await aimUp(repo.path, "60");
  await waitFor(
    async () =>
      (await server.get("api/index")).body.indexer.last_pass_at !== null,
    "the indexer's first pass",
  );
  await using ui = await browserPage("stalled");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(6).waitFor();
  assert.deepEqual(await rowBadges(page, "run-0"), [
    "running",
    "live",
    "unindexed",
  ]);

  writer.child.kill("SIGKILL");
  await writer.finished();
  await waitFor(
    async () =>
      (await rowBadges(page, "run-0")).join() === "crashed,stalled,unindexed",
    "the row to show the run stalled",
  );
  await ui.shot("before");
  assert.equal(repo.index().get(hash), null, "not indexed yet");

  // A new run's marker wakes the indexer, which indexes the stalled run.
  const waker = await repo.startRun({ name: "waker", handleSignals: false });
  await waker.close();
  await waitFor(
    async () => (await rowBadges(page, "run-0")).join() === "crashed",
    "the row to show the run indexed",
  );
  assert.equal(repo.index().get(hash)?.status, "crashed");
  await ui.shot("after");

  await page.locator("header nav a", { hasText: "Index" }).click();
  await page.locator(".card[data-key='unindexed, stalled'] .v", {
    hasText: "0",
  }).waitFor();
  assert.match(
    await page.locator(".indexer").textContent() ?? "",
    /recorded crashed\s*1/,
  );
  await ui.shot("status");
});

// A stalled run present when aim up starts is indexed by its first pass; the
// page lists it either way, and then indexed.
Deno.test("a run stalled before aim up started is listed, and indexed by the Worker", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  const hash = await stalledRun(repo.path);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("stalled-at-start");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(`.vt-row[data-hash='${hash}']`).waitFor();
  assert.equal((await rowBadges(page, "run-0"))[0], "crashed");
  await waitFor(
    async () => (await rowBadges(page, "run-0")).join() === "crashed",
    "indexed",
  );
  assert.equal(await page.locator(".toolbar .count").textContent(), "7 runs");
  await ui.shot();
});

Deno.test("behind --base-path every page, asset and request stays under the prefix", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  await using server = await aimUp(repo.path, "0.5", [
    "--base-path",
    "/lab/aim",
  ]);
  assert.match(server.url, /\/lab\/aim\/$/);
  await using ui = await browserPage("base-path");
  const { page } = ui;
  const outside: string[] = [];
  page.on("request", (r) => {
    if (!new URL(r.url()).pathname.startsWith("/lab/aim/")) {
      outside.push(r.url());
    }
  });
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  await page.locator(".vt-row", { hasText: "lr-3" }).locator("a").click();
  await page.locator(".params .tree").waitFor();
  assert.equal(new URL(page.url()).pathname, `/lab/aim/run/${hashes["lr-3"]}`);
  await page.locator("header nav a", { hasText: "Metrics" }).click();
  await waitFor(
    async () =>
      (await page.locator(".chart-main").getAttribute("data-lines")) === "6",
    "six lines",
  );
  // A reload of a client-side route gets the page again, with its assets.
  await page.reload();
  await waitFor(
    async () =>
      (await page.locator(".chart-main").getAttribute("data-lines")) === "6",
    "six lines after a reload",
  );
  assert.deepEqual(outside, []);
  await ui.shot();
});

// The routes of the UI, in-process: no browser needed.
Deno.test("the UI's routes: the shell at every page route, embedded assets with ETags, the query check, the token", async () => {
  await using repo = await tempRepo();
  const app = createApp({
    repo,
    token: TOKEN,
    basePath: "/aim",
    query: (request) => Promise.resolve(answer(repo, request)),
  });
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await app.request("/aim/")).status, 401);
  assert.equal((await app.request("/aim/static/app.js")).status, 401);
  const pages: [string, string][] = [
    ["/aim", "./aim/"],
    ["/aim/", "./"],
    ["/aim/runs", "./"],
    ["/aim/metrics", "./"],
    ["/aim/status/", "../"],
    ["/aim/run/0123456789abcdef0123", "../"],
  ];
  for (const [path, base] of pages) {
    const response = await app.request(path, { headers: auth });
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get("content-type")!, /^text\/html/);
    assert.match(
      response.headers.get("content-security-policy")!,
      /script-src 'self'/,
    );
    assert.ok((await response.text()).includes(`<base href="${base}">`), path);
  }
  for (
    const path of [
      "/aim/run/..%2F..%2Fetc",
      "/aim/nope",
      "/runs",
      "/aim/api/nope",
    ]
  ) {
    assert.equal(
      (await app.request(path, { headers: auth })).status,
      404,
      path,
    );
  }
  const asset = await app.request("/aim/static/uPlot.iife.min.js", {
    headers: auth,
  });
  assert.equal(asset.status, 200);
  assert.match(await asset.text(), /uPlot/);
  const etag = asset.headers.get("etag")!;
  const again = await app.request("/aim/static/uPlot.iife.min.js", {
    headers: { ...auth, "if-none-match": etag },
  });
  assert.equal(again.status, 304);
  assert.equal(
    (await app.request("/aim/static/secret.txt", { headers: auth })).status,
    404,
  );

  const check = async (query: string) =>
    await (await app.request(`/aim/ui/check?${new URLSearchParams(query)}`, {
      headers: auth,
    })).json();
  assert.deepEqual(await check("q=run.hparams.lr+%3C+1"), { ok: true });
  const bad = await check("q=run.hparams.lr+%3E");
  assert.deepEqual([bad.ok, bad.field, bad.code, bad.column], [
    false,
    "q",
    "query_syntax",
    17,
  ]);
  // The same message and column as the search itself would give.
  const search = await app.request("/aim/api/runs?q=run.hparams.lr+%3E", {
    headers: auth,
  });
  assert.equal(search.status, 400);
  assert.equal((await search.json()).error.message, bad.message);
  assert.equal(
    (await check('q=metric.name+%3D%3D+"loss"')).code,
    "bad_request",
  );
  assert.deepEqual(await check('q=metric.name+%3D%3D+"loss"&kind=metrics'), {
    ok: true,
  });
  assert.equal((await check("sort=-metric.last")).field, "sort");
  assert.deepEqual(await check("sort=-run.hparams.lr"), { ok: true });
});
