/**
 * The web UI's tests' browser: headless Chromium (Debian's, driven by
 * playwright-core), a page that fails its test on any console error, and
 * screenshots under test-output/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "./_dev_deps.ts";
import { launchChromium } from "../scripts/_chromium.ts";
import { ROOT } from "./_helpers.ts";

/** Where the screenshots go. */
export const OUTPUT = join(ROOT, "test-output");

/** A page in its own browser; disposing of it checks that the page logged no error. */
export interface BrowserPage extends AsyncDisposable {
  page: Page;
  /** Console errors and uncaught exceptions of the page so far. */
  errors: string[];
  /** Saves test-output/ui-NAME[-suffix or -n].png; returns its path. */
  shot(suffix?: string): Promise<string>;
}

/** A browser page that records console errors; closed at scope end. */
export async function browserPage(
  name: string,
  viewport = { width: 1400, height: 900 },
): Promise<BrowserPage> {
  const browser: Browser = await launchChromium();
  const page: Page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  let shots = 0;
  return {
    page,
    errors,
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
