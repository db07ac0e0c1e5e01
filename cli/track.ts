/**
 * `aim track`: a run fed by the tracking protocol on standard input.
 *
 * @module
 */

import {
  ECHOED_ERRORS,
  parse,
  RUN_OPTIONS,
  startRunFromFlags,
} from "./_args.ts";
import { Ingester } from "../lib/tracking/mod.ts";
import { AimError, type Run } from "../lib/mod.ts";
import { MAX_BACKLOG } from "../lib/storage/mod.ts";
import {
  REMOTE_OPTIONS,
  type RemoteFlags,
  trackRemote,
} from "./_track_remote.ts";

const HELP =
  `Usage: aim track [--repo PATH [--init] | --remote URL [--close-timeout SECONDS]]
                 [--experiment E] [--name N] [--description D] [--tag T]... [--param KEY=VALUE]...

Starts a run and feeds it the tracking protocol (one JSON object per line)
from standard input; prints the run's hash first. A {"close": true} line
finalizes it as finished; end of input without one finalizes it as failed.
A malformed line is reported (the first few on stderr, all in the run's log)
and skipped. --param values are JSON when they parse (lr=0.01 is a number),
strings otherwise. --init creates the repository when there is none, as
Aim's SDK does for a new run (the Python client passes it): --repo PATH or
$AIM_REPO when given, else the nearest .aim upward, else ./.aim.

--remote URL sends the run to aim up at URL (with its --base-path) instead
of a repository, with the token in AIM_TOKEN (the main token or the
track-only one). Lines are sent in numbered batches, each kept until the
server says it is stored, and sent again after a network error or a server
restart; input is not read while 64 MiB wait. At the end, aim track waits
up to --close-timeout seconds (default 120) for the server.`;

/** Bytes read from standard input at a time. */
const READ_SIZE = 1 << 20;

/** `aim track`. */
export async function track(args: string[]): Promise<number> {
  const { values } = parse("aim track", args, {
    ...RUN_OPTIONS,
    ...REMOTE_OPTIONS,
    init: { type: "boolean" },
  });
  if (values.help) return (console.log(HELP), 0);
  if (values.remote !== undefined) {
    return await trackRemote(values as RemoteFlags & { remote: string });
  }
  const { repo, run } = await startRunFromFlags("aim track", values, {
    create: values.init ?? false,
  });
  console.log(run.hash);
  const ingester = new Ingester(run, {
    // The program feeding stdin runs here: its images may come as files.
    allowPaths: true,
    onMalformed: (text, count) => {
      if (count <= ECHOED_ERRORS) console.error(`warning: ${text}`);
    },
  });
  // Plain reads of a large buffer: a stream adds a promise per chunk and more.
  const buffer = new Uint8Array(READ_SIZE);
  while (true) {
    await _waitForDisk(run);
    const n = await Deno.stdin.read(buffer);
    if (n === null || !ingester.push(buffer.subarray(0, n))) break;
  }
  const { closed, malformed } = ingester.end();
  if (malformed > ECHOED_ERRORS) {
    console.error(
      `warning: ${malformed} malformed lines in all (see the run's log)`,
    );
  }
  if (!closed) run.log("input ended without a close message", "error");
  try {
    run.finalize(closed ? { status: "finished" } : { status: "failed" });
  } catch (error) {
    // The writer has said what was not stored.
    if (!(error instanceof AimError)) throw error;
    return 1;
  } finally {
    repo.close();
  }
  return closed ? 0 : 1;
}

/** Points waiting for the disk before input stops being read. */
const BACKPRESSURE = MAX_BACKLOG / 2;

/**
 * While the disk refuses writes and many points wait, reads no more input:
 * the program feeding the run then waits on a full pipe instead of having
 * points dropped. Retries the flush meanwhile.
 */
async function _waitForDisk(run: Run): Promise<void> {
  while (run.storageError !== null && run.backlog >= BACKPRESSURE) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      run.flush();
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
    }
  }
}
