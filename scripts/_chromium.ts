/**
 * Headless Debian Chromium through playwright-core, as the web UI's tests
 * and its benchmark drive it.
 *
 * @module
 */

import { type Browser, chromium } from "../tests/_dev_deps.ts";

/** Debian's Chromium (package `chromium`); playwright's own download is unreachable here. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Starts headless Chromium. Background networking is off: on a machine
 * without internet its connections are refused by the dozen, and each
 * start would look up Google's hosts.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    throw new Error(
      `The web UI's tests and benchmark drive Debian's Chromium at ${CHROMIUM}: install it with apt-get install chromium (.ci/run does)`,
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
