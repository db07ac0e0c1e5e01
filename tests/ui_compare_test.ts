/**
 * The runs table's side-by-side compare in headless Chromium against a
 * real `aim up`: selected runs become columns, the params that differ are
 * highlighted and the equal ones folded, and the series' last/min/max
 * equal the API's summaries.
 */

import assert from "node:assert/strict";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

Deno.test("compare shows the selected runs side by side, highlighting the params that differ and folding the equal ones", async () => {
  await using repo = await tempRepo();
  const names = ["c0", "c1", "c2", "other"];
  for (const [i, name] of names.entries()) {
    const run = await repo.startRun({ name, handleSignals: false });
    run.set("hparams", {
      lr: [0.1, 0.01, 0.1, 0.5][i]!,
      opt: { name: "adam", beta: 0.9 },
      layers: [64, 64],
      ...(i === 1 ? { warmup: 100 } : {}),
    });
    run.set("seed", 7);
    for (let step = 0; step < 5; step++) {
      run.track((i + 1) * (5 - step), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
      if (i !== 2) run.track(step / 10 + i, { name: "acc", step });
    }
    await run.close();
  }
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("compare");
  const { page } = b;
  await page.goto(`${up.url}?token=${up.token}`);
  for (const name of names.slice(0, 3)) {
    await page.locator(".vt-row", { hasText: name }).locator(
      "input[type=checkbox]",
    ).check();
  }
  await page.locator("button", { hasText: /^Compare$/ }).click();
  await page.waitForURL(/\/compare\?runs=/);
  await page.locator("table.compare-params").waitFor();
  const columns = await page.locator("table.compare-params tr").first()
    .locator("th[data-hash]").allTextContents();
  assert.equal(columns.length, 3);
  assert.deepEqual(
    columns.map((c) => names.slice(0, 3).find((n) => c.startsWith(n))).sort(),
    ["c0", "c1", "c2"],
  );
  const rows = () =>
    page.locator("table.compare-params tr[data-path]").evaluateAll((trs) =>
      trs.map((tr) => [
        (tr as unknown as { dataset: { path: string } }).dataset.path,
        tr.className,
      ])
    );
  // lr differs (0.1, 0.01, 0.1); warmup is missing in two runs.
  assert.deepEqual(await rows(), [
    ["hparams.lr", "differs"],
    ["hparams.warmup", "differs"],
  ]);
  assert.match(
    (await page.locator(".compare-summary").textContent())!,
    /2 params differ, 4 are equal \(folded\)/,
  );
  await b.shot("folded");
  await page.locator("button.compare-fold").click();
  await page.waitForURL(/equal=1/);
  await page.locator("table.compare-params tr.equal").first().waitFor();
  assert.deepEqual(await rows(), [
    ["hparams.layers", "equal"],
    ["hparams.lr", "differs"],
    ["hparams.opt.beta", "equal"],
    ["hparams.opt.name", "equal"],
    ["hparams.warmup", "differs"],
    ["seed", "equal"],
  ]);
  const warmup = await page.locator(
    'table.compare-params tr[data-path="hparams.warmup"] td',
  ).allTextContents();
  assert.equal(warmup.filter((t) => t === "—").length, 2);

  // Series: last/min/max of each, as the API has them; "—" for a run without it.
  const hashes = new URL(page.url()).searchParams.get("runs")!.split(",");
  const api = await Promise.all(
    hashes.map(async (hash) => (await up.fetch(`api/runs/${hash}`)).json()),
  );
  const cells = async (series: string, field: string) =>
    await page.locator(
      `table.compare-series tr[data-series='${series}'][data-field='${field}'] td`,
    ).allTextContents();
  const loss = 'run.metrics["loss", {"subset":"train"}]';
  for (const field of ["last", "min", "max"]) {
    assert.deepEqual(
      (await cells(loss, field)).map(Number),
      api.map((run) =>
        run.metrics.find((s: { name: string }) => s.name === "loss")[field]
      ),
      `loss ${field}`,
    );
  }
  const acc = await cells('run.metrics["acc"]', "max");
  assert.deepEqual(
    acc,
    api.map((run) => {
      const s = run.metrics.find((s: { name: string }) => s.name === "acc");
      return s === undefined ? "—" : String(s.max);
    }),
  );
  assert.ok(acc.includes("—"));
  await b.shot("equal");

  // Unchecking a series removes its rows, and the URL keeps the choice.
  await page.locator(`input[data-series='${loss}']`).uncheck();
  await page.waitForURL(/series=/);
  await page.locator(`table.compare-series tr[data-series='${loss}']`)
    .first().waitFor({ state: "detached" });
  assert.equal(
    await page.locator("table.compare-series tr[data-series]").count(),
    3,
  );
});
