/**
 * The web UI in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) against a real `aim up` over a repository seeded by real
 * writers. Every test fails on any console error of the page, and saves a
 * screenshot under test-output/.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page, Request } from "./_dev_deps.ts";
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

/** A line as the chart draws it (server/ui/series_draw.js, ChartLine). */
interface Drawn {
  label: string;
  xs: number[];
  ys: (number | null)[];
  coarse?: boolean;
  band?: { x0: number[]; x1: number[]; lo: number[]; hi: number[] } | null;
}

/** The lines the chart in `selector` draws now, from its `aimChart` hook. */
function drawn(page: Page, selector: string): Promise<Drawn[]> {
  return page.locator(selector).evaluate((element) =>
    (element as unknown as { aimChart: { drawn(): Drawn[] } }).aimChart
      .drawn()
  );
}

/** Drags across the plot in `selector` from `from` to `to` (fractions of its width). */
async function drag(page: Page, selector: string, from: number, to: number) {
  const plot = await page.locator(`${selector} .u-over`).boundingBox();
  assert.ok(plot);
  const y = plot.y + plot.height / 2;
  await page.mouse.move(plot.x + plot.width * from, y);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * to, y, { steps: 5 });
  await page.mouse.up();
}

/**
 * Holds the page's requests that `which` picks until `release()`: what the
 * page shows meanwhile can be looked at. A held request the page aborts
 * is let go.
 */
async function hold(page: Page, which: (request: Request) => boolean) {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  await page.route("**/api/**", async (route) => {
    if (which(route.request())) {
      held++;
      await released;
    }
    await route.continue().catch(() => {});
  });
  return { release, held: () => held };
}

/** A series search asking `detail` (and a step range, when `ranged`). */
function seriesSearch(request: Request, detail: string, ranged = false) {
  if (!/\/api\/series\/search$/.test(request.url())) return false;
  const body = JSON.parse(request.postData() ?? "{}");
  return body.detail === detail && ("from" in body) === ranged;
}

/** Runs `s` (the issue's example): a loss falling from 2.5 to 1.6 over 20,000 steps, a spike of +2.5 every 250 steps (at 100, 350, …). */
function spikyLoss(step: number): number {
  return baseline(step) + (step % 250 === 100 ? 2.5 : 0);
}

function baseline(step: number): number {
  return 2.5 - 0.9 * step / 20_000;
}

const SPIKY_STEPS = 20_000;

async function seedSpiky(repo: Repo): Promise<string> {
  const run = await repo.startRun({
    name: "spiky",
    experiment: "issue-11",
    handleSignals: false,
  });
  run.set("hparams", { lr: 0.001 });
  for (let step = 0; step < SPIKY_STEPS; step++) {
    run.track(spikyLoss(step), {
      name: "loss",
      step,
      context: { subset: "train" },
    });
  }
  await run.close();
  return run.hash;
}

/**
 * Checks that a line drawn as a line (not an envelope) shows the spiky
 * loss as it is over steps `from` to `to`: every drawn point is on the
 * baseline or is a spike, and every spike in the range is drawn.
 */
function assertTrueToSpikyLoss(line: Drawn, from: number, to: number) {
  assert.equal(line.coarse, false, "drawn as a line");
  assert.ok(line.xs.length > 200, `only ${line.xs.length} points drawn`);
  line.xs.forEach((step, i) => {
    const y = line.ys[i];
    assert.ok(y !== null && y !== undefined, `a gap at step ${step}`);
    if (step % 250 === 100) assert.equal(y, spikyLoss(step));
    else {
      assert.ok(
        Math.abs(y - baseline(step)) < 1e-9,
        `step ${step} is drawn at ${y}, off the baseline ${baseline(step)}`,
      );
    }
  });
  const drawnSteps = new Set(line.xs);
  for (let spike = 100; spike < SPIKY_STEPS; spike += 250) {
    if (spike < from || spike > to) continue;
    assert.ok(drawnSteps.has(spike), `the spike at step ${spike} is drawn`);
  }
}

/**
 * Checks that a line drawn from buckets too wide for the plot is an
 * envelope reaching the spikes, over a line through the buckets' last
 * points, which stays on the baseline: no sawtooth.
 */
function assertSpikyEnvelope(line: Drawn) {
  assert.equal(line.coarse, true, "drawn as an envelope");
  assert.ok(line.band, "with an envelope");
  line.xs.forEach((step, i) => {
    const y = line.ys[i]!;
    assert.ok(
      Math.abs(y - baseline(step)) < 1e-9,
      `the line through last points is at ${y} at step ${step}, off the baseline`,
    );
  });
  line.band.hi.forEach((hi, k) => {
    const x0 = line.band!.x0[k]!, x1 = line.band!.x1[k]!;
    let top = -Infinity;
    for (let step = Math.ceil(x0); step <= x1; step++) {
      top = Math.max(top, spikyLoss(step));
    }
    assert.equal(hi, top, `the envelope over steps ${x0}…${x1}`);
  });
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

Deno.test("a query filters the runs table, and a bad query shows its error under the box at its column as it is typed", async () => {
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
  const error = page.locator(".query-error");
  // Checked as it is typed, before Enter.
  await error.waitFor();
  assert.equal(await page.locator(".vt-row[data-loaded]").count(), 2);
  await box.press("Enter");
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

Deno.test("a query naming a param no run has is warned about under the box as it is typed, with the closest names; the answer is unchanged", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("query-warning");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  const box = page.locator("input.query");
  const warning = page.locator(".query-warning");
  await box.fill("run.hparms.lr < 0.01");
  // Checked as it is typed, before Enter.
  await warning.waitFor();
  assert.equal(
    await warning.textContent(),
    "No run has a param run.hparms.lr, so it is None in every run: did you mean run.hparams.lr?",
  );
  assert.equal(await page.locator(".query-error").isHidden(), true);
  await box.press("Enter");
  await waitFor(
    async () => (await page.locator(".vt-row[data-loaded]").count()) === 0,
    "the (empty) answer of the mistyped query",
  );
  assert.equal(await warning.isVisible(), true, "still said after searching");
  await ui.shot();
  await box.fill("run.hparams.lr < 0.003");
  await box.press("Enter");
  await waitFor(
    async () => (await rowNames(page)).join() === "lr-1,lr-0",
    "the rows of the fixed query",
  );
  await waitFor(() => warning.isHidden(), "the warning to go");

  // The metrics explorer's run filter says the same.
  await page.goto(`${server.url}metrics?metric=loss`);
  const filter = page.locator("input.runq");
  await filter.fill('run.hparams.optimizer.nme == "sgd"');
  await filter.press("Enter");
  await page.locator(".chart-empty", { hasText: "matches no run" }).waitFor();
  assert.equal(
    await page.locator(".query-warning").textContent(),
    "No run has a param run.hparams.optimizer.nme, so it is None in every run: did you mean run.hparams.optimizer.name?",
  );
});

Deno.test("a browser without the token gets a sign-in page: the printed URL or the token pasted there signs in, and a stale cookie asks again", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("sign-in");
  const { page } = ui;
  const first = await page.goto(`${server.url}runs?q=run.hparams.lr+%3C+0.003`);
  assert.equal(first?.status(), 401);
  assert.match(
    await page.locator(".reason").textContent() ?? "",
    /This aim server needs its token/,
  );
  await ui.shot("page");
  await page.locator("#token").fill(`${server.url}?token=${TOKEN}`);
  await page.locator("button[type=submit]").click();
  await waitFor(
    async () => (await rowNames(page)).join() === "lr-1,lr-0",
    "the runs page, with its query kept",
  );
  const here = new URL(page.url());
  assert.equal(here.pathname, "/runs");
  assert.equal(here.searchParams.has("token"), false);
  const [cookie] = await page.context().cookies();
  assert.deepEqual([cookie?.name, cookie?.httpOnly, cookie?.sameSite], [
    "aim_token",
    true,
    "Strict",
  ]);

  // As after a restart with another token, or a rotation: the page's next
  // request is refused, and the page comes back as the sign-in page.
  await page.context().addCookies([{
    name: "aim_token",
    value: "an-old-t0ken-0123456789",
    url: server.url,
  }]);
  await page.locator("form.querybar button").click();
  await page.locator(".reason").waitFor();
  assert.match(
    await page.locator(".reason").textContent() ?? "",
    /no longer this server's/,
  );
  const again = await page.goto(`${server.url}status`);
  assert.equal(again?.status(), 401);
  await page.locator("#token").fill(TOKEN);
  await page.locator("#token").press("Enter");
  await page.locator(".status-page .cards").waitFor();
  assert.equal(new URL(page.url()).pathname, "/status");

  const wrong = await page.goto(`${server.url}?token=not-the-token-0123456`);
  assert.equal(wrong?.status(), 200, "the cookie still signs in");
  // Browsers log the 401 answers above as failed loads: expected here.
  ui.errors.splice(
    0,
    ui.errors.length,
    ...ui.errors.filter((e) => !/status of 401/.test(e)),
  );
});

Deno.test("an unknown page shows the app's own 'no page here', with its navigation", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("not-found");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  const missing = await page.goto(`${server.url}no/such/page`);
  assert.equal(missing?.status(), 404);
  const notFound = page.locator(".not-found");
  await notFound.waitFor();
  assert.equal(await notFound.locator("h2").textContent(), "No page here");
  assert.match(
    await notFound.textContent() ?? "",
    /Nothing is at \/no\/such\/page\./,
  );
  await ui.shot();
  await notFound.getByRole("link", { name: "the runs" }).click();
  await page.locator(".vt-row[data-loaded]").nth(5).waitFor();
  assert.equal(new URL(page.url()).pathname, "/runs");
  ui.errors.splice(
    0,
    ui.errors.length,
    ...ui.errors.filter((e) => !/status of 404/.test(e)),
  );
});

Deno.test("the metrics explorer draws one line per matching run, grouping by a param changes the colours, zoom draws the range", async () => {
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

  // Drag across the middle of the plot. These series are short: every
  // point was read with the whole series, and the zoom draws them.
  await page.locator(".chart-main[data-resolution='full']").waitFor();
  await drag(page, ".chart-main", 0.3, 0.6);
  await page.locator(".explorer-status", { hasText: "zoomed" }).waitFor();
  assert.equal(await chart.getAttribute("data-resolution"), "full");
  const plot = await chart.locator(".u-over").boundingBox();
  assert.ok(plot);
  await page.mouse.move(plot.x + plot.width * 0.45, plot.y + plot.height / 3);
  await page.locator(".chart-tip .tip-row").first().waitFor();
  assert.equal(
    await page.locator(".chart-tip .tip-row").count(),
    6,
    "hover lists every line",
  );
  await ui.shot("zoomed");
});

Deno.test("the explorer draws a spiky series' preview as an envelope, then by itself every line at pixel resolution, true to every spike; a zoom does the same for its range", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await seedSpiky(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("sawtooth");
  const { page } = ui;
  const full = await hold(page, (r) => seriesSearch(r, "full"));
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").first().waitFor();
  await page.goto(
    `${server.url}metrics?metric=loss&context=${
      encodeURIComponent('{"subset":"train"}')
    }&q=${encodeURIComponent('run.name == "spiky"')}`,
  );
  const chart = page.locator(".chart-main");
  const status = page.locator(".explorer-status");

  // The index preview: 32 buckets at most, each tens of pixels wide.
  await page.locator(".chart-main[data-lines='1'][data-resolution='preview']")
    .waitFor();
  assert.match(await status.textContent() ?? "", /preview — refining…/);
  const [preview] = await drawn(page, ".chart-main");
  assertSpikyEnvelope(preview!);
  assert.ok(preview!.xs.length <= 32);
  assert.ok(full.held() > 0, "the page asked for the lines at full detail");
  await ui.shot("preview");

  // Released, the reads at pixel resolution replace the preview.
  full.release();
  await page.locator(".chart-main[data-resolution='full']").waitFor();
  const [whole] = await drawn(page, ".chart-main");
  assertTrueToSpikyLoss(whole!, 0, SPIKY_STEPS - 1);
  assert.doesNotMatch(await status.textContent() ?? "", /preview/);
  assert.equal(
    await page.evaluate(() =>
      performance.getEntriesByName("aim:all-lines-full").length
    ),
    1,
  );
  await ui.shot("full");

  // A zoom to the middle fifth: the points drawn now are too coarse for
  // it, an envelope until the range is read at pixel resolution.
  await page.unroute("**/api/**");
  const zoomed = await hold(page, (r) => seriesSearch(r, "full", true));
  await drag(page, ".chart-main", 0.4, 0.6);
  await status.filter({ hasText: "zoomed: refining…" }).waitFor();
  const [before] = await drawn(page, ".chart-main");
  assertSpikyEnvelope(before!);
  zoomed.release();
  await status.filter({ hasText: "double-click to reset" }).waitFor();
  assert.equal(await chart.getAttribute("data-resolution"), "full");
  const [range] = await drawn(page, ".chart-main");
  const lo = range!.xs[0]!, hi = range!.xs[range!.xs.length - 1]!;
  assert.ok(lo > 7000 && hi < 13_000, `the range read: ${lo}…${hi}`);
  assertTrueToSpikyLoss(range!, lo, hi);
  assert.ok(
    range!.xs.length > whole!.xs.length / 5 * 3,
    "finer than the whole series' points in that range",
  );
  await ui.shot("zoomed");

  // A double-click goes back to the whole series, kept: nothing is read.
  let reads = 0;
  page.on("request", (r) => seriesSearch(r, "full") && reads++);
  await page.locator(".chart-main .u-over").dblclick();
  await waitFor(
    async () => !(await status.textContent())?.includes("zoomed"),
    "the zoom reset",
  );
  assertTrueToSpikyLoss((await drawn(page, ".chart-main"))[0]!, 0, 19_999);
  assert.equal(reads, 0);
  assert.equal(await page.locator(".toast").count(), 0);
});

Deno.test("the run page draws the spiky series at pixel resolution, true to every spike, and a zoom refines its range", async () => {
  await using repo = await tempRepo();
  const hash = await seedSpiky(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("run-sawtooth");
  const { page } = ui;
  await page.goto(`${server.url}run/${hash}?tab=metrics&token=${TOKEN}`);
  const card = ".chart-card[data-series='loss'] .chart";
  await page.locator(`${card}[data-lines='1']`).waitFor();
  const [whole] = await drawn(page, card);
  assertTrueToSpikyLoss(whole!, 0, SPIKY_STEPS - 1);
  await ui.shot();

  const zoomed = await hold(
    page,
    (r) => /\/series\?/.test(r.url()) && r.url().includes("from="),
  );
  await drag(page, card, 0.4, 0.6);
  await page.locator(`${card}[data-resolution='preview']`).waitFor();
  assertSpikyEnvelope((await drawn(page, card))[0]!);
  assert.match(
    await page.locator(".chart-card[data-series='loss'] .note").textContent() ??
      "",
    /preview — refining…/,
  );
  zoomed.release();
  await page.locator(`${card}[data-resolution='full']`).waitFor();
  const [range] = await drawn(page, card);
  const lo = range!.xs[0]!, hi = range!.xs[range!.xs.length - 1]!;
  assert.ok(lo > 5000 && hi < 15_000, `the range read: ${lo}…${hi}`);
  assertTrueToSpikyLoss(range!, lo, hi);
  await ui.shot("zoomed");
});

Deno.test("a metric name that matches nothing says so and names the close ones; the explorer recovers when it is fixed", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("no-metric");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").first().waitFor();
  await page.goto(`${server.url}metrics?metric=los`);
  const empty = page.locator(".chart-empty");
  await empty.filter({ hasText: "did you mean" }).waitFor();
  assert.equal(
    await empty.textContent(),
    'No series match: no metric is named "los" in any run (did you mean "loss"?)',
  );
  assert.equal(await page.locator(".explorer-status").textContent(), "");
  assert.equal(
    await page.locator(".chart-main").getAttribute("data-lines"),
    "0",
  );
  assert.equal(await page.locator(".legend").textContent(), "RunsNo lines.");
  assert.equal(await page.locator(".toast").count(), 0);
  await ui.shot();

  await page.locator("input.metric").fill("loss");
  await page.locator("input.metric").press("Enter");
  await page.locator(".chart-main[data-lines='6']").waitFor();
  assert.equal(await empty.isVisible(), false);
  assert.equal(await page.locator(".legend .entry").count(), 6);
});

Deno.test("a run filter that matches no run, or is not a query, clears the chart and the legend and says why; fixed, the lines come back", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using server = await aimUp(repo.path);
  await using ui = await browserPage("bad-filter");
  const { page } = ui;
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.locator(".vt-row[data-loaded]").first().waitFor();
  // The reads at pixel resolution never answer: the next search aborts them.
  const full = await hold(page, (r) => seriesSearch(r, "full"));
  await page.goto(
    `${server.url}metrics?metric=loss&context=${
      encodeURIComponent('{"subset":"train"}')
    }`,
  );
  const chart = page.locator(".chart-main");
  const empty = page.locator(".chart-empty");
  const filter = page.locator("input.runq");
  await page.locator(".chart-main[data-lines='6']").waitFor();
  await waitFor(() => full.held() > 0, "the reads at full detail");

  await filter.fill("run.hparams.lr > 5");
  await filter.press("Enter");
  await empty.filter({ hasText: "matches no run" }).waitFor();
  assert.equal(
    await empty.textContent(),
    "No series match: the run filter matches no run",
  );
  assert.equal(await chart.getAttribute("data-lines"), "0");
  assert.equal(await page.locator(".legend .entry").count(), 0);
  await ui.shot("no-run");

  await filter.fill("run.hparams.lr < 0.0035");
  await filter.press("Enter");
  await page.locator(".chart-main[data-lines='3']").waitFor();
  assert.equal(await page.locator(".legend .entry").count(), 3);

  // A filter that is not a query: checked as it is typed, before Enter.
  await filter.fill("");
  await filter.pressSequentially("run.hparams.lr >");
  const problem = page.locator(".query-error");
  await problem.waitFor();
  assert.match(await problem.locator(".msg").textContent() ?? "", /column 17/);
  assert.equal(await chart.getAttribute("data-lines"), "3", "not searched yet");
  await filter.press("Enter");
  await empty.filter({ hasText: "not a valid query" }).waitFor();
  assert.equal(await chart.getAttribute("data-lines"), "0");
  assert.equal(await page.locator(".legend .entry").count(), 0);
  await ui.shot("invalid");

  await filter.pressSequentially(" 0.0035");
  await problem.waitFor({ state: "hidden" });
  await filter.press("Enter");
  await page.locator(".chart-main[data-lines='3']").waitFor();
  assert.equal(await empty.isVisible(), false);
  assert.equal(await page.locator(".legend .entry").count(), 3);
  assert.equal(
    await page.locator(".toast").count(),
    0,
    "aborted reads are no error",
  );
  full.release();
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
  assert.deepEqual(await check("q=run.hparams.lr+%3C+1"), {
    ok: true,
    warnings: [],
  });
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
    warnings: [],
  });
  assert.equal((await check("sort=-metric.last")).field, "sort");
  assert.deepEqual(await check("sort=-run.hparams.lr"), {
    ok: true,
    warnings: [],
  });
});
