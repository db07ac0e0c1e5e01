/// <reference lib="dom" />
/**
 * The explorers of images, distributions and texts, and the run page's
 * tabs for them, in headless Chromium against a real `aim up` over what a
 * real PyTorch training (Debian's /usr/bin/python3 with python3-torch,
 * through the Python client under `aim run`) tracked. Every test fails on
 * a console error of the page and saves screenshots under test-output/.
 */

import assert from "node:assert/strict";
import { tempRepo } from "./_helpers.ts";
import { aimArgs, PYTHON_CLIENT, Spawned } from "./fixtures/spawned.ts";
import { MISSING, PYTHON, TRAINING } from "./fixtures/torch_training.ts";
import { startAimUp, TEST_TOKEN } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";
import type { Page } from "./_dev_deps.ts";

/** Trains for 30 steps under `aim run` (images every 5 steps: 0 … 25); the run's hash. */
async function train(repoPath: string): Promise<string> {
  await using child = new Spawned(
    Deno.execPath(),
    aimArgs([
      "run",
      "--repo",
      repoPath,
      "--system-interval",
      "0",
      "--",
      PYTHON,
      "-c",
      TRAINING,
      "30",
    ]),
    { env: { PYTHONPATH: PYTHON_CLIENT } },
  );
  const status = await child.finished();
  assert.equal(status.code, 0, child.stderr);
  return child.lines[0]!.split(" ")[3]!;
}

/**
 * The bright pixels of each image shown in a grid row, read back from the
 * page (each training image is a 4×4 white square on black: 16).
 */
function brightPixels(page: Page, sequence: string): Promise<number[]> {
  return page.$$eval(
    `.image-row[data-sequence="${sequence}"] .cell img`,
    (imgs) =>
      (imgs as HTMLImageElement[]).map((img) => {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let bright = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i]! > 200) bright++;
        }
        return bright;
      }),
  );
}

/** Waits until every image of the row is loaded and the row shows `label`. */
async function rowAt(page: Page, sequence: string, label: string) {
  const row = `.image-row[data-sequence="${sequence}"]`;
  await page.waitForFunction(
    ([row, label]) => {
      const element = document.querySelector(row!);
      const imgs = [...(element?.querySelectorAll(".cell img") ?? [])];
      return element?.querySelector(".row-step")?.textContent === label &&
        imgs.length === 16 &&
        imgs.every((img) =>
          (img as HTMLImageElement).complete &&
          (img as HTMLImageElement).naturalWidth > 0
        );
    },
    [row, label],
    { timeout: 60_000 },
  );
}

Deno.test({
  name:
    "a PyTorch training's images, weight distributions and texts show in the explorers and on its run page",
  ignore: MISSING !== null,
  fn: async () => {
    await using repo = await tempRepo();
    const hash = await train(repo.path);
    await using server = await startAimUp(repo.path);
    await using browser = await browserPage("objects");
    const { page } = browser;
    // The machine may be busy: a step of the test may wait a while.
    page.setDefaultTimeout(60_000);
    await page.goto(`${server.url}?token=${TEST_TOKEN}`);

    // Images: the last step first, each image the training drew.
    await page.goto(
      `${server.url}images?q=${encodeURIComponent('images.name == "inputs"')}`,
    );
    await rowAt(page, "inputs", "step 25 · epoch 2");
    assert.deepEqual(await brightPixels(page, "inputs"), Array(16).fill(16));
    const captions = await page.$$eval(
      '.image-row[data-sequence="inputs"] figcaption',
      (els) => els.map((e) => e.textContent),
    );
    assert.deepEqual(
      captions,
      Array.from({ length: 16 }, (_, i) => `input ${i}`),
    );
    const lastSources = await page.$$eval(
      ".cell img",
      (imgs) => imgs.map((i) => (i as HTMLImageElement).src),
    );
    assert.ok(lastSources.every((s) => s.startsWith("blob:")));
    await browser.shot("images");

    // The slider: step 10 (epoch 1), other images; 12 is no step, so the nearest.
    const slider = page.locator(".step-slider");
    await slider.fill("10");
    await rowAt(page, "inputs", "step 10 · epoch 1");
    const tenSources = await page.$$eval(
      ".cell img",
      (imgs) => imgs.map((i) => (i as HTMLImageElement).src),
    );
    assert.equal(
      tenSources.filter((s) => lastSources.includes(s)).length,
      0,
      "step 10 shows other images than step 25",
    );
    assert.deepEqual(await brightPixels(page, "inputs"), Array(16).fill(16));
    await slider.fill("12");
    await rowAt(page, "inputs", "step 10 · epoch 1 (nearest to 12)");
    assert.equal(new URL(page.url()).searchParams.get("step"), "12");

    // Click to enlarge: the whole image, with its caption and step.
    await page.click(
      '.image-row[data-sequence="inputs"] .cell:nth-child(4) img',
    );
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>(
        "dialog.image-dialog img.large",
      );
      return img !== null && img.complete && img.naturalWidth === 16;
    });
    const caption = await page.textContent(".large-caption");
    assert.match(
      caption!,
      /inputs .* step 10, epoch 1, image 4 of 16, 16×16 — input 3/,
    );
    await browser.shot("image-enlarged");
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(() =>
      document.querySelector(".large-caption")?.textContent?.endsWith("input 4")
    );
    await page.keyboard.press("Escape");
    // The dialog's close event (which removes it) comes a task after the
    // key. (An assert on the element handle itself, failing this race, had
    // node:assert describe a playwright object: gigabytes.)
    await page.waitForSelector("dialog.image-dialog", { state: "detached" });
    assert.equal(await page.locator("dialog.image-dialog").count(), 0);

    // Every image sequence, grouped by a field.
    await page.goto(`${server.url}images?group=images.name`);
    await rowAt(page, "inputs", "step 25 · epoch 2");
    await rowAt(page, "reconstructions", "step 25 · epoch 2");
    assert.deepEqual(
      await page.$$eval(".group-title", (els) => els.map((e) => e.textContent)),
      ['images.name = "inputs" (1)', 'images.name = "reconstructions" (1)'],
    );
    await browser.shot("images-grouped");

    // A query of another kind is refused with a clear message.
    await page.fill(".query", 'distributions.name == "weights"');
    await page.click("button.primary");
    await page.waitForSelector(".query-error:not([hidden])");
    assert.match(
      (await page.textContent(".query-error"))!,
      /mentions distributions: the images explorer searches images/,
    );

    // Distributions: a heatmap per parameter, a step's histogram on hover.
    await page.goto(
      `${server.url}distributions?q=${
        encodeURIComponent('distributions.name == "weights"')
      }`,
    );
    await page.waitForFunction(() =>
      document.querySelectorAll(".dist-card[data-drawn-ms]").length === 4
    );
    assert.deepEqual(
      await page.$$eval(
        ".dist-card .row-head",
        (els) => els.map((e) => e.textContent),
      ),
      // In the search's order: the run's, then the context's.
      ["1.bias", "1.weight", "3.bias", "3.weight"].map((param) =>
        `autoencoderweightsparam=${param}6 steps`
      ),
    );
    const info = page.locator(".dist-card >> nth=0 >> .dist-info");
    assert.match((await info.textContent())!, /^step 25: 32 values in /);
    const heat = page.locator(".dist-card >> nth=0 >> canvas.heatmap");
    const box = (await heat.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    assert.match((await info.textContent())!, /^step 0: 32 values in /);
    // The heatmap is drawn: not one colour.
    const colours = await heat.evaluate((canvas) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height)
        .data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      }
      return seen.size;
    });
    assert.ok(colours > 5, `the heatmap has ${colours} colours`);
    await browser.shot("distributions");

    // Texts: a table by step, and a search the server runs.
    await page.goto(`${server.url}texts`);
    await page.waitForFunction(() =>
      document.querySelectorAll(".text-table tbody tr").length === 6
    );
    assert.deepEqual(
      await page.$$eval(
        ".text-table tbody tr td:first-child",
        (els) => els.map((e) => e.textContent),
      ),
      ["0", "5", "10", "15", "20", "25"],
    );
    await page.fill(".text-search", "STEP 10:");
    await page.waitForFunction(() =>
      document.querySelectorAll(".text-table tbody tr").length === 1
    );
    assert.equal(await page.textContent(".text-table mark"), "step 10:");
    assert.match(
      (await page.textContent(".text-foot"))!,
      /1 of 1 texts matching "STEP 10:"/,
    );
    await browser.shot("texts");

    // The run page: a tab per kind the run has.
    await page.goto(`${server.url}run/${hash}`);
    await page.waitForSelector(".tabs a[data-tab=texts]");
    assert.deepEqual(
      await page.$$eval(".tabs a", (els) => els.map((e) => e.textContent)),
      [
        "Overview",
        "Metrics (1)",
        "System (0)",
        "Logs",
        "Images (2)",
        "Distributions (4)",
        "Texts (1)",
      ],
    );
    await page.click(".tabs a[data-tab=images]");
    await rowAt(page, "reconstructions", "step 25 · epoch 2");
    assert.equal(
      await page.$(".image-row a"),
      null,
      "rows do not name the run",
    );
    await browser.shot("run-images");
    await page.click(".tabs a[data-tab=distributions]");
    // The cards near the screen are drawn; the others wait to be scrolled to.
    await page.waitForSelector(".dist-card[data-drawn-ms]");
    assert.equal((await page.$$(".dist-card")).length, 4);
    await page.click(".tabs a[data-tab=texts]");
    await page.waitForSelector(".text-table tbody tr");
    assert.equal(new URL(page.url()).searchParams.get("tab"), "texts");
  },
});
