/**
 * Process-wide finalization: every open run in this process is finalized on
 * SIGTERM, SIGINT and SIGHUP (then exit 128+signal), on an uncaught error or
 * unhandled rejection (`failed`), and on normal exit (`finished`, or
 * `failed` when the exit code is not 0).
 *
 * @module
 */

import type { Ending } from "./run_writer.ts";

interface Finalizable {
  readonly hash: string;
  finalize(ending: Ending): void;
}

/** Signals the writer handles, with their numbers for the 128+n exit code. */
export const HANDLED_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

const _open = new Set<Finalizable>();
let _installed = false;
let _signalsHandled = true;

/** @internal Called by a run when it opens. */
export function registerOpenRun(run: Finalizable): void {
  _install();
  _open.add(run);
}

/** @internal Called by a run when it is finalized. */
export function unregisterOpenRun(run: Finalizable): void {
  _open.delete(run);
}

/**
 * Turns the writer's own signal handling off or on. A program that handles
 * signals itself (like `aim run`, which forwards them to its child first)
 * turns it off and finalizes its runs when it is ready.
 */
export function handleSignals(enabled: boolean): void {
  _signalsHandled = enabled;
}

/** Finalizes every open run of this process with `ending`. */
export function finalizeAll(ending: Ending): void {
  for (const run of [..._open]) {
    try {
      run.finalize(ending);
    } catch (error) {
      console.error(
        `warning: could not finalize run ${run.hash}: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
  }
}

function _install(): void {
  if (_installed) return;
  _installed = true;
  for (const [signal, number] of Object.entries(HANDLED_SIGNALS)) {
    Deno.addSignalListener(signal as Deno.Signal, () => {
      if (!_signalsHandled) return;
      // Finalization is synchronous, so a second signal waits behind it and
      // cannot interleave with the writes; the exit below then ends the process.
      finalizeAll({ status: "terminated", signal });
      Deno.exit(128 + number);
    });
  }
  globalThis.addEventListener("error", (event) => {
    if (!event.defaultPrevented) finalizeAll({ status: "failed" });
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (!event.defaultPrevented) finalizeAll({ status: "failed" });
  });
  globalThis.addEventListener("unload", () => {
    const code = Deno.exitCode;
    finalizeAll(
      code === 0
        ? { status: "finished" }
        : { status: "failed", exitCode: code },
    );
  });
}
